/**
 * The run's side of `--batch`: which models go through the Batch API, sending their batches before any
 * direct request (a refused upload stops the run before money is spent elsewhere), and collecting them
 * while the direct models answer. Batches follow the caller's signal, not --max-cost: a sent batch is
 * paid for whether or not it is collected.
 */
import type { ScoreModel } from "../../../models";
import type { TestItem } from "../../test-set";
import { ModelBatch } from "./model-batch";
import { batchPending, readBatchRecord, type BatchAnswer, type BatchOptions } from "./record";
import type { BatchRequests } from "./requests";
import { batchTarget, NOT_AN_API_MODEL, type BatchTarget } from "./target";

/** One model's items to ask through its batch (compare). */
export interface BatchWork {
  model: ScoreModel;
  target: BatchTarget;
  items: TestItem[];
}

/** One model's batch to send: its target, what its requests are, the items, and where answers go. */
export interface BatchJob<I, A> {
  target: BatchTarget;
  requests: BatchRequests<I, A>;
  items: I[];
  answer: (a: BatchAnswer<I, A>) => Promise<void>;
}

/** A batch that was sent (or continued), and where its answers go. */
export interface SentBatch<I, A> {
  job: ModelBatch<I, A>;
  answer: (a: BatchAnswer<I, A>) => Promise<void>;
}

/**
 * Which models go through the Batch API: with `--batch` every model it can ask, and in any case a model
 * whose batch was sent in this run folder and not yet collected.
 */
export async function batchTargets(models: ScoreModel[], runDir: string, batchOn: boolean, log: (l: string) => void): Promise<Map<string, BatchTarget>> {
  const out = new Map<string, BatchTarget>();
  for (const m of models) {
    const t = batchTarget(m);
    if ("reason" in t) {
      if (batchOn && t.reason !== NOT_AN_API_MODEL) log(`--batch: ${m.name}: ${t.reason}`);
      continue;
    }
    if (batchOn || batchPending(await readBatchRecord(runDir, m.name))) out.set(m.name, t);
  }
  return out;
}

/** Make sure each model's batch is running (cache hits answered at once). Stops early, with what was sent, when the signal aborts. */
export async function submitBatches<I, A>(work: BatchJob<I, A>[], options: BatchOptions): Promise<SentBatch<I, A>[]> {
  const sent: SentBatch<I, A>[] = [];
  for (const b of work) {
    const job = await ModelBatch.open(b.target, b.requests, options);
    if (!(await job.submit(b.items, b.answer))) break; // stopped: the signal also stops the direct models
    sent.push({ job, answer: b.answer });
  }
  return sent;
}

/**
 * Wait for each batch and give its answers; `stopped` hears why one stopped early. A failed download or a
 * refused follow-up batch leaves its items missing, and --resume tries again.
 */
export async function collectBatches<I, A>(sent: SentBatch<I, A>[], stopped: (why: string) => void, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  await Promise.all(
    sent.map(async ({ job, answer }) => {
      let why: string | undefined;
      try {
        why = await job.finish(answer);
      } catch (e) {
        why = (e as Error).message;
        log(why);
      }
      if (why && !signal?.aborted) stopped(why);
    }),
  );
}
