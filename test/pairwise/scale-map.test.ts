import { test } from "node:test";
import assert from "node:assert/strict";
import { mapBradleyTerry, mapQScores, mapToScale, mapTrueSkill } from "../../lib/src/pairwise/ratings/scale-map";
import { fitBradleyTerry } from "../../lib/src/pairwise/ratings/bradley-terry";
import { fitTrueSkill } from "../../lib/src/pairwise/ratings/trueskill";
import { qScores } from "../../lib/src/pairwise/ratings/q-score";
import { simulateVotes } from "../../lib/src/pairwise/simulate";
import { close } from "../helpers/pairwise-reference";

const latent = Array.from({ length: 40 }, (_, i) => (i - 20) / 8);
const names = latent.map((_, i) => `i${i}`);
const votes = simulateVotes(names, latent, { comparisonsPerImage: 12, equalBand: 0.15, seed: 2 });

test("Q-score: fixed linear map 0–10 → 1–10, bootstrap limits mapped alike, rule exposed", () => {
  const q = qScores(votes, { bootstrap: { iterations: 200 } });
  const m = mapQScores(q);
  for (let i = 0; i < 40; i++) close(m.scores[i], 1 + 0.9 * q.q[i], 1e-12);
  close(m.lower![3], 1 + 0.9 * q.ci!.lower[3], 1e-12);
  assert.equal(m.rule.kind, "linear");
  assert.match(m.rule.formula, /s = 1 \+ 9·\(x − 0\)\/10/);
  const ends = mapToScale([0, 10, 5, -1, 11, NaN], { kind: "linear", from: [0, 10] });
  assert.deepEqual([...ends.scores].slice(0, 5), [1, 10, 5.5, 1, 10]);
  assert.ok(Number.isNaN(ends.scores[5]));
});

test("Bradley–Terry: 1 + 9·σ(θ − mean θ); the average image maps to 5.5; intervals θ ± 1.96·se", () => {
  const bt = fitBradleyTerry(votes);
  const m = mapBradleyTerry(bt);
  for (let i = 0; i < 40; i++) close(m.scores[i], 1 + 9 / (1 + Math.exp(-bt.scores[i])), 1e-12);
  close(mapToScale([0, 1, -1], { kind: "win-probability", link: "logistic", spread: 1, center: 0 }).scores[0], 5.5, 1e-15);
  close(m.upper![7], 1 + 9 / (1 + Math.exp(-(bt.scores[7] + 1.959963984540054 * bt.se[7]))), 1e-9);
  assert.ok(m.lower![7] < m.scores[7] && m.scores[7] < m.upper![7]);
  assert.equal(m.rule.params.link, "logistic");
  assert.match(m.rule.formula, /probability of beating an image of average score/);
});

test("TrueSkill: 1 + 9·Φ((μ − mean μ)/(√2·β))", () => {
  const ts = fitTrueSkill(votes);
  const m = mapTrueSkill(ts);
  const mean = ts.mu.reduce((a, b) => a + b, 0) / 40;
  close(m.rule.params.center as number, mean, 1e-12);
  close(m.rule.params.spread as number, Math.SQRT2 * (25 / 6), 1e-12);
  const top = ts.mu.indexOf(Math.max(...ts.mu));
  assert.equal(m.scores.indexOf(Math.max(...m.scores)), top);
});

test("range, quantile and reference rules", () => {
  const x = [3, 1, 2, 2, 10];
  assert.deepEqual([...mapToScale(x, { kind: "range" }).scores], [1 + 9 * (2 / 9), 1, 1 + 1, 1 + 1, 10]);
  // average ranks 4, 1, 2.5, 2.5, 5 → u = (r − 1)/4
  assert.deepEqual([...mapToScale(x, { kind: "quantile" }).scores], [1 + 9 * 0.75, 1, 1 + 9 * 0.375, 1 + 9 * 0.375, 10]);
  // reference: human scores of another set; the median image gets the reference median
  const ref = mapToScale([5, 1, 3], { kind: "reference", reference: [2, 4, 6, 8, 10, 3, 7] });
  assert.deepEqual([...ref.scores], [10, 2, 6]);
  assert.equal(ref.rule.params.referenceN, 7);
  // monotone: interval end points between observed scores are interpolated
  const iv = mapToScale([0, 10], { kind: "quantile" }, { min: 1, max: 10 }, { lower: [-5], upper: [5] });
  assert.deepEqual([...iv.lower!, ...iv.upper!], [1, 5.5]);
  assert.throws(() => mapToScale([1], { kind: "linear", from: [2, 2] }), RangeError);
  assert.throws(() => mapToScale([1], { kind: "reference", reference: [] }), RangeError);
  const flat = mapToScale([4, 4], { kind: "range" });
  assert.deepEqual([...flat.scores], [5.5, 5.5]);
});
