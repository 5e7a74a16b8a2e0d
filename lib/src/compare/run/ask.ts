/**
 * Asking every model for its missing answers: batches are sent first, then the direct models ask while
 * the batches are collected. Every answer is appended to predictions.jsonl at once and counted against
 * the budget; Ctrl-C (the caller's signal) and --max-cost stop what is still to go.
 */
import { setMaxListeners } from "node:events";
import type { Prediction, ScoreModel } from "../../models";
import { PredictionLog } from "../run-folder";
import type { TestItem, TestSet } from "../test-set";
import { scoreRequests } from "./batch/requests";
import { collectBatches, submitBatches, type BatchWork } from "./batch/send";
import { RunBudget } from "./budget";
import { askDirectly, type DirectWork } from "./direct";
import { ImagePool } from "./image-pool";
import type { CompareOptions } from "./options";
import { predictionRecord } from "./prediction-record";

export interface AskOutcome {
  /** Answers given in this invocation (cached ones too). */
  asked: number;
  complete: boolean;
  stopReason?: string;
}

export async function askEveryModel(
  direct: DirectWork[],
  viaBatch: BatchWork[],
  testSet: TestSet,
  runDir: string,
  opts: CompareOptions & { spentBefore: number; log: (l: string) => void; resumeCommand: string },
): Promise<AskOutcome> {
  const logFile = await PredictionLog.open(runDir);
  const total = [...direct, ...viaBatch].reduce((s, t) => s + t.items.length, 0);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every request in flight listens for the stop
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort);
  const budget = new RunBudget(total, opts.spentBefore, opts.maxCost, stop, opts.onProgress);
  const pool = new ImagePool(testSet.imagesDir, opts.imageMaxSide);
  budget.report();

  /** Count one answer at once (and stop at --max-cost); the returned promise is its line in predictions.jsonl. */
  const answer = (m: ScoreModel, item: TestItem, sha: string, p: Prediction, batch = false): Promise<void> => {
    const r = predictionRecord(m, item, sha, p, batch);
    const written = logFile.append(r);
    budget.count(r);
    return written;
  };

  try {
    const requestsOpts = { imagesDir: testSet.imagesDir, ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}), ...(opts.imageMaxSide !== undefined ? { imageMaxSide: opts.imageMaxSide } : {}) };
    const sent = await submitBatches<TestItem, Prediction>(
      viaBatch.map((b) => ({ target: b.target, requests: scoreRequests(b.target, requestsOpts), items: b.items, answer: (a) => answer(b.model, a.item, a.sha256, a.answer, true) })),
      { runDir, ...(opts.signal ? { signal: opts.signal } : {}), log: opts.log, resumeCommand: opts.resumeCommand, ...opts.batchPolling },
    );
    await Promise.all([
      askDirectly(direct, pool, answer, stop.signal, { prompt: opts.prompt, log: opts.log }),
      collectBatches(sent, (why) => (budget.stopReason ??= why), opts.log, opts.signal),
    ]);
  } finally {
    // The lines appended so far are written and the file closed, whether the asking ended or failed.
    await logFile.close();
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (opts.signal?.aborted && !budget.stopReason) budget.stopReason = "interrupted";
  return { asked: budget.done, complete: budget.done === total, stopReason: budget.stopReason };
}
