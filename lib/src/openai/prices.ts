/**
 * OpenAI prices streetsafe uses for estimates: the ONE place they live.
 *
 * As of PRICES_AS_OF (compiled 2026-11-25). Check https://openai.com/api/pricing before budgeting:
 * prices change, and OpenAI's own fine-tuning guides (developers.openai.com, vision fine-tuning page)
 * say the fine-tuning platform is being wound down for new users.
 *
 * USD per 1M tokens. Sources and what each one confirmed:
 *  - OpenAI vision fine-tuning guide, developers.openai.com/api/docs/guides/vision-fine-tuning:
 *    vision fine-tuning "use with gpt-4o-2024-08-06"; ≤10 images per example, ≤10 MB each, JPEG/PNG/WEBP.
 *  - Azure OpenAI fine-tuning model table (MicrosoftDocs/azure-ai-docs, fine-tune-models.md, 2025-09):
 *    gpt-4o-mini-2024-07-18 "Text to text", gpt-4o-2024-08-06 "Text and vision to text",
 *    training example context length 65,536 for both.
 *  - W&B report "How to fine-tune GPT-4o Vision" (2024-10) quoting OpenAI: gpt-4o-2024-08-06 training $25,
 *    fine-tuned input $3.75, output $15; Batch input $1.875.
 *  - Third-party price copies from 2026 (tokonomics.ca, getapipulse.com): gpt-4o-mini training $3,
 *    fine-tuned $0.30 / $1.20; gpt-4o training $25, fine-tuned $3.75 / $15.
 *  - oreateai.com blog copying OpenAI's table: fine-tuned gpt-4.1 $3.00 / cached $0.75 / $12.00,
 *    fine-tuned gpt-4.1-mini $0.80 / $0.20 / $3.20.
 *  - deploybase.ai, losclouds.com, tokenmath.io (2026) copying OpenAI: base gpt-4.1 $2/$8, gpt-4.1-mini
 *    $0.40/$1.60, gpt-4.1-nano $0.10/$0.40, gpt-4o $2.50/$10, gpt-4o-mini $0.15/$0.60; Batch API 50% off.
 * Not confirmed by any source found (from OpenAI's pricing page as remembered, and the project brief):
 *  training prices of gpt-4.1-2025-04-14 ($25), gpt-4.1-mini ($5), gpt-4.1-nano ($1.50); fine-tuned
 *  gpt-4.1-nano inference ($0.20 / $0.05 / $0.80); cached-input prices of the base models; whether
 *  validation-file tokens are billed. Entries carry `verified` to say which.
 */

export const PRICES_AS_OF = "2026-11-25";
export const PRICE_CHECK_URL = "https://openai.com/api/pricing";
export const PRICE_NOTE = `Prices as of ${PRICES_AS_OF}; check ${PRICE_CHECK_URL} before budgeting.`;

/** Batch API: 50% off input and output of the same model. */
export const BATCH_DISCOUNT = 0.5;

export interface TokenPrices {
  /** USD per 1M input tokens. */
  input: number;
  /** USD per 1M cached input tokens, where known. */
  cachedInput?: number;
  /** USD per 1M output tokens. */
  output: number;
}

export interface FineTuneModelPrices {
  /** The dated snapshot a fine-tuning job names. */
  baseModel: string;
  /** USD per 1M training tokens (tokens in the training file × epochs). */
  training: number;
  /** Inference on the resulting `ft:` model. */
  fineTuned: TokenPrices;
  /** Whether OpenAI documents image inputs in training data for this base model. */
  visionFineTuning: boolean;
  /** Tokens per training example beyond which the example is truncated. */
  maxTokensPerExample: number;
  /** Which numbers a source found on 2026-11-25 confirmed. */
  verified: { training: boolean; fineTuned: boolean; visionFineTuning: boolean };
}

export const FINE_TUNE_PRICES: Readonly<Record<string, FineTuneModelPrices>> = {
  "gpt-4o-mini-2024-07-18": {
    baseModel: "gpt-4o-mini-2024-07-18",
    training: 3.0,
    fineTuned: { input: 0.3, cachedInput: 0.15, output: 1.2 },
    visionFineTuning: false,
    maxTokensPerExample: 65_536,
    verified: { training: true, fineTuned: true, visionFineTuning: true },
  },
  "gpt-4o-2024-08-06": {
    baseModel: "gpt-4o-2024-08-06",
    training: 25.0,
    fineTuned: { input: 3.75, cachedInput: 1.875, output: 15.0 },
    visionFineTuning: true,
    maxTokensPerExample: 65_536,
    verified: { training: true, fineTuned: true, visionFineTuning: true },
  },
  "gpt-4.1-2025-04-14": {
    baseModel: "gpt-4.1-2025-04-14",
    training: 25.0,
    fineTuned: { input: 3.0, cachedInput: 0.75, output: 12.0 },
    // Azure lists gpt-4.1 for vision fine-tuning; OpenAI's vision guide names only gpt-4o-2024-08-06.
    visionFineTuning: true,
    maxTokensPerExample: 65_536,
    verified: { training: false, fineTuned: true, visionFineTuning: false },
  },
  "gpt-4.1-mini-2025-04-14": {
    baseModel: "gpt-4.1-mini-2025-04-14",
    training: 5.0,
    fineTuned: { input: 0.8, cachedInput: 0.2, output: 3.2 },
    visionFineTuning: false,
    maxTokensPerExample: 65_536,
    verified: { training: false, fineTuned: true, visionFineTuning: false },
  },
  "gpt-4.1-nano-2025-04-14": {
    baseModel: "gpt-4.1-nano-2025-04-14",
    training: 1.5,
    fineTuned: { input: 0.2, cachedInput: 0.05, output: 0.8 },
    visionFineTuning: false,
    maxTokensPerExample: 65_536,
    verified: { training: false, fineTuned: false, visionFineTuning: false },
  },
};

/** Undated names a user may type, mapped to the snapshot fine-tuning uses. */
export const FINE_TUNE_ALIASES: Readonly<Record<string, string>> = {
  "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
  "gpt-4o": "gpt-4o-2024-08-06",
  "gpt-4.1": "gpt-4.1-2025-04-14",
  "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
  "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
};

/** Base-model inference (standard tier). */
export const INFERENCE_PRICES: Readonly<Record<string, TokenPrices>> = {
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-4o-mini-2024-07-18": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10.0 },
  "gpt-4o-2024-08-06": { input: 2.5, cachedInput: 1.25, output: 10.0 },
  "gpt-4o-2024-11-20": { input: 2.5, cachedInput: 1.25, output: 10.0 },
  "gpt-4.1": { input: 2.0, cachedInput: 0.5, output: 8.0 },
  "gpt-4.1-2025-04-14": { input: 2.0, cachedInput: 0.5, output: 8.0 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-mini-2025-04-14": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4.1-nano-2025-04-14": { input: 0.1, cachedInput: 0.025, output: 0.4 },
};

export function knownFineTuneModels(): string[] {
  return Object.keys(FINE_TUNE_PRICES);
}

/** Prices for a fine-tuning base model (snapshot or undated alias); a clear error for unknown ones. */
export function fineTunePrices(baseModel: string): FineTuneModelPrices {
  const key = FINE_TUNE_ALIASES[baseModel] ?? baseModel;
  const p = FINE_TUNE_PRICES[key];
  if (!p) {
    throw new Error(
      `no fine-tuning price for base model "${baseModel}". Known: ${knownFineTuneModels().join(", ")} ` +
        `(aliases: ${Object.keys(FINE_TUNE_ALIASES).join(", ")}). Add it to lib/src/openai/prices.ts after checking ${PRICE_CHECK_URL}.`,
    );
  }
  return p;
}

/** The base snapshot inside a fine-tuned model id: `ft:gpt-4o-mini-2024-07-18:org:suffix:id` → `gpt-4o-mini-2024-07-18`. */
export function fineTunedBase(model: string): string | null {
  if (!model.startsWith("ft:")) return null;
  const base = model.split(":")[1];
  return base ? base : null;
}

/**
 * Inference prices per 1M tokens for a base model or an `ft:` model, optionally at the Batch API rate.
 * Throws with the known names for models not in the table.
 */
export function inferencePrices(model: string, opts: { batch?: boolean } = {}): TokenPrices {
  const ftBase = fineTunedBase(model);
  let p: TokenPrices | undefined;
  if (ftBase) p = FINE_TUNE_PRICES[FINE_TUNE_ALIASES[ftBase] ?? ftBase]?.fineTuned;
  else p = INFERENCE_PRICES[model];
  if (!p) {
    throw new Error(
      `no inference price for model "${model}". Known: ${Object.keys(INFERENCE_PRICES).join(", ")}, ` +
        `and ft: models of ${knownFineTuneModels().join(", ")}. Check ${PRICE_CHECK_URL}.`,
    );
  }
  if (!opts.batch) return { ...p };
  // Batch: 50% off input and output; how cached input combines with Batch is not in the table.
  const f = 1 - BATCH_DISCOUNT;
  return { input: p.input * f, output: p.output * f };
}

export interface InferenceCostInput {
  /** A base model or an `ft:` model id. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Part of inputTokens served from the prompt cache (standard tier only). */
  cachedInputTokens?: number;
  /** Batch API (50% off). */
  batch?: boolean;
}

/** USD for a number of requests' tokens at the table's prices. */
export function estimateInferenceCost(x: InferenceCostInput): { usd: number; model: string; batch: boolean; pricesAsOf: string } {
  const p = inferencePrices(x.model, { batch: x.batch });
  const cached = x.batch ? 0 : Math.min(x.cachedInputTokens ?? 0, x.inputTokens);
  const cachedPrice = p.cachedInput ?? p.input;
  const usd = ((x.inputTokens - cached) * p.input + cached * cachedPrice + x.outputTokens * p.output) / 1_000_000;
  return { usd, model: x.model, batch: !!x.batch, pricesAsOf: PRICES_AS_OF };
}

/** USD for one answer, or null when the model is not in the price table (local models, other servers). */
export function answerCost(modelId: string, usage: Pick<InferenceCostInput, "inputTokens" | "outputTokens" | "cachedInputTokens"> | undefined, batch = false): number | null {
  if (!usage) return null;
  try {
    return estimateInferenceCost({ model: modelId, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedInputTokens: usage.cachedInputTokens, batch }).usd;
  } catch {
    return null;
  }
}
