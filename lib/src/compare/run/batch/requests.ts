/**
 * What a batch asks: how a run's items become batch input lines and how the output lines become
 * answers (`BatchRequests`). ModelBatch owns the Batch API's side (files, creation, polling, the record,
 * resume); this is the task's side. compare's is here (`scoreRequests`: one image per request, the
 * model's own score request and parser); `pairwise ask` gives its own (two images per request).
 */
import path from "node:path";
import { prepareImage } from "../../../core/image";
import type { Prediction } from "../../../models";
import type { TestItem } from "../../test-set";
import type { BatchTarget } from "./target";

/** One item's request: `id` names its content (items with the same id share one request). */
export interface PreparedRequest {
  /** Content identity, stable across runs (compare: the image's sha256); part of the custom_id. */
  id: string;
  /** One batch line's `body`: exactly what a direct request would send. */
  body: Record<string, unknown>;
  /** Where its answer is in the response cache; null without a cache. */
  cacheKey: string | null;
}

export interface BatchRequests<I, A> {
  /** The item's name, stable across runs (compare: the image name); batch records list them. */
  itemKey(item: I): string;
  /** The item's request, or the Error that kept its images from being prepared. */
  prepare(item: I): Promise<PreparedRequest | Error>;
  /** The cached answer under `cacheKey` (served without a request), if any. */
  cached(cacheKey: string): Promise<A | undefined>;
  /** Keep a batch answer in the cache when it is a good one (failures never). */
  store(cacheKey: string, answer: A): Promise<void>;
  /** The answer for one output line's response body, exactly as a direct request would make it. */
  answer(responseBody: unknown): A;
  /** A failed answer; `error` is already free of keys. `transient`: asking again may answer it. */
  failure(error: string, transient: boolean): A;
  /** What one item is, in messages ("image", "pair request"). */
  readonly noun: string;
  /** How to send fewer requests, for the too-large-batch error. */
  readonly fewer: string;
}

/** compare's requests: one per image, the model's own score request and completion parser. */
export function scoreRequests(target: BatchTarget, o: { imagesDir: string; prompt?: string; imageMaxSide?: number }): BatchRequests<TestItem, Prediction> {
  const { model, ability, cache } = target;
  const opts = { prompt: o.prompt };
  return {
    noun: "image",
    fewer: "compare fewer images (--limit) or use a smaller --image-max-side",
    itemKey: (it) => it.image,
    prepare: (it) =>
      prepareImage(path.join(o.imagesDir, it.image), { maxSide: o.imageMaxSide }).then(
        (img) => ({ id: img.sha256, body: ability.requestBody(img, opts), cacheKey: cache ? cache.keyFor(img, opts) : null }),
        (e: Error) => e,
      ),
    cached: async (key) => {
      const hit = await cache?.cache.get(key);
      return hit ? { ...hit, cached: true } : undefined;
    },
    store: async (key, p) => {
      if (p.error === undefined && p.score !== null && cache) await cache.cache.set(key, p);
    },
    answer: (body) => ability.prediction(body, 0),
    failure: (error, transient) => ({ score: null, reasons: [], raw: "", error, transient, latencyMs: 0, modelId: model.id }),
  };
}
