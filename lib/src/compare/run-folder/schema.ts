/**
 * The files of a comparison run (`results/model_comparison/<run>/`): their names, their shapes, and the
 * zod schemas the reader (read.ts) checks them with — the ONE owner of what a run folder holds. Field
 * names are snake_case: these are published files, read from Python and R as often as from here.
 */
import { z } from "zod";
import type { Scale } from "../../core/scale";
import type { ModelKind } from "../../models";
import type { MetricCIs } from "../statistics";

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
  /**
   * With an error: whether asking again later may fix it (the retry layer's attempts ran out on
   * 429/5xx, a timeout, a dropped connection or an unusable body); `compare --resume RUN --retry-failed`
   * asks these. Absent on success and in runs made before it was recorded.
   */
  error_transient?: boolean;
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
  /** What the model is (api / local / baseline); absent in runs made before it was recorded. */
  kind?: ModelKind;
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
  /** Each `--resume --retry-failed`: when, which failures, how many were asked again and how many of them are now scored. */
  retried_failed?: RetriedFailed[];
}

/** `--retry-failed`: the failures asking again may fix (default), or every failed item. */
export type RetryFailedMode = "transient" | "all";

export interface RetriedFailed {
  at: string;
  which: RetryFailedMode;
  /** Failed items asked again. */
  asked: number;
  /** Of those, how many now have a score; null when the invocation stopped before its answers were counted. */
  scored: number | null;
}

/** Point metrics as written to metrics.json (snake_case; null where undefined or no images). */
export interface MetricsJsonPoint {
  n: number;
  mae: number | null;
  rmse: number | null;
  acc1: number | null;
  acc2: number | null;
  median_error: number | null;
  bias: number | null;
  pearson: number | null;
  spearman: number | null;
  qwk: number | null;
}

/** One model's entry in metrics.json. */
export interface ModelMetricsJson extends Omit<MetricsJsonPoint, "n"> {
  /** All test images the model was asked about (= n_images); valid + failed = n. */
  n: number;
  /** Images with a usable (finite) score. */
  valid: number;
  /** Images without one (null / not a number). */
  failed: number;
  /** valid / n, in [0, 1]. */
  coverage: number;
  /** Images the point metrics and ci95 are computed on: the common set every model answered. */
  n_common: number;
  /** 95% percentile bootstrap CIs on the common set. */
  ci95: MetricCIs;
  /** The same point metrics on this model's own valid images (for transparency; not comparable across models). */
  on_own_valid: MetricsJsonPoint;
}

/** One pair of models in metrics.json. */
export interface PairedComparisonJson {
  a: string;
  b: string;
  /** Images in the common set. */
  n: number;
  /** MAE(a) − MAE(b) on the common set (points); > 0 means a errs more than b. */
  mae_diff: number | null;
  /** 95% paired bootstrap percentile CI of mae_diff. */
  ci95: [number, number] | null;
  /** Rough paired-bootstrap two-sided p-value of mae_diff (see `pairedBootstrapDiff`). */
  p_bootstrap: number | null;
  /** Wilcoxon signed-rank test on |err_a| vs |err_b| per image; null when the common set is empty. */
  wilcoxon: {
    /** W+ (R's V): rank sum of images where a's absolute error is larger. */
    statistic: number;
    z: number;
    p_value: number;
    /** Holm-adjusted p-value across all pairs of this comparison. */
    p_value_holm: number;
    method: "exact" | "normal";
    /** Images where the two absolute errors differ (ties dropped). */
    n_nonzero: number;
  } | null;
}

/** The metrics.json document (see DESIGN.md "Contracts"). */
export interface MetricsJson {
  n_images: number;
  models: Record<string, ModelMetricsJson>;
  paired: PairedComparisonJson[];
  common: { n: number };
  /** How the intervals and bootstrap p-values were made, so a reader can reproduce them. */
  bootstrap: { iterations: number; seed: number; level: number; method: "percentile" };
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

// ───────────────────────────── schemas (what the reader checks) ─────────────────────────────

const num = z.number();
const numOrNull = z.number().nullable();
const interval = z.tuple([z.number(), z.number()]).nullable();

const ScaleSchema = z.object({ min: num, max: num });

const RunModelInfoSchema = z.object({
  name: z.string(),
  status: z.enum(["ran", "skipped"]),
  kind: z.enum(["api", "local", "baseline"]).optional(),
  reason: z.string().optional(),
  model_id: z.string().optional(),
  settings: z.record(z.unknown()).optional(),
  concurrency: num.optional(),
});

/** run.json. The fields a run has always had come first (errors list them in this order); later additions default. */
export const RunInfoSchema: z.ZodType<RunInfo, z.ZodTypeDef, unknown> = z.object({
  run_id: z.string(),
  models: z.array(RunModelInfoSchema),
  test_set: z.object({ file: z.string(), sheet: z.string().optional(), images_dir: z.string(), sha256: z.string(), n: num, limit: numOrNull.default(null) }),
  scale: ScaleSchema,
  prompt: z.object({ version: z.string(), sha256: z.string(), user_override: z.string().nullable().default(null) }),
  versions: z.record(z.string()),
  command: z.array(z.string()),
  created_at: z.string(),
  finished_at: z.string().nullable().default(null),
  seed: num,
  batch: z.boolean().default(false),
  cost_estimate_usd: z.record(numOrNull).default({}),
  max_cost_usd: numOrNull.default(null),
  retried_failed: z.array(z.object({ at: z.string(), which: z.enum(["transient", "all"]), asked: num, scored: numOrNull })).optional(),
});

const ciSchema = z.object({ mae: interval, rmse: interval, acc1: interval, acc2: interval, bias: interval, pearson: interval, spearman: interval, qwk: interval });
const pointShape = {
  n: num,
  mae: numOrNull,
  rmse: numOrNull,
  acc1: numOrNull,
  acc2: numOrNull,
  median_error: numOrNull,
  bias: numOrNull,
  pearson: numOrNull,
  spearman: numOrNull,
  qwk: numOrNull,
};
const PointSchema = z.object(pointShape);
const ModelMetricsSchema = z.object({ ...pointShape, valid: num, failed: num, coverage: num, n_common: num, ci95: ciSchema, on_own_valid: PointSchema });
const PairedSchema = z.object({
  a: z.string(),
  b: z.string(),
  n: num,
  mae_diff: numOrNull,
  ci95: interval,
  p_bootstrap: numOrNull,
  wilcoxon: z.object({ statistic: num, z: num, p_value: num, p_value_holm: num, method: z.enum(["exact", "normal"]), n_nonzero: num }).nullable(),
});

/** metrics.json. The statistics come first; the run-level additions default (older or partial files lack them). */
export const RunMetricsSchema: z.ZodType<RunMetrics, z.ZodTypeDef, unknown> = z.object({
  n_images: num,
  models: z.record(ModelMetricsSchema),
  paired: z.array(PairedSchema),
  common: z.object({ n: num }),
  bootstrap: z.object({ iterations: num, seed: num, level: num, method: z.literal("percentile") }),
  expected_score: z.record(PointSchema.extend({ ci95: z.record(interval) })).default({}),
  cost: z.record(z.object({ usd: numOrNull, requests: num, cached: num, input_tokens: num, output_tokens: num })).default({}),
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })).default([]),
  incomplete_coverage: z.array(z.string()).default([]),
});

/** What every predictions.jsonl line must have to be read at all (the rest is taken as written). */
export const PredictionLineSchema = z.object({ model: z.string(), image: z.string(), expected: z.number() }).passthrough();
