import { test } from "node:test";
import assert from "node:assert/strict";
import { agreementWithHumans, pairMajorities } from "../../lib/src/pairwise/evaluate/pair-agreement";
import { alignScores, scoreAgreement } from "../../lib/src/pairwise/evaluate/score-agreement";
import { kendallTauB } from "../../lib/src/pairwise/evaluate/kendall";
import { averageRanks, pearson, spearman } from "../../lib/src/compare/statistics";
import { EQUAL, LEFT, RIGHT, voteSetFrom, type Outcome } from "../../lib/src/pairwise/votes/vote-set";
import { REF, close } from "../helpers/pairwise-reference";

const v = (left: string, right: string, outcome: Outcome) => ({ left, right, outcome });

test("pair majorities: by image name, either order; equal votes abstain; a draw in wins is 'equal'", () => {
  const m = pairMajorities(
    voteSetFrom([v("a", "b", LEFT), v("b", "a", RIGHT), v("b", "a", LEFT), v("a", "c", EQUAL), v("c", "b", LEFT), v("b", "c", LEFT), v("d", "a", EQUAL), v("a", "d", RIGHT)]),
  );
  assert.deepEqual(m.get("a\u0000b"), { a: "a", b: "b", winsA: 2, winsB: 1, ties: 0, majority: "a" });
  assert.equal(m.get("a\u0000c")!.majority, "equal", "only an equal vote");
  assert.equal(m.get("b\u0000c")!.majority, "equal", "one win each");
  assert.equal(m.get("a\u0000d")!.majority, "b", "one win for d beats one equal vote");
});

test("agreement: equal pairs excluded or scored as ties; model 'equal' on decided pairs; CI over pairs", () => {
  const human = voteSetFrom([
    v("a", "b", LEFT), v("a", "b", LEFT), v("b", "a", LEFT), // a
    v("c", "d", RIGHT), // d
    v("e", "f", EQUAL), // equal
    v("g", "h", LEFT), // g
    v("x", "y", LEFT), // only human
  ]);
  // model, with its own image numbering: agrees on a-b, disagrees on c-d, equal on e-f and g-h
  const model = voteSetFrom([v("b", "a", RIGHT), v("c", "d", LEFT), v("f", "e", EQUAL), v("h", "g", EQUAL), v("p", "q", LEFT)]);
  const ex = agreementWithHumans(human, model, { bootstrap: { iterations: 500 } });
  assert.equal(ex.n, 3);
  assert.equal(ex.agreements, 1);
  close(ex.accuracy, 1 / 3, 1e-15);
  assert.equal(ex.humanEqualExcluded, 1);
  assert.equal(ex.modelEqualOnDecided, 1);
  assert.equal(ex.onlyHuman, 1);
  assert.equal(ex.onlyModel, 1);
  assert.ok(ex.ci && ex.ci[0] <= 1 / 3 && ex.ci[1] >= 1 / 3);
  const tie = agreementWithHumans(human, model, { equalPairs: "tie", modelEqualCredit: 0.5 });
  assert.equal(tie.n, 4);
  close(tie.accuracy, (1 + 0 + 1 + 0.5) / 4, 1e-15);
  assert.deepEqual(tie.rules, { equalPairs: "tie", modelEqualCredit: 0.5 });
  const none = agreementWithHumans(human, voteSetFrom([]));
  assert.equal(none.accuracy, null);
  assert.equal(none.ci, null);
});

test("Pearson, Spearman and Kendall τ-b match scipy on data with ties", () => {
  const { x, y, pearson: p, spearman: s, kendall_tau_b: k } = REF.correlations;
  close(pearson(x, y), p, 1e-12, "pearson");
  close(spearman(x, y), s, 1e-12, "spearman");
  close(kendallTauB(x, y), k, 1e-12, "kendall tau-b");
});

/** Kendall τ-b by the O(n²) definition. */
function tauBrute(x: number[], y: number[]): number {
  let s = 0;
  let tx = 0;
  let ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = Math.sign(x[i] - x[j]);
      const b = Math.sign(y[i] - y[j]);
      s += a * b;
      if (a !== 0) tx++;
      if (b !== 0) ty++;
    }
  return s / Math.sqrt(tx * ty);
}

test("Knight's O(n log n) τ-b equals the O(n²) definition on random data with many ties", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (const n of [2, 3, 10, 57, 400]) {
    const x = Array.from({ length: n }, () => Math.floor(rnd() * 6));
    const y = x.map((xi) => Math.floor(xi / 2 + rnd() * 4));
    close(kendallTauB(x, y), tauBrute(x, y), 1e-12, `n=${n}`);
  }
  assert.equal(kendallTauB([1, 1, 1], [1, 2, 3]), null, "constant side");
  close(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]), -1, 1e-15);
  assert.deepEqual([...averageRanks([10, 20, 10, 30])], [1.5, 3, 1.5, 4]);
});

test("score agreement: three correlations with bootstrap CIs over images; alignment by name", () => {
  const model = { images: ["a", "b", "c", "d", "e", "f", "g", "h"], scores: [1, 2, 3, 4, 5, 6, 7, NaN] };
  const human = { images: ["h", "g", "f", "e", "d", "c", "b", "z"], scores: [9, 6.5, 6, 5.5, 3, 3.5, 1, 0] };
  const al = alignScores(model.images, model.scores, human.images, human.scores);
  assert.deepEqual(al.images, ["b", "c", "d", "e", "f", "g"], "a and z are in one list only; h has no model score");
  const r = scoreAgreement(al.a, al.b, { iterations: 400, seed: 1 });
  assert.equal(r.n, 6);
  close(r.spearman.value, spearman(Array.from(al.a), Array.from(al.b))!, 1e-15);
  close(r.kendallTauB.value, kendallTauB(al.a, al.b)!, 1e-15);
  for (const e of [r.pearson, r.spearman, r.kendallTauB]) {
    assert.ok(e.ci && e.ci[0] <= e.value! && e.value! <= e.ci[1], `${e.value} in ${e.ci}`);
  }
  const again = scoreAgreement(al.a, al.b, { iterations: 400, seed: 1 });
  assert.deepEqual(again.kendallTauB.ci, r.kendallTauB.ci, "seeded");
});
