import { test } from "node:test";
import assert from "node:assert/strict";
import { adaptivePairPlan, pairGain, planBothOrders, randomPairPlan, type PairPlan } from "../../lib/src/pairwise/plan/pair-plan";
import { fitBradleyTerry } from "../../lib/src/pairwise/ratings/bradley-terry";
import { weakComponents } from "../../lib/src/pairwise/math/graph";
import { aggregatePairs } from "../../lib/src/pairwise/votes/pair-counts";
import { simulateVotes } from "../../lib/src/pairwise/simulate";
import { VoteSetBuilder } from "../../lib/src/pairwise/votes/vote-set";

function pairKeys(plan: PairPlan): Map<string, number> {
  const m = new Map<string, number>();
  for (let k = 0; k < plan.size; k++) {
    const a = Math.min(plan.left[k], plan.right[k]);
    const b = Math.max(plan.left[k], plan.right[k]);
    m.set(`${a}-${b}`, (m.get(`${a}-${b}`) ?? 0) + 1);
  }
  return m;
}

function checkPlan(plan: PairPlan, n: number, k: number): void {
  assert.equal(plan.perImage.length, n);
  for (let i = 0; i < plan.size; i++) assert.notEqual(plan.left[i], plan.right[i], "no self-pairs");
  const counts = [...plan.perImage];
  const off = counts.filter((c) => c !== k);
  if ((n * k) % 2 === 0) assert.deepEqual(off, [], `every image appears ${k} times`);
  else assert.ok(off.length <= 2 && off.every((c) => Math.abs(c - k) === 1), `odd n·k: ${off}`);
  assert.equal(plan.size, counts.reduce((a, b) => a + b, 0) / 2);
}

test("random plan, table of cases: each image ≈ k times, no self-pairs, no repeats until every pair is used", () => {
  const cases: [number, number][] = [[10, 3], [11, 3], [50, 7], [200, 10], [7, 6], [7, 4], [8, 5], [6, 12], [5, 9]];
  for (const [n, k] of cases) {
    const plan = randomPairPlan(n, k, { seed: n * 100 + k });
    checkPlan(plan, n, k);
    const keys = pairKeys(plan);
    const full = Math.floor(k / (n - 1));
    const mult = [...keys.values()];
    assert.ok(mult.every((c) => c === full || c === full + 1), `n=${n} k=${k}: pair multiplicities ${[...new Set(mult)]}`);
    if (k < n - 1) assert.equal(plan.repeatedPairs, 0, `n=${n} k=${k}: no repeated pair`);
    if (k === n - 1) assert.equal(keys.size, (n * (n - 1)) / 2, "k = n − 1: every pair once");
  }
});

test("random plan: seeded, positions balanced, comparison graph connected", () => {
  const a = randomPairPlan(300, 6, { seed: 1 });
  const b = randomPairPlan(300, 6, { seed: 1 });
  const c = randomPairPlan(300, 6, { seed: 2 });
  assert.deepEqual([...a.left], [...b.left]);
  assert.notDeepEqual([...a.left], [...c.left]);
  const firstCount = new Int32Array(300);
  for (let k = 0; k < a.size; k++) firstCount[a.left[k]]++;
  const share = [...firstCount].reduce((s, x) => s + x, 0) / (2 * a.size);
  assert.ok(Math.abs(share - 0.5) < 1e-12);
  const vb = new VoteSetBuilder(a.images);
  for (let k = 0; k < a.size; k++) vb.add(a.left[k], a.right[k], 0);
  assert.equal(weakComponents(aggregatePairs(vb.build())).count, 1, "a random 6-regular graph is connected");
  assert.throws(() => randomPairPlan(1, 2), RangeError);
  assert.throws(() => randomPairPlan(5, 1.5), RangeError);
  assert.equal(randomPairPlan(["x", "y", "z"], 0).size, 0);
});

test("planBothOrders asks every pair as (A, B) and (B, A)", () => {
  const plan = randomPairPlan(20, 4, { seed: 5 });
  const both = planBothOrders(plan);
  assert.equal(both.size, 2 * plan.size);
  for (let k = 0; k < plan.size; k++) {
    assert.equal(both.first[2 * k], both.second[2 * k + 1]);
    assert.equal(both.second[2 * k], both.first[2 * k + 1]);
  }
});

test("pairGain prefers close and uncertain pairs", () => {
  assert.ok(pairGain("bradley-terry", 0, 0.1, 1, 1) > pairGain("bradley-terry", 0, 3, 1, 1), "closer is better");
  assert.ok(pairGain("bradley-terry", 0, 0.1, 1, 1) > pairGain("bradley-terry", 0, 0.1, 0.1, 0.1), "more uncertain is better");
  assert.ok(pairGain("trueskill", 25, 26, 9, 9) > pairGain("trueskill", 25, 40, 9, 9));
  assert.ok(pairGain("trueskill", 25, 26, 9, 9) > pairGain("trueskill", 25, 26, 1, 1));
});

test("adaptive plan: budget respected, coverage first, close uncertain pairs chosen, existing pairs avoided", () => {
  const n = 120;
  const latent = Array.from({ length: n }, (_, i) => (i - 60) / 20);
  const names = latent.map((_, i) => `i${i}`);
  const votes = simulateVotes(names, latent, { comparisonsPerImage: 4, seed: 11 });
  const bt = fitBradleyTerry(votes);
  const plan = adaptivePairPlan(names, { mean: bt.scores, sd: bt.se }, { budget: 150, model: "bradley-terry", existing: votes, seed: 3 });
  assert.equal(plan.size, 150);
  assert.equal(plan.method, "adaptive");
  assert.ok([...plan.perImage].every((c) => c >= 1), "every image covered (2·budget ≥ n)");
  const maxPer = Math.ceil((2 * 150) / n) + 1;
  assert.ok([...plan.perImage].every((c) => c <= maxPer), "per-image cap");
  const existing = new Set<string>();
  for (let k = 0; k < votes.count; k++) existing.add([votes.left[k], votes.right[k]].sort((a, b) => a - b).join("-"));
  for (let k = 0; k < plan.size; k++) assert.ok(!existing.has([plan.left[k], plan.right[k]].sort((a, b) => a - b).join("-")), "no pair asked again");
  let closeness = 0;
  for (let k = 0; k < plan.size; k++) closeness += Math.abs(bt.scores[plan.left[k]] - bt.scores[plan.right[k]]);
  const random = randomPairPlan(names, 3, { seed: 3 });
  let randomCloseness = 0;
  for (let k = 0; k < random.size; k++) randomCloseness += Math.abs(bt.scores[random.left[k]] - bt.scores[random.right[k]]);
  assert.ok(closeness / plan.size < 0.5 * (randomCloseness / random.size), "adaptive pairs are closer in score than random ones");
  assert.equal(plan.gain.length, plan.size);
  // TrueSkill ratings work the same way
  const ts = adaptivePairPlan(names, { mean: latent.map((x) => 25 + 5 * x), sd: latent.map(() => 3) }, { budget: 40, model: "trueskill", seed: 1 });
  assert.equal(ts.size, 40);
  assert.throws(() => adaptivePairPlan(names, { mean: [1], sd: [1] }, { budget: 3, model: "bradley-terry" }), RangeError);
});
