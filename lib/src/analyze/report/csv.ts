/** metrics.csv: one row per model (ran, then skipped), raw numbers, null where undefined. */
import { CI_METRICS, type RunData } from "../../compare";
import { writeCsv } from "../../core/atomic-output";
import { isBaseline, modelCost, ranModels, skippedModels } from "./facts";

/** Columns of metrics.csv (and the xlsx "metrics" sheet), in order. */
export const METRICS_CSV_COLUMNS = [
  "model",
  "status",
  "reason",
  "baseline",
  "model_id",
  "n",
  "valid",
  "failed",
  "coverage",
  "n_common",
  ...["mae", "rmse", "acc1", "acc2"].flatMap((m) => [m, `${m}_lo`, `${m}_hi`]),
  "median_error",
  ...["bias", "pearson", "spearman", "qwk"].flatMap((m) => [m, `${m}_lo`, `${m}_hi`]),
  "cost_usd",
  "requests",
  "cached",
  "input_tokens",
  "output_tokens",
] as const;

/** One row per model (ran, then skipped): the CSV's and the xlsx metrics sheet's rows. Raw numbers, null where undefined. */
export function metricsRows(data: RunData): Record<string, string | number | boolean | null>[] {
  const rows: Record<string, string | number | boolean | null>[] = [];
  for (const name of ranModels(data)) {
    const m = data.metrics.models[name];
    const c = data.metrics.cost?.[name];
    const row: Record<string, string | number | boolean | null> = {
      model: name,
      status: "ran",
      reason: null,
      baseline: isBaseline(data.run, name),
      model_id: data.run.models.find((x) => x.name === name)?.model_id ?? null,
      n: m.n,
      valid: m.valid,
      failed: m.failed,
      coverage: m.coverage,
      n_common: m.n_common,
      median_error: m.median_error,
      cost_usd: modelCost(data, name),
      requests: c?.requests ?? null,
      cached: c?.cached ?? null,
      input_tokens: c?.input_tokens ?? null,
      output_tokens: c?.output_tokens ?? null,
    };
    for (const metric of CI_METRICS) {
      row[metric] = m[metric];
      row[`${metric}_lo`] = m.ci95[metric]?.[0] ?? null;
      row[`${metric}_hi`] = m.ci95[metric]?.[1] ?? null;
    }
    rows.push(row);
  }
  for (const s of skippedModels(data)) {
    const row: Record<string, string | number | boolean | null> = Object.fromEntries(METRICS_CSV_COLUMNS.map((c) => [c, null]));
    Object.assign(row, { model: s.name, status: "skipped", reason: s.reason, baseline: isBaseline(data.run, s.name) });
    rows.push(row);
  }
  return rows;
}

/** Write metrics.csv. csv-stringify writes booleans as 1 / "": they are spelled out so pandas and R read them as booleans. */
export async function writeMetricsCsv(file: string, data: RunData): Promise<void> {
  const csvRows = metricsRows(data).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "boolean" ? String(v) : v])));
  await writeCsv(file, csvRows, [...METRICS_CSV_COLUMNS]);
}
