/**
 * Simulated votes: pairwise votes drawn from latent scores with rater noise, seeded — to plan a study (how
 * many votes recover a ranking this well?) and for the tests and the bench. (The demo data set's votes
 * follow the demo's own documented rule: prepare/demo/votes.ts.)
 *
 * Outcome model — Bradley–Terry with an equal band (the Rao & Kupper 1967 threshold model on the logit
 * scale): for Δ = (s_left − s_right),
 *   P(left wins)  = σ((Δ − band)/T),   P(right wins) = σ((−Δ − band)/T),   P(equal) = the rest,
 * σ the logistic function, T the temperature (rater noise, in score units), band ≥ 0 the half-width of
 * the zone where raters tend to answer "equal". band = 0 gives plain Bradley–Terry with P(left) =
 * σ(Δ/T) and no ties; the true Bradley–Terry log-strengths are then s/T.
 */
import { randomPairPlan } from "./plan/pair-plan";
import { makeRng } from "./math/random";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, type VoteSet } from "./votes/vote-set";

export interface SimulateOptions {
  /** Pairs to vote on (image ids into `images`); default a random plan with `comparisonsPerImage`. */
  pairs?: { left: Int32Array; right: Int32Array; size: number };
  /** Comparisons per image of the default random plan (default 10). */
  comparisonsPerImage?: number;
  /** Votes per pair (default 1); each vote shows the pair in a random order. */
  votesPerPair?: number;
  /** Rater noise T in score units (default 1). */
  temperature?: number;
  /** Equal-band half-width in score units (default 0: no ties). */
  equalBand?: number;
  seed?: number;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Outcome probabilities for a score difference Δ = s_left − s_right (see the module comment). */
export function outcomeProbabilities(diff: number, temperature = 1, equalBand = 0): { left: number; right: number; equal: number } {
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  if (!(equalBand >= 0)) throw new RangeError(`equalBand must be ≥ 0, got ${equalBand}`);
  const left = sigmoid((diff - equalBand) / temperature);
  const right = sigmoid((-diff - equalBand) / temperature);
  return { left, right, equal: Math.max(0, 1 - left - right) };
}

/** Simulate votes on `images` whose latent scores are `latent` (same order). */
export function simulateVotes(images: readonly string[], latent: ArrayLike<number>, opts: SimulateOptions = {}): VoteSet {
  if (latent.length !== images.length) throw new RangeError(`one latent score per image needed (${images.length}), got ${latent.length}`);
  for (let i = 0; i < latent.length; i++) if (!Number.isFinite(latent[i])) throw new TypeError(`latent[${i}] is not a finite number`);
  const seed = opts.seed ?? 42;
  const T = opts.temperature ?? 1;
  const band = opts.equalBand ?? 0;
  const reps = opts.votesPerPair ?? 1;
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`votesPerPair must be a positive integer, got ${reps}`);
  const pairs = opts.pairs ?? randomPairPlan(images, opts.comparisonsPerImage ?? 10, { seed });
  const rng = makeRng(`simulate-${seed}`);
  const b = new VoteSetBuilder(images);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < pairs.size; k++) {
      const swap = r > 0 && rng() < 0.5;
      const l = swap ? pairs.right[k] : pairs.left[k];
      const rt = swap ? pairs.left[k] : pairs.right[k];
      const p = outcomeProbabilities(latent[l] - latent[rt], T, band);
      const u = rng();
      b.add(l, rt, u < p.left ? LEFT : u < p.left + p.right ? RIGHT : EQUAL);
    }
  }
  return b.build();
}
