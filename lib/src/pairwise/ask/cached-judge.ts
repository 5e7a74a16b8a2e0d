/**
 * A pair judge behind the project's response cache (models/cache.ts): a judgment already paid for is
 * never asked again. The key holds the model id, its answer-changing settings, the pairwise prompt's
 * version and hash, and the two images' sha256 in the order shown (A, B); failures are never stored.
 */
import type { PreparedImage } from "../../core/types";
import type { ModelKind, ResponseCache } from "../../models";
import { PAIRWISE_PROMPT_VERSION, pairwisePromptHash } from "../../prompt/pairwise";
import { pairJudgmentSchema, type JudgeMethod, type PairJudge, type PairJudgment } from "./judge";

export class CachedPairJudge implements PairJudge {
  readonly name: string;
  readonly id: string;
  readonly kind: ModelKind;
  readonly method: JudgeMethod;

  constructor(
    readonly inner: PairJudge,
    readonly cache: ResponseCache,
  ) {
    this.name = inner.name;
    this.id = inner.id;
    this.kind = inner.kind;
    this.method = inner.method;
  }

  describe(): Record<string, unknown> {
    return this.inner.describe();
  }

  cacheKeyFields(): Record<string, unknown> {
    return this.inner.cacheKeyFields();
  }

  keyFor(first: PreparedImage, second: PreparedImage): string {
    return this.cache.key({
      task: "pairwise",
      modelId: this.inner.id,
      settings: this.inner.cacheKeyFields(),
      promptVersion: PAIRWISE_PROMPT_VERSION,
      promptHash: pairwisePromptHash(),
      first: first.sha256,
      second: second.sha256,
    });
  }

  async judge(first: PreparedImage, second: PreparedImage, opts: { signal?: AbortSignal } = {}): Promise<PairJudgment> {
    const key = this.keyFor(first, second);
    const hit = await this.lookup(key);
    if (hit) return hit;
    const j = await this.inner.judge(first, second, opts);
    await this.keep(key, j);
    return j;
  }

  /** The cached judgment under `key` (marked cached), if any. */
  async lookup(key: string): Promise<PairJudgment | undefined> {
    const hit = await this.cache.getValue(key, pairJudgmentSchema);
    return hit ? ({ ...hit, cached: true } as PairJudgment) : undefined;
  }

  /** Store a judgment under `key` when it is an answer (failures never). */
  async keep(key: string, j: PairJudgment): Promise<void> {
    if (j.answer === null || j.error !== undefined) return;
    const { cached: _c, error: _e, ...stored } = j;
    await this.cache.setValue(key, stored);
  }

  async dispose(): Promise<void> {
    await this.inner.dispose?.();
  }
}
