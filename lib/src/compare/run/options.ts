/** What a comparison takes and gives back. */
import type { FactoryOptions } from "../../models";
import type { PredictionRecord, RetryFailedMode, RunInfo, RunMetrics } from "../run-folder";
import type { BatchOptions } from "./batch/record";

export const DEFAULT_COMPARE_MODELS = ["gpt4", "gpt4o-mini-ft", "qwen2vl-ft"];
/** Always compared: a model must beat the constant baseline for its numbers to mean anything. */
export const ALWAYS_COMPARED = ["mean"];

export interface CompareOptions extends FactoryOptions {
  models?: string[];
  outputDir?: string;
  testSet?: string;
  images?: string;
  limit?: number;
  /** Overrides every model's configured concurrency. */
  concurrency?: number;
  /** A run id (folder name under outputDir) or a run folder path to continue. */
  resume?: string;
  /**
   * With `resume`: ask failed items again — those asking again may fix ("transient": the retry layer ran
   * out on 429/5xx, timeouts, dropped connections, unusable bodies) or every one ("all"). See retry-failed.ts.
   */
  retryFailed?: RetryFailedMode;
  maxCost?: number;
  /**
   * Ask API models through the OpenAI Batch API (half price, answers within 24 h; `--batch`). Default:
   * what the resumed run used, else false. A model whose batch was sent and not yet collected is always
   * collected, never asked again.
   */
  batch?: boolean;
  /** Polling of batches (tests shorten it); see BATCH_DEFAULTS. */
  batchPolling?: Pick<BatchOptions, "pollIntervalMs" | "maxPollIntervalMs" | "maxBackoffMs" | "giveUpAfterMs">;
  seed?: number;
  bootstrapIterations?: number;
  prompt?: string;
  imageMaxSide?: number;
  command?: string[];
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: CompareProgress) => void;
}

export interface CompareProgress {
  done: number;
  failed: number;
  total: number;
  costUsd: number;
  ratePerSecond: number;
}

export interface CompareResult {
  runDir: string;
  run: RunInfo;
  metrics: RunMetrics;
  records: PredictionRecord[];
  /** Items asked in this invocation (not from the log); cached answers count here too. */
  asked: number;
  /** With --retry-failed: the failed items asked again, and how many of them are now scored. */
  retried?: { asked: number; scored: number };
  complete: boolean;
  stopReason?: string;
}

export class CostLimitError extends Error {}
