/** One answer as a line of predictions.jsonl, priced (a cached answer costs nothing in this run). */
import type { Prediction, ScoreModel } from "../../models";
import { answerCost } from "../../openai/prices";
import type { PredictionRecord } from "../run-folder";
import type { TestItem } from "../test-set";

/** `batch`: priced at Batch API rates. */
export function predictionRecord(m: ScoreModel, item: TestItem, sha: string, p: Prediction, batch = false): PredictionRecord {
  const usage = p.usage ? { input_tokens: p.usage.inputTokens, output_tokens: p.usage.outputTokens, ...(p.usage.cachedInputTokens !== undefined ? { cached_input_tokens: p.usage.cachedInputTokens } : {}) } : null;
  return {
    model: m.name,
    model_id: p.modelId,
    image: item.image,
    image_sha256: sha,
    expected: item.score,
    predicted: p.score,
    expected_score: p.expectedScore ?? null,
    probabilities: p.probabilities ? Object.fromEntries(Object.entries(p.probabilities).map(([k, v]) => [String(k), v])) : null,
    reasons: p.reasons,
    raw: p.raw,
    error: p.error ?? null,
    ...(p.error !== undefined ? { error_transient: !!p.transient } : {}),
    usage,
    // A cached answer costs nothing in this run.
    cost_usd: p.cached ? 0 : answerCost(p.modelId, p.usage, batch),
    latency_ms: Math.round(p.latencyMs),
    cached: !!p.cached,
    finished_at: new Date().toISOString(),
  };
}
