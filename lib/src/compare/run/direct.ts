/**
 * Asking models directly, one request per image: each model at its own pace under its own concurrency
 * limit (p-limit), its images prepared ahead of its slots by the pool. A slot holds only the request:
 * recording the answer (predictions.jsonl) and storing it in the response cache happen after the slot is
 * free. Models that ignore the pixels (the constant baseline) go after the others, when every image's
 * sha256 is known, so no image is prepared for them. A failure is an answer with its error; a request
 * stopped by the signal leaves its item missing, so --resume asks it again.
 */
import pLimit from "p-limit";
import { responseCacheOf, type Prediction, type ScoreModel } from "../../models";
import type { PreparedImage } from "../../core/types";
import type { TestItem } from "../test-set";
import type { ImagePool } from "./image-pool";

/** One model's items still to ask, and how many of its requests may be in flight. */
export interface DirectWork {
  model: ScoreModel;
  concurrency: number;
  items: TestItem[];
}

/**
 * Where every answer goes: counted at once (a stop takes effect before the next slot starts), recorded
 * by the returned promise, which a slot does not wait for.
 */
export type AnswerSink = (m: ScoreModel, item: TestItem, sha256: string, p: Prediction, batch?: boolean) => Promise<void>;

export async function askDirectly(work: DirectWork[], pool: ImagePool, answer: AnswerSink, signal: AbortSignal, opts: { prompt?: string; log: (l: string) => void }): Promise<void> {
  const pending: Promise<void>[] = [];
  let cacheWriteFailed = false;
  const store = (write: () => Promise<void>) =>
    write().catch((e: unknown) => {
      if (!cacheWriteFailed) opts.log(`the response cache could not be written (${(e as Error).message}); the answers are in the run, a repeat asks again`);
      cacheWriteFailed = true;
    });

  const askOne = async (w: DirectWork, i: number) => {
    const m = w.model;
    const item = w.items[i]!;
    if (signal.aborted) return;
    const pixels = m.usesImage !== false;
    let sha = "";
    let p: Prediction;
    let write: (() => Promise<void>) | null = null;
    try {
      const img: PreparedImage = pixels ? await pool.acquire(m.name, w.items, i, w.concurrency) : { jpeg: Buffer.alloc(0), sha256: await pool.sha256(m.name, item), width: 0, height: 0 };
      sha = img.sha256;
      const cached = responseCacheOf(m);
      const popts = { prompt: opts.prompt, signal };
      if (cached) ({ prediction: p, store: write } = await cached.answer(img, popts));
      else p = await m.predict(img, popts);
    } catch (e) {
      if (signal.aborted) return; // stopped: the item stays missing and a resume asks it again
      const why = sha ? (e as Error).message : `image could not be prepared: ${(e as Error).message}`;
      p = { score: null, reasons: [], raw: "", error: why, latencyMs: 0, modelId: m.id };
    } finally {
      if (pixels) pool.release(m.name, item);
    }
    const recorded = answer(m, item, sha, p);
    const done = write ? recorded.then(() => store(write!)) : recorded;
    done.catch(() => {}); // a failed write is awaited (and thrown) below, after the other slots
    pending.push(done);
  };

  const limits = new Map(work.map((w) => [w.model.name, pLimit(w.concurrency)]));
  const run = (w: DirectWork) => Promise.all(w.items.map((_, i) => limits.get(w.model.name)!(() => askOne(w, i))));
  const withPixels = work.filter((w) => w.model.usesImage !== false);
  const withoutPixels = work.filter((w) => w.model.usesImage === false);
  await Promise.all(withPixels.map(run));
  await Promise.all(withoutPixels.map(run));
  await Promise.all(pending);
}
