/**
 * One small interface serves every model (API, local ONNX, baselines): an id and one predict call
 * returning one result shape. A service failure on one image is a value (`error`), never a throw;
 * only setup problems (no key, no weights) throw, naming the variable or flag that fixes them.
 */
import type { Scale } from "../core/scale";
import type { PreparedImage } from "../core/types";
import type { OpenAIClientHandle } from "../openai/client";
export { ModelUnavailableError } from "../core/errors";

/**
 * What a model is, for the parts that treat kinds differently: `api` models are asked over the network
 * (a key, a price, many requests in flight), `local` ones run here (one at a time), `baseline`s need no
 * key and no weights and are what every other model must beat.
 */
export type ModelKind = "api" | "local" | "baseline";
export const MODEL_KINDS: readonly ModelKind[] = ["api", "local", "baseline"];

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache, where reported. */
  cachedInputTokens?: number;
}

export interface Prediction {
  /** Integer score on the scale; null when the model failed or its reply had no clear score. */
  score: number | null;
  reasons: string[];
  /** The model's reply as returned (for audits of parse failures). */
  raw: string;
  /** Why there is no score: the provider's error or the parse failure. Absent on success. */
  error?: string;
  /**
   * The failure is of a kind that asking again later may fix (429/5xx, timeouts, dropped connections,
   * unusable status-200 bodies), and the retry layer's attempts ran out. `compare --retry-failed` asks these.
   */
  transient?: boolean;
  usage?: TokenUsage;
  latencyMs: number;
  /** Served from the response cache without a request. */
  cached?: boolean;
  /** p(k) for each integer score k on the scale, where the model exposes token probabilities. */
  probabilities?: Record<number, number>;
  /** Σ p(k)·k over the score tokens (renormalised), beside the argmax score. */
  expectedScore?: number;
  /** The model id that answered (e.g. "gpt-4o-2024-08-06", "ft:gpt-4o-mini:org::abc"). */
  modelId: string;
}

export interface PredictOptions {
  /** Overrides the task prompt's user text; the system prompt and reply format stay. */
  prompt?: string;
  signal?: AbortSignal;
}

export interface ScoreModel {
  /** The name the user asked for (config key), e.g. "gpt4", "qwen2vl-ft", "mean". */
  readonly name: string;
  /** The resolved model id, recorded in every result. */
  readonly id: string;
  readonly scale: Scale;
  readonly kind: ModelKind;
  /**
   * false: the answer does not depend on the image's pixels (the constant baseline); a runner need not
   * prepare the image and may pass one with only its sha256. Default (undefined): it does.
   */
  readonly usesImage?: boolean;
  predict(image: PreparedImage, opts?: PredictOptions): Promise<Prediction>;
  /** The run settings recorded in a run's run.json (never secrets). */
  describe(): Record<string, unknown>;
  /** The settings that change answers, which the response cache keys on; default: the run settings. */
  cacheKeyFields?(): Record<string, unknown>;
  /** Present when the model can be asked through the OpenAI Batch API (see BatchAbility). */
  readonly batch?: BatchAbility;
  dispose?(): Promise<void>;
}

/**
 * What the OpenAI Batch API needs from a model, discovered as `model.batch`: the exact request a direct
 * call would send, and how a reply becomes the Prediction a direct call would return.
 */
export interface BatchAbility {
  /** Why the Batch API cannot ask this model here (e.g. Azure OpenAI needs a batch deployment); null when it can. */
  readonly unavailable: string | null;
  /** The JSON body `predict(image, opts)` sends: one batch line's `body`. */
  requestBody(image: PreparedImage, opts?: Pick<PredictOptions, "prompt">): Record<string, unknown>;
  /** The Prediction for one output line's response body, exactly as `predict` would make it. */
  prediction(responseBody: unknown, latencyMs: number): Prediction;
  /** A client for the same provider, server and key with other limits (uploads, downloads, status reads). */
  client(limits?: { timeoutMs?: number; maxRetries?: number }): OpenAIClientHandle;
}
