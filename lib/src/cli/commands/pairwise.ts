/**
 * `npx streetsafe pairwise <subcommand>`: the pairwise step as a family of subcommands —
 *   fit    votes → Bradley–Terry / TrueSkill / Q-score with intervals → 1–10 → a run folder
 *   plan   which pairs to ask a model, for a budget (random, adaptive, or the voted pairs)
 * (phase 2 adds `ask`, models judging the planned pairs in both orders, and `evaluate`).
 * Flags become library options in pure functions (`fitOptions`, `planOptions`; tested table-style).
 */
import { InvalidArgumentError, type Command } from "commander";
import { choiceFlag, intFlag } from "../args";
import { parseScale } from "../../core/scale";
import {
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
    .description("pairwise judgments: fit scores with uncertainty to votes on pairs, plan which pairs to ask");

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
}
