/**
 * The local Qwen2-VL pair judge: both images in one prompt through the model's `generate({ images,
 * messages })` (image A first), the pairwise prompt as chat parts, the reply read by the same strict
 * parser as the API models' (a reply without a clear answer is a failure, never a guess). Greedy
 * decoding, one generation at a time (the model serialises its calls). No answer probabilities yet:
 * the local model's logits hook reads score digits, not the answer word.
 */
import type { PreparedImage } from "../../core/types";
import type { LocalQwen2VLModel } from "../../models";
import type { ChatMessage } from "../../models/qwen2vl";
import { pairwiseSystemPrompt, pairwiseUserParts, parsePairAnswer } from "../../prompt/pairwise";
import { failedJudgment, pairwiseSettings, type PairJudge, type PairJudgment } from "./judge";

const POSITION = { A: "first", B: "second", equal: "equal" } as const;

/** The pairwise prompt as Qwen2-VL chat messages (one image part per image, A then B). */
export function qwenPairMessages(): ChatMessage[] {
  return [
    { role: "system", content: pairwiseSystemPrompt() },
    { role: "user", content: pairwiseUserParts().map((p) => (p.type === "text" ? p : { type: "image" as const })) },
  ];
}

export class QwenPairJudge implements PairJudge {
  readonly kind = "local";
  readonly method = "two-images";
  readonly name: string;
  readonly id: string;

  constructor(private readonly model: LocalQwen2VLModel) {
    this.name = model.name;
    this.id = model.id;
  }

  describe(): Record<string, unknown> {
    return pairwiseSettings(this.model.describe(), "describe");
  }

  cacheKeyFields(): Record<string, unknown> {
    return pairwiseSettings(this.model.describe(), "cache");
  }

  async judge(first: PreparedImage, second: PreparedImage, opts: { signal?: AbortSignal } = {}): Promise<PairJudgment> {
    const started = performance.now();
    try {
      const g = await this.model.generate({ images: [first, second], messages: qwenPairMessages(), ...(opts.signal ? { signal: opts.signal } : {}) });
      const latencyMs = Math.round(performance.now() - started);
      const parsed = parsePairAnswer(g.reply);
      if (!parsed.ok) return failedJudgment(this.id, `no valid answer in the reply: ${parsed.reason}${g.cut ? " (the reply was cut at the token limit)" : ""}`, latencyMs, g.reply, g.usage);
      return { answer: POSITION[parsed.answer], raw: g.reply, latencyMs, modelId: this.id, usage: g.usage };
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      return failedJudgment(this.id, (e as Error).message, Math.round(performance.now() - started));
    }
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
