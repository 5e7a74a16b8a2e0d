/**
 * `pairwise evaluate`: how well models' pairwise answers (ask runs) — and absolute-score models of a
 * compare run judged on the same pairs — agree with human votes. Per model:
 * - pair agreement: the model's answer per pair (both orders resolved; an order flip is a tie) against
 *   the human majority, with a percentile bootstrap CI over pairs (pair-agreement.ts); a model "equal"
 *   on a pair humans decided earns `equalCredit` (default 0.5, the expected credit of a coin flip, so
 *   every answer that knows nothing — always equal, always the first image, a coin — scores 0.5);
 * - soft agreement, where the model gave token probabilities: the expected credit under P(A safer),
 *   P(B safer), P(equal), averaged over the two orders (position bias cancels in the average);
 * - score agreement: the same rating models fitted to the model's votes against those fitted to the
 *   human votes (absolute models: their own scores), Spearman, Kendall τ-b and Pearson with bootstrap CIs
 *   over images (score-agreement.ts);
 * - position bias (order-bias.ts);
 * - and, on the pairs every model answered, each model's agreement again: one pair set for all, so the
 *   protocols are compared on the same footing.
 */
import path from "node:path";
import { bootstrapIndices, bootstrapSettings, isValidPrediction, latestRecords, percentileInterval, readRun, type BootstrapOptions } from "../../compare";
import { shownPath } from "../../core/paths";
import { resolveProjectPath } from "../../core/project-path";
import { fitRatings, mappedOf, RATING_MODELS, type RatingModel } from "../fit/ratings";
import { latestAnswers, readAnswers, readAskRun, type AnswerRecord, type AskRunInfo } from "../ask/run-folder";
import { loadVotesOrThrow, type LoadVotesOptions, type VotesFile } from "../votes/load";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, type VoteSet } from "../votes/vote-set";
import { agreementWithHumans, pairMajorities, type AgreementResult } from "./pair-agreement";
import { resolveOrderedAnswers, type OrderBiasSummary } from "./order-bias";
import { alignScores, scoreAgreement, type CorrelationSummary, type Estimate } from "./score-agreement";

export const DEFAULT_EQUAL_CREDIT = 0.5;

export interface PairwiseEvaluateOptions extends Omit<LoadVotesOptions, "images"> {
  /** Ask run folders (`pairwise ask`). */
  ask: string[];
  /** The human votes file. */
  votes: string;
  /** The images folder the votes name (default: the first ask run's). */
  images?: string;
  /** A compare run folder: its absolute-score models are judged on the same pairs. */
  compareRun?: string;
  ratingModels?: readonly RatingModel[];
  equalCredit?: number;
  bootstrap?: BootstrapOptions;
}

export type Protocol = "pairwise" | "pairwise-from-scores" | "absolute";

export interface ModelEvaluation {
  model: string;
  /** pairwise: both images in one request; pairwise-from-scores: a ScoreModel asked per image (baselines); absolute: a compare run's scores. */
  protocol: Protocol;
  source: string;
  requests: number;
  failed: number;
  agreement: AgreementResult;
  /** Expected agreement under the model's answer probabilities (null without them). */
  softAgreement: Estimate & { n: number };
  positionBias: OrderBiasSummary | null;
  /** Per rating model: model-derived vs human-derived scores. */
  scores: Partial<Record<RatingModel, CorrelationSummary>>;
  /** Agreement on the pairs every model answered. */
  commonAgreement: AgreementResult | null;
  /** The model's scores per image (rating-model mapped for pairwise, raw for absolute), for charts. */
  imageScores: { images: string[]; model: number[]; human: number[]; rating: RatingModel };
}

export interface PairwiseEvaluation {
  votes: VotesFile;
  humanPairs: number;
  humanDecidedPairs: number;
  /** Pairs every evaluated model answered (the common pair set). */
  commonPairs: number;
  models: ModelEvaluation[];
  skipped: { model: string; reason: string }[];
  rules: { equalCredit: number; ratingModels: RatingModel[]; bootstrap: Required<BootstrapOptions> };
  sources: { ask: { dir: string; run_id: string }[]; compareRun: string | null };
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/** A model's votes from its scores on the human pairs (higher safer, equal scores equal). */
function votesFromScores(scores: Map<string, number>, humanPairs: Iterable<{ a: string; b: string }>): VoteSet {
  const b = new VoteSetBuilder();
  for (const p of humanPairs) {
    const x = scores.get(p.a);
    const y = scores.get(p.b);
    if (x === undefined || y === undefined) continue;
    b.add(p.a, p.b, x > y ? LEFT : x < y ? RIGHT : EQUAL);
  }
  return b.build();
}

/** Only the votes on `keep` pairs. */
function restrict(votes: VoteSet, keep: Set<string>): VoteSet {
  const b = new VoteSetBuilder();
  for (let v = 0; v < votes.count; v++) {
    const l = votes.images[votes.left[v]!]!;
    const r = votes.images[votes.right[v]!]!;
    if (keep.has(pairKey(l, r))) b.add(l, r, votes.outcome[v] as 0 | 1 | 2);
  }
  return b.build();
}

function votedImages(votes: VoteSet): Set<string> {
  const s = new Set<string>();
  for (let v = 0; v < votes.count; v++) {
    s.add(votes.images[votes.left[v]!]!);
    s.add(votes.images[votes.right[v]!]!);
  }
  return s;
}

/** Expected credit per decided human pair under the model's probabilities averaged over both orders. */
function softAgreement(records: AnswerRecord[], human: VoteSet, equalCredit: number, bootstrap: Required<BootstrapOptions>): Estimate & { n: number } {
  const byPair = new Map<string, { a: string; pa: number[]; pb: number[]; pe: number[] }>();
  for (const r of records) {
    if (r.p_first === null || r.p_second === null || r.p_equal === null) continue;
    const k = pairKey(r.first, r.second);
    const a = r.first < r.second ? r.first : r.second;
    const e = byPair.get(k) ?? { a, pa: [], pb: [], pe: [] };
    const firstIsA = r.first === a;
    e.pa.push(firstIsA ? r.p_first : r.p_second);
    e.pb.push(firstIsA ? r.p_second : r.p_first);
    e.pe.push(r.p_equal);
    byPair.set(k, e);
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const credits: number[] = [];
  for (const [k, t] of pairMajorities(human)) {
    const e = byPair.get(k);
    if (!e || t.majority === "equal") continue;
    credits.push((t.majority === "a" ? mean(e.pa) : mean(e.pb)) + equalCredit * mean(e.pe));
  }
  if (credits.length === 0) return { n: 0, value: null, ci: null };
  const value = mean(credits);
  const draws = [...bootstrapIndices(credits.length, bootstrap.iterations, bootstrap.seed)].map((idx) => idx.reduce((s, i) => s + credits[i]!, 0) / idx.length);
  return { n: credits.length, value, ci: percentileInterval(draws, bootstrap.level) };
}

export async function evaluatePairwise(o: PairwiseEvaluateOptions): Promise<PairwiseEvaluation> {
  if (o.ask.length === 0 && !o.compareRun) throw new Error("nothing to evaluate: give an ask run (--ask DIR) and/or a compare run (--compare-run DIR)");
  const equalCredit = o.equalCredit ?? DEFAULT_EQUAL_CREDIT;
  if (!(equalCredit >= 0 && equalCredit <= 1)) throw new Error(`the credit for "equal" on a decided pair must be in [0, 1], got ${equalCredit}`);
  const bootstrap = bootstrapSettings(o.bootstrap ?? {});
  const ratingModels = [...(o.ratingModels ?? RATING_MODELS)];
  const asks: { dir: string; run: AskRunInfo; records: AnswerRecord[] }[] = [];
  for (const dir of o.ask) asks.push({ dir: path.resolve(dir), run: await readAskRun(path.resolve(dir)), records: latestAnswers(await readAnswers(path.resolve(dir))) });
  const images = o.images ?? (asks[0] ? resolveProjectPath(asks[0].run.images_dir) : undefined);
  if (!images) throw new Error("the images folder the votes name is needed (--images DIR)");
  const votes = await loadVotesOrThrow(o.votes, { ...o, images: path.resolve(images) });
  const human = votes.votes;
  const humanTallies = pairMajorities(human);
  const humanImages = votedImages(human);
  const fitOpts = { models: ratingModels, qScore: { bootstrap: false as const }, level: bootstrap.level };
  const humanFit = fitRatings(human, fitOpts);
  const humanScore = (rating: RatingModel) => {
    const m = mappedOf(humanFit, rating)!;
    const keep = humanFit.images.map((_, i) => i).filter((i) => humanImages.has(humanFit.images[i]!));
    return { images: keep.map((i) => humanFit.images[i]!), scores: Float64Array.from(keep.map((i) => m.scores[i]!)) };
  };
  const human0 = humanScore(ratingModels[0]!);

  type Partial0 = Omit<ModelEvaluation, "commonAgreement">;
  const out: (Partial0 & { votes: VoteSet })[] = [];
  const skipped: { model: string; reason: string }[] = [];
  const correlate = (images: readonly string[], scores: ArrayLike<number>): Partial<Record<RatingModel, CorrelationSummary>> => {
    const s: Partial<Record<RatingModel, CorrelationSummary>> = {};
    for (const rating of ratingModels) {
      const h = humanScore(rating);
      const al = alignScores(images, scores, h.images, h.scores);
      s[rating] = scoreAgreement(al.a, al.b, bootstrap);
    }
    return s;
  };

  for (const ask of asks) {
    for (const info of ask.run.models) {
      if (info.status === "skipped") {
        skipped.push({ model: info.name, reason: info.reason ?? "skipped" });
        continue;
      }
      const mine = ask.records.filter((r) => r.model === info.name);
      const ok = mine.filter((r) => r.answer !== null);
      const resolved = resolveOrderedAnswers(ok.map((r) => ({ first: r.first, second: r.second, answer: r.answer! })));
      const modelVotes = resolved.votes;
      const scores: Partial<Record<RatingModel, CorrelationSummary>> = {};
      let imageScores: ModelEvaluation["imageScores"] = { images: [], model: [], human: [], rating: ratingModels[0]! };
      if (modelVotes.count > 0) {
        const fit = fitRatings(modelVotes, fitOpts);
        for (const rating of ratingModels) {
          const m = mappedOf(fit, rating)!;
          const h = humanScore(rating);
          const al = alignScores(fit.images, m.scores, h.images, h.scores);
          scores[rating] = scoreAgreement(al.a, al.b, bootstrap);
          if (rating === ratingModels[0]) imageScores = { images: al.images, model: [...al.a], human: [...al.b], rating };
        }
      }
      out.push({
        model: info.name,
        protocol: info.method === "scores" ? "pairwise-from-scores" : "pairwise",
        source: shownPath(ask.dir),
        requests: mine.length,
        failed: mine.length - ok.length,
        agreement: agreementWithHumans(human, modelVotes, { modelEqualCredit: equalCredit, bootstrap }),
        softAgreement: softAgreement(ok, human, equalCredit, bootstrap),
        positionBias: resolved.summary,
        scores,
        imageScores,
        votes: modelVotes,
      });
    }
  }

  if (o.compareRun) {
    const data = await readRun(path.resolve(o.compareRun));
    for (const m of data.run.models.filter((x) => x.status === "skipped")) skipped.push({ model: `${m.name} (compare)`, reason: m.reason ?? "skipped" });
    const latest = latestRecords(data.records);
    for (const name of [...new Set(latest.map((r) => r.model))]) {
      const scores = new Map(latest.filter((r) => r.model === name && isValidPrediction(r)).map((r) => [r.image, r.predicted!] as const));
      const modelVotes = votesFromScores(scores, humanTallies.values());
      const imgs = [...scores.keys()].filter((i) => humanImages.has(i));
      const al = alignScores(imgs, imgs.map((i) => scores.get(i)!), human0.images, human0.scores);
      out.push({
        model: `${name} (absolute)`,
        protocol: "absolute",
        source: shownPath(path.resolve(o.compareRun)),
        requests: latest.filter((r) => r.model === name).length,
        failed: latest.filter((r) => r.model === name && !isValidPrediction(r)).length,
        agreement: agreementWithHumans(human, modelVotes, { modelEqualCredit: equalCredit, bootstrap }),
        softAgreement: { n: 0, value: null, ci: null },
        positionBias: null,
        scores: correlate(imgs, imgs.map((i) => scores.get(i)!)),
        imageScores: { images: al.images, model: [...al.a], human: [...al.b], rating: ratingModels[0]! },
        votes: modelVotes,
      });
    }
  }

  // the pairs every model answered: one pair set for every protocol
  let common = null as Set<string> | null;
  for (const m of out) {
    const keys = new Set([...pairMajorities(m.votes).keys()].filter((k) => humanTallies.has(k)));
    const prev: Set<string> | null = common;
    common = prev === null ? keys : new Set([...prev].filter((k) => keys.has(k)));
  }
  const commonSet = common ?? new Set<string>();
  const humanCommon = restrict(human, commonSet);
  const models: ModelEvaluation[] = out.map(({ votes: v, ...m }) => ({
    ...m,
    commonAgreement: commonSet.size > 0 ? agreementWithHumans(humanCommon, restrict(v, commonSet), { modelEqualCredit: equalCredit, bootstrap }) : null,
  }));
  let decided = 0;
  for (const t of humanTallies.values()) if (t.majority !== "equal") decided++;
  return {
    votes,
    humanPairs: humanTallies.size,
    humanDecidedPairs: decided,
    commonPairs: commonSet.size,
    models,
    skipped,
    rules: { equalCredit, ratingModels, bootstrap },
    sources: { ask: asks.map((a) => ({ dir: shownPath(a.dir), run_id: a.run.run_id })), compareRun: o.compareRun ? shownPath(path.resolve(o.compareRun)) : null },
  };
}
