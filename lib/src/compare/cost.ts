/**
 * Money before a run: an estimate from prompt and image token counts, priced with the dated table in
 * openai/prices.ts (which also prices each answer afterwards, from the usage the API returned).
 */
import { answerCost } from "../openai/prices";
import { countTextTokens, GPT4O_IMAGE_TOKENS, GPT4O_MINI_IMAGE_TOKENS, imageTokens, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE } from "../openai/tokens";
import { promptHash, systemPrompt, userPrompt } from "../prompt/prompts";
import type { Scale } from "../core/scale";

/** A typical reply ({"score": 7, "reasons": [three short phrases]}), in tokens. */
const EXPECTED_OUTPUT_TOKENS = 40;

/**
 * o200k_base text tokens of the system + user prompts, by `promptHash(scale)`: the estimate printed before
 * the first request would otherwise load the o200k encoder (about a second of CPU on a 2-core machine) to
 * count a constant. A test checks every entry against the encoder; another prompt or scale is counted.
 */
export const PROMPT_TEXT_TOKENS: Readonly<Record<string, number>> = {
  // streetsafe-prompt-v1, scale 1–10
  d43544f4933e23a829d0717edc1788247c6572146f9b67a969ed15b55a3d5a97: 216,
};

function promptTextTokens(scale: Scale): number {
  return PROMPT_TEXT_TOKENS[promptHash(scale)] ?? countTextTokens(systemPrompt(scale)) + countTextTokens(userPrompt(scale));
}

/** Estimated USD for `requests` answers of an API model; null when unpriced. */
export function estimateRunCost(modelId: string, requests: number, scale: Scale, opts: { detail?: "low" | "high" | "auto"; imageSize?: [number, number]; batch?: boolean } = {}): number | null {
  const [w, h] = opts.imageSize ?? [768, 768];
  const rule = /gpt-4o-mini/.test(modelId) ? GPT4O_MINI_IMAGE_TOKENS : GPT4O_IMAGE_TOKENS;
  const input = 2 * TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS + promptTextTokens(scale) + imageTokens(w, h, opts.detail ?? "low", rule);
  const one = answerCost(modelId, { inputTokens: input, outputTokens: EXPECTED_OUTPUT_TOKENS }, opts.batch);
  return one === null ? null : one * requests;
}
