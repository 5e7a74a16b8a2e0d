import { test } from "node:test";
import assert from "node:assert/strict";
import { BradleyTerryError, bradleyTerryProbability, fitBradleyTerry } from "../../lib/src/pairwise/ratings/bradley-terry";
import { simulateVotes } from "../../lib/src/pairwise/simulate";
import { spearman } from "../../lib/src/compare/statistics";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, type Outcome, type VoteSet } from "../../lib/src/pairwise/votes/vote-set";
import { REF, close, closeRel } from "../helpers/pairwise-reference";

function fromReference(nImages: number, votes: [number, number, number][]): VoteSet {
  const b = new VoteSetBuilder(Array.from({ length: nImages }, (_, i) => `img${i}`));
  for (const [l, r, o] of votes) b.add(l, r, o as Outcome);
  return b.build();
}

test("pure ML with ties as half wins = statsmodels' binomial GLM (estimates and SEs, mean-zero)", () => {
  const ref = REF.bt_small;
  assert.ok(ref.ties > 5, "the reference data has ties");
  const r = fitBradleyTerry(fromReference(ref.n_images, ref.votes), { priorSd: null });
  assert.equal(r.converged, true);
  assert.equal(r.seMethod, "exact");
  ref.ml.theta.forEach((t: number, i: number) => close(r.scores[i], t, 1e-8, `theta[${i}]`));
  // statsmodels stops its IRLS at ~1e-8 relative in the SEs
  ref.ml.se.forEach((s: number, i: number) => closeRel(r.se[i], s, 1e-7, `se[${i}]`));
  close(r.logLikelihood, ref.ml.loglik, 1e-7, "log-likelihood");
  let sum = 0;
  for (const s of r.scores) sum += s;
  close(sum, 0, 1e-10, "mean-zero constraint");
});

test("MAP with a N(0, 3²) prior = scipy's penalised fit (estimates and SEs)", () => {
  const ref = REF.bt_small;
  const r = fitBradleyTerry(fromReference(ref.n_images, ref.votes));
  assert.equal(r.priorSd, 3);
  ref.map_prior_sd_3.theta.forEach((t: number, i: number) => close(r.scores[i], t, 1e-8, `theta[${i}]`));
  ref.map_prior_sd_3.se.forEach((s: number, i: number) => close(r.se[i], s, 1e-8, `se[${i}]`));
});

test("MAP handles always-winners, always-losers and a separate group, and lists them", () => {
  const ref = REF.bt_awkward;
  const r = fitBradleyTerry(fromReference(ref.n_images, ref.votes));
  ref.map_prior_sd_3.theta.forEach((t: number, i: number) => close(r.scores[i], t, 1e-8, `theta[${i}]`));
  ref.map_prior_sd_3.se.forEach((s: number, i: number) => close(r.se[i], s, 1e-8, `se[${i}]`));
  const d = r.diagnostics;
  assert.deepEqual(d.alwaysWon, [10]);
  assert.deepEqual(d.alwaysLost, [11]);
  assert.equal(d.components, 2);
  assert.deepEqual(d.outsideLargestComponent, [12, 13]);
  assert.equal(d.mleExists, false);
  assert.ok(r.scores[10] === Math.max(...r.scores) && r.se[10] > r.se[0], "the always-winner is top and least certain");
});

test("pure ML refuses data without an ML estimate, naming the images", () => {
  const ref = REF.bt_awkward;
  assert.throws(
    () => fitBradleyTerry(fromReference(ref.n_images, ref.votes), { priorSd: null }),
    (e: unknown) => {
      assert.ok(e instanceof BradleyTerryError);
      assert.match(e.message, /does not exist/);
      assert.match(e.message, /never lost: "img10"/);
      assert.match(e.message, /never won: "img11"/);
      assert.match(e.message, /2 unconnected groups/);
      assert.match(e.message, /priorSd/);
      return true;
    },
  );
  // a cycle is enough for the ML estimate to exist: a > b > c > a
  const b = new VoteSetBuilder();
  b.add("a", "b", LEFT);
  b.add("b", "c", LEFT);
  b.add("c", "a", LEFT);
  const r = fitBradleyTerry(b.build(), { priorSd: null });
  for (const s of r.scores) close(s, 0, 1e-9, "symmetric cycle → equal scores");
  // but an image without votes has no ML estimate
  const c = new VoteSetBuilder(["a", "b", "c", "lonely"]);
  c.add("a", "b", LEFT);
  c.add("b", "a", LEFT);
  assert.throws(() => fitBradleyTerry(c.build(), { priorSd: null }), /without votes: "c", "lonely"/);
});

test("Agresti's baseball example: the published estimates (Table 10.11) and statsmodels' fit", () => {
  const { teams, wins, published_estimates_vs_baltimore: pub, statsmodels_vs_baltimore: sm, statsmodels_se_vs_baltimore: smSe } = REF.baseball;
  const b = new VoteSetBuilder(teams);
  for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) for (let k = 0; k < wins[i][j]; k++) b.add(i, j, LEFT);
  const r = fitBradleyTerry(b.build(), { priorSd: null });
  const balt = r.scores[6];
  teams.slice(0, 6).forEach((t: string, i: number) => {
    assert.equal(Number((r.scores[i] - balt).toFixed(2)), pub[t], `${t} vs Baltimore (Agresti)`);
    close(r.scores[i] - balt, sm[t], 1e-8, `${t} vs Baltimore (statsmodels)`);
  });
  // SE of a difference is not an SE of the mean-zero scores; check the model's probabilities instead
  close(bradleyTerryProbability(r, 0, 6), 1 / (1 + Math.exp(-sm.Milwaukee)), 1e-9, "P(Milwaukee beats Baltimore)");
  assert.ok(Object.values(smSe as Record<string, number>).every((s) => Math.abs(s - 0.34) < 0.015), "Agresti: SEs about 0.3");
});

test("invariances: swapping sides changes nothing; doubling every vote keeps θ and divides SEs by √2", () => {
  const ref = REF.bt_small;
  const v = fromReference(ref.n_images, ref.votes);
  const swapped = new VoteSetBuilder(v.images);
  const doubled = new VoteSetBuilder(v.images);
  for (let k = 0; k < v.count; k++) {
    const o = v.outcome[k];
    swapped.add(v.right[k], v.left[k], (o === LEFT ? RIGHT : o === RIGHT ? LEFT : EQUAL) as Outcome);
    doubled.add(v.left[k], v.right[k], o as Outcome);
    doubled.add(v.left[k], v.right[k], o as Outcome);
  }
  const a = fitBradleyTerry(v, { priorSd: null });
  const s = fitBradleyTerry(swapped.build(), { priorSd: null });
  const d = fitBradleyTerry(doubled.build(), { priorSd: null });
  for (let i = 0; i < v.images.length; i++) {
    close(s.scores[i], a.scores[i], 1e-9);
    close(d.scores[i], a.scores[i], 1e-9);
    closeRel(d.se[i], a.se[i] / Math.SQRT2, 1e-8);
  }
});

function simulated(n: number, k: number, seed: number, spread = 2.5) {
  const latent = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * spread);
  const names = latent.map((_, i) => `img${i}`);
  return { latent, votes: simulateVotes(names, latent, { comparisonsPerImage: k, seed }) };
}

test("simulation: scores recover the latent ranking (Spearman > 0.9)", () => {
  const { latent, votes } = simulated(400, 20, 1);
  const r = fitBradleyTerry(votes);
  const rho = spearman(Array.from(r.scores), Array.from(latent));
  assert.ok(rho !== null && rho > 0.9, `Spearman ${rho}`);
});

test("simulation: 95 % intervals θ ± 1.96·se (default prior) cover the true centred scores at about the nominal rate", () => {
  let covered = 0;
  let total = 0;
  for (let rep = 0; rep < 4; rep++) {
    const { latent, votes } = simulated(250, 24, 100 + rep, 1.5);
    const r = fitBradleyTerry(votes);
    const mean = latent.reduce((a, b) => a + b, 0) / latent.length;
    for (let i = 0; i < latent.length; i++) {
      total++;
      if (Math.abs(r.scores[i] - (latent[i] - mean)) <= 1.96 * r.se[i]) covered++;
    }
  }
  const rate = covered / total;
  assert.ok(rate > 0.92 && rate < 0.98, `coverage ${rate}`);
});

test("stochastic SEs (probing) agree with exact SEs within a few percent", () => {
  const { votes } = simulated(600, 20, 7);
  const exact = fitBradleyTerry(votes, { standardErrors: "exact" });
  const probe = fitBradleyTerry(votes, { standardErrors: "stochastic" });
  assert.equal(probe.seMethod, "stochastic");
  assert.ok((probe.seProbes ?? 0) > 0);
  let worst = 0;
  let meanAbs = 0;
  for (let i = 0; i < 600; i++) {
    const rel = Math.abs(probe.se[i] / exact.se[i] - 1);
    worst = Math.max(worst, rel);
    meanAbs += rel / 600;
  }
  assert.ok(meanAbs < 0.01 && worst < 0.05, `mean ${meanAbs}, worst ${worst}`);
  for (let i = 0; i < 600; i++) close(probe.scores[i], exact.scores[i], 1e-12);
});

test("images without votes get 0 ± priorSd; bad options are rejected", () => {
  const b = new VoteSetBuilder(["a", "b", "unseen"]);
  b.add("a", "b", LEFT);
  b.add("b", "a", EQUAL);
  const r = fitBradleyTerry(b.build(), { priorSd: 2 });
  assert.deepEqual(r.diagnostics.noVotes, [2]);
  // centred: θ_unseen − mean θ has variance σ²(1 − 1/n)² + (σ_a² + σ_b²)/n²-ish; at least close to σ
  assert.ok(r.se[2] > 1.3 && r.se[2] < 2, `${r.se[2]}`);
  assert.throws(() => fitBradleyTerry(b.build(), { priorSd: 0 }), RangeError);
  const none = fitBradleyTerry(b.build(), { standardErrors: "none" });
  assert.ok(Number.isNaN(none.se[0]));
});
