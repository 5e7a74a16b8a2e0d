/**
 * Before anything is uploaded: which files a job would use (text-only or with images, per the capability
 * table), their format checks, and examples, tokens, epochs and the estimated training cost. Needs no key
 * and no network — this is `finetune --dry-run`, and the first half of every real run.
 */
import { existsSync, promises as fs } from "node:fs";
import { checkFineTuneFile, estimateTrainingCost, fineTuneFilePaths, formatTrainingCost, TRAINING_COST_NOTES, type FormatCheckResult, type TrainingCostRow } from "../../prepare";
import { InputError, type Problem } from "../../core/errors";
import { displayPath } from "../../core/project-path";
import { fineTunePrices, knownFineTuneModels } from "../../openai/prices";
import type { Figure } from "../../core/figure";
import { chooseTrainingData, imageFineTuningSupport, type FineTuneProvider, type TrainingDataChoice } from "./capabilities";

export interface FineTuneCheckOptions {
  dataDir?: string;
  baseModel: string;
  provider?: FineTuneProvider;
  /** true: with images; false: text-only; undefined: what the base model supports. */
  withImages?: boolean;
  force?: boolean;
  /** Epochs for the estimate: a number, or "auto" (OpenAI's rule). */
  epochs?: number | "auto";
}

export interface FineTuneCheck {
  choice: TrainingDataChoice;
  /** The files a job would upload; `val` null when there is no validation file. */
  files: { train: string; val: string | null };
  checks: { train: FormatCheckResult; val: FormatCheckResult | null };
  /** null when the base model has no price in prices.ts (`costProblem` says why). */
  cost: TrainingCostRow | null;
  costProblem: string | null;
  /** Epochs the estimate assumes. */
  epochs: number;
  /** Every format problem by file; empty when the files can be uploaded. */
  problems: { file: string; message: string }[];
  /** What does not stop a job but should be read. */
  warnings: string[];
  /** The first training example, image data shortened, for a look at what the model is taught. */
  example: string;
}

/**
 * Choose the files, check them and estimate the cost. Throws InputError when a training file is missing
 * (run `prepare` first) or when `withImages` is refused for the base model (see chooseTrainingData).
 * Format problems do not throw here: they are listed in `problems` (a real run refuses to upload them).
 */
export async function checkFineTuneRun(opts: FineTuneCheckOptions): Promise<FineTuneCheck> {
  const dataDir = opts.dataDir ?? "data";
  const choice = chooseTrainingData({
    baseModel: opts.baseModel,
    provider: opts.provider ?? "openai",
    ...(opts.withImages !== undefined ? { withImages: opts.withImages } : {}),
    ...(opts.force !== undefined ? { force: opts.force } : {}),
  });
  const paths = fineTuneFilePaths(dataDir, choice.withImages);
  if (!existsSync(paths.train)) {
    const problem: Problem = {
      file: paths.train,
      kind: "unreadable-file",
      message: `the training file does not exist: run step 1 first (npx streetsafe prepare --ground-truth FILE --images DIR --data-dir ${dataDir})`,
    };
    throw new InputError([problem], "no fine-tuning data");
  }
  const val = existsSync(paths.val) ? paths.val : null;
  const train = await checkFineTuneFile(paths.train);
  const valCheck = val ? await checkFineTuneFile(val) : null;
  const warnings: string[] = [];
  const problems = [train, ...(valCheck ? [valCheck] : [])].flatMap((c) =>
    Object.entries(c.problems).flatMap(([name, n]) => {
      const ex = c.firstExample[name as keyof typeof c.firstExample];
      const message = `${name} ×${n}${ex ? ` (first: ${ex.line > 0 ? `line ${ex.line}` : "file"}: ${ex.detail})` : ""}`;
      // OpenAI's 10-example minimum is for the training file; a small validation file is only less informative.
      if (c === valCheck && name === "too_few_examples") {
        warnings.push(`${c.file}: only ${c.examples} validation examples; the validation loss will be noisy`);
        return [];
      }
      return [{ file: c.file, message }];
    }),
  );
  if (!val) warnings.push(`${paths.val} does not exist: the job will report training loss only`);
  if (choice.warning) warnings.push(choice.warning);
  let cost: TrainingCostRow | null = null;
  let costProblem: string | null = null;
  try {
    cost = estimateTrainingCost(train, { baseModel: choice.baseModel, epochs: opts.epochs ?? "auto" })[0]!;
  } catch (e) {
    costProblem = (e as Error).message;
  }
  const epochs = cost?.epochs ?? (typeof opts.epochs === "number" ? opts.epochs : 0);
  return {
    choice,
    files: { train: paths.train, val },
    checks: { train, val: valCheck },
    cost,
    costProblem,
    epochs,
    problems,
    warnings,
    example: await firstExample(paths.train),
  };
}

/** Refuse files with format problems (InputError listing each). */
export function assertUploadable(check: FineTuneCheck): void {
  if (check.problems.length === 0) return;
  throw new InputError(
    check.problems.map((p) => ({ file: p.file, kind: "invalid-json" as const, message: p.message })),
    "the fine-tuning files have format problems; fix them (re-run prepare) before uploading",
  );
}

async function firstExample(file: string, maxChars = 2000): Promise<string> {
  const handle = await fs.open(file, "r");
  let line: string;
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    line = buf.subarray(0, bytesRead).toString("utf8").split("\n")[0] ?? "";
  } finally {
    await handle.close();
  }
  const shortenImages = (s: string) =>
    s.replace(/data:image\/([a-z]+);base64,([A-Za-z0-9+/=]+)/g, (_m, type: string, b64: string) => `data:image/${type};base64,…(${Math.round((b64.length * 3) / 4 / 1024)} KB)`);
  let shown: string;
  try {
    const ex = JSON.parse(line) as { messages?: { role?: string; content?: unknown }[] };
    // The system prompt is the same in every example: its start is enough here.
    for (const m of ex.messages ?? []) {
      if (m.role === "system" && typeof m.content === "string" && m.content.length > 160) m.content = `${m.content.slice(0, 160)}…`;
    }
    shown = shortenImages(JSON.stringify(ex, null, 1));
  } catch {
    shown = shortenImages(line);
  }
  return shown.length > maxChars ? `${shown.slice(0, maxChars)}\n…` : shown;
}

/** The dry run as text: the data choice, files, examples, tokens, epochs and cost. */
export function formatFineTuneCheck(c: FineTuneCheck): string {
  const t = c.checks.train;
  const lines = [
    `base model: ${c.choice.baseModel} on ${c.choice.provider}`,
    `training data: ${c.choice.withImages ? "WITH IMAGES" : "TEXT-ONLY"} — ${c.choice.notice}`,
    `training file: ${displayPath(c.files.train)} — ${t.examples} examples, ~${t.tokens.total} tokens (${t.tokens.imageTokens} for ${t.images.total} images), ${t.tokens.perExample.mean.toFixed(0)} per example (max ${t.tokens.perExample.max})`,
    c.checks.val && c.files.val
      ? `validation file: ${displayPath(c.files.val)} — ${c.checks.val.examples} examples, ~${c.checks.val.tokens.total} tokens`
      : "validation file: none (the job will report training loss only)",
    c.problems.length
      ? `format problems (${c.problems.length}):\n${c.problems.map((p) => `  - ${displayPath(p.file)}: ${p.message}`).join("\n")}`
      : "format checks: no problems",
    ...c.warnings.map((w) => `warning: ${w}`),
  ];
  if (c.cost) {
    lines.push(`epochs: ${c.cost.epochs} (${c.cost.epochsRule === "auto" ? "OpenAI's auto rule" : "given"})`);
    lines.push("", formatTrainingCost([c.cost]));
  } else {
    lines.push(`cost: no estimate — ${c.costProblem}`);
    lines.push(...TRAINING_COST_NOTES.map((n) => `note: ${n}`));
  }
  return lines.join("\n");
}

/** The dry run as table rows (notebooks). */
export function fineTuneCheckRows(c: FineTuneCheck): Record<string, unknown>[] {
  const row = (role: string, r: FormatCheckResult | null, file: string | null) =>
    r && file
      ? {
          file: role,
          path: displayPath(file),
          examples: r.examples,
          tokens: r.tokens.total,
          image_tokens: r.tokens.imageTokens,
          images: r.images.total,
          problems: Object.entries(r.problems).map(([k, n]) => `${k}: ${n}`).join("; ") || "none",
          epochs: role === "train" ? c.epochs : null,
          billed_tokens: role === "train" ? (c.cost?.billedTokens ?? null) : null,
          usd: role === "train" && c.cost ? Number(c.cost.usd.toFixed(2)) : null,
        }
      : null;
  return [row("train", c.checks.train, c.files.train), row("val", c.checks.val, c.files.val)].filter((r): r is NonNullable<typeof r> => r !== null);
}

export interface CostComparisonRow {
  base_model: string;
  data: "with images" | "text-only";
  examples: number;
  epochs: number;
  billed_tokens: number;
  usd_per_1m: number;
  usd: number;
}

/**
 * The estimated training cost of these files on every fine-tunable base model in prices.ts, each with the
 * data it would get on `provider` (images where supported), to choose a model before paying.
 */
export async function costComparison(dataDir: string, opts: { provider?: FineTuneProvider; epochs?: number | "auto" } = {}): Promise<CostComparisonRow[]> {
  const provider = opts.provider ?? "openai";
  const checks = new Map<boolean, FormatCheckResult>();
  const rows: CostComparisonRow[] = [];
  for (const model of knownFineTuneModels()) {
    const images = imageFineTuningSupport(model, provider).images;
    const file = fineTuneFilePaths(dataDir, images).train;
    if (!existsSync(file)) continue;
    if (!checks.has(images)) checks.set(images, await checkFineTuneFile(file));
    const [row] = estimateTrainingCost(checks.get(images)!, { baseModel: model, epochs: opts.epochs ?? "auto" });
    rows.push({
      base_model: model,
      data: images ? "with images" : "text-only",
      examples: row!.examples,
      epochs: row!.epochs,
      billed_tokens: row!.billedTokens,
      usd_per_1m: fineTunePrices(model).training,
      usd: Number(row!.usd.toFixed(2)),
    });
  }
  return rows;
}

/** Bars: estimated training cost per base model, coloured by the data it would train on. */
export function costComparisonFigure(rows: CostComparisonRow[], title = "Estimated training cost by base model"): Figure {
  const colour = { "with images": "#F58518", "text-only": "#4C78A8" } as const;
  return {
    data: (["text-only", "with images"] as const).map((kind) => {
      const rs = rows.filter((r) => r.data === kind);
      return {
        type: "bar",
        name: kind,
        x: rs.map((r) => r.base_model),
        y: rs.map((r) => r.usd),
        text: rs.map((r) => `$${r.usd.toFixed(2)}`),
        textposition: "outside",
        marker: { color: colour[kind] },
      };
    }),
    layout: {
      title: { text: title },
      xaxis: { title: { text: "base model" } },
      yaxis: { title: { text: "USD (estimate)" }, rangemode: "tozero" },
      height: 380,
      margin: { t: 50, r: 20, b: 80, l: 60 },
    },
  };
}
