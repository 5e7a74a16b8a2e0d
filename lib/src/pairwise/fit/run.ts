/**
 * `pairwise fit`: a votes file → validated votes → the rating models with their intervals → the 1–10
 * mapping → a run folder (write.ts). Bad input stops before anything is written (InputError, every
 * problem listed).
 */
import { shownPath } from "../../core/paths";
import { DEFAULT_PAIRWISE_DIR, pairwiseRunId } from "../outputs";
import { loadVotesOrThrow, type LoadVotesOptions, type VotesFile } from "../votes/load";
import { fitRatings, type FitRatingsOptions, type RatingFit, type RatingModel } from "./ratings";
import { writeFitRun } from "./write";

export interface PairwiseFitOptions extends Omit<LoadVotesOptions, "images">, FitRatingsOptions {
  /** The votes file (CSV/TSV/TXT or XLSX). */
  votes: string;
  /** The images folder the votes name images in. */
  images: string;
  /** Where run folders are made (default results/pairwise). */
  outputDir?: string;
  /** Also write ground_truth.csv from this model's mapped scores (for `prepare`). */
  groundTruthModel?: RatingModel;
  /** The command line, recorded in scores.json. */
  command?: string[];
  /** One line per stage (loading, each model, writing). */
  log?: (line: string) => void;
}

export interface PairwiseFitResult {
  runDir: string;
  votes: VotesFile;
  fit: RatingFit;
}

export async function runFit(opts: PairwiseFitOptions): Promise<PairwiseFitResult> {
  const log = opts.log ?? (() => {});
  if (opts.groundTruthModel && opts.models && !opts.models.includes(opts.groundTruthModel)) {
    throw new Error(`the ground truth is to come from ${opts.groundTruthModel}, which is not among the models fitted (${opts.models.join(", ")})`);
  }
  let t = performance.now();
  const since = () => `${((performance.now() - t) / 1000).toFixed(1)} s`;
  const votes = await loadVotesOrThrow(opts.votes, opts);
  log(`read ${votes.votes.count} votes on ${votes.votes.images.length} images from ${shownPath(opts.votes)} (${since()})`);
  for (const n of votes.notes) log(`  note: ${n}`);
  t = performance.now();
  const fit = fitRatings(votes.votes, opts);
  log(`fitted ${[fit.bradleyTerry && "Bradley–Terry", fit.trueSkill && "TrueSkill", fit.qScore && "Q-score"].filter(Boolean).join(", ")} (${since()})`);
  const runDir = await writeFitRun(opts.outputDir ?? DEFAULT_PAIRWISE_DIR, pairwiseRunId("fit"), fit, votes, {
    command: opts.command ?? [],
    votesFile: shownPath(opts.votes),
    imagesDir: shownPath(opts.images),
    ...(opts.question !== undefined ? { question: opts.question } : {}),
    ...(opts.groundTruthModel ? { groundTruthModel: opts.groundTruthModel } : {}),
  });
  return { runDir, votes, fit };
}
