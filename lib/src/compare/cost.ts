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
  return estimateChatCost(modelId, requests, { texts: [systemPrompt(scale), userPrompt(scale)], textTokens: promptTextTokens(scale), messages: 2, images: 1, outputTokens: EXPECTED_OUTPUT_TOKENS, ...opts });
}

/**
 * Estimated USD for `requests` chat requests of one shape: the prompt `texts`, `messages` chat turns,
 * `images` images each (priced by the model's image-token rule at `detail`, default low, 768×768), and
 * `outputTokens` per reply (`textTokens`: the texts' count when already known); null when the model is unpriced. Any task's estimate (scores, pairs) is this.
 */
export function estimateChatCost(
  modelId: string,
  requests: number,
  shape: { texts: readonly string[]; textTokens?: number; messages: number; images: number; outputTokens: number; detail?: "low" | "high" | "auto"; imageSize?: [number, number]; batch?: boolean },
): number | null {
  const [w, h] = shape.imageSize ?? [768, 768];
  const rule = /gpt-4o-mini/.test(modelId) ? GPT4O_MINI_IMAGE_TOKENS : GPT4O_IMAGE_TOKENS;
  const input =
    shape.messages * TOKENS_PER_MESSAGE + REPLY_PRIMING_TOKENS + (shape.textTokens ?? shape.texts.reduce((n, t) => n + countTextTokens(t), 0)) + shape.images * imageTokens(w, h, shape.detail ?? "low", rule);
  const one = answerCost(modelId, { inputTokens: input, outputTokens: shape.outputTokens }, shape.batch);
  return one === null ? null : one * requests;
}
