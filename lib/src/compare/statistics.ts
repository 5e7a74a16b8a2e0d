/**
 * Metrics and statistics for comparing model scores with human ground truth.
 *
 * Conventions used everywhere in this module (reviewers ask about these — keep them true):
 * - An *error* is `predicted − expected`, in points of the score scale (e.g. 1–10).
 * - Rates (acc1, acc2, coverage) are shares in [0, 1], never percentages.
 * - A statistic that is undefined for the data (a correlation with a constant side, a kappa whose
 *   chance disagreement is zero) is `null`, never NaN, so it survives JSON and cannot be averaged by
 *   accident.
 * - Quantiles use linear interpolation between order statistics (R type 7, numpy's default); so the
 *   median of an even number of values is the mean of the two middle ones.
 * - Ties in ranks get the average of the ranks they span (R `rank(ties.method = "average")`,
 *   scipy `rankdata`).
 * - Randomness (bootstrap) comes only from `seedrandom(String(seed))`: same inputs + seed → same numbers.
 *
 * Written by hand instead of adding a statistics dependency: what is needed is small (means, ranks,
 * quantiles, one exact null distribution, the normal CDF), and every formula is pinned by tests against
 * hand arithmetic and published R/scipy examples (test/compare/statistics.test.ts).
 */
import seedrandom from "seedrandom";
import type { Scale } from "../core/scale";
import type { MetricsJson, MetricsJsonPoint, ModelMetricsJson, PairedComparisonJson } from "./run-folder/schema";

/** Numbers as the internal helpers take them: arrays, or the typed buffers the bootstrap reuses. */
type Num = readonly number[] | Float64Array;

// ───────────────────────────── input checks ─────────────────────────────

function assertFiniteArray(values: readonly number[], what: string): void {
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError(`${what}[${i}] is not a finite number: ${v}`);
  });
}

function assertPaired(a: readonly number[], b: readonly number[], names: [string, string]): void {
  if (a.length !== b.length) {
    throw new RangeError(`${names[0]} and ${names[1]} must have the same length (${a.length} ≠ ${b.length})`);
  }
  assertFiniteArray(a, names[0]);
  assertFiniteArray(b, names[1]);
}

function assertScale(scale: Scale): void {
  if (!Number.isInteger(scale.min) || !Number.isInteger(scale.max) || scale.min >= scale.max) {
    throw new RangeError(`scale must have integer bounds with min < max, got ${scale.min}–${scale.max}`);
  }
}

// ───────────────────────────── basic statistics ─────────────────────────────

/** Arithmetic mean Σx/n. Throws on an empty array (the mean of nothing is not 0). */
export function mean(values: Num): number {
  if (values.length === 0) throw new RangeError("mean of an empty array");
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * The p-quantile (0 ≤ p ≤ 1) by linear interpolation between order statistics: with the values sorted
 * ascending as x[0..n−1], h = (n−1)·p, result = x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
 * This is R's default `quantile(type = 7)` and numpy's default. Throws on an empty array.
 */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("quantile of an empty array");
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile p must be in [0, 1], got ${p}`);
  return quantileSorted(sortedCopy(values), p);
}

/** Ascending numeric copy (typed-array sort: numeric order, much faster than a comparator sort). */
function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** The p-quantile (type 7, as `quantile`) of values already sorted ascending. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Median: the middle value for odd n, the mean of the two middle values for even n
 * (the original workflow got the even case wrong). Throws on an empty array.
 */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * Ranks 1..n with ties given the average of the ranks they span: [10, 20, 20, 30] → [1, 2.5, 2.5, 4].
 * Ties are exact equality of the numbers.
 */
export function averageRanks(values: readonly number[]): number[] {
  const sorted = sortedCopy(values);
  // A value v occupies sorted positions [below, below + count), i.e. ranks below+1 … below+count,
  // whose average is below + (count + 1)/2 = (below + atOrBelow + 1)/2.
  return values.map((v) => (lowerBound(sorted, v) + upperBound(sorted, v) + 1) / 2);
}

/** Number of sorted values < v. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of sorted values ≤ v. */
function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Loops, not Math.min(...values): spreading a long array overflows the call stack.
function minOf(values: Num): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] < m) m = values[i];
  return m;
}

function maxOf(values: Num): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

function isConstant(values: Num): boolean {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return false;
  return true;
}

/**
 * Pearson's product-moment correlation r = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² · Σ(y−ȳ)²), unitless in [−1, 1].
 * Returns `null` when it is undefined: fewer than 2 pairs, or either side constant (zero variance) —
 * e.g. a baseline that always answers the same score. Constancy is tested on the values themselves,
 * not on a floating-point variance, so a constant side is never reported as a noisy tiny correlation.
 */
export function pearson(x: readonly number[], y: readonly number[]): number | null {
  assertPaired(x, y, ["x", "y"]);
  return pearsonUnchecked(x, y);
}

function pearsonUnchecked(x: Num, y: Num): number | null {
  if (x.length < 2 || isConstant(x) || isConstant(y)) return null;
  return pearsonWithMeans(x, y, mean(x), mean(y));
}

/** Pearson's r with the means known (x, y not constant, n ≥ 2): the bootstrap has them from its gather. */
function pearsonWithMeans(x: Num, y: Num, mx: number, my: number): number {
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r)); // clamp rounding overshoot
}

/**
 * Spearman's rank correlation ρ: Pearson's r of the average ranks (ties share their mean rank), as R's
 * `cor(method = "spearman")` and scipy's `spearmanr`. `null` when either side is constant or n < 2.
 */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  assertPaired(x, y, ["x", "y"]);
  return spearmanUnchecked(x, y);
}

function spearmanUnchecked(x: readonly number[], y: readonly number[]): number | null {
  if (x.length < 2 || isConstant(x) || isConstant(y)) return null;
  return pearsonUnchecked(averageRanks(x), averageRanks(y));
}

/**
 * Quadratic weighted Cohen's kappa between two integer ratings, unitless, ≤ 1 (1 = perfect, 0 = chance
 * level, < 0 = worse than chance).
 *
 * Both sides are rounded to integers first (`Math.round`: halves go up, 6.5 → 7). With categories
 * k = min..max of the scale, O the K×K matrix of observed counts, E = (row totals ⊗ column totals)/n the
 * counts expected by chance, and weights w_ij = (i−j)²/(K−1)²:
 *     κ = 1 − Σ w_ij·O_ij / Σ w_ij·E_ij.
 * Identity used in the tests: κ = 2·cov(x,y) / (var x + var y + (x̄−ȳ)²) with population (1/n)
 * moments of the rounded values — so a constant predictor gets κ = 0 whenever the truth varies.
 *
 * `scale` validates that every value lies in min..max (a value outside means an upstream bug, so it
 * throws). The value of κ does not depend on the scale's width: categories nobody used add zero to both
 * sums and the (K−1)² normaliser cancels; without `scale`, the observed range is used.
 * Returns `null` when Σ w·E = 0 (both sides the same single constant: agreement cannot be told from
 * chance) or n = 0.
 */
export function quadraticWeightedKappa(expected: readonly number[], predicted: readonly number[], scale?: Scale): number | null {
  assertPaired(expected, predicted, ["expected", "predicted"]);
  if (scale) assertOnScale(expected, predicted, scale);
  return qwkUnchecked(expected, predicted, scale);
}

function assertOnScale(expected: readonly number[], predicted: readonly number[], scale: Scale): void {
  assertScale(scale);
  for (const [vals, what] of [[expected, "expected"], [predicted, "predicted"]] as const) {
    vals.forEach((v, i) => {
      if (v < scale.min || v > scale.max) throw new RangeError(`${what}[${i}] = ${v} is outside the scale ${scale.min}–${scale.max}`);
    });
  }
}

/** QWK of values already checked to lie on `scale` (when given). */
function qwkUnchecked(expected: Num, predicted: Num, scale?: Scale): number | null {
  if (expected.length === 0) return null;
  const a = expected.map(Math.round);
  const b = predicted.map(Math.round);
  const lo = scale ? scale.min : Math.min(minOf(a), minOf(b));
  const hi = scale ? scale.max : Math.max(maxOf(a), maxOf(b));
  const k = hi - lo + 1;
  if (k < 2) return null; // a single category: both sides constant and equal
  const n = a.length;
  const observed = new Float64Array(k * k);
  const rowTotals = new Float64Array(k);
  const colTotals = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    observed[(a[i] - lo) * k + (b[i] - lo)]++;
    rowTotals[a[i] - lo]++;
    colTotals[b[i] - lo]++;
  }
  return qwkFromCounts(observed, rowTotals, colTotals, k, n);
}

/** κ from the K×K observed counts (row-major) and their margins; see quadraticWeightedKappa. */
function qwkFromCounts(observed: Float64Array, rowTotals: Float64Array, colTotals: Float64Array, k: number, n: number): number | null {
  let weightedObserved = 0;
  let weightedExpected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const w = ((i - j) * (i - j)) / ((k - 1) * (k - 1));
      weightedObserved += w * observed[i * k + j];
      weightedExpected += (w * rowTotals[i] * colTotals[j]) / n;
    }
  }
  if (weightedExpected === 0) return null;
  return 1 - weightedObserved / weightedExpected;
}

// ───────────────────────────── error metrics ─────────────────────────────

/**
 * Tolerance for the acc1/acc2 thresholds: |err| ≤ t + 1e-9 counts, so 5.1 − 4.1 = 1.0000000000000004
 * (floating point) is still "within 1". Far below any meaningful score difference.
 */
const THRESHOLD_EPS = 1e-9;

/** Point-estimate metrics of predicted vs expected scores. Units: points of the score scale unless said. */
export interface ErrorMetrics {
  /** Number of (expected, predicted) pairs. */
  n: number;
  /** Mean absolute error Σ|p−e|/n (points). */
  mae: number;
  /** Root mean squared error √(Σ(p−e)²/n) (points). */
  rmse: number;
  /** Share of images with |p−e| ≤ 1, in [0, 1]. */
  acc1: number;
  /** Share of images with |p−e| ≤ 2, in [0, 1]. */
  acc2: number;
  /** Median of |p−e| (points); mean of the two middle values for even n. */
  medianError: number;
  /** Mean signed error Σ(p−e)/n (points): > 0 means the model scores higher (safer) than humans. */
  bias: number;
  /** Smallest |p−e| (points). */
  minError: number;
  /** Largest |p−e| (points). */
  maxError: number;
  /** Pearson r of expected vs predicted; null when either side is constant or n < 2. */
  pearson: number | null;
  /** Spearman ρ (average ranks for ties); null when either side is constant or n < 2. */
  spearman: number | null;
  /** Quadratic weighted kappa on rounded scores; null when undefined (see `quadraticWeightedKappa`). */
  qwk: number | null;
}

/**
 * Every point metric for one model on one set of images. `expected[i]` and `predicted[i]` are the human
 * and model scores of the same image. Pass the `scale` so that QWK checks values lie on it.
 * Throws on empty input, different lengths or non-finite values (failed predictions must be removed by
 * the caller — `compareModels` does that and reports them).
 */
export function errorMetrics(expected: readonly number[], predicted: readonly number[], scale?: Scale): ErrorMetrics {
  assertPaired(expected, predicted, ["expected", "predicted"]);
  if (expected.length === 0) throw new RangeError("errorMetrics needs at least one image");
  if (scale) assertOnScale(expected, predicted, scale);
  return errorMetricsUnchecked(expected, predicted, scale);
}

/** `errorMetrics` without the input checks: for bootstrap resamples of data already checked. */
function errorMetricsUnchecked(expected: readonly number[], predicted: readonly number[], scale?: Scale): ErrorMetrics {
  const abs = predicted.map((p, i) => Math.abs(p - expected[i]));
  return {
    n: expected.length,
    ...simpleErrorMetrics(expected, predicted),
    medianError: quantileSorted(sortedCopy(abs), 0.5),
    minError: minOf(abs),
    maxError: maxOf(abs),
    pearson: pearsonUnchecked(expected, predicted),
    spearman: spearmanUnchecked(expected, predicted),
    qwk: qwkUnchecked(expected, predicted, scale),
  };
}

/** mae, rmse, acc1, acc2 and bias in one pass over the errors (n ≥ 1; the bootstrap's hot path). */
function simpleErrorMetrics(expected: Num, predicted: Num): Pick<ErrorMetrics, "mae" | "rmse" | "acc1" | "acc2" | "bias"> {
  const n = expected.length;
  let sumAbs = 0;
  let sumSq = 0;
  let sumSigned = 0;
  let within1 = 0;
  let within2 = 0;
  for (let i = 0; i < n; i++) {
    const err = predicted[i] - expected[i];
    const abs = Math.abs(err);
    sumAbs += abs;
    sumSq += err * err;
    sumSigned += err;
    if (abs <= 1 + THRESHOLD_EPS) within1++;
    if (abs <= 2 + THRESHOLD_EPS) within2++;
  }
  return { mae: sumAbs / n, rmse: Math.sqrt(sumSq / n), acc1: within1 / n, acc2: within2 / n, bias: sumSigned / n };
}

/** The `CI_METRICS` of one resample, skipping what the intervals do not need (median, min, max). */
function ciMetricsUnchecked(expected: readonly number[], predicted: readonly number[], scale?: Scale): Record<CIMetricName, number | null> {
  return {
    ...simpleErrorMetrics(expected, predicted),
    pearson: pearsonUnchecked(expected, predicted),
    spearman: spearmanUnchecked(expected, predicted),
    qwk: qwkUnchecked(expected, predicted, scale),
  };
}

/** Metrics that can be bootstrapped or compared between two models. */
export type MetricName = "mae" | "rmse" | "acc1" | "acc2" | "medianError" | "bias" | "pearson" | "spearman" | "qwk";

/** The metrics `metricCIs` reports, in this order. */
export const CI_METRICS = ["mae", "rmse", "acc1", "acc2", "bias", "pearson", "spearman", "qwk"] as const;
export type CIMetricName = (typeof CI_METRICS)[number];

/** One metric alone (cheaper than `errorMetrics` inside a bootstrap loop). */
export function metricValue(name: MetricName, expected: readonly number[], predicted: readonly number[], scale?: Scale): number | null {
  assertPaired(expected, predicted, ["expected", "predicted"]);
  if (scale) assertOnScale(expected, predicted, scale);
  return metricValueUnchecked(name, expected, predicted, scale);
}

function metricValueUnchecked(name: MetricName, expected: readonly number[], predicted: readonly number[], scale?: Scale): number | null {
  switch (name) {
    case "pearson":
      return pearsonUnchecked(expected, predicted);
    case "spearman":
      return spearmanUnchecked(expected, predicted);
    case "qwk":
      return qwkUnchecked(expected, predicted, scale);
    case "medianError":
      return expected.length === 0 ? null : quantileSorted(sortedCopy(predicted.map((p, i) => Math.abs(p - expected[i]))), 0.5);
    default:
      return expected.length === 0 ? null : simpleErrorMetrics(expected, predicted)[name];
  }
}

// ───────────────────────────── bootstrap ─────────────────────────────

/** Options of the seeded, percentile bootstrap. */
export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  iterations?: number;
  /** Seed for `seedrandom` (default 42). */
  seed?: number;
  /** Confidence level of the two-sided interval (default 0.95). */
  level?: number;
}

export const DEFAULT_BOOTSTRAP = { iterations: 2000, seed: 42, level: 0.95 } as const;

export function bootstrapSettings(opts: BootstrapOptions): Required<BootstrapOptions> {
  const s = { ...DEFAULT_BOOTSTRAP, ...stripUndefined(opts) };
  if (!Number.isInteger(s.iterations) || s.iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${s.iterations}`);
  if (!(s.level > 0 && s.level < 1)) throw new RangeError(`level must be in (0, 1), got ${s.level}`);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The resampled index lists: `iterations` lists of n indices drawn uniformly with replacement from
 * 0..n−1 by `seedrandom(String(seed))`. The unit resampled is the image (each index is one image).
 * Every bootstrap here uses this one generator, so the same seed gives the same resamples to every
 * model and metric (which makes the per-model intervals and the paired difference coherent).
 */
export function* bootstrapIndices(n: number, iterations: number, seed: number): Generator<number[]> {
  const rng = seedrandom(String(seed));
  for (let it = 0; it < iterations; it++) {
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
    yield idx;
  }
}

function pick(values: readonly number[], idx: readonly number[]): number[] {
  return idx.map((i) => values[i]);
}

/**
 * Percentile interval of a bootstrap distribution: the (1−level)/2 and (1+level)/2 quantiles (type 7)
 * of the non-null resampled values. `null` when fewer than half of the resamples gave a value (e.g. a
 * correlation on data that is mostly constant) — an interval from a minority of resamples would be
 * biased and is better not printed.
 */
export function percentileInterval(values: readonly (number | null)[], level: number): [number, number] | null {
  const ok = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (ok.length === 0 || ok.length * 2 < values.length) return null;
  const alpha = (1 - level) / 2;
  return [quantileSorted(ok, alpha), quantileSorted(ok, 1 - alpha)];
}

/**
 * Percentile bootstrap confidence interval [lo, hi] of `metricFn(expected, predicted)`: resample images
 * with replacement (seeded), recompute the metric on each resample, take the (1−level)/2 and (1+level)/2
 * quantiles. Resamples where the metric is `null` are skipped; returns `null` when the data are empty or
 * fewer than half of the resamples gave a value.
 */
export function bootstrapCI(
  expected: readonly number[],
  predicted: readonly number[],
  metricFn: (expected: number[], predicted: number[]) => number | null,
  opts: BootstrapOptions = {},
): [number, number] | null {
  assertPaired(expected, predicted, ["expected", "predicted"]);
  const { iterations, seed, level } = bootstrapSettings(opts);
  if (expected.length === 0) return null;
  const values: (number | null)[] = [];
  for (const idx of bootstrapIndices(expected.length, iterations, seed)) values.push(metricFn(pick(expected, idx), pick(predicted, idx)));
  return percentileInterval(values, level);
}

/**
 * The expected scores of a bootstrap, shared by every series resampled from them: per resample, the
 * gathered values, their sum, whether they are constant, and (when asked) their ranks — computed once
 * for all models. Hot loops here take only Float64Array/Int32Array (monomorphic, so V8 keeps them fast).
 */
class ResampledExpected {
  readonly e: Float64Array;
  readonly ge: Float64Array;
  sum = 0;
  constant = true;
  private readonly rank: RankCounter;
  private ranked: Float64Array | null = null;
  private idx: Int32Array = new Int32Array(0);
  constructor(expected: readonly number[]) {
    this.e = Float64Array.from(expected);
    this.ge = new Float64Array(expected.length);
    this.rank = new RankCounter(this.e);
  }

  load(idx: Int32Array): void {
    this.sum = gatherSum(this.e, idx, this.ge);
    this.constant = isConstant(this.ge);
    this.ranked = null;
    this.idx = idx;
  }

  ranks(): Float64Array {
    this.ranked ??= this.rank.ranks(this.idx);
    return this.ranked;
  }
}

/**
 * One model's predictions resampled with the shared expected scores: ranks (Spearman) and QWK
 * categories are counted over the distinct values — O(n + K) per resample instead of sorting, and no
 * allocation. Gives exactly the numbers `ciMetricsUnchecked(pick(expected, idx), pick(predicted, idx),
 * scale)` gives: the same operations in the same order (test/compare/statistics.test.ts checks it).
 */
class ResampledSeries {
  private readonly p: Float64Array;
  private readonly gp: Float64Array;
  private readonly rankP: RankCounter;
  private readonly qwk: QwkCounter | null;
  constructor(
    private readonly exp: ResampledExpected,
    predicted: readonly number[],
    private readonly scale: Scale | undefined,
  ) {
    this.p = Float64Array.from(predicted);
    this.gp = new Float64Array(predicted.length);
    this.rankP = new RankCounter(this.p);
    this.qwk = scale ? new QwkCounter(exp.e, this.p, scale) : null;
  }

  /** The CI metrics of the resample `exp` was last loaded with. */
  metrics(idx: Int32Array): Record<CIMetricName, number | null> {
    const { p, gp, exp } = this;
    const ge = exp.ge;
    const n = idx.length;
    const sumP = gatherSum(p, idx, gp);
    const defined = n >= 2 && !exp.constant && !isConstant(gp);
    return {
      ...simpleErrorMetrics(ge, gp),
      pearson: defined ? pearsonWithMeans(ge, gp, exp.sum / n, sumP / n) : null,
      spearman: defined ? pearsonUnchecked(exp.ranks(), this.rankP.ranks(idx)) : null,
      qwk: this.qwk ? this.qwk.kappa(idx) : qwkUnchecked(ge, gp, this.scale),
    };
  }
}

/** out[k] = src[idx[k]] for every k; returns their sum (in that order). */
function gatherSum(src: Float64Array, idx: Int32Array, out: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < idx.length; k++) {
    const v = src[idx[k]];
    out[k] = v;
    sum += v;
  }
  return sum;
}

/** Average ranks of resamples of one array, counted over its distinct values. */
class RankCounter {
  private readonly cls: Int32Array;
  private readonly counts: Int32Array;
  private readonly classRank: Float64Array;
  private readonly out: Float64Array;
  constructor(values: Float64Array) {
    const distinct = Float64Array.from(new Set(values)).sort();
    const of = new Map<number, number>();
    distinct.forEach((v, i) => of.set(v, i));
    this.cls = Int32Array.from(values, (v) => of.get(v)!);
    this.counts = new Int32Array(distinct.length);
    this.classRank = new Float64Array(distinct.length);
    this.out = new Float64Array(values.length);
  }

  /** Ranks of values[idx[0]], values[idx[1]], … within the resample (ties: the average rank). */
  ranks(idx: Int32Array): Float64Array {
    const { cls, counts, classRank, out } = this;
    counts.fill(0);
    for (let k = 0; k < idx.length; k++) counts[cls[idx[k]]]++;
    let below = 0;
    for (let c = 0; c < counts.length; c++) {
      // as averageRanks: (values below + values at or below + 1) / 2
      classRank[c] = (below + (below + counts[c]) + 1) / 2;
      below += counts[c];
    }
    for (let k = 0; k < idx.length; k++) out[k] = classRank[cls[idx[k]]];
    return out;
  }
}

/** QWK of resamples on a known scale, from the rounded categories of each item. */
class QwkCounter {
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly k: number;
  private readonly observed: Float64Array;
  private readonly rows: Float64Array;
  private readonly cols: Float64Array;
  constructor(expected: Float64Array, predicted: Float64Array, scale: Scale) {
    this.k = scale.max - scale.min + 1;
    this.a = Int32Array.from(expected, (v) => Math.round(v) - scale.min);
    this.b = Int32Array.from(predicted, (v) => Math.round(v) - scale.min);
    this.observed = new Float64Array(this.k * this.k);
    this.rows = new Float64Array(this.k);
    this.cols = new Float64Array(this.k);
  }

  kappa(idx: Int32Array): number | null {
    const { a, b, k, observed, rows, cols } = this;
    if (idx.length === 0) return null;
    if (k < 2) return null;
    observed.fill(0);
    rows.fill(0);
    cols.fill(0);
    for (let t = 0; t < idx.length; t++) {
      const i = idx[t];
      observed[a[i] * k + b[i]]++;
      rows[a[i]]++;
      cols[b[i]]++;
    }
    return qwkFromCounts(observed, rows, cols, k, idx.length);
  }
}

/**
 * Walk the seeded resamples once (the same draws as `bootstrapIndices`), handing each one's index array
 * to every consumer: all models, metrics and pairs of a comparison share one pass and one buffer.
 */
function forEachResample(n: number, iterations: number, seed: number, consume: (idx: Int32Array) => void): void {
  const rng = seedrandom(String(seed));
  const idx = new Int32Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
    consume(idx);
  }
}

/** Confidence intervals keyed by metric; `null` where the metric or its interval is undefined. */
export type MetricCIs = Record<CIMetricName, [number, number] | null>;

/**
 * Percentile bootstrap CIs for mae, rmse, acc1, acc2, bias, pearson, spearman and qwk, all from the same
 * resamples (same seed → same image draws for every metric). Same units as the metrics. A metric whose
 * point estimate is `null` on the full data gets a `null` interval.
 */
export function metricCIs(expected: readonly number[], predicted: readonly number[], scale: Scale | undefined, opts: BootstrapOptions = {}): MetricCIs {
  assertPaired(expected, predicted, ["expected", "predicted"]);
  const { iterations, seed, level } = bootstrapSettings(opts);
  const out = Object.fromEntries(CI_METRICS.map((m) => [m, null])) as MetricCIs;
  if (expected.length === 0) return out;
  const full = errorMetrics(expected, predicted, scale); // also checks the inputs for the resamples
  const draws = new CIDraws();
  const exp = new ResampledExpected(expected);
  const series = new ResampledSeries(exp, predicted, scale);
  forEachResample(expected.length, iterations, seed, (idx) => {
    exp.load(idx);
    draws.push(series.metrics(idx));
  });
  return draws.intervals(full, level);
}

/** Each CI metric's resampled values, in resample order. */
class CIDraws {
  readonly values = Object.fromEntries(CI_METRICS.map((m) => [m, [] as (number | null)[]])) as Record<CIMetricName, (number | null)[]>;
  push(m: Record<CIMetricName, number | null>): void {
    for (const name of CI_METRICS) this.values[name].push(m[name]);
  }
  intervals(full: Record<CIMetricName, number | null>, level: number): MetricCIs {
    const out = Object.fromEntries(CI_METRICS.map((m) => [m, null])) as MetricCIs;
    for (const name of CI_METRICS) out[name] = full[name] === null ? null : percentileInterval(this.values[name], level);
    return out;
  }
}

/** Result of a paired bootstrap comparison of two models on the same images. */
export interface PairedDiff {
  /** metric(A) − metric(B) on the full data, in the metric's units (for mae: > 0 means A errs more). */
  diff: number | null;
  /** Percentile bootstrap interval of the difference; null when undefined. */
  ci: [number, number] | null;
  /**
   * Rough two-sided bootstrap p-value: with B usable resamples and F of them whose difference is 0 or of
   * the opposite sign to `diff`, p = min(1, 2·(F + 1)/(B + 1)). The "+1", as in Monte Carlo p-values
   * (Davison & Hinkley 1997, ch. 4), keeps it from printing as 0: the smallest value is 2/(B + 1).
   * 1 when diff = 0.
   * A screening number; prefer the CI and the Wilcoxon test when reporting.
   */
  pBootstrap: number | null;
}

/**
 * Paired bootstrap of the difference of one metric between models A and B: each resample draws images
 * with replacement and evaluates BOTH models on the same drawn images, so the image-to-image difficulty
 * they share cancels out. `metric` defaults to "mae"; `scale` is only needed for "qwk" validation.
 */
export function pairedBootstrapDiff(
  expected: readonly number[],
  predA: readonly number[],
  predB: readonly number[],
  opts: BootstrapOptions & { metric?: MetricName; scale?: Scale } = {},
): PairedDiff {
  assertPaired(expected, predA, ["expected", "predA"]);
  assertPaired(expected, predB, ["expected", "predB"]);
  const { iterations, seed, level } = bootstrapSettings(opts);
  const metric = opts.metric ?? "mae";
  if (opts.scale) {
    assertOnScale(expected, predA, opts.scale);
    assertOnScale(expected, predB, opts.scale);
  }
  const diffOf = (e: number[], a: number[], b: number[]): number | null => {
    const ma = metricValueUnchecked(metric, e, a, opts.scale);
    const mb = metricValueUnchecked(metric, e, b, opts.scale);
    return ma === null || mb === null ? null : ma - mb;
  };
  const diff = expected.length === 0 ? null : diffOf([...expected], [...predA], [...predB]);
  if (diff === null) return { diff: null, ci: null, pBootstrap: null };
  const draws: (number | null)[] = [];
  for (const idx of bootstrapIndices(expected.length, iterations, seed)) {
    draws.push(diffOf(pick(expected, idx), pick(predA, idx), pick(predB, idx)));
  }
  return pairedFromDraws(diff, draws, level);
}

function pairedFromDraws(diff: number, draws: readonly (number | null)[], level: number): PairedDiff {
  const ci = percentileInterval(draws, level);
  const ok = draws.filter((d): d is number => d !== null);
  let pBootstrap: number | null = null;
  if (ci !== null) {
    const flips = diff === 0 ? ok.length : ok.filter((d) => (diff > 0 ? d <= 0 : d >= 0)).length;
    pBootstrap = Math.min(1, (2 * (flips + 1)) / (ok.length + 1));
  }
  return { diff, ci, pBootstrap };
}

// ───────────────────────────── normal distribution ─────────────────────────────

/**
 * Standard normal CDF Φ(x) = P(Z ≤ x). Hart (1968) double-precision rational approximation as given by
 * G. West, "Better approximations to cumulative normal functions", Wilmott (2005). Checked against the
 * C library's erfc (Python `0.5*math.erfc(-x/√2)`) on x = −40…40 step 1/8: max absolute error 1.1e-16;
 * relative error of the tail probability below 3e-9 for |x| < 7.07 and below 1e-8 up to |x| = 37
 * (beyond, Φ is returned as exactly 0 or 1). Ample for p-values, which are reported to a few digits.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let tail: number; // P(Z > |x|)
  if (ax > 37) {
    tail = 0;
  } else {
    const e = Math.exp(-(ax * ax) / 2);
    if (ax < 7.07106781186547) {
      let num = 3.52624965998911e-2 * ax + 0.700383064443688;
      num = num * ax + 6.37396220353165;
      num = num * ax + 33.912866078383;
      num = num * ax + 112.079291497871;
      num = num * ax + 221.213596169931;
      num = num * ax + 220.206867912376;
      let den = 8.83883476483184e-2 * ax + 1.75566716318264;
      den = den * ax + 16.064177579207;
      den = den * ax + 86.7807322029461;
      den = den * ax + 296.564248779674;
      den = den * ax + 637.333633378831;
      den = den * ax + 793.826512519948;
      den = den * ax + 440.413735824752;
      tail = (e * num) / den;
    } else {
      let cf = ax + 0.65;
      cf = ax + 4 / cf;
      cf = ax + 3 / cf;
      cf = ax + 2 / cf;
      cf = ax + 1 / cf;
      tail = e / cf / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

// ───────────────────────────── Wilcoxon signed-rank ─────────────────────────────

/**
 * Differences are rounded to 1e-9 before deciding zeros and ties, so that floating-point noise
 * (0.1 + 0.2 − 0.3 = 5.6e-17) is not a non-zero difference and 0.7 vs 0.7000000000000001 is a tie.
 * Scores are given to at most a few decimals, so this never merges truly different differences.
 */
const DIFF_RESOLUTION = 1e9;

/** Result of `wilcoxonSignedRank`. */
export interface WilcoxonResult {
  /** Number of non-zero differences x−y (zeros are dropped; see `zeros`). */
  n: number;
  /** Pairs dropped because x = y. */
  zeros: number;
  /** W+ = sum of the ranks of |x−y| over pairs with x > y. This is R's `V`. (scipy reports min(W+, W−).) */
  statistic: number;
  /** Same as `statistic`. */
  wPlus: number;
  /** W− = sum of the ranks over pairs with x < y; W+ + W− = n(n+1)/2. */
  wMinus: number;
  /**
   * Normal-approximation z of W+ (tie- and continuity-corrected), reported for every method as a signed
   * effect indicator (z > 0: x tends to exceed y); 0 when n = 0.
   */
  z: number;
  /** Two-sided p-value, from the method in `method`. */
  pValue: number;
  /** "exact": null distribution of W+ enumerated; "normal": normal approximation. */
  method: "exact" | "normal";
}

/** Largest n (non-zero differences, no ties) for which "auto" uses the exact distribution. */
export const WILCOXON_EXACT_MAX_N = 25;

/**
 * Wilcoxon signed-rank test of paired samples x, y (e.g. the absolute errors of two models on the same
 * images), two-sided, H0: the differences x−y are symmetric about 0.
 *
 * - d_i = x_i − y_i; zero differences are DROPPED before ranking (Wilcoxon's original method, R's and
 *   scipy's default `zero_method="wilcox"`); n counts the rest.
 * - |d_i| are ranked 1..n with average ranks for ties; W+ = Σ ranks of positive d, W− = Σ of negative.
 * - method "auto" (default): exact when n ≤ 25 and no ties among |d|, else normal. The exact null
 *   distribution of W+ (each rank's sign ±, equally likely) is computed by dynamic programming;
 *   p = min(1, 2·min(P(W+ ≤ w), P(W+ ≥ w))). When zeros were dropped this is the exact test conditional
 *   on the zeros (R instead switches to the normal approximation whenever zeros exist).
 * - normal: μ = n(n+1)/4, σ² = n(n+1)(2n+1)/24 − Σ_ties (t³ − t)/48 (t = size of each tie group),
 *   z = (W+ − μ − 0.5·sign(W+ − μ)) / σ (continuity correction), p = min(1, 2·Φ(−|z|)) — as R's
 *   `wilcox.test(..., paired = TRUE, correct = TRUE)`.
 * - n = 0 (all pairs equal): statistic 0, z 0, p = 1, method "exact".
 * `method: "exact"` forces the exact distribution (throws when |d| has ties); "normal" forces the
 * approximation.
 */
export function wilcoxonSignedRank(
  x: readonly number[],
  y: readonly number[],
  opts: { method?: "auto" | "exact" | "normal" } = {},
): WilcoxonResult {
  assertPaired(x, y, ["x", "y"]);
  const all = x.map((xi, i) => Math.round((xi - y[i]) * DIFF_RESOLUTION) / DIFF_RESOLUTION);
  const d = all.filter((v) => v !== 0);
  const n = d.length;
  const zeros = all.length - n;
  if (n === 0) return { n: 0, zeros, statistic: 0, wPlus: 0, wMinus: 0, z: 0, pValue: 1, method: "exact" };

  const absD = d.map(Math.abs);
  const ranks = averageRanks(absD);
  let wPlus = 0;
  for (let i = 0; i < n; i++) if (d[i] > 0) wPlus += ranks[i];
  const wMinus = (n * (n + 1)) / 2 - wPlus;
  const tieSizes = tieGroupSizes(absD);
  const hasTies = tieSizes.some((t) => t > 1);

  const mu = (n * (n + 1)) / 4;
  const tieTerm = tieSizes.reduce((s, t) => s + (t * t * t - t), 0) / 48;
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm);
  const dev = wPlus - mu;
  const z = (dev - 0.5 * Math.sign(dev)) / sigma;

  const requested = opts.method ?? "auto";
  if (requested === "exact" && hasTies) throw new RangeError("|x−y| has ties: the exact Wilcoxon distribution needs untied values; use the normal method");
  const method = requested === "normal" || (requested === "auto" && (hasTies || n > WILCOXON_EXACT_MAX_N)) ? "normal" : "exact";
  const pValue = method === "exact" ? signedRankExactTwoSided(wPlus, n) : Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { n, zeros, statistic: wPlus, wPlus, wMinus, z, pValue, method };
}

function tieGroupSizes(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.values()];
}

/**
 * Exact null distribution of W+ for n untied ranks 1..n: P(W+ = s) = (number of subsets of {1..n}
 * summing to s) / 2^n, built one rank at a time (probabilities, not counts, so no overflow for large n).
 */
export function signedRankDistribution(n: number): number[] {
  const maxSum = (n * (n + 1)) / 2;
  let dist = new Array<number>(maxSum + 1).fill(0);
  dist[0] = 1;
  for (let r = 1; r <= n; r++) {
    const next = new Array<number>(maxSum + 1).fill(0);
    for (let s = 0; s <= maxSum; s++) {
      if (dist[s] === 0) continue;
      next[s] += dist[s] / 2; // rank r has a negative sign
      next[s + r] += dist[s] / 2; // rank r has a positive sign
    }
    dist = next;
  }
  return dist;
}

function signedRankExactTwoSided(w: number, n: number): number {
  const dist = signedRankDistribution(n);
  let lower = 0; // P(W+ ≤ w)
  let upper = 0; // P(W+ ≥ w)
  dist.forEach((p, s) => {
    if (s <= w) lower += p;
    if (s >= w) upper += p;
  });
  return Math.min(1, 2 * Math.min(lower, upper));
}

/**
 * Holm's step-down adjustment of p-values for multiple tests (controls the family-wise error rate):
 * with p sorted ascending p(1) ≤ … ≤ p(m), adj(i) = max over j ≤ i of min(1, (m − j + 1)·p(j)).
 * Returned in the input order. Same as R's `p.adjust(method = "holm")`.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => i).sort((a, b) => pValues[a] - pValues[b]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((idx, j) => {
    running = Math.max(running, Math.min(1, (m - j) * pValues[idx]));
    out[idx] = running;
  });
  return out;
}

// ───────────────────────────── model comparison (metrics.json) ─────────────────────────────

function toJsonPoint(expected: number[], predicted: number[], scale: Scale): MetricsJsonPoint {
  if (expected.length === 0) {
    return { n: 0, mae: null, rmse: null, acc1: null, acc2: null, median_error: null, bias: null, pearson: null, spearman: null, qwk: null };
  }
  const m = errorMetrics(expected, predicted, scale);
  return {
    n: m.n,
    mae: m.mae,
    rmse: m.rmse,
    acc1: m.acc1,
    acc2: m.acc2,
    median_error: m.medianError,
    bias: m.bias,
    pearson: m.pearson,
    spearman: m.spearman,
    qwk: m.qwk,
  };
}

function isValidScore(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/**
 * Compare several models against the same ground truth and build metrics.json.
 *
 * `predictions[name][i]` is model `name`'s score for the image of `expected[i]`, or null when it gave
 * none (failed call, unparseable answer). Every model's point metrics and 95% CIs are computed on the
 * COMMON set — the images every model answered — so the numbers are comparable; `valid`, `failed` and
 * `coverage` show each model's own success over all n images, and `on_own_valid` repeats the point
 * metrics on its own valid images. Each pair of models (in the order given) gets the paired bootstrap
 * of the MAE difference and a Wilcoxon signed-rank test on per-image absolute errors (common set),
 * with Holm-adjusted p-values across the pairs.
 * Throws when lengths differ, ground truth is not finite, or a score lies outside `scale`.
 */
export function compareModels(
  expected: readonly number[],
  predictions: Record<string, readonly (number | null)[]>,
  scale: Scale,
  opts: { iterations?: number; seed?: number } = {},
): MetricsJson {
  return compareModelsWith(expected, predictions, scale, opts).metrics;
}

/**
 * `compareModels`, plus `metricCIs` of further series (e.g. probability-based expected scores) that
 * have a value on every common image, made in the same bootstrap pass: the result equals
 * `metricCIs(common expected, common values, scale, opts)`. A series missing a value on a common image
 * is left out of `extraCIs` (compute it on its own subset).
 */
export function compareModelsWith(
  expected: readonly number[],
  predictions: Record<string, readonly (number | null)[]>,
  scale: Scale,
  opts: { iterations?: number; seed?: number; extra?: Record<string, readonly (number | null)[]> } = {},
): { metrics: MetricsJson; extraCIs: Record<string, MetricCIs> } {
  assertScale(scale);
  assertFiniteArray(expected, "expected");
  const nImages = expected.length;
  if (nImages === 0) throw new RangeError("compareModels needs at least one image");
  expected.forEach((v, i) => {
    if (v < scale.min || v > scale.max) throw new RangeError(`expected[${i}] = ${v} is outside the scale ${scale.min}–${scale.max}`);
  });
  const names = Object.keys(predictions);
  for (const name of names) {
    const preds = predictions[name];
    if (preds.length !== nImages) throw new RangeError(`model "${name}" has ${preds.length} predictions for ${nImages} images`);
    preds.forEach((v, i) => {
      if (isValidScore(v) && (v < scale.min || v > scale.max)) {
        throw new RangeError(`model "${name}" image ${i}: score ${v} is outside the scale ${scale.min}–${scale.max}`);
      }
    });
  }
  const boot = bootstrapSettings({ iterations: opts.iterations, seed: opts.seed, level: 0.95 });
  const common = expected.map((_, i) => i).filter((i) => names.every((name) => isValidScore(predictions[name][i])));
  const commonExpected = pick(expected, common);
  const commonPred = (name: string) => common.map((i) => predictions[name][i] as number);

  // The bootstrap: one pass over the resamples of the common set for every model's CIs and every
  // pair's MAE difference (the same draws each separate call would make, made once).
  const fullCommon = new Map(names.map((name) => [name, common.length ? errorMetrics(commonExpected, commonPred(name), scale) : null]));
  const exp = new ResampledExpected(commonExpected);
  const series = names.map((name) => new ResampledSeries(exp, commonPred(name), scale));
  const ciDraws = names.map(() => new CIDraws());
  const pairs: [number, number][] = [];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) pairs.push([i, j]);
  const pairDraws = pairs.map(() => [] as (number | null)[]);
  // Extra series defined (finite, on the scale's range is not required) on every common image.
  const extras = Object.entries(opts.extra ?? {})
    .filter(([, v]) => v.length === nImages && common.every((i) => isValidScore(v[i])))
    .map(([name, v]) => ({ name, values: common.map((i) => v[i] as number) }));
  const extraFull = extras.map((x) => (common.length ? errorMetrics(commonExpected, x.values, scale) : null));
  const extraSeries = extras.map((x) => new ResampledSeries(exp, x.values, scale));
  const extraDraws = extras.map(() => new CIDraws());
  if (common.length) {
    forEachResample(common.length, boot.iterations, boot.seed, (idx) => {
      exp.load(idx);
      const m = series.map((s) => s.metrics(idx));
      m.forEach((x, k) => ciDraws[k].push(x));
      pairs.forEach(([i, j], k) => pairDraws[k].push(m[i].mae! - m[j].mae!));
      extraSeries.forEach((s, k) => extraDraws[k].push(s.metrics(idx)));
    });
  }
  const extraCIs: Record<string, MetricCIs> = {};
  extras.forEach((x, k) => {
    if (extraFull[k]) extraCIs[x.name] = extraDraws[k].intervals(extraFull[k]!, boot.level);
  });
  const models: Record<string, ModelMetricsJson> = {};
  for (const [k, name] of names.entries()) {
    const preds = predictions[name];
    const own = expected.map((_, i) => i).filter((i) => isValidScore(preds[i]));
    const pointCommon = toJsonPoint(commonExpected, commonPred(name), scale);
    const { n: _nCommon, ...point } = pointCommon;
    models[name] = {
      n: nImages,
      valid: own.length,
      failed: nImages - own.length,
      coverage: own.length / nImages,
      n_common: common.length,
      ...point,
      ci95: fullCommon.get(name) ? ciDraws[k].intervals(fullCommon.get(name)!, boot.level) : (Object.fromEntries(CI_METRICS.map((m) => [m, null])) as MetricCIs),
      on_own_valid: toJsonPoint(pick(expected, own), own.map((i) => preds[i] as number), scale),
    };
  }

  const paired: PairedComparisonJson[] = [];
  const pairWilcoxon: (WilcoxonResult | null)[] = [];
  for (const [k, [i, j]] of pairs.entries()) {
    {
      const [a, b] = [names[i], names[j]];
      const pa = commonPred(a);
      const pb = commonPred(b);
      const maeDiff = common.length ? fullCommon.get(a)!.mae - fullCommon.get(b)!.mae : null;
      const diff: PairedDiff = maeDiff === null ? { diff: null, ci: null, pBootstrap: null } : pairedFromDraws(maeDiff, pairDraws[k], boot.level);
      const absA = pa.map((p, k) => Math.abs(p - commonExpected[k]));
      const absB = pb.map((p, k) => Math.abs(p - commonExpected[k]));
      const w = common.length === 0 ? null : wilcoxonSignedRank(absA, absB);
      pairWilcoxon.push(w);
      paired.push({ a, b, n: common.length, mae_diff: diff.diff, ci95: diff.ci, p_bootstrap: diff.pBootstrap, wilcoxon: null });
    }
  }
  const tested = pairWilcoxon.flatMap((w, k) => (w ? [k] : []));
  const holm = holmAdjust(tested.map((k) => pairWilcoxon[k]!.pValue));
  tested.forEach((k, t) => {
    const w = pairWilcoxon[k]!;
    paired[k].wilcoxon = { statistic: w.statistic, z: w.z, p_value: w.pValue, p_value_holm: holm[t], method: w.method, n_nonzero: w.n };
  });

  return { metrics: { n_images: nImages, models, paired, common: { n: common.length }, bootstrap: { ...boot, method: "percentile" } }, extraCIs };
}
