/**
 * The per-image scores table of a fit — the one owner of its columns, shared by scores.csv, scores.xlsx
 * and scores.json — and the ground-truth rows that `prepare` reads.
 */
import { byFileName } from "../../core/image";
import type { MappedScores } from "../ratings/scale-map";
import { mappedOf, type RatingFit, type RatingModel } from "./ratings";

/** A column of the scores table and what it holds (written into the workbook's README sheet). */
export interface ScoreColumn {
  name: string;
  meaning: string;
  model?: RatingModel;
}

const COUNT_COLUMNS: ScoreColumn[] = [
  { name: "image", meaning: "image file, relative to the images folder" },
  { name: "n_votes", meaning: "votes the image was in" },
  { name: "wins", meaning: "votes it won" },
  { name: "losses", meaning: "votes it lost" },
  { name: "ties", meaning: 'votes answered "equal"' },
];

const MODEL_COLUMNS: Record<RatingModel, ScoreColumn[]> = {
  "bradley-terry": [
    { name: "bt_theta", meaning: "Bradley–Terry log-strength θ (natural log-odds, mean 0 over images)" },
    { name: "bt_se", meaning: "standard error of θ" },
    { name: "bt_score", meaning: "θ mapped to the scale (see the models sheet for the rule)" },
    { name: "bt_score_lower", meaning: "lower end of the interval θ − z·se, mapped" },
    { name: "bt_score_upper", meaning: "upper end of the interval θ + z·se, mapped" },
  ],
  trueskill: [
    { name: "trueskill_mu", meaning: "TrueSkill skill mean μ (votes processed in file order)" },
    { name: "trueskill_sigma", meaning: "TrueSkill skill sd σ" },
    { name: "trueskill_score", meaning: "μ mapped to the scale" },
    { name: "trueskill_score_lower", meaning: "lower end of μ − z·σ, mapped" },
    { name: "trueskill_score_upper", meaning: "upper end of μ + z·σ, mapped" },
  ],
  "q-score": [
    { name: "q_raw", meaning: "Q-score on its own 0–10 scale (Salesses et al. 2013)" },
    { name: "q_raw_lower", meaning: "lower end of the bootstrap interval over votes" },
    { name: "q_raw_upper", meaning: "upper end of the bootstrap interval over votes" },
    { name: "q_score", meaning: "Q-score mapped to the scale" },
    { name: "q_score_lower", meaning: "lower end, mapped" },
    { name: "q_score_upper", meaning: "upper end, mapped" },
  ],
};

export function fittedModels(fit: RatingFit): RatingModel[] {
  return (["bradley-terry", "trueskill", "q-score"] as const).filter((m) => mappedOf(fit, m) !== undefined);
}

/** The table's columns for the models in the fit, in order. */
export function scoreColumns(fit: RatingFit): ScoreColumn[] {
  return [...COUNT_COLUMNS, ...fittedModels(fit).flatMap((m) => MODEL_COLUMNS[m].map((c) => ({ ...c, model: m })))];
}

export type ScoreRow = Record<string, string | number | null>;

const num = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

function mappedCells(prefix: string, m: MappedScores, i: number): ScoreRow {
  return { [`${prefix}_score`]: num(m.scores[i]), [`${prefix}_score_lower`]: num(m.lower?.[i]), [`${prefix}_score_upper`]: num(m.upper?.[i]) };
}

/** One row per image, sorted by image name (numbers in names in numeric order). */
export function scoreRows(fit: RatingFit): ScoreRow[] {
  const order = fit.images.map((_, i) => i).sort((a, b) => byFileName(fit.images[a]!, fit.images[b]!));
  const { wins, losses, ties } = fit.totals;
  return order.map((i) => {
    const row: ScoreRow = { image: fit.images[i]!, n_votes: wins[i]! + losses[i]! + ties[i]!, wins: wins[i]!, losses: losses[i]!, ties: ties[i]! };
    if (fit.bradleyTerry) {
      const r = fit.bradleyTerry.result;
      Object.assign(row, { bt_theta: num(r.scores[i]), bt_se: num(r.se[i]) }, mappedCells("bt", fit.bradleyTerry.mapped, i));
    }
    if (fit.trueSkill) {
      const r = fit.trueSkill.result;
      Object.assign(row, { trueskill_mu: num(r.mu[i]), trueskill_sigma: num(r.sigma[i]) }, mappedCells("trueskill", fit.trueSkill.mapped, i));
    }
    if (fit.qScore) {
      const r = fit.qScore.result;
      Object.assign(row, { q_raw: num(r.q[i]), q_raw_lower: num(r.ci?.lower[i]), q_raw_upper: num(r.ci?.upper[i]) }, mappedCells("q", fit.qScore.mapped, i));
    }
    return row;
  });
}

export const GROUND_TRUTH_COLUMNS = ["image", "safety_score", "score_lower", "score_upper", "n_votes", "source"];

/**
 * Ground-truth rows of one model's mapped scores, in the columns `prepare` reads (`image`,
 * `safety_score`; the rest it ignores): scores to two decimals, the interval beside them.
 */
export function groundTruthRows(fit: RatingFit, model: RatingModel): ScoreRow[] {
  const m = mappedOf(fit, model);
  if (!m) throw new Error(`the ground truth comes from ${model}, which was not fitted`);
  const round2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? null : Math.round(x * 100) / 100);
  const { wins, losses, ties } = fit.totals;
  return fit.images
    .map((image, i) => ({
      image,
      safety_score: round2(m.scores[i]),
      score_lower: round2(m.lower?.[i]),
      score_upper: round2(m.upper?.[i]),
      n_votes: wins[i]! + losses[i]! + ties[i]!,
      source: `${model} (${m.rule.kind})`,
    }))
    .filter((r) => r.safety_score !== null)
    .sort((a, b) => byFileName(a.image, b.image));
}
