/**
 * A pair judge from any ScoreModel: each image scored alone (through the model's own response cache
 * where it has one), the higher score safer, equal scores "equal". This is how the baselines answer
 * pairs, and how an absolute-score model is judged on the pairwise protocol's own pairs.
 */
import type { PreparedImage } from "../../core/types";
import type { ScoreModel, TokenUsage } from "../../models";
import { failedJudgment, type PairJudge, type PairJudgment } from "./judge";

/** "first" / "second" / "equal" from two scores (null when either is missing). */
export function answerFromScores(first: number | null | undefined, second: number | null | undefined): PairJudgment["answer"] {
  if (first === null || first === undefined || second === null || second === undefined || !Number.isFinite(first) || !Number.isFinite(second)) return null;
  return first > second ? "first" : first < second ? "second" : "equal";
}

export class ScorePairJudge implements PairJudge {
  readonly method = "scores";
  readonly name: string;
  readonly id: string;
  readonly kind;

  constructor(private readonly model: ScoreModel) {
    this.name = model.name;
    this.id = model.id;
    this.kind = model.kind;
  }

  describe(): Record<string, unknown> {
    return { ...this.model.describe(), task: "pairwise", method: "scores" };
  }

  cacheKeyFields(): Record<string, unknown> {
    return { ...(this.model.cacheKeyFields ? this.model.cacheKeyFields() : this.model.describe()), method: "scores" };
  }

  async judge(first: PreparedImage, second: PreparedImage, opts: { signal?: AbortSignal } = {}): Promise<PairJudgment> {
    const started = performance.now();
    const [a, b] = [await this.model.predict(first, opts), await this.model.predict(second, opts)];
    const latencyMs = Math.round(performance.now() - started);
    const usage: TokenUsage | undefined =
      a.usage || b.usage ? { inputTokens: (a.usage?.inputTokens ?? 0) + (b.usage?.inputTokens ?? 0), outputTokens: (a.usage?.outputTokens ?? 0) + (b.usage?.outputTokens ?? 0) } : undefined;
    const raw = JSON.stringify({ first: a.score, second: b.score });
    const answer = answerFromScores(a.score, b.score);
    if (answer === null) return failedJudgment(a.modelId, `no score for image ${a.score === null ? "A" : "B"}: ${(a.score === null ? a.error : b.error) ?? "no score"}`, latencyMs, raw, usage);
    return { answer, raw, latencyMs, modelId: a.modelId, ...(usage ? { usage } : {}), ...(a.cached && b.cached ? { cached: true } : {}) };
  }

  async dispose(): Promise<void> {
    await this.model.dispose?.();
  }
}
