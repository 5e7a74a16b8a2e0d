import { test } from "node:test";
import assert from "node:assert/strict";
import { outcomeProbabilities, simulateVotes } from "../../lib/src/pairwise/simulate";
import { randomPairPlan } from "../../lib/src/pairwise/plan/pair-plan";
import { fitBradleyTerry } from "../../lib/src/pairwise/ratings/bradley-terry";
import { EQUAL, LEFT } from "../../lib/src/pairwise/votes/vote-set";
import { close } from "../helpers/pairwise-reference";

test("outcome probabilities: Bradley–Terry at band 0, Rao–Kupper equal band otherwise", () => {
  const p = outcomeProbabilities(1, 1, 0);
  close(p.left, 1 / (1 + Math.exp(-1)), 1e-15);
  close(p.equal, 0, 1e-15);
  const q = outcomeProbabilities(0, 0.5, 0.3);
  close(q.left, q.right, 1e-15);
  close(q.left + q.right + q.equal, 1, 1e-15);
  close(q.left, 1 / (1 + Math.exp(0.6)), 1e-15);
  assert.throws(() => outcomeProbabilities(0, 0), RangeError);
  assert.throws(() => outcomeProbabilities(0, 1, -1), RangeError);
});

test("simulated frequencies match the probabilities; seeded; a fit recovers θ = s / T", () => {
  const images = ["lo", "hi"];
  const plan = { left: new Int32Array([0]), right: new Int32Array([1]), size: 1 };
  const votes = simulateVotes(images, [0, 1.2], { pairs: plan, votesPerPair: 20000, temperature: 2, equalBand: 0.4, seed: 5 });
  let hiWins = 0;
  let ties = 0;
  for (let k = 0; k < votes.count; k++) {
    const hiLeft = votes.left[k] === 1;
    if (votes.outcome[k] === EQUAL) ties++;
    else if ((votes.outcome[k] === LEFT) === hiLeft) hiWins++;
  }
  const p = outcomeProbabilities(1.2, 2, 0.4);
  close(hiWins / votes.count, p.left, 0.01, "P(hi wins)");
  close(ties / votes.count, p.equal, 0.01, "P(equal)");
  const again = simulateVotes(images, [0, 1.2], { pairs: plan, votesPerPair: 50, seed: 5 });
  const other = simulateVotes(images, [0, 1.2], { pairs: plan, votesPerPair: 50, seed: 6 });
  assert.deepEqual([...again.outcome], [...simulateVotes(images, [0, 1.2], { pairs: plan, votesPerPair: 50, seed: 5 }).outcome]);
  assert.notDeepEqual([...again.outcome], [...other.outcome]);
  // BT fit of band-0 votes: θ_hi − θ_lo ≈ 1.2 / 2
  const bt = fitBradleyTerry(simulateVotes(images, [0, 1.2], { pairs: plan, votesPerPair: 20000, temperature: 2, seed: 8 }), { priorSd: null });
  close(bt.scores[1] - bt.scores[0], 0.6, 0.05, "θ difference");
  // default plan: k comparisons per image
  const def = simulateVotes(["a", "b", "c", "d", "e"], [1, 2, 3, 4, 5], { comparisonsPerImage: 2 });
  assert.equal(def.count, randomPairPlan(5, 2).size);
  assert.throws(() => simulateVotes(["a"], [1, 2]), RangeError);
});
