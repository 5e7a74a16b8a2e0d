/**
 * One small interface serves every model (API, local ONNX, baselines): an id and one predict call
 * returning one result shape. A service failure on one image is a value (`error`), never a throw;
 * only setup problems (no key, no weights) throw, naming the variable or flag that fixes them.
 */
import type { PreparedImage } from "../core/types";
import type { Scale } from "../core/scale";
export { ModelUnavailableError } from "../core/errors";

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
  predict(image: PreparedImage, opts?: PredictOptions): Promise<Prediction>;
  /** Settings worth recording in a run's run.json (never secrets). */
  describe(): Record<string, unknown>;
  dispose?(): Promise<void>;
}
