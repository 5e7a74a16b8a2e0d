/**
 * Q-scores (Salesses, Schechtner & Hidalgo 2013, "The Collaborative Image of The City: Mapping the
 * Inequality of Urban Perception", PLoS ONE 8(7): e68400, doi:10.1371/journal.pone.0068400, Methods):
 * a win rate corrected by the strength of the opponents, on a 0–10 scale.
 *
 * For image i with w_i wins, l_i losses and t_i ties (equal votes):
 *   W_i = w_i / (w_i + l_i + t_i),   L_i = l_i / (w_i + l_i + t_i)
 *   Q_i = (10/3) · ( W_i + (1/w_i) Σ_{votes i won} W_j − (1/l_i) Σ_{votes i lost} L_j + 1 )
 * Each of the three terms lies in [0, 1], so Q ∈ [0, 10]; an image that beats strong opponents gains,
 * one that loses to weak opponents falls. Ties count in the denominators only (neither a win nor a loss)
 * — as public re-implementations citing the paper's Methods describe it; the paper's own Methods text could
 * not be read when this was written (see the README's sources): check the equation against the paper before
 * publishing Q-scores. A mean over no votes (w_i = 0 or l_i = 0) is taken as 0. The sums run over votes, so
 * an opponent beaten twice counts twice. An image without votes has no Q-score (NaN).
 *
 * Uncertainty: a percentile bootstrap over votes (resample the votes with replacement, recompute every
 * Q-score; seeded with seedrandom's Alea generator — 5× faster than its default ARC4, which matters at
 * votes × iterations = 10⁸ draws). An image absent from a resample gets no value in it; its interval uses the resamples
 * where it appears (`ci.draws` counts them), and is NaN when fewer than half of them had it. Memory: iterations × images
 * × 4 bytes (Float32) for the draws.
 */
import { bootstrapSettings, percentileInterval, type BootstrapOptions } from "../../compare";
import { makeFastRng } from "../math/random";
import { EQUAL, LEFT, type VoteSet } from "../votes/vote-set";

// outcome codes as plain module constants: the hot loops below then read no imported bindings
const O_LEFT: number = LEFT;
const O_EQUAL: number = EQUAL;

export interface QScoreOptions {
  /** Bootstrap CIs over votes; `false` to skip. Default { iterations: 1000, seed: 42, level: 0.95 }. */
  bootstrap?: BootstrapOptions | false;
}

export interface QScoreResult {
  model: "q-score";
  images: readonly string[];
  /** Q per image in [0, 10]; NaN for images without votes. */
  q: Float64Array;
  wins: Int32Array;
  losses: Int32Array;
  ties: Int32Array;
  /** Win and loss rates W_i, L_i (NaN without votes). */
  winRate: Float64Array;
  lossRate: Float64Array;
  /** Bootstrap percentile interval per image (NaN where undefined), when requested. */
  ci?: { lower: Float64Array; upper: Float64Array; level: number; iterations: number; seed: number; draws: Int32Array };
  votes: number;
}

interface Counts {
  wins: Int32Array;
  losses: Int32Array;
  ties: Int32Array;
}

/**
 * Q-scores with every vote v counted `mult[v]` times (all votes once when `mult` is null), into `out`.
 * A bootstrap resample is a multiplicity vector, so both passes stay sequential over the vote arrays.
 */
function computeQ(votes: VoteSet, mult: Int32Array | null, c: Counts, W: Float64Array, L: Float64Array, sumW: Float64Array, sumL: Float64Array, out: Float64Array): void {
  const n = votes.images.length;
  const m = votes.count;
  const { left, right, outcome } = votes;
  c.wins.fill(0);
  c.losses.fill(0);
  c.ties.fill(0);
  for (let v = 0; v < m; v++) {
    const k = mult ? mult[v] : 1;
    if (k === 0) continue;
    const o = outcome[v];
    const l = left[v];
    const r = right[v];
    if (o === O_EQUAL) {
      c.ties[l] += k;
      c.ties[r] += k;
    } else if (o === O_LEFT) {
      c.wins[l] += k;
      c.losses[r] += k;
    } else {
      c.wins[r] += k;
      c.losses[l] += k;
    }
  }
  for (let i = 0; i < n; i++) {
    const tot = c.wins[i] + c.losses[i] + c.ties[i];
    W[i] = tot > 0 ? c.wins[i] / tot : NaN;
    L[i] = tot > 0 ? c.losses[i] / tot : NaN;
  }
  sumW.fill(0);
  sumL.fill(0);
  for (let v = 0; v < m; v++) {
    const k = mult ? mult[v] : 1;
    const o = outcome[v];
    if (k === 0 || o === O_EQUAL) continue;
    const win = o === O_LEFT ? left[v] : right[v];
    const lose = o === O_LEFT ? right[v] : left[v];
    sumW[win] += k * W[lose]; // the winner beat `lose`: add the beaten image's win rate
    sumL[lose] += k * L[win]; // the loser lost to `win`: add that image's loss rate
  }
  for (let i = 0; i < n; i++) {
    const tot = c.wins[i] + c.losses[i] + c.ties[i];
    if (tot === 0) {
      out[i] = NaN;
      continue;
    }
    const beaten = c.wins[i] > 0 ? sumW[i] / c.wins[i] : 0;
    const lostTo = c.losses[i] > 0 ? sumL[i] / c.losses[i] : 0;
    out[i] = (10 / 3) * (W[i] + beaten - lostTo + 1);
  }
}

export function qScores(votes: VoteSet, opts: QScoreOptions = {}): QScoreResult {
  const n = votes.images.length;
  const counts: Counts = { wins: new Int32Array(n), losses: new Int32Array(n), ties: new Int32Array(n) };
  const W = new Float64Array(n);
  const L = new Float64Array(n);
  const sumW = new Float64Array(n);
  const sumL = new Float64Array(n);
  const q = new Float64Array(n);
  computeQ(votes, null, counts, W, L, sumW, sumL, q);
  const result: QScoreResult = {
    model: "q-score",
    images: votes.images,
    q,
    wins: counts.wins.slice(),
    losses: counts.losses.slice(),
    ties: counts.ties.slice(),
    winRate: W.slice(),
    lossRate: L.slice(),
    votes: votes.count,
  };
  if (opts.bootstrap === false || votes.count === 0) return result;
  const s = bootstrapSettings({ iterations: 1000, ...opts.bootstrap });
  const B = s.iterations;
  const m = votes.count;
  const draws = new Float32Array(B * n); // image-major: draws[i * B + b]
  const rep = new Float64Array(n);
  const mult = new Int32Array(m);
  const rng = makeFastRng(s.seed);
  for (let b = 0; b < B; b++) {
    mult.fill(0);
    for (let k = 0; k < m; k++) mult[Math.floor(rng() * m)]++;
    computeQ(votes, mult, counts, W, L, sumW, sumL, rep);
    for (let i = 0; i < n; i++) draws[i * B + b] = rep[i];
  }
  const lower = new Float64Array(n).fill(NaN);
  const upper = new Float64Array(n).fill(NaN);
  const defined = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = draws.subarray(i * B, (i + 1) * B);
    const values = Array.from(d, (x) => (Number.isFinite(x) ? x : null));
    defined[i] = values.reduce((k: number, x) => (x === null ? k : k + 1), 0);
    const ci = percentileInterval(values, s.level);
    if (ci) {
      lower[i] = ci[0];
      upper[i] = ci[1];
    }
  }
  result.ci = { lower, upper, level: s.level, iterations: B, seed: s.seed, draws: defined };
  return result;
}
