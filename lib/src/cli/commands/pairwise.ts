/**
 * `npx streetsafe pairwise <subcommand>`: the pairwise step as a family of subcommands —
 *   fit    votes → Bradley–Terry / TrueSkill / Q-score with intervals → 1–10 → a run folder
 *   plan      which pairs to ask a model, for a budget (random, adaptive, or the voted pairs)
 *   ask       models judge the planned pairs in both orders ("which looks safer?") → an ask run folder
 *   evaluate  ask runs (and a compare run's absolute scores) against the human votes → report, charts, Excel
 * Flags become library options in pure functions (`fitOptions`, `planOptions`, `askOptions`,
 * `evaluateOptions`; tested table-style).
 */
import { InvalidArgumentError, type Command } from "commander";
import { choiceFlag, intFlag } from "../args";
import { parseScale } from "../../core/scale";
import { createProgress, type Progress } from "../../core/progress";
import { shownPath } from "../../core/paths";
import {
  ask as runAsk,
  DEFAULT_EQUAL_CREDIT,
  DEFAULT_PAIRWISE_MODELS,
  evaluate as runEvaluate,
  formatAskSummary,
  formatEvaluationText,
  type PairwiseAskOptions,
  type PairwiseEvaluateRunOptions,
  DEFAULT_PAIRWISE_DIR,
  fit as runFit,
  formatFitSummary,
  formatPlanSummary,
  MAPPING_CHOICES,
  plan as runPlan,
  PLAN_METHODS,
  type PairPlanOptions,
  type PairwiseFitOptions,
  type PlanMethod,
  type RatingModel,
  type VoteColumns,
} from "../../pairwise";

/** The rating models by their short names on the command line. */
export const MODEL_FLAGS: Record<string, RatingModel> = { bt: "bradley-terry", trueskill: "trueskill", qscore: "q-score" };
const MODEL_NAMES = [...Object.keys(MODEL_FLAGS), "all"] as const;

interface VoteFlags {
  votes?: string;
  images: string;
  question?: string[];
  sheet?: string;
  columns?: string;
  numericWinner?: string;
  outputDir: string;
}

export interface PairwiseFitFlags extends VoteFlags {
  votes: string;
  model: string[];
  mapping: (typeof MAPPING_CHOICES)[number];
  scale: string;
  level: string;
  priorSd: string;
  bootstrap: number;
  seed: number;
  groundTruthFrom?: string;
}

export interface PairwisePlanFlags extends VoteFlags {
  method: PlanMethod;
  perImage?: number;
  budget?: number;
  model: "bt" | "trueskill";
  priorSd: string;
  seed: number;
}

export interface PairwiseAskFlags {
  plan?: string;
  images?: string;
  perImage?: number;
  budget?: number;
  models: string[];
  outputDir: string;
  resume?: string;
  concurrency?: number;
  maxCost?: string;
  batch?: boolean;
  cache: boolean;
  dataDir: string;
  config: string;
  gpt4Model?: string;
  qwen2vlDir?: string;
  seed: number;
}

export interface PairwiseEvaluateFlags extends VoteFlags {
  votes: string;
  ask: string[];
  compareRun?: string;
  ratingModel: string[];
  equalCredit: string;
  bootstrap: number;
  level: string;
  seed: number;
}

/** `pairwise ask` flags → library options (pure). */
export function askOptions(f: PairwiseAskFlags): PairwiseAskOptions {
  let maxCost: number | undefined;
  if (f.maxCost !== undefined) {
    maxCost = Number(f.maxCost);
    if (f.maxCost.trim() === "" || !Number.isFinite(maxCost) || maxCost < 0) throw new Error(`--max-cost must be a number of US dollars ≥ 0, got "${f.maxCost}"`);
  }
  if (!f.resume && !f.plan && f.perImage === undefined && f.budget === undefined) throw new Error("which pairs? give --plan DIR (from `streetsafe pairwise plan`), --per-image K or --budget N (with --images), or --resume RUN");
  if (f.plan && (f.perImage !== undefined || f.budget !== undefined)) throw new Error("--plan and --per-image/--budget exclude each other");
  if (f.perImage !== undefined && f.budget !== undefined) throw new Error("--per-image (a random plan) and --budget (an adaptive plan) exclude each other");
  if ((f.perImage !== undefined || f.budget !== undefined) && !f.images) throw new Error("--per-image/--budget make a plan of the images in --images DIR");
  return {
    ...(f.plan !== undefined ? { plan: f.plan } : {}),
    ...(f.images !== undefined ? { images: f.images } : {}),
    ...(f.perImage !== undefined ? { perImage: f.perImage } : {}),
    ...(f.budget !== undefined ? { budget: f.budget } : {}),
    models: f.models,
    outputDir: f.outputDir,
    ...(f.resume !== undefined ? { resume: f.resume } : {}),
    ...(f.concurrency !== undefined ? { concurrency: f.concurrency } : {}),
    ...(maxCost !== undefined ? { maxCost } : {}),
    ...(f.batch ? { batch: true } : {}),
    ...(f.cache ? {} : { cacheDir: null }),
    dataDir: f.dataDir,
    configPath: f.config,
    ...(f.gpt4Model !== undefined ? { gpt4Model: f.gpt4Model } : {}),
    ...(f.qwen2vlDir !== undefined ? { qwen2vlDir: f.qwen2vlDir } : {}),
    seed: f.seed,
  };
}

/** `pairwise evaluate` flags → library options (pure). */
export function evaluateOptions(f: PairwiseEvaluateFlags): PairwiseEvaluateRunOptions {
  const level = Number(f.level);
  if (f.level.trim() === "" || !(level > 0 && level < 1)) throw new Error(`--level must be a number between 0 and 1 (e.g. 0.95), got "${f.level}"`);
  const credit = Number(f.equalCredit);
  if (f.equalCredit.trim() === "" || !(credit >= 0 && credit <= 1)) throw new Error(`--equal-credit must be a number from 0 to 1, got "${f.equalCredit}"`);
  if (f.ask.length === 0 && !f.compareRun) throw new Error("nothing to evaluate: give --ask DIR (an ask run) and/or --compare-run DIR");
  const { outputDir, ...votes } = voteOptions(f);
  return {
    ...votes,
    votes: f.votes,
    ask: f.ask,
    ...(f.compareRun !== undefined ? { compareRun: f.compareRun } : {}),
    ratingModels: models(f.ratingModel),
    equalCredit: credit,
    bootstrap: { iterations: f.bootstrap, seed: f.seed, level },
    outputDir,
  };
}

/** "left=Image A,winner=Choice" → column names (keys left, right, winner, question). */
export function parseColumns(text: string): VoteColumns {
  const out: VoteColumns = {};
  for (const part of text.split(",")) {
    const m = /^\s*(left|right|winner|question)\s*=\s*(.+?)\s*$/.exec(part);
    if (!m) throw new Error(`--columns takes left=NAME,right=NAME,winner=NAME,question=NAME (any of them), got "${part.trim()}"`);
    out[m[1] as keyof VoteColumns] = m[2]!;
  }
  return out;
}

/** "0,1" or "0,1,0.5" → numeric winner codes (left, right, equal). */
export function parseNumericWinner(text: string): { left: number; right: number; equal?: number } {
  const parts = text.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if ((parts.length !== 2 && parts.length !== 3) || parts.some((p) => p === "") || nums.some((n) => !Number.isFinite(n)) || new Set(nums).size !== nums.length) {
    throw new Error(`--numeric-winner takes LEFT,RIGHT[,EQUAL] — two or three different numbers, e.g. 0,1,0.5 — got "${text}"`);
  }
  return { left: nums[0]!, right: nums[1]!, ...(nums.length === 3 ? { equal: nums[2]! } : {}) };
}

function priorSd(text: string): number | null {
  if (text.trim().toLowerCase() === "none") return null;
  const x = Number(text);
  if (text.trim() === "" || !(x > 0) || !Number.isFinite(x)) throw new Error(`--prior-sd must be a positive number or "none" (pure maximum likelihood), got "${text}"`);
  return x;
}

function models(names: string[]): RatingModel[] {
  if (names.includes("all")) return ["bradley-terry", "trueskill", "q-score"];
  return [...new Set(names.map((n) => MODEL_FLAGS[n]!))];
}

function voteOptions(f: VoteFlags) {
  return {
    images: f.images,
    ...(f.question?.length ? { question: f.question.length === 1 ? f.question[0]! : f.question } : {}),
    ...(f.sheet !== undefined ? { sheet: f.sheet } : {}),
    ...(f.columns !== undefined ? { columns: parseColumns(f.columns) } : {}),
    ...(f.numericWinner !== undefined ? { numericWinner: parseNumericWinner(f.numericWinner) } : {}),
    outputDir: f.outputDir,
  };
}

/** `pairwise fit` flags → library options (pure). */
export function fitOptions(f: PairwiseFitFlags): PairwiseFitOptions {
  const level = Number(f.level);
  if (f.level.trim() === "" || !(level > 0 && level < 1)) throw new Error(`--level must be a number between 0 and 1 (e.g. 0.95), got "${f.level}"`);
  const chosen = models(f.model);
  let groundTruthModel: RatingModel | undefined;
  if (f.groundTruthFrom !== undefined) {
    groundTruthModel = MODEL_FLAGS[f.groundTruthFrom];
    if (!groundTruthModel) throw new Error(`--ground-truth-from must be one of ${Object.keys(MODEL_FLAGS).join(", ")}, got "${f.groundTruthFrom}"`);
    if (!chosen.includes(groundTruthModel)) throw new Error(`--ground-truth-from ${f.groundTruthFrom} needs that model fitted (add --model ${f.groundTruthFrom})`);
  }
  return {
    votes: f.votes,
    ...voteOptions(f),
    models: chosen,
    mapping: f.mapping,
    scale: parseScale(f.scale),
    level,
    bradleyTerry: { priorSd: priorSd(f.priorSd), seed: f.seed },
    qScore: { bootstrap: f.bootstrap === 0 ? false : { iterations: f.bootstrap, seed: f.seed } },
    ...(groundTruthModel ? { groundTruthModel } : {}),
  };
}

/** `pairwise plan` flags → library options (pure). */
export function planOptions(f: PairwisePlanFlags): PairPlanOptions {
  return {
    method: f.method,
    ...voteOptions(f),
    ...(f.votes !== undefined ? { votes: f.votes } : {}),
    ...(f.perImage !== undefined ? { perImage: f.perImage } : {}),
    ...(f.budget !== undefined ? { budget: f.budget } : {}),
    model: f.model === "trueskill" ? "trueskill" : "bradley-terry",
    bradleyTerry: { priorSd: priorSd(f.priorSd), seed: f.seed },
    seed: f.seed,
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function modelFlag(value: string, previous: string[] | undefined): string[] {
  if (!(MODEL_NAMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--model must be one of ${MODEL_NAMES.join(", ")}, got "${value}"`);
  return [...(previous ?? []), value];
}

function voteFlags(cmd: Command, votesRequired: boolean): Command {
  (votesRequired ? cmd.requiredOption("--votes <file>", "votes file: .csv/.tsv/.txt or .xlsx with left, right, winner (+ optional question) columns") : cmd.option("--votes <file>", "votes so far (adaptive: the ratings that choose pairs; voted: the pairs to ask)"))
    .requiredOption("--images <dir>", "folder the votes' image names are looked up in")
    .option("--question <q>", "keep only votes on this question (e.g. safer); repeat for several", collect)
    .option("--sheet <name>", "XLSX sheet to read (default: the first with left, right and winner columns)")
    .option("--columns <map>", "column names when not recognised: left=NAME,right=NAME,winner=NAME,question=NAME")
    .option("--numeric-winner <codes>", "how a numeric winner column is coded: LEFT,RIGHT[,EQUAL], e.g. 0,1,0.5")
    .option("--output-dir <dir>", "where run folders are made", DEFAULT_PAIRWISE_DIR);
  return cmd;
}

export function register(program: Command): void {
  const pw = program
    .command("pairwise")
    .description("pairwise judgments: fit scores with uncertainty to votes on pairs, plan which pairs to ask, ask models, evaluate them");

  voteFlags(pw.command("fit").description("votes → Bradley–Terry, TrueSkill and Q-score with intervals → 1–10 scores in a run folder"), true)
    .option("--model <name>", "rating model: bt, trueskill, qscore or all; repeat for several", modelFlag)
    .option("--mapping <rule>", `how scores reach the scale: ${MAPPING_CHOICES.join(", ")} (default = each model's own rule)`, choiceFlag("--mapping", MAPPING_CHOICES), "default")
    .option("--scale <min-max>", "score scale", "1-10")
    .option("--level <p>", "level of every interval", "0.95")
    .option("--prior-sd <x|none>", "Bradley–Terry prior sd on θ (log-odds); none = pure maximum likelihood", "3")
    .option("--bootstrap <n>", "Q-score bootstrap resamples over votes (0: no interval)", intFlag("--bootstrap", 0, 100_000), 1000)
    .option("--seed <n>", "seed of the Q-score bootstrap and the Bradley–Terry SE probes", intFlag("--seed"), 42)
    .option("--ground-truth-from <model>", "also write ground_truth.csv (for prepare) from bt, trueskill or qscore")
    .action(async (flags: PairwiseFitFlags) => {
      const result = await runFit({
        ...fitOptions({ ...flags, model: flags.model ?? ["all"] }),
        command: ["streetsafe", "pairwise", ...process.argv.slice(3)],
        log: (l) => console.error(l),
      });
      console.log(formatFitSummary(result));
    });

  voteFlags(pw.command("plan").description("which pairs to ask a model, for a budget; writes plan.csv and prints pairs × 2 orders"), false)
    .option("--method <m>", `${PLAN_METHODS.join(", ")}`, choiceFlag("--method", PLAN_METHODS), "random")
    .option("--per-image <k>", "random: comparisons per image", intFlag("--per-image", 1))
    .option("--budget <n>", "adaptive: pairs to plan; voted: at most this many of the voted pairs", intFlag("--budget", 1))
    .option("--model <name>", "adaptive: the ratings that choose pairs, bt or trueskill", choiceFlag("--model", ["bt", "trueskill"] as const), "bt")
    .option("--prior-sd <x|none>", "adaptive with bt: prior sd on θ", "3")
    .option("--seed <n>", "seed of the plan", intFlag("--seed"), 42)
    .action(async (flags: PairwisePlanFlags) => {
      const result = await runPlan({ ...planOptions(flags), command: ["streetsafe", "pairwise", ...process.argv.slice(3)] });
      console.log(formatPlanSummary(result));
    });

  pw.command("ask")
    .description("models judge every planned pair in both orders (both images in one request) → an ask run folder; prints the cost estimate first")
    .option("--plan <dir>", "a plan folder from `streetsafe pairwise plan`")
    .option("--images <dir>", "images folder (default: the plan's); with --per-image/--budget, the images to plan over")
    .option("--per-image <k>", "make a random plan: comparisons per image", intFlag("--per-image", 1))
    .option("--budget <n>", "make an adaptive plan of N pairs", intFlag("--budget", 1))
    .option("--models <names...>", `models to ask (the mean baseline is always added; default ${DEFAULT_PAIRWISE_MODELS.join(" ")})`, DEFAULT_PAIRWISE_MODELS)
    .option("--output-dir <dir>", "where run folders are made", DEFAULT_PAIRWISE_DIR)
    .option("--resume <run>", "continue an ask run (its folder name under --output-dir, or a path): asks what is missing or failed")
    .option("--concurrency <n>", "requests in flight per model (default: per model from the config)", intFlag("--concurrency", 1, 256))
    .option("--max-cost <usd>", "refuse to start above this estimate, and stop once this much was spent")
    .option("--batch", "ask OpenAI models through the Batch API, both orders of every pair: half price, answers within 24 h (Ctrl-C stops waiting, not the batch; --resume collects it)")
    .option("--no-cache", "ask again instead of using cached answers")
    .option("--data-dir <dir>", "where step 1 wrote its splits (the baselines learn from the train split)", "data")
    .option("--config <file>", "model config file", "models/models.json")
    .option("--gpt4-model <id>", "model id for gpt4")
    .option("--qwen2vl-dir <dir>", "ONNX export folder for qwen2vl-ft")
    .option("--seed <n>", "seed of a plan made here", intFlag("--seed"), 42)
    .action(async (flags: PairwiseAskFlags) => {
      const stop = new AbortController();
      const onSigint = () => {
        console.error(`\nstopping: finished answers are saved; --resume asks the rest${flags.batch ? "; a sent batch goes on at OpenAI and --resume collects it" : ""}`);
        stop.abort();
      };
      process.once("SIGINT", onSigint);
      let bar: Progress | undefined;
      try {
        const result = await runAsk({
          ...askOptions(flags),
          command: ["streetsafe", "pairwise", ...process.argv.slice(3)],
          signal: stop.signal,
          log: (l) => console.error(l),
          onProgress: (p) => {
            bar ??= createProgress("asking", p.total);
            bar.update(p.done, `failed ${p.failed} · ${p.ratePerSecond.toFixed(1)}/s · $${p.costUsd.toFixed(4)}`);
          },
        });
        bar?.stop();
        console.log(formatAskSummary(result));
        const failed = result.records.filter((r) => r.answer === null).length;
        if (!result.complete || failed > 0) {
          process.exitCode = 4;
          console.error(`${failed} requests failed${result.complete ? "" : `, the run is incomplete (${result.stopReason ?? "stopped"})`}; continue with: npx streetsafe pairwise ask --resume ${shownPath(result.runDir)}`);
        }
      } finally {
        bar?.stop();
        process.removeListener("SIGINT", onSigint);
      }
    });

  voteFlags(pw.command("evaluate").description("ask runs (and a compare run's scores) against human votes: agreement, score correlations, position bias → report, charts, Excel"), true)
    .option("--ask <dir>", "an ask run folder; repeat for several", collect, [])
    .option("--compare-run <dir>", "a compare run folder: its absolute-score models judged on the same pairs")
    .option("--rating-model <name>", "rating models for score agreement: bt, trueskill, qscore or all; repeat for several", modelFlag)
    .option("--equal-credit <x>", "credit for a tie on a pair humans decided (0.5 = chance)", String(DEFAULT_EQUAL_CREDIT))
    .option("--bootstrap <n>", "bootstrap resamples of every CI", intFlag("--bootstrap", 100, 100_000), 1000)
    .option("--level <p>", "level of every interval", "0.95")
    .option("--seed <n>", "bootstrap seed", intFlag("--seed"), 42)
    .action(async (flags: PairwiseEvaluateFlags) => {
      const result = await runEvaluate({ ...evaluateOptions({ ...flags, ratingModel: flags.ratingModel ?? ["all"] }), command: ["streetsafe", "pairwise", ...process.argv.slice(3)] });
      console.log(formatEvaluationText(result.evaluation).trimEnd());
      console.log(`\nevaluation folder: ${shownPath(result.runDir)} (${result.files.length} files: report.md, evaluation.xlsx, plots/index.html, …)`);
    });
}
