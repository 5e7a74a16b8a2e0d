/**
 * Training cost estimates from format-check results and the dated price table in openai/prices.ts.
 * Training: billed tokens = Σ min(tokens per example, limit) × epochs, as in OpenAI's cookbook
 * (examples/Chat_finetuning_data_prep.ipynb), with images counted as tokens.
 */
import type { FormatCheckResult } from "./format-check";
import { fineTunePrices, PRICE_NOTE, PRICES_AS_OF } from "../openai/prices";

/** OpenAI's default-epoch rule (cookbook): aim for 3 epochs, but keep examples × epochs within [100, 25000]. */
export const TARGET_EPOCHS = 3;
export const MIN_TARGET_EXAMPLES = 100;
export const MAX_TARGET_EXAMPLES = 25_000;
export const MIN_DEFAULT_EPOCHS = 1;
export const MAX_DEFAULT_EPOCHS = 25;

/** The epochs OpenAI picks for `n_epochs: "auto"` with `nExamples` training examples. */
export function defaultEpochs(nExamples: number): number {
  if (nExamples <= 0) return TARGET_EPOCHS;
  if (nExamples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES) {
    return Math.min(MAX_DEFAULT_EPOCHS, Math.floor(MIN_TARGET_EXAMPLES / nExamples));
  }
  if (nExamples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES) {
    return Math.max(MIN_DEFAULT_EPOCHS, Math.floor(MAX_TARGET_EXAMPLES / nExamples));
  }
  return TARGET_EPOCHS;
}

export interface TrainingCostOptions {
  /** Fine-tuning base model (snapshot or alias, see prices.ts) for every file ... */
  baseModel?: string;
  /** ... or one per file (e.g. text-only files on gpt-4o-mini, with-images files on gpt-4o). */
  baseModelFor?: (file: string) => string;
  /** A number, or "auto" (default) for OpenAI's rule applied to each file's example count. */
  epochs?: number | "auto";
}

/** One training file priced as its own fine-tuning job. */
export interface TrainingCostRow {
  file: string;
  /** The dated snapshot priced. */
  baseModel: string;
  examples: number;
  textTokens: number;
  imageTokens: number;
  /** Text + image tokens in the file (one pass). */
  tokens: number;
  /** Tokens billed per epoch: each example capped at the model's example limit. */
  billableTokensPerEpoch: number;
  epochs: number;
  epochsRule: "auto" | "given";
  billedTokens: number;
  /** USD per 1M training tokens. */
  pricePer1M: number;
  usd: number;
  pricesAsOf: string;
  warnings: string[];
}

/**
 * A row per training file: examples, tokens (text + image), epochs, billed tokens and USD.
 * Unknown base models throw, listing the known ones. Validation files add no training tokens;
 * pass training files only.
 */
export function estimateTrainingCost(
  checks: FormatCheckResult | FormatCheckResult[],
  opts: TrainingCostOptions,
): TrainingCostRow[] {
  const epochsOpt = opts.epochs ?? "auto";
  if (epochsOpt !== "auto" && !(Number.isInteger(epochsOpt) && epochsOpt >= 1 && epochsOpt <= 50)) {
    throw new Error(`epochs must be "auto" or an integer from 1 to 50, got ${epochsOpt}`);
  }
  if (!opts.baseModel && !opts.baseModelFor) throw new Error("estimateTrainingCost needs baseModel or baseModelFor");
  return (Array.isArray(checks) ? checks : [checks]).map((c) => {
    const price = fineTunePrices(opts.baseModelFor ? opts.baseModelFor(c.file) : opts.baseModel!);
    const epochs = epochsOpt === "auto" ? defaultEpochs(c.examples) : epochsOpt;
    const perEpoch = billableTokens(c, price.maxTokensPerExample);
    const billedTokens = perEpoch * epochs;
    const warnings: string[] = [];
    if (!c.ok) warnings.push(`format problems: ${Object.entries(c.problems).map(([k, n]) => `${k} ×${n}`).join(", ")}`);
    if (c.images.total > 0 && !price.visionFineTuning) {
      warnings.push(
        `${c.images.total} images, but OpenAI does not document image inputs for fine-tuning ${price.baseModel} ` +
          `(vision fine-tuning is documented for gpt-4o-2024-08-06); expect the job to reject the file`,
      );
    }
    if (c.tokens.perExample.max > price.maxTokensPerExample) {
      warnings.push(`some examples exceed ${price.maxTokensPerExample} tokens and would be truncated`);
    }
    if (!price.verified.training) warnings.push(`the training price of ${price.baseModel} is not confirmed by a source (openai/prices.ts)`);
    return {
      file: c.file,
      baseModel: price.baseModel,
      examples: c.examples,
      textTokens: c.tokens.total - c.tokens.imageTokens,
      imageTokens: c.tokens.imageTokens,
      tokens: c.tokens.total,
      billableTokensPerEpoch: perEpoch,
      epochs,
      epochsRule: epochsOpt === "auto" ? "auto" : "given",
      billedTokens,
      pricePer1M: price.training,
      usd: (billedTokens / 1_000_000) * price.training,
      pricesAsOf: PRICES_AS_OF,
      warnings,
    };
  });
}

/** What every estimate should be read with. */
export const TRAINING_COST_NOTES: readonly string[] = [
  PRICE_NOTE,
  "epochs \"auto\" follows OpenAI's rule: 3, kept so that examples × epochs lies in [100, 25000] (1–25 epochs)",
  "token counts are estimates: o200k_base, the cookbook's per-message overhead, the GPT-4o image tile rule",
];

export function totalTrainingCost(rows: TrainingCostRow[]): { billedTokens: number; usd: number } {
  return { billedTokens: rows.reduce((a, r) => a + r.billedTokens, 0), usd: rows.reduce((a, r) => a + r.usd, 0) };
}

/** Per-epoch billable tokens: the check's own capped sum when its cap matches the model's, else an upper bound. */
function billableTokens(c: FormatCheckResult, modelLimit: number): number {
  if (c.limits.maxTokensPerExample === modelLimit) return c.tokens.billable;
  // Without per-example counts we can only cap the total when every example fits.
  return c.tokens.perExample.max <= modelLimit ? c.tokens.total : Math.min(c.tokens.total, c.tokens.billable);
}

/** A plain-text table of the rows, for the CLI and notebooks. */
export function formatTrainingCost(rows: TrainingCostRow[]): string {
  const head = ["file", "base model", "examples", "tokens", "image tokens", "epochs", "billed tokens", "$/1M", "USD"];
  const body = rows.map((r) => [
    r.file,
    r.baseModel,
    String(r.examples),
    String(r.tokens),
    String(r.imageTokens),
    String(r.epochs),
    String(r.billedTokens),
    r.pricePer1M.toFixed(2),
    r.usd.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const lines = [fmt(head), ...body.map(fmt)];
  for (const r of rows) for (const w of r.warnings) lines.push(`warning (${r.file}): ${w}`);
  for (const n of TRAINING_COST_NOTES) lines.push(`note: ${n}`);
  return lines.join("\n");
}
