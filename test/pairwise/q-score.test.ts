import { test } from "node:test";
import assert from "node:assert/strict";
import { qScores } from "../../lib/src/pairwise/ratings/q-score";
import { simulateVotes } from "../../lib/src/pairwise/simulate";
import { spearman } from "../../lib/src/compare/statistics";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, voteSetFrom } from "../../lib/src/pairwise/votes/vote-set";
import { close } from "../helpers/pairwise-reference";

// Votes: A>B, A>C, B>C, C>D, D=A (equal), B>D
// W = wins/(wins+losses+ties), L = losses/(…): A 2/3, 0 · B 2/3, 1/3 · C 1/3, 2/3 · D 0, 2/3
// Q_A = 10/3 (2/3 + (W_B + W_C)/2 − 0 + 1)            = 10/3 · 13/6 = 65/9
// Q_B = 10/3 (2/3 + (W_C + W_D)/2 − L_A + 1)          = 10/3 · 11/6 = 55/9
// Q_C = 10/3 (1/3 + W_D − (L_A + L_B)/2 + 1)          = 10/3 · 7/6  = 35/9
// Q_D = 10/3 (0 + 0 − (L_C + L_B)/2 + 1)              = 10/3 · 1/2  = 5/3
const HAND = voteSetFrom([
  { left: "A", right: "B", outcome: LEFT },
  { left: "C", right: "A", outcome: RIGHT },
  { left: "B", right: "C", outcome: LEFT },
  { left: "C", right: "D", outcome: LEFT },
  { left: "D", right: "A", outcome: EQUAL },
  { left: "D", right: "B", outcome: RIGHT },
]);

test("Q-scores of a hand-computed 4-image example (ties only in the denominators)", () => {
  const r = qScores(HAND, { bootstrap: false });
  assert.deepEqual(r.images, ["A", "B", "C", "D"]);
  [65 / 9, 55 / 9, 35 / 9, 5 / 3].forEach((q, i) => close(r.q[i], q, 1e-12, `Q[${r.images[i]}]`));
  assert.deepEqual([...r.wins], [2, 2, 1, 0]);
  assert.deepEqual([...r.ties], [1, 0, 0, 1]);
  close(r.winRate[0], 2 / 3, 1e-15);
  close(r.lossRate[3], 2 / 3, 1e-15);
  assert.equal(r.ci, undefined);
});

test("beating strong opponents is worth more than beating weak ones; scores stay in [0, 10]", () => {
  // X and Y both win 3 of 3, X against images that win a lot, Y against images that always lose
  const b = new VoteSetBuilder();
  for (const s of ["s1", "s2", "s3"]) {
    b.add("X", s, LEFT);
    b.add(s, "filler", LEFT);
    b.add(s, "filler2", LEFT);
  }
  for (const w of ["w1", "w2", "w3"]) {
    b.add("Y", w, LEFT);
    b.add("filler", w, LEFT);
    b.add("filler2", w, LEFT);
  }
  const r = qScores(b.build(), { bootstrap: false });
  const q = (name: string) => r.q[r.images.indexOf(name)];
  assert.ok(q("X") > q("Y"), `X ${q("X")} vs Y ${q("Y")}`);
  assert.ok(q("X") > 8, `an image that wins everything against strong opponents scores high (${q("X")})`);
  for (const v of r.q) assert.ok(v >= 0 && v <= 10);
  // an image without votes has no score
  const none = qScores(new VoteSetBuilder(["lonely"]).build(), { bootstrap: false });
  assert.ok(Number.isNaN(none.q[0]));
});

test("bootstrap over votes: seeded, interval around the estimate, narrower with more votes", () => {
  const latent = Array.from({ length: 60 }, (_, i) => (i - 30) / 10);
  const names = latent.map((_, i) => `i${i}`);
  const votes = simulateVotes(names, latent, { comparisonsPerImage: 10, equalBand: 0.2, seed: 3 });
  const a = qScores(votes, { bootstrap: { iterations: 300, seed: 9 } });
  const b = qScores(votes, { bootstrap: { iterations: 300, seed: 9 } });
  assert.deepEqual([...a.ci!.lower], [...b.ci!.lower], "same seed → same intervals");
  let inside = 0;
  for (let i = 0; i < 60; i++) if (a.ci!.lower[i] <= a.q[i] && a.q[i] <= a.ci!.upper[i]) inside++;
  assert.ok(inside >= 57, `${inside}/60 point estimates inside their interval`);
  assert.equal(a.ci!.draws[0], 300, "every resample of 600 votes contains image 0 (20 votes)");
  const many = simulateVotes(names, latent, { comparisonsPerImage: 10, equalBand: 0.2, seed: 3, votesPerPair: 6 });
  const c = qScores(many, { bootstrap: { iterations: 300, seed: 9 } });
  const width = (r: typeof a) => r.ci!.upper.reduce((s, u, i) => s + u - r.ci!.lower[i], 0) / 60;
  assert.ok(width(c) < 0.6 * width(a), `interval width ${width(c)} vs ${width(a)}`);
  const rho = spearman(Array.from(c.q), Array.from(latent));
  assert.ok(rho !== null && rho > 0.9, `Spearman ${rho}`);
});
