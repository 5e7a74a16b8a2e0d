/**
 * Scores from votes, with their uncertainty, mapped to the project's scale: the three rating models
 * fitted to one VoteSet, each with its interval and its stated 1–10 rule (pure; no files).
 *
 * Intervals, at `level` (default 0.95), z = Φ⁻¹((1 + level)/2):
 * - Bradley–Terry: θ ± z·se (Wald interval from the observed Fisher information);
 * - TrueSkill: μ ± z·σ (the posterior after the last vote);
 * - Q-score: percentile bootstrap over votes.
 * Every mapping rule is monotone, so the interval ends are mapped by the same rule (scale-map.ts).
 */
import { spearman } from "../../compare";
import { DEFAULT_SCALE, type Scale } from "../../core/scale";
import { fitBradleyTerry, type BradleyTerryOptions, type BradleyTerryResult } from "../ratings/bradley-terry";
import { qScores, type QScoreOptions, type QScoreResult } from "../ratings/q-score";
import { mapBradleyTerry, mapQScores, mapTrueSkill, type MappedScores, type ScaleRule } from "../ratings/scale-map";
import { fitTrueSkill, type TrueSkillOptions, type TrueSkillResult } from "../ratings/trueskill";
import { aggregatePairs } from "../votes/pair-counts";
import { imageTotals, type ImageTotals, type VoteSet } from "../votes/vote-set";

export const RATING_MODELS = ["bradley-terry", "trueskill", "q-score"] as const;
export type RatingModel = (typeof RATING_MODELS)[number];

/** How scores reach the scale: each model's own default rule, or one rule for all. */
export type MappingChoice = "default" | "range" | "quantile" | { reference: readonly number[] };
export const MAPPING_CHOICES = ["default", "range", "quantile"] as const;

export interface FitRatingsOptions {
  /** Models to fit (default all three). */
  models?: readonly RatingModel[];
  scale?: Scale;
  /** Level of every interval (default 0.95). */
  level?: number;
  mapping?: MappingChoice;
  bradleyTerry?: BradleyTerryOptions;
  trueSkill?: TrueSkillOptions;
  /** Q-score bootstrap (default 1000 resamples over votes, seed 42); false for none. */
  qScore?: QScoreOptions;
}

export interface VoteSummary {
  votes: number;
  images: number;
  /** Distinct unordered pairs. */
  pairs: number;
  /** Votes beyond the first on their pair. */
  repeatedVotes: number;
  equalVotes: number;
}

export interface RatingFit {
  images: readonly string[];
  totals: ImageTotals;
  summary: VoteSummary;
  scale: Scale;
  level: number;
  mapping: MappingChoice;
  bradleyTerry?: { result: BradleyTerryResult; mapped: MappedScores };
  trueSkill?: { result: TrueSkillResult; mapped: MappedScores };
  qScore?: { result: QScoreResult; mapped: MappedScores };
  /** Spearman's ρ between the fitted models' scores, per pair of models ("bradley-terry~trueskill"). */
  modelAgreement: Record<string, number | null>;
}

function ruleFor(mapping: MappingChoice): ScaleRule | undefined {
  if (mapping === "default") return undefined;
  if (mapping === "range") return { kind: "range" };
  if (mapping === "quantile") return { kind: "quantile" };
  return { kind: "reference", reference: mapping.reference };
}

export function summarizeVotes(votes: VoteSet): VoteSummary {
  const pc = aggregatePairs(votes);
  let equal = 0;
  for (let v = 0; v < votes.count; v++) if (votes.outcome[v] === 2) equal++;
  return { votes: votes.count, images: votes.images.length, pairs: pc.count, repeatedVotes: votes.count - pc.count, equalVotes: equal };
}

/** Fit the chosen rating models and map each to the scale (see the module comment). */
export function fitRatings(votes: VoteSet, opts: FitRatingsOptions = {}): RatingFit {
  const models = opts.models ?? RATING_MODELS;
  const scale = opts.scale ?? DEFAULT_SCALE;
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const mapping = opts.mapping ?? "default";
  const rule = ruleFor(mapping);
  const fit: RatingFit = { images: votes.images, totals: imageTotals(votes), summary: summarizeVotes(votes), scale, level, mapping, modelAgreement: {} };
  if (models.includes("bradley-terry")) {
    const result = fitBradleyTerry(votes, opts.bradleyTerry);
    fit.bradleyTerry = { result, mapped: mapBradleyTerry(result, { scale, level, ...(rule ? { rule } : {}) }) };
  }
  if (models.includes("trueskill")) {
    const result = fitTrueSkill(votes, opts.trueSkill);
    fit.trueSkill = { result, mapped: mapTrueSkill(result, { scale, level, ...(rule ? { rule } : {}) }) };
  }
  if (models.includes("q-score")) {
    const result = qScores(votes, { ...opts.qScore, ...(opts.qScore?.bootstrap !== false ? { bootstrap: { level, ...(opts.qScore?.bootstrap ?? {}) } } : {}) });
    fit.qScore = { result, mapped: mapQScores(result, { scale, ...(rule ? { rule } : {}) }) };
  }
  const raw: [RatingModel, ArrayLike<number>][] = [];
  if (fit.bradleyTerry) raw.push(["bradley-terry", fit.bradleyTerry.result.scores]);
  if (fit.trueSkill) raw.push(["trueskill", fit.trueSkill.result.mu]);
  if (fit.qScore) raw.push(["q-score", fit.qScore.result.q]);
  for (let i = 0; i < raw.length; i++) {
    for (let j = i + 1; j < raw.length; j++) {
      const [a, x] = raw[i]!;
      const [b, y] = raw[j]!;
      const keep = Array.from({ length: x.length }, (_, k) => k).filter((k) => Number.isFinite(x[k]) && Number.isFinite(y[k]));
      fit.modelAgreement[`${a}~${b}`] = keep.length < 2 ? null : spearman(keep.map((k) => x[k]!), keep.map((k) => y[k]!));
    }
  }
  return fit;
}

/** Mapped scores and their interval for one model of a fit (undefined when the model was not fitted). */
export function mappedOf(fit: RatingFit, model: RatingModel): MappedScores | undefined {
  return model === "bradley-terry" ? fit.bradleyTerry?.mapped : model === "trueskill" ? fit.trueSkill?.mapped : fit.qScore?.mapped;
}
