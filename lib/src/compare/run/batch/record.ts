/**
 * A model's batch as files in the run folder (`batch/<model>.json`, `.input.jsonl`, `.output.jsonl`,
 * `.errors.jsonl`): the record of what was sent and where it stands, and the defaults of the Batch path.
 */
import path from "node:path";
import type { Batch } from "openai/resources/batches";
import { readTextIfExists } from "../../../core/atomic-output";
import type { Prediction } from "../../../models";
import type { TestItem } from "../../test-set";

// ---------------------------------------------------------------------------------------------------
// Constants

/** Defaults for every option not given (one place; covered by a test). */
export const BATCH_DEFAULTS = {
  /** First wait between status reads; it grows ×1.5 while nothing changes, up to maxPollIntervalMs. */
  pollIntervalMs: 30_000,
  maxPollIntervalMs: 5 * 60_000,
  /** While status reads fail: the wait doubles up to this, and polling gives up after giveUpAfterMs of nothing but errors. */
  maxBackoffMs: 5 * 60_000,
  giveUpAfterMs: 30 * 60_000,
  /** Per status read (the backoff here is the retry). */
  requestTimeoutMs: 60_000,
  /** Per upload or download attempt (input files carry every image). */
  transferTimeoutMs: 15 * 60_000,
  /** OpenAI's limits on one batch input file. */
  maxRequests: 50_000,
  maxInputBytes: 200 * 1024 * 1024,
  /** Images prepared at once while writing the input file. */
  prepareConcurrency: 4,
  /** Tries of batch creation after transient failures (each first checks whether the batch exists). */
  createAttempts: 3,
} as const;

/** The folder under the run folder holding each model's batch files. */
export const BATCH_DIR = "batch";
export const BATCH_ENDPOINT = "/v1/chat/completions";
export const BATCH_COMPLETION_WINDOW = "24h";
/** Statuses after which a batch changes no more. */
export const BATCH_TERMINAL_STATUSES: readonly string[] = ["completed", "failed", "expired", "cancelled"];

// ---------------------------------------------------------------------------------------------------
// Types

/** One line of the input file: which items its answer belongs to. */
export interface BatchRequestEntry {
  custom_id: string;
  /** The request's content id: the image's sha256 (compare), or `<A sha256>+<B sha256>` in the order shown (pairwise). */
  image_sha256: string;
  /** The items it answers: test-set image names with these bytes (compare, usually one), or `<pair>:<order>` (pairwise). */
  images: string[];
  /** Where the answer goes in the response cache; null without a cache. */
  cache_key: string | null;
}

/** `batch/<model>.json`: what is known about one model's batch, rewritten atomically at every step. */
export interface BatchRecord {
  model: string;
  model_id: string;
  /** "prepared": the input file is written, nothing sent; then the provider's status; "collected": every answer is in the run's log. */
  status: "prepared" | Batch["status"] | "collected";
  endpoint: string;
  completion_window: string;
  /** Relative to the run folder. */
  input_file: string;
  input_bytes: number;
  input_file_id: string | null;
  batch_id: string | null;
  request_counts: { total: number; completed: number; failed: number } | null;
  output_file_id: string | null;
  error_file_id: string | null;
  /** Batch-level errors (a failed validation), as the provider gave them. */
  errors: string[];
  created_at: string;
  updated_at: string;
  requests: BatchRequestEntry[];
}

/** One model answer for one item, from the cache or the batch; `sha256` is its request's content id ("" when its images could not be prepared). */
export interface BatchAnswer<I = TestItem, A = Prediction> {
  item: I;
  sha256: string;
  answer: A;
}

export interface BatchOptions {
  runDir: string;
  /** Stops building, uploading and polling; a created batch goes on at the provider. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Printed when polling stops early: how to continue. */
  resumeCommand?: string;
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  maxBackoffMs?: number;
  giveUpAfterMs?: number;
}

/** File names of a model's batch files inside the run folder. */
export function batchPaths(runDir: string, model: string): { record: string; input: string; output: string; errors: string } {
  const safe = model.replace(/[^A-Za-z0-9._-]/g, "_");
  const dir = path.join(runDir, BATCH_DIR);
  return {
    record: path.join(dir, `${safe}.json`),
    input: path.join(dir, `${safe}.input.jsonl`),
    output: path.join(dir, `${safe}.output.jsonl`),
    errors: path.join(dir, `${safe}.errors.jsonl`),
  };
}

/** The model's batch record, or null when there is none. */
export async function readBatchRecord(runDir: string, model: string): Promise<BatchRecord | null> {
  const file = batchPaths(runDir, model).record;
  const text = await readTextIfExists(file);
  if (text === null) return null;
  try {
    return JSON.parse(text) as BatchRecord;
  } catch (e) {
    throw new Error(`${file}: cannot read the batch record (${(e as Error).message}); it names the batch this run paid for, so it is not replaced`);
  }
}

/** A batch was sent for this model and its answers are not all collected: it must be collected, never asked again. */
export function batchPending(record: BatchRecord | null): boolean {
  return !!record && record.status !== "collected" && record.input_file_id !== null;
}

/** The custom_id of a model's request (its content id): stable across runs and resumes. */
export function batchCustomId(model: string, requestId: string): string {
  return `${model}:${requestId}`;
}
