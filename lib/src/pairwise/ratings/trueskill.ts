/**
 * TrueSkill ratings (Herbrich, Minka & Graepel 2006, "TrueSkill™: A Bayesian Skill Rating System", NIPS 19)
 * for one-image-versus-one-image votes with draws, as StreetScore did for Place Pulse (Naik, Philipoom,
 * Raskar & Hidalgo 2014, "Streetscore — Predicting the Perceived Safety of One Million Streetscapes",
 * CVPR Workshops).
 *
 * Defaults are those of the `trueskill` Python package (sublee/trueskill): mu = 25, sigma = 25/3,
 * beta = sigma/2, tau = sigma/100, draw probability 0.10, draw margin ε = Φ⁻¹((p + 1)/2) · √2 · beta.
 *
 * One vote, winner w and loser l (for a draw the order does not matter):
 *   σ_w² ← σ_w² + τ², σ_l² ← σ_l² + τ²                       (dynamics, before the game)
 *   c² = 2β² + σ_w² + σ_l²,  t = (μ_w − μ_l)/c,  e = ε/c
 *   win:  v = φ(t − e)/Φ(t − e),  w = v (v + t − e)
 *   draw: v = (φ(−e − t) − φ(e − t)) / (Φ(e − t) − Φ(−e − t)),
 *         w = v² + ((e − t) φ(e − t) + (e + t) φ(e + t)) / (Φ(e − t) − Φ(−e − t))
 *   μ_w ← μ_w + (σ_w²/c) v,  μ_l ← μ_l − (σ_l²/c) v,  σ² ← σ² (1 − (σ²/c²) w)   (each player)
 * The ratios are evaluated through the Mills ratio (gaussian.ts) so that very unexpected results do not
 * give 0/0.
 *
 * Votes are processed in vote order (index 0 first), one at a time — TrueSkill is an online filter, so a
 * different order gives (slightly) different ratings. Uncertainty = sigma; conservative score
 * mu − 3·sigma (the package's "exposure").
 */
import { millsRatio, normalCdf, normalPpf } from "../math/gaussian";
import { EQUAL, LEFT, type VoteSet } from "../votes/vote-set";

// outcome codes as plain module constants: the hot loops below then read no imported bindings
const O_LEFT: number = LEFT;
const O_EQUAL: number = EQUAL;

export interface TrueSkillOptions {
  mu?: number;
  sigma?: number;
  beta?: number;
  tau?: number;
  /** Probability of a draw between equal images (default 0.10). 0 forbids equal votes. */
  drawProbability?: number;
}

export interface TrueSkillParams {
  mu: number;
  sigma: number;
  beta: number;
  tau: number;
  drawProbability: number;
  /** ε = Φ⁻¹((drawProbability + 1)/2) · √2 · beta, in skill units. */
  drawMargin: number;
}

export interface Rating {
  mu: number;
  sigma: number;
}

export interface TrueSkillResult {
  model: "trueskill";
  images: readonly string[];
  mu: Float64Array;
  sigma: Float64Array;
  /** mu − 3·sigma. */
  conservative: Float64Array;
  params: TrueSkillParams;
  /** Always "vote order": the votes were processed from index 0 on. */
  order: "vote order";
  votes: number;
}

export function trueSkillParams(opts: TrueSkillOptions = {}): TrueSkillParams {
  const mu = opts.mu ?? 25;
  const sigma = opts.sigma ?? mu / 3;
  const beta = opts.beta ?? sigma / 2;
  const tau = opts.tau ?? sigma / 100;
  const drawProbability = opts.drawProbability ?? 0.1;
  if (!(sigma > 0) || !(beta > 0) || !(tau >= 0)) throw new RangeError("TrueSkill sigma and beta must be positive and tau non-negative");
  if (!(drawProbability >= 0 && drawProbability < 1)) throw new RangeError(`drawProbability must be in [0, 1), got ${drawProbability}`);
  const drawMargin = drawProbability === 0 ? 0 : normalPpf((drawProbability + 1) / 2) * Math.SQRT2 * beta;
  return { mu, sigma, beta, tau, drawProbability, drawMargin };
}

/** v and w of a decisive result, as functions of x = t − e. */
export function vWin(x: number): number {
  // φ(x)/Φ(x) = 1 / R(−x)
  return 1 / millsRatio(-x);
}

export function wWin(x: number): number {
  const v = vWin(x);
  const w = v * (v + x);
  return Math.min(Math.max(w, 0), 1);
}

/**
 * v and w of a draw, for t and e = ε/c. With s = |t|, a = s − e, b = s + e, r = φ(b)/φ(a) = e^(−2se):
 * Φ(e − s) − Φ(−e − s) = φ(a)(R(a) − r R(b)), so v = sign(t)·(r − 1)/(R(a) − r R(b)) and
 * w = v² + (b r − a)/(R(a) − r R(b)).
 */
export function vDraw(t: number, e: number): number {
  const { v } = drawTerms(t, e);
  return t < 0 ? -v : v;
}

export function wDraw(t: number, e: number): number {
  const { v, a, b, r, den } = drawTerms(t, e);
  const w = v * v + (b * r - a) / den;
  return Math.min(Math.max(w, 0), 1);
}

/** The shared terms of vDraw and wDraw (for |t|; v before its sign). */
function drawTerms(t: number, e: number): { v: number; a: number; b: number; r: number; den: number } {
  const s = Math.abs(t);
  const a = s - e;
  const b = s + e;
  const r = Math.exp(-2 * s * e);
  const den = millsRatio(a) - r * millsRatio(b);
  return { v: (r - 1) / den, a, b, r, den };
}

/**
 * Update two ratings after one game: `first` beat `second`, or they drew. Returns the new ratings
 * [first, second] (inputs are not changed). Same as `trueskill.rate_1vs1(first, second, drawn)`.
 */
export function rate1vs1(first: Rating, second: Rating, drawn = false, opts: TrueSkillOptions | TrueSkillParams = {}): [Rating, Rating] {
  const p = "drawMargin" in opts ? opts : trueSkillParams(opts);
  const s1 = first.sigma * first.sigma + p.tau * p.tau;
  const s2 = second.sigma * second.sigma + p.tau * p.tau;
  const c2 = 2 * p.beta * p.beta + s1 + s2;
  const c = Math.sqrt(c2);
  const t = (first.mu - second.mu) / c;
  const e = p.drawMargin / c;
  let v: number;
  let w: number;
  if (drawn) {
    if (p.drawMargin === 0) throw new RangeError("an equal vote cannot be rated with drawProbability 0");
    v = vDraw(t, e);
    w = wDraw(t, e);
  } else {
    v = vWin(t - e);
    w = wWin(t - e);
  }
  return [
    { mu: first.mu + (s1 / c) * v, sigma: Math.sqrt(s1 * (1 - (s1 / c2) * w)) },
    { mu: second.mu - (s2 / c) * v, sigma: Math.sqrt(s2 * (1 - (s2 / c2) * w)) },
  ];
}

/** Probability of a draw for two ratings ("match quality" of the package): √(2β²/c²)·exp(−(μ1−μ2)²/(2c²)). */
export function quality1vs1(a: Rating, b: Rating, opts: TrueSkillOptions = {}): number {
  const p = trueSkillParams(opts);
  const c2 = 2 * p.beta * p.beta + a.sigma * a.sigma + b.sigma * b.sigma;
  const d = a.mu - b.mu;
  return Math.sqrt((2 * p.beta * p.beta) / c2) * Math.exp(-(d * d) / (2 * c2));
}

/** P(a performs better than b) = Φ((μa − μb)/√(2β² + σa² + σb²)) (draw margin ignored). */
export function trueSkillWinProbability(a: Rating, b: Rating, beta = 25 / 6): number {
  return normalCdf((a.mu - b.mu) / Math.sqrt(2 * beta * beta + a.sigma * a.sigma + b.sigma * b.sigma));
}

/** Rate every image by processing the votes in vote order. */
export function fitTrueSkill(votes: VoteSet, opts: TrueSkillOptions = {}): TrueSkillResult {
  const p = trueSkillParams(opts);
  const n = votes.images.length;
  const mu = new Float64Array(n).fill(p.mu);
  const s2 = new Float64Array(n).fill(p.sigma * p.sigma);
  const tau2 = p.tau * p.tau;
  const beta2x2 = 2 * p.beta * p.beta;
  for (let k = 0; k < votes.count; k++) {
    const o = votes.outcome[k];
    // winner first; a draw keeps the shown order
    const i = o === O_LEFT || o === O_EQUAL ? votes.left[k] : votes.right[k];
    const j = o === O_LEFT || o === O_EQUAL ? votes.right[k] : votes.left[k];
    const si = s2[i] + tau2;
    const sj = s2[j] + tau2;
    const c2 = beta2x2 + si + sj;
    const c = Math.sqrt(c2);
    const t = (mu[i] - mu[j]) / c;
    const e = p.drawMargin / c;
    let v: number;
    let w: number;
    if (o === O_EQUAL) {
      if (p.drawMargin === 0) throw new RangeError(`vote ${k} is equal, which drawProbability 0 does not allow`);
      v = vDraw(t, e);
      w = wDraw(t, e);
    } else {
      v = vWin(t - e);
      w = wWin(t - e);
    }
    mu[i] += (si / c) * v;
    mu[j] -= (sj / c) * v;
    s2[i] = si * (1 - (si / c2) * w);
    s2[j] = sj * (1 - (sj / c2) * w);
  }
  const sigma = new Float64Array(n);
  const conservative = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sigma[i] = Math.sqrt(s2[i]);
    conservative[i] = mu[i] - 3 * sigma[i];
  }
  return { model: "trueskill", images: votes.images, mu, sigma, conservative, params: p, order: "vote order", votes: votes.count };
}

