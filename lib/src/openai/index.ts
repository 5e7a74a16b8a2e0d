/**
 * The OpenAI-compatible API parts the steps share (fine-tuning in step 2, the chat models in step 3, the
 * Batch API in step 4), as the notebooks see them: a client, keys kept out of every output, errors, the dated
 * price table, token counts. (lifecycle.ts, the models' shutdown dates, is to join them.)
 */
export { createOpenAIClient, type OpenAIClientHandle, type OpenAIClientOptions, type OpenAIProvider } from "./client";
export { redact, REDACTED, resolveApiKey } from "./keys";
export { describeApiError, isTransientApiError } from "./errors";
export {
  answerCost,
  BATCH_DISCOUNT,
  estimateInferenceCost,
  FINE_TUNE_ALIASES,
  FINE_TUNE_PRICES,
  fineTunePrices,
  INFERENCE_PRICES,
  inferencePrices,
  knownFineTuneModels,
  PRICE_CHECK_URL,
  PRICE_NOTE,
  PRICES_AS_OF,
  type FineTuneModelPrices,
  type InferenceCostInput,
  type TokenPrices,
} from "./prices";
export { countTextTokens, GPT4O_IMAGE_TOKENS, imageTokens, type ImageTokenRule } from "./tokens";
