/**
 * Asking models directly, one request per image: each model at its own pace under its own concurrency
 * limit (p-limit), its images shared through the pool. A failure is an answer with its error; a request
 * stopped by the signal leaves its item missing, so --resume asks it again.
 */
import pLimit from "p-limit";
import type { Prediction, ScoreModel } from "../../models";
import type { TestItem } from "../test-set";
import type { ImagePool } from "./image-pool";

/** One model's items still to ask, and how many of its requests may be in flight. */
export interface DirectWork {
  model: ScoreModel;
  concurrency: number;
  items: TestItem[];
}

/** Where every answer goes (recorded, counted). */
export type AnswerSink = (m: ScoreModel, item: TestItem, sha256: string, p: Prediction, batch?: boolean) => Promise<void>;

export async function askDirectly(work: DirectWork[], pool: ImagePool, answer: AnswerSink, signal: AbortSignal, prompt?: string): Promise<void> {
  const limits = new Map(work.map((w) => [w.model.name, pLimit(w.concurrency)]));
  const askOne = async (m: ScoreModel, item: TestItem) => {
    if (signal.aborted) return;
    let sha = "";
    let p: Prediction;
    try {
      const img = await pool.acquire(item);
      sha = img.sha256;
      p = await m.predict(img, { prompt, signal });
    } catch (e) {
      if (signal.aborted) return; // stopped: the item stays missing and a resume asks it again
      const why = sha ? (e as Error).message : `image could not be prepared: ${(e as Error).message}`;
      p = { score: null, reasons: [], raw: "", error: why, latencyMs: 0, modelId: m.id };
    } finally {
      pool.release(item);
    }
    await answer(m, item, sha, p);
  };
  await Promise.all(work.flatMap((w) => w.items.map((it) => limits.get(w.model.name)!(() => askOne(w.model, it)))));
}
