/**
 * The OpenAI-compatible API parts the steps share (fine-tuning in step 2, the chat models in step 3, the
 * Batch API in step 4), as the notebooks see them: a client, keys kept out of every output, errors, the dated
 * price table and its neighbour, the dated table of model shutdowns (lifecycle.ts), token counts.
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
export {
  explainModelNotFound,
  FINE_TUNE_JOBS_END,
  fineTuneJobsWarning,
  LIFECYCLE_AS_OF,
  LIFECYCLE_CHECK_URL,
  LIFECYCLE_WARN_DAYS,
  lifecycleOf,
  lifecycleRows,
  lifecycleText,
  lifecycleWarning,
  MODEL_LIFECYCLE,
  type LifecycleState,
  type LifecycleStatus,
  type ModelLifecycle,
} from "./lifecycle";
export { countTextTokens, GPT4O_IMAGE_TOKENS, imageTokens, type ImageTokenRule } from "./tokens";
