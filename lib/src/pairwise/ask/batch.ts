/**
 * `pairwise ask --batch`: the OpenAI judges' pair requests (both orders) go through compare's Batch API
 * machinery (compare/run/batch: the input file, upload, one batch per model, polling, `batch/<model>.json`
 * so a resumed run collects a batch in flight). This is the pairwise side: which judges can go, and
 * their requests — both images in one request, the judge's own body and reply parser, the pairwise
 * response cache (hits are served, not sent).
 */
import path from "node:path";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { batchTargets, type BatchRequests, type BatchTarget } from "../../compare";
import { prepareImage } from "../../core/image";
import type { ScoreModel } from "../../models";
import { CachedPairJudge } from "./cached-judge";
import { failedJudgment, type PairJudge, type PairJudgment } from "./judge";
import { OpenAIPairJudge } from "./openai-judge";
import type { PairOrder } from "./run-folder";

/** One request of an ask run: a planned pair in one order (`first` shown as image A). */
export interface PairRequest {
  pair: number;
  order: PairOrder;
  first: string;
  second: string;
}

/** The judge that sends the chat request, and the cache in front of it if any; null for judges the Batch API cannot ask. */
function openAIJudgeOf(judge: PairJudge): { inner: OpenAIPairJudge; cache: CachedPairJudge | null } | null {
  const cache = judge instanceof CachedPairJudge ? judge : null;
  const inner = cache ? cache.inner : judge;
  return inner instanceof OpenAIPairJudge ? { inner, cache } : null;
}

/**
 * The judges that go through the Batch API, by name: with `batchOn` every OpenAI judge compare would batch
 * (an OpenAI price, not Azure), and in any case one whose batch in this run folder is not yet collected.
 */
export async function pairBatchTargets(judges: readonly { judge: PairJudge; model: ScoreModel }[], runDir: string, batchOn: boolean, log: (l: string) => void): Promise<Map<string, BatchTarget>> {
  const two = judges.filter((j) => openAIJudgeOf(j.judge));
  return batchTargets(two.map((j) => j.model), runDir, batchOn, log);
}

/** The content id of a pair request: the two images' sha256 in the order shown. */
export const pairRequestId = (first: string, second: string) => `${first}+${second}`;

/** The two sha256 of a pair request's content id ("" each when its images could not be prepared). */
export function shasOfRequestId(id: string): [string, string] {
  const [a, b] = id.split("+");
  return [a ?? "", b ?? ""];
}

/** A judge's pair requests for the Batch API. */
export function pairRequests(judge: PairJudge, o: { imagesDir: string; imageMaxSide?: number }): BatchRequests<PairRequest, PairJudgment> {
  const j = openAIJudgeOf(judge);
  if (!j) throw new Error(`${judge.name}: only OpenAI-compatible two-image judges go through the Batch API`);
  const { inner, cache } = j;
  const prepare = (name: string) => prepareImage(path.join(o.imagesDir, name), { maxSide: o.imageMaxSide });
  return {
    noun: "pair request",
    fewer: "plan fewer pairs or use a smaller --image-max-side",
    itemKey: (r) => `${r.pair}:${r.order}`,
    prepare: async (r) => {
      try {
        const [a, b] = await Promise.all([prepare(r.first), prepare(r.second)]);
        return { id: pairRequestId(a.sha256, b.sha256), body: inner.requestBody(a, b) as unknown as Record<string, unknown>, cacheKey: cache ? cache.keyFor(a, b) : null };
      } catch (e) {
        return e as Error;
      }
    },
    cached: async (key) => cache?.lookup(key),
    store: async (key, answer) => cache?.keep(key, answer),
    answer: (body) => inner.judgment(body as ChatCompletion, 0),
    failure: (error) => failedJudgment(inner.id, error),
  };
}
