/** The OpenAI-compatible APIs, shared by fine-tuning (step 2), the chat models (step 3) and the Batch API (step 4). */
export { createOpenAIClient, retryAfterMs, DEFAULT_AZURE_KEY_ENV, DEFAULT_OPENAI_KEY_ENV, type OpenAIClientHandle, type OpenAIClientOptions, type OpenAIProvider } from "./client";
export { redact, REDACTED, registerSecret, resolveApiKey, type ResolveApiKeyOptions } from "./keys";
export { abortableSleep, backoffDelay, causeChain, describeApiError, describeRequestFailure, isRetryableStatus, isTransientApiError, type RequestLimits } from "./errors";
export {
  BATCH_DISCOUNT,
  answerCost,
  estimateInferenceCost,
  FINE_TUNE_ALIASES,
  FINE_TUNE_PRICES,
  fineTunedBase,
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
export { countTextTokens, GPT4O_IMAGE_TOKENS, GPT4O_MINI_IMAGE_TOKENS, imageTokens, type ImageTokenRule } from "./tokens";
