/**
 * `compare --resume RUN --retry-failed [transient|all]`: which failed answers of a run are asked again.
 * A failed item's line stays in predictions.jsonl (its request was made, and maybe paid for); the new
 * answer is appended after it, and the last line of an item is the one every reader counts.
 *
 * `transient` (the default) asks the failures that asking again may fix — the retry layer ran out of
 * attempts on a 429/5xx, a timeout, a dropped connection or an unusable status-200 body — and leaves the
 * answers the model did give (no score in the reply, a refusal, a request the API refused), which a
 * repeat would only re-roll. `all` asks every failed item.
 */
import { isValidPrediction, type PredictionRecord, type RetryFailedMode } from "../run-folder";

export const RETRY_FAILED_MODES: readonly RetryFailedMode[] = ["transient", "all"];
export const DEFAULT_RETRY_FAILED: RetryFailedMode = "transient";

/**
 * Reasons of runs made before `error_transient` was recorded that the retry layer gives for transient
 * failures (openai/errors.ts describeRequestFailure, older wordings included).
 */
const TRANSIENT_REASON =
  /^(HTTP (408|409|429|5\d\d)\b|timeout:|connection error:|connection closed mid-response|the connection closed mid-body|malformed response body|empty response body)/;

/** Whether `--retry-failed <mode>` asks this (latest) record again. */
export function isRetriedFailure(r: PredictionRecord, mode: RetryFailedMode): boolean {
  if (isValidPrediction(r)) return false;
  if (mode === "all") return true;
  return r.error_transient ?? TRANSIENT_REASON.test(r.error ?? "");
}
