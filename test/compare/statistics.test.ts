import { test } from "node:test";
import assert from "node:assert/strict";
import seedrandom from "seedrandom";
import { averageRanks, bootstrapCI, CI_METRICS, compareModels, compareModelsWith, errorMetrics, holmAdjust, median, metricCIs, metricValue, normalCdf, pairedBootstrapDiff, pearson, quadraticWeightedKappa, quantile, signedRankDistribution, spearman, wilcoxonSignedRank } from "../../lib/src/compare/statistics";

const SCALE = { min: 1, max: 10 };

function close(actual: number | null, expected: number, tol = 1e-12, what = "value"): void {
  assert.ok(actual !== null, `${what} is null, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} (tol ${tol})`);
}

// ───────── point metrics ─────────

test("errorMetrics on a hand-computed 4-image example", () => {
  // expected  = [3, 5, 7, 4], predicted = [4, 5, 5, 8]
  // err = p − e = [1, 0, −2, 4]; |err| = [1, 0, 2, 4]
  // mae  = (1+0+2+4)/4 = 7/4 = 1.75
  // rmse = √((1+0+4+16)/4) = √5.25 = 2.29128784747792
  // acc1 = #{|err| ≤ 1} / 4 = 2/4 = 0.5;  acc2 = #{|err| ≤ 2} / 4 = 3/4 = 0.75
  // medianError: sorted |err| = [0, 1, 2, 4] → (1+2)/2 = 1.5 (even n)
  // bias = (1+0−2+4)/4 = 0.75;  min |err| = 0, max |err| = 4
  // pearson: ē = 19/4 = 4.75, dx = [−1.75, .25, 2.25, −.75]; p̄ = 22/4 = 5.5, dy = [−1.5, −.5, −.5, 2.5]
  //   Σdxdy = 2.625 − .125 − 1.125 − 1.875 = −0.5; Σdx² = 8.75; Σdy² = 9 → r = −0.5/√78.75
  // spearman: ranks(e) = [1, 3, 4, 2]; ranks(p) = [1, 2.5, 2.5, 4] (tie of the two 5s)
  //   dx = [−1.5, .5, 1.5, −.5], dy = [−1.5, 0, 0, 1.5]: Σdxdy = 2.25 − .75 = 1.5; Σdx² = 5; Σdy² = 4.5
  //   ρ = 1.5/√22.5 = 1/√10
  // qwk = 2·cov / (var e + var p + (ē − p̄)²) with 1/n moments = 2(−0.125)/(2.1875 + 2.25 + 0.5625) = −0.25/5 = −0.05
  const m = errorMetrics([3, 5, 7, 4], [4, 5, 5, 8], SCALE);
  assert.equal(m.n, 4);
  close(m.mae, 1.75);
  close(m.rmse, Math.sqrt(5.25));
  close(m.rmse, 2.29128784747792, 1e-14);
  assert.equal(m.acc1, 0.5);
  assert.equal(m.acc2, 0.75);
  assert.equal(m.medianError, 1.5);
  close(m.bias, 0.75);
  assert.equal(m.minError, 0);
  assert.equal(m.maxError, 4);
  close(m.pearson, -0.5 / Math.sqrt(78.75), 1e-14, "pearson");
  close(m.spearman, 1 / Math.sqrt(10), 1e-14, "spearman");
  close(m.qwk, -0.05, 1e-14, "qwk");
});

test("median and quantile: even n averages the middle two, type-7 interpolation", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([7]), 7);
  assert.equal(median([1, 1, 2, 10]), 1.5);
  // R: quantile(c(1, 2, 3, 4, 10), c(.1, .25, .9)) = 1.4, 2.0, 7.6
  close(quantile([10, 1, 3, 2, 4], 0.1), 1.4, 1e-12);
  close(quantile([10, 1, 3, 2, 4], 0.25), 2, 1e-12);
  close(quantile([10, 1, 3, 2, 4], 0.9), 7.6, 1e-12);
  assert.throws(() => median([]));
});

test("perfect predictions: zero error, all rates 1, correlations and kappa 1", () => {
  const e = [1, 4, 6, 6, 9, 10, 3];
  const m = errorMetrics(e, [...e], SCALE);
  assert.deepEqual([m.mae, m.rmse, m.bias, m.medianError, m.maxError], [0, 0, 0, 0, 0]);
  assert.deepEqual([m.acc1, m.acc2], [1, 1]);
  close(m.pearson, 1);
  close(m.spearman, 1);
  close(m.qwk, 1);
});

test("constant predictor: pearson and spearman are null (not NaN), qwk is 0", () => {
  const e = [2, 5, 7, 9, 4];
  const m = errorMetrics(e, [5, 5, 5, 5, 5], SCALE);
  assert.equal(m.pearson, null);
  assert.equal(m.spearman, null);
  close(m.qwk, 0, 1e-15, "qwk");
  // constancy is checked on values: three copies of 0.1 sum to 0.30000000000000004, still constant
  assert.equal(pearson([1, 2, 3], [0.1, 0.1, 0.1]), null);
  // both sides the same constant: kappa undefined → null
  assert.equal(quadraticWeightedKappa([5, 5, 5], [5, 5, 5], SCALE), null);
  assert.equal(JSON.stringify(m).includes("NaN"), false);
});

test("spearman uses average ranks for ties", () => {
  assert.deepEqual(averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(averageRanks([3, 1, 3, 3]), [3, 1, 3, 3]); // three 3s share ranks 2..4 → 3
  // x = [1, 2, 3, 4, 5], y = [1, 1, 2, 2, 3]: ranks(y) = [1.5, 1.5, 3.5, 3.5, 5]
  //   dx = [−2, −1, 0, 1, 2], dy = [−1.5, −1.5, .5, .5, 2]: Σdxdy = 3 + 1.5 + 0 + .5 + 4 = 9
  //   Σdx² = 10, Σdy² = 2.25 + 2.25 + .25 + .25 + 4 = 9 → ρ = 9/√90 = 3/√10
  // (R: cor(1:5, c(1,1,2,2,3), method = "spearman") = 0.9486833)
  close(spearman([1, 2, 3, 4, 5], [1, 1, 2, 2, 3]), 3 / Math.sqrt(10), 1e-14, "spearman");
  close(spearman([1, 2, 3, 4, 5], [1, 1, 2, 2, 3]), 0.9486833, 1e-7, "spearman vs R");
});

test("QWK on a hand-computed 3-class example", () => {
  // scale 1..3 (K = 3), weights w = (i−j)²/(K−1)²: |i−j| = 1 → 0.25, |i−j| = 2 → 1
  // expected  = [1, 2, 3, 1, 2, 3]
  // predicted = [1, 2, 3, 2, 3, 3]
  // observed disagreements: (1,2) and (2,3), each weight 0.25 → Σ w·O = 0.5
  // row totals (expected) = [2, 2, 2]; column totals (predicted) = [1, 2, 3]; E_ij = row_i·col_j / 6
  //   Σ w·E = (2/6)·Σ_j col_j·Σ_i w_ij = (1/3)·(1·1.25 + 2·0.5 + 3·1.25) = (1/3)·6 = 2
  // κ = 1 − 0.5/2 = 0.75
  const e = [1, 2, 3, 1, 2, 3];
  const p = [1, 2, 3, 2, 3, 3];
  close(quadraticWeightedKappa(e, p, { min: 1, max: 3 }), 0.75, 1e-15, "qwk");
  // same value on the 1..10 scale: unused categories add nothing, the (K−1)² factor cancels
  close(quadraticWeightedKappa(e, p, SCALE), 0.75, 1e-15, "qwk 1..10");
  close(quadraticWeightedKappa(e, p), 0.75, 1e-15, "qwk observed range");
  // fractional scores are rounded (half up): 1.4 → 1, 2.5 → 3
  close(quadraticWeightedKappa(e, [1.4, 2, 3, 2, 2.5, 3], { min: 1, max: 3 }), 0.75, 1e-15, "qwk rounded");
  assert.throws(() => quadraticWeightedKappa([1, 2], [1, 11], SCALE), /outside the scale/);
});

test("QWK equals 2·cov/(var x + var y + (x̄ − ȳ)²) on random integer data (identity check)", () => {
  const rng = seedrandom("qwk-identity");
  for (let trial = 0; trial < 50; trial++) {
    const n = 5 + Math.floor(rng() * 60);
    const x = Array.from({ length: n }, () => 1 + Math.floor(rng() * 10));
    const y = x.map((v) => Math.min(10, Math.max(1, v + Math.floor(rng() * 5) - 2)));
    const mx = x.reduce((s, v) => s + v, 0) / n;
    const my = y.reduce((s, v) => s + v, 0) / n;
    const vx = x.reduce((s, v) => s + (v - mx) ** 2, 0) / n;
    const vy = y.reduce((s, v) => s + (v - my) ** 2, 0) / n;
    const cov = x.reduce((s, v, i) => s + (v - mx) * (y[i] - my), 0) / n;
    close(quadraticWeightedKappa(x, y, SCALE), (2 * cov) / (vx + vy + (mx - my) ** 2), 1e-12, `trial ${trial}`);
  }
});

test("acc thresholds tolerate floating-point noise", () => {
  // 5.1 − 4.1 = 0.9999999999999996, 4.3 − 3.3 = 0.9999999999999996, 0.3 − (−0.7)… all are "within 1"
  const m = errorMetrics([4.1, 1.1, 7.2], [5.1, 2.1, 8.2]);
  assert.equal(m.acc1, 1);
});

test("errorMetrics rejects bad input", () => {
  assert.throws(() => errorMetrics([], []), /at least one/);
  assert.throws(() => errorMetrics([1, 2], [1]), /same length/);
  assert.throws(() => errorMetrics([1, 2], [1, Number.NaN]), /finite/);
});

// ───────── normal CDF ─────────

test("normalCdf matches reference values (Python 0.5*math.erfc(-x/sqrt(2)))", () => {
  close(normalCdf(0), 0.5, 1e-16);
  close(normalCdf(-1.96), 0.024997895148220435, 1e-15);
  close(normalCdf(1.96), 0.9750021048517795, 1e-15);
  close(normalCdf(-1), 0.15865525393145707, 1e-15);
  close(normalCdf(-3), 0.0013498980316300946, 1e-16);
  close(normalCdf(-5) / 2.866515718791939e-7, 1, 1e-9); // relative error in the tail
  close(normalCdf(-8) / 6.22096057427178e-16, 1, 1e-8);
});

// ───────── Wilcoxon signed-rank ─────────

test("Wilcoxon: R's wilcox.test depression example gives V = 40, p = 0.03906 (exact)", () => {
  // R documentation, ?wilcox.test (Hollander & Wolfe 1973, p. 29):
  //   wilcox.test(x, y, paired = TRUE) → V = 40, p-value = 0.03906
  // d = x − y = [.952, −.147, 1.022, .43, .62, .59, .49, −.08, .01]; ranks of |d|: .01→1, .08→2, .147→3, …
  // W− = 2 + 3 = 5, W+ = 45 − 5 = 40; P(W+ ≥ 40) = P(W+ ≤ 5) = 10/512 (subsets of 1..9 with sum ≤ 5:
  // {}, {1}, {2}, {3}, {1,2}, {4}, {1,3}, {5}, {1,4}, {2,3}) → p = 2·10/512 = 0.0390625
  const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
  const r = wilcoxonSignedRank(x, y);
  assert.equal(r.method, "exact");
  assert.equal(r.n, 9);
  assert.equal(r.statistic, 40);
  assert.equal(r.wMinus, 5);
  close(r.pValue, 0.0390625, 1e-15, "p");
  // swapping x and y mirrors W+ and keeps the two-sided p
  const s = wilcoxonSignedRank(y, x);
  assert.equal(s.statistic, 5);
  close(s.pValue, 0.0390625, 1e-15, "p swapped");
});

test("Wilcoxon: scipy's Darwin example (Fisher) gives exact p = 0.041259765625", () => {
  // scipy.stats.wilcoxon docs: d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]
  //   → statistic = 24 (scipy reports min(W+, W−)), pvalue = 0.041259765625 (exact, two-sided)
  // Here statistic is W+ = 120 − 24 = 96 (scipy's value for alternative="greater").
  const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
  const r = wilcoxonSignedRank(d, d.map(() => 0));
  assert.equal(r.method, "exact");
  assert.equal(r.statistic, 96);
  assert.equal(Math.min(r.wPlus, r.wMinus), 24);
  close(r.pValue, 0.041259765625, 1e-15, "p");
  // the same data by normal approximation: μ = 15·16/4 = 60, σ² = 15·16·31/24 = 310,
  // z = (96 − 60 − 0.5)/√310 = 2.01626451157708, p = 2Φ(−z) = 0.043772323763041195 (Python math.erfc)
  const n = wilcoxonSignedRank(d, d.map(() => 0), { method: "normal" });
  assert.equal(n.method, "normal");
  close(n.z, 2.01626451157708, 1e-12, "z");
  close(n.pValue, 0.043772323763041195, 1e-13, "p normal");
});

test("Wilcoxon exact distribution equals brute-force enumeration of all 2^n sign patterns", () => {
  for (const n of [1, 2, 5, 9, 12]) {
    const dist = signedRankDistribution(n);
    const counts = new Array<number>(dist.length).fill(0);
    for (let mask = 0; mask < 1 << n; mask++) {
      let s = 0;
      for (let r = 1; r <= n; r++) if (mask & (1 << (r - 1))) s += r;
      counts[s]++;
    }
    counts.forEach((c, s) => close(dist[s], c / 2 ** n, 1e-15, `n=${n} s=${s}`));
  }
});

test("Wilcoxon normal approximation with ties and zeros (hand-computed)", () => {
  // d = x − y = [1, 2, 2, −2, 3, 3, 4, 0, −1, 5]; the 0 is dropped → n = 9, zeros = 1
  // |d| sorted: 1, 1, 2, 2, 2, 3, 3, 4, 5 → ranks 1→1.5, 2→4, 3→6.5, 4→8, 5→9
  // W+ = 1.5 + 4 + 4 + 6.5 + 6.5 + 8 + 9 = 39.5; W− = 4 + 1.5 = 5.5 (sum 45 = 9·10/2)
  // ties → normal: μ = 9·10/4 = 22.5; σ² = 9·10·19/24 − [(2³−2) + (3³−3) + (2³−2)]/48 = 71.25 − 36/48 = 70.5
  // z = (39.5 − 22.5 − 0.5)/√70.5 = 1.9651214027788653; p = 2Φ(−z) = 0.04940018799120367 (Python math.erfc)
  // (R's wilcox.test(d) uses the same formula: normal, correct = TRUE, tie-corrected σ.)
  const d = [1, 2, 2, -2, 3, 3, 4, 0, -1, 5];
  const r = wilcoxonSignedRank(d, d.map(() => 0));
  assert.equal(r.method, "normal");
  assert.equal(r.n, 9);
  assert.equal(r.zeros, 1);
  assert.equal(r.statistic, 39.5);
  assert.equal(r.wMinus, 5.5);
  close(r.z, 1.9651214027788653, 1e-13, "z");
  close(r.pValue, 0.04940018799120367, 1e-13, "p");
  assert.throws(() => wilcoxonSignedRank(d, d.map(() => 0), { method: "exact" }), /ties/);
});

test("Wilcoxon uses the normal approximation above n = 25 without ties", () => {
  // d = 1..30 with the signs of 3, 7, 12, 20, 28 negative: W− = 70, W+ = 465 − 70 = 395
  // μ = 30·31/4 = 232.5; σ² = 30·31·61/24 = 2363.75; z = (395 − 232.5 − 0.5)/√2363.75 = 3.332070975492845
  // p = 2Φ(−z) = 0.000862022685140614 (Python math.erfc)
  const neg = new Set([3, 7, 12, 20, 28]);
  const d = Array.from({ length: 30 }, (_, i) => (neg.has(i + 1) ? -(i + 1) : i + 1));
  const r = wilcoxonSignedRank(d, d.map(() => 0));
  assert.equal(r.method, "normal");
  assert.equal(r.statistic, 395);
  close(r.z, 3.332070975492845, 1e-12, "z");
  close(r.pValue, 0.000862022685140614, 1e-14, "p");
  // forced exact: P(W+ ≥ 395) = P(W+ ≤ 70) = 247018 / 2^30 (subset counts by an independent integer
  // DP in Python) → p = 494036 / 2^30 = 0.00046010687947273254. In this far tail the normal
  // approximation is conservative by a factor ≈ 1.9, but both are far below any usual threshold.
  const e = wilcoxonSignedRank(d, d.map(() => 0), { method: "exact" });
  assert.equal(e.method, "exact");
  close(e.pValue, 494036 / 2 ** 30, 1e-17, "exact p");
});

test("Wilcoxon edge cases: all pairs equal, floating noise counts as zero", () => {
  const r = wilcoxonSignedRank([1, 2, 3], [1, 2, 3]);
  assert.deepEqual([r.n, r.zeros, r.statistic, r.pValue], [0, 3, 0, 1]);
  // 0.1 + 0.2 vs 0.3 differ by 5.6e-17: a zero, not a difference
  assert.equal(wilcoxonSignedRank([0.1 + 0.2, 1], [0.3, 0]).n, 1);
});

test("holmAdjust matches R p.adjust(method = 'holm')", () => {
  // p.adjust(c(0.01, 0.04, 0.03), "holm") = 0.03 0.06 0.06
  const adj = holmAdjust([0.01, 0.04, 0.03]);
  [0.03, 0.06, 0.06].forEach((v, i) => close(adj[i], v, 1e-15));
  assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
});

// ───────── bootstrap ─────────

function synthetic(n: number, seed: string, noise = 2): { e: number[]; a: number[]; b: number[] } {
  const rng = seedrandom(seed);
  const e = Array.from({ length: n }, () => 1 + Math.floor(rng() * 10));
  const clamp = (v: number) => Math.min(10, Math.max(1, v));
  const a = e.map((v) => clamp(v + Math.round((rng() - 0.5) * 2 * noise)));
  const b = e.map((v) => clamp(v + Math.round((rng() - 0.5) * 2 * (noise + 2))));
  return { e, a, b };
}

test("bootstrapCI is reproducible with a seed and contains the point estimate", () => {
  const { e, a } = synthetic(60, "boot");
  const mae = (x: number[], y: number[]) => metricValue("mae", x, y);
  const ci1 = bootstrapCI(e, a, mae, { iterations: 1000, seed: 7 });
  const ci2 = bootstrapCI(e, a, mae, { iterations: 1000, seed: 7 });
  const ci3 = bootstrapCI(e, a, mae, { iterations: 1000, seed: 8 });
  assert.ok(ci1 && ci3);
  assert.deepEqual(ci1, ci2);
  assert.notDeepEqual(ci1, ci3);
  const point = errorMetrics(e, a).mae;
  assert.ok(ci1[0] <= point && point <= ci1[1], `${point} not in [${ci1}]`);
  assert.ok(ci1[0] < ci1[1]);
  // a percentile CI of a mean is close to mean ± 1.96·sd/√n
  const abs = a.map((p, i) => Math.abs(p - e[i]));
  const sd = Math.sqrt(abs.reduce((s, v) => s + (v - point) ** 2, 0) / abs.length);
  const half = (1.96 * sd) / Math.sqrt(abs.length);
  assert.ok(Math.abs(ci1[1] - ci1[0] - 2 * half) < 0.25 * 2 * half, `width ${ci1[1] - ci1[0]} vs ${2 * half}`);
});

test("metricCIs: same draws as bootstrapCI, contains point estimates, null where undefined", () => {
  const { e, a } = synthetic(50, "cis");
  const opts = { iterations: 500, seed: 3 };
  const cis = metricCIs(e, a, SCALE, opts);
  const point = errorMetrics(e, a, SCALE);
  for (const k of ["mae", "rmse", "acc1", "acc2", "bias", "pearson", "spearman", "qwk"] as const) {
    const ci = cis[k];
    assert.ok(ci, `${k} CI missing`);
    const v = point[k]!;
    assert.ok(ci[0] <= v && v <= ci[1], `${k}: ${v} not in [${ci}]`);
  }
  assert.deepEqual(cis.mae, bootstrapCI(e, a, (x, y) => metricValue("mae", x, y), opts));
  const constant = metricCIs(e, e.map(() => 5), SCALE, opts);
  assert.equal(constant.pearson, null);
  assert.equal(constant.spearman, null);
  assert.ok(constant.mae);
});

test("pairedBootstrapDiff: sign follows metric(A) − metric(B), identical models give 0", () => {
  const { e, a, b } = synthetic(80, "paired");
  const maeA = errorMetrics(e, a).mae;
  const maeB = errorMetrics(e, b).mae;
  assert.ok(maeA < maeB, "fixture: A is the better model");
  const r = pairedBootstrapDiff(e, a, b, { iterations: 1000, seed: 1 });
  close(r.diff, maeA - maeB, 1e-12, "diff");
  assert.ok(r.ci && r.ci[1] < 0, `A better → CI below 0: ${r.ci}`);
  assert.ok(r.pBootstrap !== null && r.pBootstrap < 0.05);
  const flipped = pairedBootstrapDiff(e, b, a, { iterations: 1000, seed: 1 });
  close(flipped.diff, maeB - maeA, 1e-12, "flipped diff");
  assert.ok(flipped.ci && flipped.ci[0] > 0);
  // paired: the same draws for both models → identical predictions differ by exactly 0 everywhere
  const same = pairedBootstrapDiff(e, a, [...a], { iterations: 200, seed: 1 });
  assert.deepEqual([same.diff, same.ci, same.pBootstrap], [0, [0, 0], 1]);
  // another metric, higher is better
  const acc = pairedBootstrapDiff(e, a, b, { metric: "acc1", iterations: 500 });
  close(acc.diff, errorMetrics(e, a).acc1 - errorMetrics(e, b).acc1, 1e-12, "acc1 diff");
});

// ───────── compareModels ─────────

test("compareModels: common set, coverage, per-model and paired output in metrics.json shape", () => {
  const expected = [2, 4, 6, 8, 3, 5, 7, 9];
  const predictions = {
    perfect: [2, 4, 6, 8, 3, 5, 7, 9],
    noisy: [3, 4, 5, 8, 5, 5, 8, 6],
    flaky: [2, null, 6, 7, 3, null, 7, 10],
    constant: [5, 5, 5, 5, 5, 5, 5, 5],
  };
  const out = compareModels(expected, predictions, SCALE, { iterations: 300, seed: 5 });
  assert.equal(out.n_images, 8);
  // flaky failed on images 1 and 5 → the common set is the other 6 images
  const common = [0, 2, 3, 4, 6, 7];
  assert.equal(out.common.n, 6);
  assert.deepEqual(Object.keys(out.models), ["perfect", "noisy", "flaky", "constant"]);

  const flaky = out.models.flaky;
  assert.deepEqual([flaky.n, flaky.valid, flaky.failed, flaky.coverage, flaky.n_common], [8, 6, 2, 0.75, 6]);
  assert.equal(out.models.noisy.coverage, 1);

  // point metrics are on the common set
  const pick = (xs: readonly (number | null)[]) => common.map((i) => xs[i] as number);
  const noisyCommon = errorMetrics(pick(expected), pick(predictions.noisy), SCALE);
  assert.equal(out.models.noisy.mae, noisyCommon.mae);
  assert.equal(out.models.noisy.median_error, noisyCommon.medianError);
  assert.equal(out.models.noisy.qwk, noisyCommon.qwk);
  assert.equal(out.models.perfect.mae, 0);
  // ... and on_own_valid on each model's own valid images
  const noisyAll = errorMetrics(expected, predictions.noisy, SCALE);
  assert.equal(out.models.noisy.on_own_valid.n, 8);
  assert.equal(out.models.noisy.on_own_valid.mae, noisyAll.mae);
  assert.notEqual(out.models.noisy.on_own_valid.mae, out.models.noisy.mae);
  assert.equal(out.models.flaky.on_own_valid.n, 6);

  // constant baseline: correlations null, kappa 0, CIs null for the undefined ones
  assert.equal(out.models.constant.pearson, null);
  assert.equal(out.models.constant.ci95.pearson, null);
  close(out.models.constant.qwk, 0, 1e-15);
  assert.ok(out.models.noisy.ci95.mae);

  // paired: every pair once, in the order given; mae_diff = MAE(a) − MAE(b) on the common set
  assert.equal(out.paired.length, 6);
  assert.deepEqual(out.paired.map((p) => `${p.a}-${p.b}`), [
    "perfect-noisy", "perfect-flaky", "perfect-constant", "noisy-flaky", "noisy-constant", "flaky-constant",
  ]);
  const pn = out.paired[0];
  assert.equal(pn.n, 6);
  close(pn.mae_diff, 0 - noisyCommon.mae, 1e-12, "mae_diff");
  assert.ok(pn.wilcoxon);
  // |err| on the common set: perfect = 0 everywhere, noisy = [1, 1, 0, 2, 1, 3] → 5 non-zero, all negative
  assert.equal(pn.wilcoxon.n_nonzero, 5);
  assert.equal(pn.wilcoxon.statistic, 0);
  assert.ok(pn.wilcoxon.p_value_holm >= pn.wilcoxon.p_value);

  assert.deepEqual(out.bootstrap, { iterations: 300, seed: 5, level: 0.95, method: "percentile" });
  // the JSON survives a round trip unchanged: no NaN / Infinity / undefined
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
});

test("compareModels is reproducible and validates its input", () => {
  const expected = [2, 4, 6, 8, 3];
  const preds = { a: [2, 5, 6, 7, 3], b: [3, 4, 7, 8, 1] };
  assert.deepEqual(compareModels(expected, preds, SCALE, { iterations: 200 }), compareModels(expected, preds, SCALE, { iterations: 200 }));
  assert.throws(() => compareModels(expected, { a: [1, 2, 3] }, SCALE), /3 predictions for 5 images/);
  assert.throws(() => compareModels(expected, { a: [2, 4, 6, 8, 11] }, SCALE), /outside the scale/);
  assert.throws(() => compareModels([], {}, SCALE), /at least one image/);
  // a model that answered nothing: the common set is empty, metrics are null, nothing throws
  const empty = compareModels(expected, { a: preds.a, dead: [null, null, null, null, null] }, SCALE, { iterations: 50 });
  assert.equal(empty.common.n, 0);
  assert.equal(empty.models.dead.coverage, 0);
  assert.equal(empty.models.a.mae, null);
  assert.equal(empty.models.a.on_own_valid.n, 5);
  assert.equal(empty.paired[0].wilcoxon, null);
  assert.deepEqual(JSON.parse(JSON.stringify(empty)), empty);
});

test("the one-pass bootstrap gives exactly the per-metric, per-model and per-pair bootstraps' numbers", () => {
  const rng = seedrandom("one-pass");
  const scale = { min: 1, max: 10 };
  for (const n of [2, 7, 60]) {
    const expected = Array.from({ length: n }, () => 1 + Math.floor(rng() * 19) / 2);
    const a = expected.map((e) => Math.min(10, Math.max(1, Math.round(e + (rng() - 0.5) * 4))));
    const b = expected.map(() => (rng() < 0.1 ? null : 1 + Math.floor(rng() * 10)));
    const opts = { iterations: 200, seed: 3 };
    const common = expected.map((_, i) => i).filter((i) => b[i] !== null);
    const e = common.map((i) => expected[i]!);
    const pa = common.map((i) => a[i]!);
    const pb = common.map((i) => b[i]!);
    const x = a.map((v) => Math.max(1, v - 0.25));
    const { metrics: m, extraCIs } = compareModelsWith(expected, { a, b }, scale, { ...opts, extra: { x } });
    for (const name of CI_METRICS) {
      const slow = bootstrapCI(e, pa, (ee, pp) => metricValue(name, ee, pp, scale), { ...opts, level: 0.95 });
      const full = metricValue(name, e, pa, scale);
      assert.deepEqual(m.models.a!.ci95[name], full === null ? null : slow, `n=${n} ${name}`);
    }
    assert.deepEqual(m.models.b!.ci95, metricCIs(e, pb, scale, opts));
    assert.deepEqual(extraCIs.x, metricCIs(e, common.map((i) => x[i]!), scale, opts));
    const pair = pairedBootstrapDiff(e, pa, pb, opts);
    assert.deepEqual([m.paired[0]!.mae_diff, m.paired[0]!.ci95, m.paired[0]!.p_bootstrap], [pair.diff, pair.ci, pair.pBootstrap]);
    assert.deepEqual(compareModels(expected, { a, b }, scale, opts), m);
  }
});
