/**
 * Money before a run: an estimate from prompt and image token counts, priced with the dated table in
 * openai/prices.ts (which also prices each answer afterwards, from the usage the API returned).
 */
import { answerCost } from "../openai/prices";
import { countTextTokens, GPT4O_IMAGE_TOKENS, GPT4O_MINI_IMAGE_TOKENS, imageTokens, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE } from "../openai/tokens";
import { systemPrompt, userPrompt } from "../prompt/prompts";
import type { Scale } from "../core/scale";

/** A typical reply ({"score": 7, "reasons": [three short phrases]}), in tokens. */
const EXPECTED_OUTPUT_TOKENS = 40;

/** Estimated USD for `requests` answers of an API model; null when unpriced. */
export function estimateRunCost(modelId: string, requests: number, scale: Scale, opts: { detail?: "low" | "high" | "auto"; imageSize?: [number, number]; batch?: boolean } = {}): number | null {
  const [w, h] = opts.imageSize ?? [768, 768];
  const rule = /gpt-4o-mini/.test(modelId) ? GPT4O_MINI_IMAGE_TOKENS : GPT4O_IMAGE_TOKENS;
  const input = 2 * TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS + countTextTokens(systemPrompt(scale)) + countTextTokens(userPrompt(scale)) + imageTokens(w, h, opts.detail ?? "low", rule);
  const one = answerCost(modelId, { inputTokens: input, outputTokens: EXPECTED_OUTPUT_TOKENS }, opts.batch);
  return one === null ? null : one * requests;
}
