/**
 * A synthetic comparison run folder (run.json, predictions.jsonl, metrics.json) for the report, chart and
 * analyze tests: 30 test images, three models that ran — "gpt4" (close to the truth, all answered),
 * "gpt4o-mini-ft" (3 failures, larger errors), the constant "mean" baseline (always 6) — and "qwen2vl-ft"
 * skipped with a reason. Metrics come from the real `compareModels`.
 * predictions.jsonl also holds a superseded failure for gpt4's first image (a resumed run's retry), so
 * readers must let the last line win.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { compareModels, errorMetrics, metricCIs } from "../../lib/src/compare/statistics";
import type { PredictionRecord, RunInfo, RunMetrics } from "../../lib/src/compare/run-folder/schema";
import type { RunData } from "../../lib/src/compare/run-folder/read";

export const SYN_SCALE = { min: 1, max: 10 };
export const SYN_N = 30;
export const SYN_MODELS = ["gpt4", "gpt4o-mini-ft", "mean"] as const;
export const SYN_SKIPPED = { name: "qwen2vl-ft", reason: "no ONNX export at models/fine_tuned_qwen2vl (run step 2 or pass --qwen2vl-dir)" };
/** gpt4o-mini-ft fails on these image indices. */
export const SYN_FAILED = [4, 11, 23];
const BOOT = { iterations: 300, seed: 7 };

export const synImage = (i: number) => `scene_${String(i + 1).padStart(3, "0")}.jpg`;

function clamp(v: number): number {
  return Math.min(SYN_SCALE.max, Math.max(SYN_SCALE.min, v));
}

export function syntheticRunData(): RunData {
  const expected = Array.from({ length: SYN_N }, (_, i) => 1 + ((i * 7) % 10));
  const noise = [0, 1, -1, 0, 2, 0, -1, 1, 0, 0, -2, 1, 0, 0, 1, -1, 0, 0, 3, 0, -1, 0, 1, 0, 0, -1, 0, 2, 0, -3];
  const preds: Record<string, (number | null)[]> = {
    gpt4: expected.map((e, i) => clamp(e + noise[i])),
    "gpt4o-mini-ft": expected.map((e, i) => (SYN_FAILED.includes(i) ? null : clamp(e + 2 * noise[(i + 5) % SYN_N] + (i % 3 === 0 ? 1 : 0)))),
    mean: expected.map(() => 6),
  };
  const metricsJson = compareModels(expected, preds, SYN_SCALE, BOOT);

  const records: PredictionRecord[] = [];
  const base = (model: string, i: number): PredictionRecord => ({
    model,
    model_id: model === "gpt4" ? "gpt-4o-2024-08-06" : model === "mean" ? "mean-baseline(5.871)" : "ft:gpt-4o-mini-2024-07-18:org:streetsafe:abc123",
    image: synImage(i),
    image_sha256: `${i.toString(16).padStart(2, "0")}`.repeat(32),
    expected: expected[i],
    predicted: null,
    expected_score: null,
    probabilities: null,
    reasons: [],
    raw: "",
    error: null,
    usage: null,
    cost_usd: null,
    latency_ms: 10 + i,
    cached: false,
    finished_at: new Date(Date.UTC(2026, 0, 5, 10, 0, i)).toISOString(),
  });
  // A superseded failure: the first attempt at gpt4's first image timed out; the resumed run answered it.
  records.push({ ...base("gpt4", 0), error: "timeout after 60 s", raw: "" });
  for (const model of SYN_MODELS) {
    for (let i = 0; i < SYN_N; i++) {
      const p = preds[model][i];
      const r = base(model, i);
      if (p === null) {
        records.push({ ...r, raw: "I cannot judge this image.", error: "no score in the reply", usage: { input_tokens: 120, output_tokens: 8 }, cost_usd: 0.0000456 });
      } else if (model === "mean") {
        records.push({ ...r, predicted: p, expected_score: 5.871, raw: String(p), reasons: ["constant baseline: the training mean 5.87"] });
      } else {
        const usage = { input_tokens: 120, output_tokens: 20 };
        records.push({ ...r, predicted: p, raw: JSON.stringify({ score: p, reasons: ["street lights", "people"] }), reasons: ["street lights", "people"], usage, cost_usd: model === "gpt4" ? 0.0005 : 0.00006 });
      }
    }
  }

  const meanExpected = expected.map(() => 5.871);
  const es = errorMetrics(expected, meanExpected);
  const esCi = metricCIs(expected, meanExpected, undefined, BOOT);
  const metrics: RunMetrics = {
    ...metricsJson,
    expected_score: {
      mean: { n: es.n, mae: es.mae, rmse: es.rmse, acc1: es.acc1, acc2: es.acc2, median_error: es.medianError, bias: es.bias, pearson: es.pearson, spearman: es.spearman, qwk: es.qwk, ci95: esCi },
    },
    cost: {
      gpt4: { usd: 0.015, requests: 30, cached: 0, input_tokens: 3600, output_tokens: 600 },
      "gpt4o-mini-ft": { usd: 0.0018, requests: 30, cached: 2, input_tokens: 3600, output_tokens: 570 },
      mean: { usd: null, requests: 0, cached: 0, input_tokens: 0, output_tokens: 0 },
    },
    skipped: [SYN_SKIPPED],
    incomplete_coverage: ["gpt4o-mini-ft"],
  };

  const run: RunInfo = {
    run_id: "20260105T100000Z",
    created_at: "2026-01-05T10:00:00.000Z",
    finished_at: "2026-01-05T10:03:12.000Z",
    command: ["compare", "--models", "gpt4", "gpt4o-mini-ft", "qwen2vl-ft"],
    test_set: { file: "data/splits/test.csv", images_dir: "data/demo/images", sha256: "ab".repeat(32), n: SYN_N, limit: null },
    scale: SYN_SCALE,
    models: [
      { name: "gpt4", status: "ran", model_id: "gpt-4o-2024-08-06", settings: { type: "openai-chat", temperature: 0 }, concurrency: 8 },
      { name: "gpt4o-mini-ft", status: "ran", model_id: "ft:gpt-4o-mini-2024-07-18:org:streetsafe:abc123", settings: { type: "openai-chat" }, concurrency: 8 },
      { name: SYN_SKIPPED.name, status: "skipped", reason: SYN_SKIPPED.reason },
      { name: "mean", status: "ran", model_id: "mean-baseline(5.871)", settings: { type: "mean", mean: 5.871 }, concurrency: 1 },
    ],
    prompt: { version: "v3", sha256: "cd".repeat(32), user_override: null },
    seed: 42,
    batch: false,
    cost_estimate_usd: { gpt4: 0.016, "gpt4o-mini-ft": 0.002, mean: null },
    max_cost_usd: null,
    versions: { streetsafe: "0.1.0", node: "v20.20.2", openai: "6.49.0" },
  };
  return { run, metrics, records };
}

/** Write the synthetic run's run.json, predictions.jsonl and metrics.json into `dir`. */
export function writeSyntheticRun(dir: string, data: RunData = syntheticRunData()): RunData {
  writeFileSync(path.join(dir, "run.json"), JSON.stringify(data.run, null, 2));
  writeFileSync(path.join(dir, "predictions.jsonl"), data.records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  writeFileSync(path.join(dir, "metrics.json"), JSON.stringify(data.metrics, null, 2));
  return data;
}
