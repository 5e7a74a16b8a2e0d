import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as pw from "../../lib/src/pairwise";
import { spearman } from "../../lib/src/compare/statistics";
import { tempDir } from "../helpers/tmp";

test("end to end through the public index: plan → simulated human votes → a votes CSV → three models → 1–10 → evaluation", async () => {
  const images = Array.from({ length: 80 }, (_, i) => `img_${i}.jpg`);
  const latent = images.map((_, i) => (i - 40) / 12);
  const plan = pw.randomPairPlan(images, 12, { seed: 4 });
  const human = pw.simulateVotes(images, latent, { pairs: plan, votesPerPair: 3, equalBand: 0.1, seed: 4 });
  // written as a user's votes file, beside an images folder holding every image
  const dir = tempDir();
  const imagesDir = path.join(dir, "images");
  mkdirSync(imagesDir);
  for (const name of images) writeFileSync(path.join(imagesDir, name), "");
  const word = ["left", "right", "equal"];
  const lines = ["left,right,winner,question", ...Array.from({ length: human.count }, (_, k) => `${images[human.left[k]!]},${images[human.right[k]!]},${word[human.outcome[k]!]},safer`)];
  writeFileSync(path.join(dir, "votes.csv"), lines.join("\n"));
  const loaded = await pw.loadVotesOrThrow(path.join(dir, "votes.csv"), { question: "safer", images: imagesDir });
  assert.equal(loaded.votes.count, human.count);
  assert.deepEqual([...loaded.voteRows.slice(0, 3)], [2, 3, 4]);

  const bt = pw.fitBradleyTerry(loaded.votes);
  const ts = pw.fitTrueSkill(loaded.votes);
  const q = pw.qScores(loaded.votes, { bootstrap: { iterations: 200 } });
  const scaled = [pw.mapBradleyTerry(bt), pw.mapTrueSkill(ts), pw.mapQScores(q)];
  for (const m of scaled) {
    assert.ok([...m.scores].every((s) => s >= 1 && s <= 10));
    assert.ok(m.rule.formula.length > 10);
    const order = loaded.votes.images.map((name) => latent[images.indexOf(name)]!);
    const rho = spearman(Array.from(m.scores), order);
    assert.ok(rho !== null && rho > 0.9, `${m.rule.kind}: Spearman ${rho}`);
  }

  // a "model" that answers in both orders with a position bias on close pairs
  const answers: pw.OrderedAnswer[] = [];
  for (let k = 0; k < plan.size; k++) {
    const a = plan.left[k];
    const b = plan.right[k];
    const d = latent[a] - latent[b];
    const pick = (first: number, second: number): pw.PositionAnswer => (Math.abs(d) < 0.2 ? "first" : latent[first] > latent[second] ? "first" : "second");
    answers.push({ first: images[a], second: images[b], answer: pick(a, b) });
    answers.push({ first: images[b], second: images[a], answer: pick(b, a) });
  }
  const resolved = pw.resolveOrderedAnswers(answers);
  assert.ok(resolved.summary.positionBiasRate! > 0.05 && resolved.summary.positionBiasRate! < 0.3);
  const agreement = pw.agreementWithHumans(loaded.votes, resolved.votes, { bootstrap: { iterations: 300 } });
  assert.ok(agreement.accuracy! > 0.7, `agreement ${agreement.accuracy}`);
  const modelBt = pw.fitBradleyTerry(resolved.votes);
  const aligned = pw.alignScores(modelBt.images, modelBt.scores, bt.images, bt.scores);
  const corr = pw.scoreAgreement(aligned.a, aligned.b, { iterations: 300 });
  assert.ok(corr.kendallTauB.value! > 0.6 && corr.kendallTauB.ci !== null);

  // adaptive follow-up plan from the current ratings
  const next = pw.adaptivePairPlan(loaded.votes.images, { mean: bt.scores, sd: bt.se }, { budget: 40, model: "bradley-terry", existing: loaded.votes });
  assert.equal(next.size, 40);
});
