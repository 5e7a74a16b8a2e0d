/**
 * A model asked "which of these two street views looks safer?": one interface for every way of asking
 * (`PairJudge`), one answer shape (`PairJudgment`). Answers are by position — "first" is image A, shown
 * first — so the same pair asked in both orders shows the position bias (evaluate/order-bias.ts).
 * As with ScoreModel, a failure on one request is a value (`error`), never a throw.
 */
import { z } from "zod";
import type { PreparedImage } from "../../core/types";
import type { ModelKind, TokenUsage } from "../../models";
import { PAIRWISE_PROMPT_VERSION, pairwisePromptHash } from "../../prompt/pairwise";
import type { PositionAnswer } from "../evaluate/order-bias";

export interface PairProbabilities {
  /** P(image A safer), P(image B safer), P(equal), renormalised over the three answers. */
  first: number;
  second: number;
  equal: number;
}

export interface PairJudgment {
  /** null when the request failed or the reply held no clear answer. */
  answer: PositionAnswer | null;
  /** From the answer token's probabilities, where the model exposes them. */
  probabilities?: PairProbabilities;
  raw: string;
  error?: string;
  usage?: TokenUsage;
  latencyMs: number;
  cached?: boolean;
  modelId: string;
}

/**
 * How a judge is asked: `two-images` — both images in one request (the pairwise protocol); `scores` —
 * each image scored alone by a ScoreModel and the scores compared (baselines, and absolute-score models
 * judged on pairs), equal scores being "equal".
 */
export type JudgeMethod = "two-images" | "scores";

export interface PairJudge {
  readonly name: string;
  readonly id: string;
  readonly kind: ModelKind;
  readonly method: JudgeMethod;
  judge(first: PreparedImage, second: PreparedImage, opts?: { signal?: AbortSignal }): Promise<PairJudgment>;
  /** Run settings for run.json (never secrets). */
  describe(): Record<string, unknown>;
  /** The settings that change answers (the response cache keys on them). */
  cacheKeyFields(): Record<string, unknown>;
  dispose?(): Promise<void>;
}

const usageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number(), cachedInputTokens: z.number().optional() });

/** A judgment as the response cache stores it. */
export const pairJudgmentSchema = z.object({
  answer: z.enum(["first", "second", "equal"]),
  probabilities: z.object({ first: z.number(), second: z.number(), equal: z.number() }).optional(),
  raw: z.string(),
  usage: usageSchema.optional(),
  latencyMs: z.number(),
  modelId: z.string(),
});

/** A failed judgment. */
export function failedJudgment(modelId: string, error: string, latencyMs = 0, raw = "", usage?: TokenUsage): PairJudgment {
  return { answer: null, raw, error, latencyMs, modelId, ...(usage ? { usage } : {}) };
}

/**
 * A two-image judge's settings from its model's: the model's own, minus the score task's prompt and
 * scale, plus the pairwise prompt's version and hash (`describe`), or just the task (`cacheKeyFields`).
 */
export function pairwiseSettings(settings: Record<string, unknown>, what: "describe" | "cache"): Record<string, unknown> {
  const { promptVersion: _v, promptHash: _h, scale: _s, ...rest } = settings;
  return what === "cache" ? { ...rest, task: "pairwise" } : { ...rest, task: "pairwise", promptVersion: PAIRWISE_PROMPT_VERSION, promptHash: pairwisePromptHash() };
}
