/**
 * The files of a comparison run (`results/model_comparison/<run>/`), as other parts read them.
 * Field names are snake_case: these are published files, read from Python and R as often as from here.
 */
import type { MetricsJson, MetricsJsonPoint } from "../metrics";
import type { Scale } from "../core/scale";

/** One line of predictions.jsonl: one model's answer for one test image. */
export interface PredictionRecord {
  /** Config name (e.g. "gpt4"). */
  model: string;
  /** Resolved model id that answered. */
  model_id: string;
  /** Image path relative to the run's images folder. */
  image: string;
  image_sha256: string;
  /** Human ground-truth score. */
  expected: number;
  /** The model's integer score; null when it failed or gave no clear score. */
  predicted: number | null;
  /** Σ p(k)·k from token probabilities, where the model exposes them. */
  expected_score: number | null;
  probabilities: Record<string, number> | null;
  reasons: string[];
  raw: string;
  /** Why `predicted` is null; null on success. */
  error: string | null;
  usage: { input_tokens: number; output_tokens: number; cached_input_tokens?: number } | null;
  /** USD from usage × the dated price table; null when the model has no price (local, unknown server). */
  cost_usd: number | null;
  latency_ms: number;
  /** Served from the response cache (no request, no cost this run). */
  cached: boolean;
  finished_at: string;
}

export interface RunModelInfo {
  name: string;
  status: "ran" | "skipped";
  /** Why a skipped model could not run (no key, no weights, …). */
  reason?: string;
  model_id?: string;
  settings?: Record<string, unknown>;
  concurrency?: number;
}

/** run.json: everything needed to reproduce the run's numbers. */
export interface RunInfo {
  run_id: string;
  created_at: string;
  finished_at: string | null;
  /** argv of the command that made (or last resumed) the run. */
  command: string[];
  test_set: { file: string; sheet?: string; images_dir: string; sha256: string; n: number; limit: number | null };
  scale: Scale;
  models: RunModelInfo[];
  prompt: { version: string; sha256: string; user_override: string | null };
  seed: number;
  batch: boolean;
  /** Pre-run estimate per model (USD; null where unpriced). */
  cost_estimate_usd: Record<string, number | null>;
  max_cost_usd: number | null;
  versions: Record<string, string>;
}

/** metrics.json: the statistics module's output plus cost and expected-score metrics. */
export interface RunMetrics extends MetricsJson {
  /** Metrics of the probability-based expected score, per model that exposes it, on the common images where it has one. */
  expected_score: Record<string, MetricsJsonPoint & { ci95: Record<string, [number, number] | null> }>;
  cost: Record<string, { usd: number | null; requests: number; cached: number; input_tokens: number; output_tokens: number }>;
  skipped: { name: string; reason: string }[];
  /** Models whose coverage is below 100%: flagged in every report. */
  incomplete_coverage: string[];
}

export const RUN_FILES = {
  run: "run.json",
  predictions: "predictions.jsonl",
  metrics: "metrics.json",
  metricsCsv: "metrics.csv",
  metricsXlsx: "metrics.xlsx",
  reportMd: "report.md",
  reportTxt: "report.txt",
  plots: "plots",
} as const;
