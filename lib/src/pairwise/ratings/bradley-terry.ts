/**
 * Bradley–Terry scores from pairwise votes, with standard errors.
 *
 * Model (Bradley & Terry 1952): P(i is judged safer than j) = 1 / (1 + exp(−(θ_i − θ_j))), θ the
 * log-strength of an image in natural log-odds units. Identifiability: scores are reported with mean
 * zero over all images (a common shift does not change any probability).
 *
 * Ties ("equal" votes) count as half a win for each image. Chosen over Davidson's (1970) tie model
 * because it needs no extra parameter, keeps the fit a plain (quasi-)binomial logistic regression — so an
 * independent GLM reproduces it exactly (reference/make_reference.py) — and is the usual convention of the
 * rating literature (Elo, and Place Pulse style "equal" votes). Cost: the standard errors treat a tie as
 * one full Bernoulli trial, slightly overstating the information a tie carries; with the few percent of
 * equal votes of Place Pulse this is small. Davidson's model would make the tie rate a fitted quantity —
 * worth adding if a study has many ties.
 *
 * Regularisation (default): a weak Gaussian prior θ_i ~ N(0, priorSd²), priorSd = 3 (log-odds), i.e. the
 * MAP estimate = L2-penalised logistic regression with penalty θᵀθ / (2·priorSd²). It makes every case
 * fit: images that always win or always lose get large but finite scores with large standard errors,
 * images without votes get 0 ± priorSd, and separate groups of images (a disconnected comparison graph)
 * are each pulled towards 0 — such cases are listed in `diagnostics`. With priorSd 3 an image compared
 * 20 times (Fisher information ≈ 20 · 0.2 = 4) is shrunk by about 1/(1 + 4·9) ≈ 3 %.
 * `priorSd: null` fits by pure maximum likelihood and throws a BradleyTerryError when the estimate does not
 * exist (the win graph is not strongly connected: Zermelo 1929, Ford 1957; see graph.ts).
 *
 * Algorithm: Newton's method on θ with a backtracking line search; each Newton system (the weighted graph
 * Laplacian + prior) is solved by Jacobi-preconditioned conjugate gradients, so a step costs O(pairs) per
 * CG iteration and memory is O(images + distinct pairs). (Hunter's 2004 MM algorithm converges linearly,
 * and slowly on sparse graphs; Newton converges quadratically in ~10 steps.)
 *
 * Standard errors come from the observed Fisher information at the estimate, H = Σ_pairs n p(1−p)
 * (e_i − e_j)(e_i − e_j)ᵀ + I/priorSd²: Var(θ − mean θ) = P H⁻¹ P (P removes the mean; for pure ML this
 * is the pseudo-inverse of the Laplacian). Computed via A = H + 11ᵀ/n, whose inverse is P H⁻¹ P +
 * 11ᵀ/(n(1 + 1/priorSd²)):
 * - "exact" (default up to 500 images): dense Cholesky of A, O(n³);
 * - "stochastic" (default above): an unbiased probing estimate of diag(A⁻¹) — Rademacher signs on the
 *   colour classes of a greedy colouring of the comparison graph (Tang & Saad 2012, "A probing method for
 *   computing the diagonal of a matrix inverse", Numer. Linear Algebra Appl. 19:485–501, with random signs
 *   as Bekas, Kokiopoulou & Saad 2007), so neighbours never share a probe; each probe is one CG solve.
 */
import { CgWorkspace, conjugateGradient, diagonalOfInverse } from "../math/linalg";
import { aggregatePairs, adjacency, type PairCounts } from "../votes/pair-counts";
import { weakComponents, winComponents } from "../math/graph";
import { makeRng } from "../math/random";
import type { VoteSet } from "../votes/vote-set";

export interface BradleyTerryOptions {
  /** Sd of the Gaussian prior on θ (log-odds units); `null` = pure maximum likelihood. Default 3. */
  priorSd?: number | null;
  /** Convergence: max |gradient| of the (penalised) log-likelihood. Default 1e-9. */
  tolerance?: number;
  /** Newton steps at most. Default 100. */
  maxIterations?: number;
  /** How to compute standard errors. "auto" = exact up to `exactMaxImages` images, else stochastic. */
  standardErrors?: "auto" | "exact" | "stochastic" | "none";
  /** Largest image count for exact standard errors under "auto". Default 500 (≈0.5 s; 1000 images take ≈2 s). */
  exactMaxImages?: number;
  /** Stochastic SEs: sweeps of random signs over the colour classes (probes = sweeps × colours). Default 6. */
  probeSweeps?: number;
  /** Seed of the stochastic SE probes. Default 42. */
  seed?: number;
}

export interface BradleyTerryDiagnostics {
  /** Connected components of the comparison graph and the largest one's size. */
  components: number;
  largestComponent: number;
  /** Image ids outside the largest component: their scores are only relative to their own group. */
  outsideLargestComponent: number[];
  /** Image ids that won (or tied) every vote they were in / lost every vote / have no votes. */
  alwaysWon: number[];
  alwaysLost: number[];
  noVotes: number[];
  /** Whether the win graph is strongly connected, i.e. the plain ML estimate exists. */
  mleExists: boolean;
}

export interface BradleyTerryResult {
  model: "bradley-terry";
  images: readonly string[];
  /** θ per image, natural log-odds units, mean zero over images. */
  scores: Float64Array;
  /** Standard error of each θ (of θ_i − mean θ); NaN when standardErrors is "none". */
  se: Float64Array;
  ties: "half-win";
  priorSd: number | null;
  seMethod: "exact" | "stochastic" | "none";
  /** Number of CG solves behind stochastic SEs. */
  seProbes?: number;
  /** Newton steps, and conjugate-gradient iterations over all Newton steps. */
  iterations: number;
  cgIterations: number;
  converged: boolean;
  /** Log-likelihood of the votes at the estimate (ties as half wins), without the prior term. */
  logLikelihood: number;
  votes: number;
  pairs: number;
  diagnostics: BradleyTerryDiagnostics;
}

/** Thrown by pure maximum likelihood (priorSd: null) when the estimate does not exist. */
export class BradleyTerryError extends Error {
  constructor(
    message: string,
    readonly diagnostics: BradleyTerryDiagnostics,
  ) {
    super(message);
    this.name = "BradleyTerryError";
  }
}

function logistic(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log σ(x), stable for large |x|. */
function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** P(image i is judged safer than j) under a fitted model. */
export function bradleyTerryProbability(result: BradleyTerryResult, i: number, j: number): number {
  return logistic(result.scores[i] - result.scores[j]);
}

function diagnose(pc: PairCounts, votesPerImage: { wins: Float64Array; losses: Float64Array; ties: Float64Array }): BradleyTerryDiagnostics {
  const n = pc.nImages;
  const weak = weakComponents(pc);
  let largest = 0;
  for (let c = 1; c < weak.count; c++) if (weak.sizes[c] > weak.sizes[largest]) largest = c;
  const outside: number[] = [];
  const alwaysWon: number[] = [];
  const alwaysLost: number[] = [];
  const noVotes: number[] = [];
  for (let i = 0; i < n; i++) {
    const { wins, losses, ties } = { wins: votesPerImage.wins[i], losses: votesPerImage.losses[i], ties: votesPerImage.ties[i] };
    if (wins + losses + ties === 0) noVotes.push(i);
    else if (losses === 0 && wins > 0) alwaysWon.push(i);
    else if (wins === 0 && losses > 0) alwaysLost.push(i);
    if (weak.count > 1 && weak.of[i] !== largest) outside.push(i);
  }
  const strong = winComponents(pc);
  return {
    components: weak.count,
    largestComponent: n === 0 ? 0 : weak.sizes[largest],
    outsideLargestComponent: outside,
    alwaysWon,
    alwaysLost,
    noVotes,
    mleExists: n >= 2 && strong.count === 1,
  };
}

function listImages(images: readonly string[], ids: number[], max = 10): string {
  const shown = ids.slice(0, max).map((i) => `"${images[i]}"`).join(", ");
  return ids.length > max ? `${shown} … (${ids.length} in all)` : shown;
}

/** Fit Bradley–Terry scores to votes (see the module comment for the model, ties, prior and SEs). */
export function fitBradleyTerry(votes: VoteSet, opts: BradleyTerryOptions = {}): BradleyTerryResult {
  const priorSd = opts.priorSd === undefined ? 3 : opts.priorSd;
  if (priorSd !== null && !(priorSd > 0 && Number.isFinite(priorSd))) throw new RangeError(`priorSd must be a positive number or null, got ${priorSd}`);
  const tol = opts.tolerance ?? 1e-9;
  const maxIt = opts.maxIterations ?? 100;
  const lambda = priorSd === null ? 0 : 1 / (priorSd * priorSd);
  const pc = aggregatePairs(votes);
  const n = pc.nImages;
  const P = pc.count;

  // per-pair totals and per-image vote totals
  const games = new Float64Array(P);
  const scoreA = new Float64Array(P); // wins of a + ties/2
  const totals = { wins: new Float64Array(n), losses: new Float64Array(n), ties: new Float64Array(n) };
  for (let p = 0; p < P; p++) {
    games[p] = pc.winsA[p] + pc.winsB[p] + pc.ties[p];
    scoreA[p] = pc.winsA[p] + pc.ties[p] / 2;
    const a = pc.a[p];
    const b = pc.b[p];
    totals.wins[a] += pc.winsA[p];
    totals.losses[a] += pc.winsB[p];
    totals.wins[b] += pc.winsB[p];
    totals.losses[b] += pc.winsA[p];
    totals.ties[a] += pc.ties[p];
    totals.ties[b] += pc.ties[p];
  }
  const diagnostics = diagnose(pc, totals);
  if (priorSd === null && !diagnostics.mleExists) {
    const parts: string[] = [];
    if (n < 2) parts.push("fewer than two images");
    if (diagnostics.noVotes.length) parts.push(`images without votes: ${listImages(votes.images, diagnostics.noVotes)}`);
    if (diagnostics.components > 1) parts.push(`the comparisons fall into ${diagnostics.components} unconnected groups (images outside the largest: ${listImages(votes.images, diagnostics.outsideLargestComponent)})`);
    if (diagnostics.alwaysWon.length) parts.push(`images that never lost: ${listImages(votes.images, diagnostics.alwaysWon)}`);
    if (diagnostics.alwaysLost.length) parts.push(`images that never won: ${listImages(votes.images, diagnostics.alwaysLost)}`);
    if (parts.length === 0) parts.push("some group of images never lost to the rest");
    throw new BradleyTerryError(
      `the Bradley–Terry maximum-likelihood estimate does not exist: ${parts.join("; ")}. Use a prior (priorSd, e.g. 3) or collect comparisons that connect these images.`,
      diagnostics,
    );
  }

  const theta = new Float64Array(n);
  const grad = new Float64Array(n);
  const hdiag = new Float64Array(n);
  const w = new Float64Array(P);
  const invN = n > 0 ? 1 / n : 0;

  const objective = (th: Float64Array): number => {
    let f = 0;
    for (let p = 0; p < P; p++) {
      const d = th[pc.a[p]] - th[pc.b[p]];
      f += scoreA[p] * logSigmoid(d) + (games[p] - scoreA[p]) * logSigmoid(-d);
    }
    if (lambda > 0) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += th[i] * th[i];
      f -= (lambda / 2) * ss;
    }
    return f;
  };

  /** y ← (L_w + λI + 11ᵀ/n) x */
  const apply = (x: Float64Array, y: Float64Array): void => {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i];
    mean *= invN;
    for (let i = 0; i < n; i++) y[i] = lambda * x[i] + mean;
    for (let p = 0; p < P; p++) {
      const a = pc.a[p];
      const b = pc.b[p];
      const t = w[p] * (x[a] - x[b]);
      y[a] += t;
      y[b] -= t;
    }
  };

  /** gradient, curvature weights and the operator's diagonal at θ; returns max |gradient| */
  const linearise = (th: Float64Array): number => {
    for (let i = 0; i < n; i++) {
      grad[i] = -lambda * th[i];
      hdiag[i] = lambda + invN;
    }
    for (let p = 0; p < P; p++) {
      const a = pc.a[p];
      const b = pc.b[p];
      const pr = logistic(th[a] - th[b]);
      const r = scoreA[p] - games[p] * pr;
      grad[a] += r;
      grad[b] -= r;
      const wp = games[p] * pr * (1 - pr);
      w[p] = wp;
      hdiag[a] += wp;
      hdiag[b] += wp;
    }
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(grad[i]));
    return gmax;
  };

  let iterations = 0;
  let cgIterations = 0;
  let converged = false;
  let f = objective(theta);
  const trial = new Float64Array(n);
  const ws = new CgWorkspace(n);
  const step = new Float64Array(n);
  for (; iterations < maxIt; iterations++) {
    const gmax = linearise(theta);
    if (gmax <= tol) {
      converged = true;
      break;
    }
    cgIterations += conjugateGradient(apply, grad, hdiag, 1e-12, 20 * n + 100, ws, step).iterations;
    // a Newton step below rounding level also means convergence (very large data sets, where the
    // gradient's own rounding can exceed the absolute tolerance)
    let stepMax = 0;
    let thetaMax = 0;
    for (let i = 0; i < n; i++) {
      stepMax = Math.max(stepMax, Math.abs(step[i]));
      thetaMax = Math.max(thetaMax, Math.abs(theta[i]));
    }
    if (stepMax <= 1e-13 * (1 + thetaMax)) {
      converged = true;
      break;
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += grad[i] * step[i];
    let alpha = 1;
    let accepted = false;
    if (slope <= 1e-10 * (1 + Math.abs(f))) {
      // the predicted gain is below the objective's rounding: the Armijo test would only see noise, and
      // this close to the optimum the full Newton step is safe (quadratic convergence region)
      for (let i = 0; i < n; i++) theta[i] += step[i];
      f = objective(theta);
      continue;
    }
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < n; i++) trial[i] = theta[i] + alpha * step[i];
      const ft = objective(trial);
      if (ft >= f + 1e-4 * alpha * slope) {
        theta.set(trial);
        f = ft;
        accepted = true;
        break;
      }
      alpha /= 2;
    }
    if (!accepted) {
      // no ascent possible at machine precision: we are at the optimum
      converged = linearise(theta) <= Math.max(tol, 1e-6);
      iterations++;
      break;
    }
  }
  if (!converged && iterations >= maxIt) converged = linearise(theta) <= tol;

  // report with mean zero (the MAP is already mean zero; this removes rounding drift)
  let mean = 0;
  for (let i = 0; i < n; i++) mean += theta[i];
  mean *= invN;
  for (let i = 0; i < n; i++) theta[i] -= mean;

  // standard errors at the estimate
  linearise(theta);
  const mode = opts.standardErrors ?? "auto";
  const exactMax = opts.exactMaxImages ?? 500;
  const seMethod: BradleyTerryResult["seMethod"] = mode === "none" ? "none" : mode === "exact" || (mode === "auto" && n <= exactMax) ? "exact" : "stochastic";
  const se = new Float64Array(n).fill(NaN);
  let seProbes: number | undefined;
  if (n > 0 && seMethod !== "none") {
    const offset = 1 / (n * (1 + lambda));
    let diagInv: Float64Array;
    if (seMethod === "exact") {
      const a = new Float64Array(n * n).fill(invN);
      for (let i = 0; i < n; i++) a[i * n + i] += lambda;
      for (let p = 0; p < P; p++) {
        const x = pc.a[p];
        const y = pc.b[p];
        a[x * n + x] += w[p];
        a[y * n + y] += w[p];
        a[x * n + y] -= w[p];
        a[y * n + x] -= w[p];
      }
      diagInv = diagonalOfInverse(a, n);
    } else {
      const r = probeDiagonal(pc, apply, hdiag, opts.probeSweeps ?? 6, opts.seed ?? 42);
      diagInv = r.diag;
      seProbes = r.solves;
      // diag(A⁻¹)_ii ≥ 1/A_ii (Cauchy–Schwarz): keep estimates above that floor
      for (let i = 0; i < n; i++) diagInv[i] = Math.max(diagInv[i], 1 / hdiag[i]);
    }
    for (let i = 0; i < n; i++) se[i] = Math.sqrt(Math.max(diagInv[i] - offset, 0));
  }

  let logLik = 0;
  for (let p = 0; p < P; p++) {
    const d = theta[pc.a[p]] - theta[pc.b[p]];
    logLik += scoreA[p] * logSigmoid(d) + (games[p] - scoreA[p]) * logSigmoid(-d);
  }

  return {
    model: "bradley-terry",
    images: votes.images,
    scores: theta,
    se,
    ties: "half-win",
    priorSd,
    seMethod,
    ...(seProbes !== undefined ? { seProbes } : {}),
    iterations,
    cgIterations,
    converged,
    logLikelihood: logLik,
    votes: votes.count,
    pairs: P,
    diagnostics,
  };
}

/**
 * Unbiased estimate of diag(A⁻¹): colour the comparison graph greedily (neighbours get different colours);
 * for each sweep and colour c, z = random ±1 on the images of colour c, 0 elsewhere; then
 * diag ≈ mean over sweeps of z ⊙ A⁻¹z. Errors come only from images of the same colour (≥ 2 steps apart),
 * whose entries of A⁻¹ are small.
 */
function probeDiagonal(
  pc: PairCounts,
  apply: (x: Float64Array, y: Float64Array) => void,
  diag: Float64Array,
  sweeps: number,
  seed: number,
): { diag: Float64Array; solves: number } {
  const n = pc.nImages;
  const adj = adjacency(pc);
  // greedy colouring, highest degree first
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => adj.start[b + 1] - adj.start[b] - (adj.start[a + 1] - adj.start[a]));
  const colour = new Int32Array(n).fill(-1);
  const mark = new Int32Array(n + 1).fill(-1);
  let colours = 0;
  for (const v of order) {
    for (let e = adj.start[v]; e < adj.start[v + 1]; e++) {
      const c = colour[adj.neighbour[e]];
      if (c >= 0) mark[c] = v;
    }
    let c = 0;
    while (mark[c] === v) c++;
    colour[v] = c;
    colours = Math.max(colours, c + 1);
  }
  const members: number[][] = Array.from({ length: colours }, () => []);
  for (let i = 0; i < n; i++) members[colour[i]].push(i);
  const rng = makeRng(`bt-se-${seed}`);
  const est = new Float64Array(n);
  const z = new Float64Array(n);
  const x = new Float64Array(n);
  const ws = new CgWorkspace(n);
  let solves = 0;
  for (let s = 0; s < sweeps; s++) {
    for (let c = 0; c < colours; c++) {
      z.fill(0);
      for (const i of members[c]) z[i] = rng() < 0.5 ? -1 : 1;
      conjugateGradient(apply, z, diag, 1e-8, 20 * n + 100, ws, x);
      solves++;
      for (const i of members[c]) est[i] += z[i] * x[i];
    }
  }
  for (let i = 0; i < n; i++) est[i] /= sweeps;
  return { diag: est, solves };
}
