/**
 * Which pairs to ask about, for a budget: k comparisons per image chosen at random, or pairs chosen
 * adaptively where the current ratings are least sure of the outcome.
 *
 * Random plan (`randomPairPlan`): every image appears k times (one image k + 1 when n·k is odd), no image is
 * paired with itself, and no pair repeats until every pair has been used (k ≥ n − 1 means whole rounds of
 * all n(n−1)/2 pairs, then the remainder). The remainder is a uniformly shuffled configuration model (k
 * "stubs" per image paired at random) repaired by random edge swaps until it has no self-pair or repeated
 * pair — a random k-regular comparison graph, which is an expander with high probability, so the rating
 * models get well-connected data. Above half density the complement of a random regular graph is used.
 * Position (left/right) and the order of the pairs are random. Seeded (`seedrandom`).
 *
 * Adaptive plan (`adaptivePairPlan`): for candidate pairs (neighbours in the current score order — where
 * outcomes are closest to 50/50 — plus a few random partners per image), the expected reduction in the
 * variance of the score difference d = θ_i − θ_j from one more vote, treating the vote as an observation
 * with Fisher information I about d:  gain = V²·I / (1 + V·I), V = var_i + var_j. I = p(1 − p) for
 * Bradley–Terry (p = σ(θ_i − θ_j)); for TrueSkill I = φ(z)² / (Φ(z)(1 − Φ(z)) · c²), z = (μ_i − μ_j)/c,
 * c² = 2β² + σ_i² + σ_j². So pairs that are both close (p near 0.5) and uncertain win. Coverage: first every
 * image with fewer than `minPerImage` planned comparisons gets its best pair, then pairs are taken by gain
 * with at most `maxPerImage` per image; pairs already in `existing` votes are avoided while others remain.
 *
 * The cost of a plan (pairs × 2 orders × tokens per request) is computed by the caller; `planBothOrders`
 * gives the ordered requests.
 */
import { normalCdf, normalPdf } from "../math/gaussian";
import { makeRng } from "../math/random";
import type { VoteSet } from "../votes/vote-set";

export interface PairPlan {
  /** "voted": the pairs of existing votes (plan/run.ts). */
  method: "random" | "adaptive" | "voted";
  images: readonly string[];
  /** Number of pairs. */
  size: number;
  /** Image shown first (left) and second (right), per pair. */
  left: Int32Array;
  right: Int32Array;
  /** Appearances of each image in the plan. */
  perImage: Int32Array;
  /** Pairs that occur more than once in the plan (counted beyond their first occurrence). */
  repeatedPairs: number;
  seed: number;
}

function imageList(images: readonly string[] | number): string[] {
  if (typeof images === "number") {
    if (!Number.isInteger(images) || images < 0) throw new RangeError(`image count must be a non-negative integer, got ${images}`);
    return Array.from({ length: images }, (_, i) => String(i));
  }
  if (new Set(images).size !== images.length) throw new RangeError("image names must be unique");
  return [...images];
}

const key = (a: number, b: number, n: number) => (a < b ? a * n + b : b * n + a);

/** Growable list of pairs. */
class PairList {
  a = new Int32Array(64);
  b = new Int32Array(64);
  size = 0;
  push(x: number, y: number): void {
    if (this.size === this.a.length) {
      const na = new Int32Array(this.a.length * 2);
      na.set(this.a);
      const nb = new Int32Array(this.b.length * 2);
      nb.set(this.b);
      this.a = na;
      this.b = nb;
    }
    this.a[this.size] = x;
    this.b[this.size] = y;
    this.size++;
  }
}

/** A random graph in which every image has degree d (one image d + 1 when n·d is odd), no self-pairs or repeats. */
function randomRegular(n: number, d: number, rng: () => number, out: PairList): void {
  const stubs = new Int32Array(n * d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) stubs[i * d + t] = i;
  for (let i = stubs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = stubs[i];
    stubs[i] = stubs[j];
    stubs[j] = t;
  }
  const m = Math.floor(stubs.length / 2);
  const A = new Int32Array(m);
  const B = new Int32Array(m);
  const count = new Map<number, number>();
  const inc = (x: number, y: number, by: number) => {
    if (x === y) return;
    const k = key(x, y, n);
    const c = (count.get(k) ?? 0) + by;
    if (c === 0) count.delete(k);
    else count.set(k, c);
  };
  for (let p = 0; p < m; p++) {
    A[p] = stubs[2 * p];
    B[p] = stubs[2 * p + 1];
    inc(A[p], B[p], 1);
  }
  const isBad = (p: number) => A[p] === B[p] || (count.get(key(A[p], B[p], n)) ?? 0) > 1;
  const free = (x: number, y: number) => x !== y && !count.has(key(x, y, n));
  let bad: number[] = [];
  for (let p = 0; p < m; p++) if (isBad(p)) bad.push(p);
  for (let round = 0; round < 50 && bad.length > 0; round++) {
    const next: number[] = [];
    for (const p of bad) {
      if (!isBad(p)) continue;
      let fixed = false;
      for (let attempt = 0; attempt < 200 && !fixed; attempt++) {
        const o = Math.floor(rng() * m);
        if (o === p) continue;
        const x = A[p];
        const y = B[p];
        const u = A[o];
        const v = B[o];
        inc(x, y, -1);
        inc(u, v, -1);
        const flip = rng() < 0.5;
        const [c1, c2] = flip ? [u, v] : [v, u];
        if (free(x, c1) && free(y, c2) && key(x, c1, n) !== key(y, c2, n)) {
          A[p] = x;
          B[p] = c1;
          A[o] = y;
          B[o] = c2;
          inc(x, c1, 1);
          inc(y, c2, 1);
          fixed = true;
        } else {
          inc(x, y, 1);
          inc(u, v, 1);
        }
      }
      if (!fixed) next.push(p);
    }
    bad = next;
  }
  for (let p = 0; p < m; p++) if (A[p] !== B[p]) out.push(A[p], B[p]);
  // odd number of stubs: the last one pairs with a random image it has not met
  if (stubs.length % 2 === 1) {
    const s = stubs[stubs.length - 1];
    for (let attempt = 0; attempt < 10 * n; attempt++) {
      const t = Math.floor(rng() * n);
      if (free(s, t)) {
        out.push(s, t);
        break;
      }
    }
  }
}

/** Random positions (left/right) and, when `shuffle`, a random order of the pairs. */
function finishPlan(method: PairPlan["method"], images: readonly string[], list: PairList, rng: () => number, seed: number, shuffle = true): PairPlan {
  const n = images.length;
  const size = list.size;
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  for (let i = shuffle ? size - 1 : 0; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const left = new Int32Array(size);
  const right = new Int32Array(size);
  const perImage = new Int32Array(n);
  const seen = new Set<number>();
  let repeated = 0;
  for (let k = 0; k < size; k++) {
    const p = order[k];
    const swap = rng() < 0.5;
    left[k] = swap ? list.b[p] : list.a[p];
    right[k] = swap ? list.a[p] : list.b[p];
    perImage[left[k]]++;
    perImage[right[k]]++;
    const kk = key(left[k], right[k], n);
    if (seen.has(kk)) repeated++;
    else seen.add(kk);
  }
  return { method, images, size, left, right, perImage, repeatedPairs: repeated, seed };
}

/** k comparisons per image at random (see the module comment). */
export function randomPairPlan(images: readonly string[] | number, k: number, opts: { seed?: number } = {}): PairPlan {
  const names = imageList(images);
  const n = names.length;
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`comparisons per image must be a non-negative integer, got ${k}`);
  if (n < 2 && k > 0) throw new RangeError("a pair plan needs at least two images");
  const seed = opts.seed ?? 42;
  const rng = makeRng(`pair-plan-${seed}`);
  const list = new PairList();
  const maxDeg = n - 1;
  const full = maxDeg > 0 ? Math.floor(k / maxDeg) : 0;
  const r = k - full * maxDeg;
  for (let f = 0; f < full; f++) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) list.push(i, j);
  if (r > 0) {
    if (r <= maxDeg / 2) randomRegular(n, r, rng, list);
    else {
      const base = new PairList();
      randomRegular(n, maxDeg - r, rng, base);
      const used = new Set<number>();
      for (let p = 0; p < base.size; p++) used.add(key(base.a[p], base.b[p], n));
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!used.has(i * n + j)) list.push(i, j);
    }
  }
  return finishPlan("random", names, list, rng, seed);
}

export interface AdaptivePlanOptions {
  /** Number of pairs to plan. */
  budget: number;
  /** Which model the ratings come from (sets the outcome probability). */
  model: "bradley-terry" | "trueskill";
  /** TrueSkill performance noise β (default 25/6). */
  beta?: number;
  seed?: number;
  /** Neighbours in score order considered per image (default 8). */
  window?: number;
  /** Random extra partners per image (default 4). */
  randomCandidates?: number;
  /** At most this many planned comparisons per image (default ⌈2·budget/n⌉ + 1). */
  maxPerImage?: number;
  /** Every image gets at least this many planned comparisons first (default 1 when 2·budget ≥ n, else 0). */
  minPerImage?: number;
  /** Votes already collected (same image ids): their pairs are avoided while other candidates remain. */
  existing?: VoteSet;
}

export interface AdaptivePairPlan extends PairPlan {
  /** Expected variance reduction of each planned pair's score difference (see module comment). */
  gain: Float64Array;
}

/** Expected variance reduction of d = s_i − s_j from one vote (see module comment). */
export function pairGain(model: AdaptivePlanOptions["model"], mi: number, mj: number, vi: number, vj: number, beta = 25 / 6): number {
  const V = vi + vj;
  let info: number;
  if (model === "bradley-terry") {
    const p = 1 / (1 + Math.exp(-(mi - mj)));
    info = p * (1 - p);
  } else {
    const c2 = 2 * beta * beta + V;
    const z = (mi - mj) / Math.sqrt(c2);
    const P = normalCdf(z);
    const f = normalPdf(z);
    const q = P * (1 - P);
    info = q > 0 ? (f * f) / (q * c2) : 0;
  }
  return (V * V * info) / (1 + V * info);
}

/** Pairs chosen where the current ratings are least certain of the outcome (see the module comment). */
export function adaptivePairPlan(images: readonly string[], ratings: { mean: ArrayLike<number>; sd: ArrayLike<number> }, opts: AdaptivePlanOptions): AdaptivePairPlan {
  const names = imageList(images);
  const n = names.length;
  if (ratings.mean.length !== n || ratings.sd.length !== n) throw new RangeError(`ratings must have one mean and one sd per image (${n})`);
  if (!Number.isInteger(opts.budget) || opts.budget < 0) throw new RangeError(`budget must be a non-negative integer, got ${opts.budget}`);
  if (n < 2 && opts.budget > 0) throw new RangeError("a pair plan needs at least two images");
  const seed = opts.seed ?? 42;
  const rng = makeRng(`adaptive-plan-${seed}`);
  const window = opts.window ?? 8;
  const extra = opts.randomCandidates ?? 4;
  const maxPer = opts.maxPerImage ?? Math.ceil((2 * opts.budget) / Math.max(n, 1)) + 1;
  const minPer = opts.minPerImage ?? (2 * opts.budget >= n ? 1 : 0);
  const beta = opts.beta ?? 25 / 6;
  const mean = ratings.mean;
  const variance = Float64Array.from({ length: n }, (_, i) => ratings.sd[i] * ratings.sd[i]);

  const existing = new Set<number>();
  const existingPer = new Int32Array(n);
  if (opts.existing) {
    if (opts.existing.images.length !== n) throw new RangeError("existing votes must use the same image list");
    for (let v = 0; v < opts.existing.count; v++) {
      existing.add(key(opts.existing.left[v], opts.existing.right[v], n));
      existingPer[opts.existing.left[v]]++;
      existingPer[opts.existing.right[v]]++;
    }
  }

  // candidates
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => mean[a] - mean[b]);
  const candKeys = new Set<number>();
  const cand: { a: number; b: number; gain: number }[] = [];
  const addCand = (a: number, b: number) => {
    if (a === b) return;
    const k = key(a, b, n);
    if (candKeys.has(k)) return;
    candKeys.add(k);
    cand.push({ a, b, gain: pairGain(opts.model, mean[a], mean[b], variance[a], variance[b], beta) });
  };
  for (let q = 0; q < n; q++) {
    for (let d = 1; d <= window && q + d < n; d++) addCand(order[q], order[q + d]);
    for (let r = 0; r < extra; r++) addCand(order[q], Math.floor(rng() * n));
  }
  cand.sort((x, y) => y.gain - x.gain);
  const byImage: number[][] = Array.from({ length: n }, () => []);
  cand.forEach((c, idx) => {
    byImage[c.a].push(idx);
    byImage[c.b].push(idx);
  });

  const chosen = new Uint8Array(cand.length);
  const planned = new Int32Array(n);
  const list = new PairList();
  const gains: number[] = [];
  const take = (idx: number) => {
    chosen[idx] = 1;
    planned[cand[idx].a]++;
    planned[cand[idx].b]++;
    list.push(cand[idx].a, cand[idx].b);
    gains.push(cand[idx].gain);
  };
  const isNew = (idx: number) => !existing.has(key(cand[idx].a, cand[idx].b, n));

  // 1. coverage: least-compared, most uncertain images first
  if (minPer > 0) {
    const needy = Array.from({ length: n }, (_, i) => i).sort((a, b) => existingPer[a] - existingPer[b] || variance[b] - variance[a]);
    for (let round = 0; round < minPer; round++) {
      for (const i of needy) {
        if (list.size >= opts.budget) break;
        if (planned[i] > round) continue;
        let best = -1;
        for (const pass of [0, 1]) {
          for (const idx of byImage[i]) {
            if (chosen[idx]) continue;
            const other = cand[idx].a === i ? cand[idx].b : cand[idx].a;
            if (planned[other] >= maxPer) continue;
            if (pass === 0 && !isNew(idx)) continue;
            best = idx;
            break;
          }
          if (best >= 0) break;
        }
        if (best >= 0) take(best);
      }
    }
  }
  // 2. by gain, within the per-image cap: new pairs, then already-compared ones, then without the cap
  for (const pass of [0, 1, 2]) {
    for (let idx = 0; idx < cand.length && list.size < opts.budget; idx++) {
      if (chosen[idx]) continue;
      if (pass < 2 && (planned[cand[idx].a] >= maxPer || planned[cand[idx].b] >= maxPer)) continue;
      if (pass === 0 && !isNew(idx)) continue;
      take(idx);
    }
  }
  // keep the selection order (coverage pairs first, then by gain); positions are random
  const plan = finishPlan("adaptive", names, list, rng, seed, false);
  return { ...plan, gain: Float64Array.from(gains) };
}

/** The plan as ordered requests: each pair asked in both orders (A, B) then (B, A); size = 2 × pairs. */
export function planBothOrders(plan: PairPlan): { first: Int32Array; second: Int32Array; size: number } {
  const first = new Int32Array(2 * plan.size);
  const second = new Int32Array(2 * plan.size);
  for (let k = 0; k < plan.size; k++) {
    first[2 * k] = plan.left[k];
    second[2 * k] = plan.right[k];
    first[2 * k + 1] = plan.right[k];
    second[2 * k + 1] = plan.left[k];
  }
  return { first, second, size: 2 * plan.size };
}
