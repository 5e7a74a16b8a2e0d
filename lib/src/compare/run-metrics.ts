/**
 * metrics.json of a run: the statistics (statistics.ts) of every model that ran on the same test images,
 * the expected-score metrics, each model's cost, and what was skipped or has incomplete coverage.
 */
import { itemKey, type PredictionRecord, type RunInfo, type RunMetrics } from "./run-folder";
import { compareModelsWith, errorMetrics, metricCIs } from "./statistics";
import type { TestItem } from "./test-set";

/** metrics.json from the records: every ran model on the same test images, in the run's model order. */
export function computeRunMetrics(items: TestItem[], records: PredictionRecord[], run: RunInfo, iterations?: number): RunMetrics {
  const ran = run.models.filter((m) => m.status === "ran").map((m) => m.name);
  const byKey = new Map(records.map((r) => [itemKey(r.model, r.image), r]));
  const expected = items.map((it) => it.score);
  const predictions = Object.fromEntries(ran.map((name) => [name, items.map((it) => byKey.get(itemKey(name, it.image))?.predicted ?? null)]));
  // The expected scores' CIs join the models' bootstrap pass where they cover the common images.
  const expectedScores = Object.fromEntries(ran.map((name) => [name, items.map((it) => byKey.get(itemKey(name, it.image))?.expected_score ?? null)]));
  const { metrics: base, extraCIs } = compareModelsWith(expected, predictions, run.scale, { seed: run.seed, iterations, extra: expectedScores });
  const common = items.map((_, i) => ran.every((n) => predictions[n][i] !== null));

  const expectedScore: RunMetrics["expected_score"] = {};
  for (const name of ran) {
    const idx = items.map((it, i) => i).filter((i) => common[i] && byKey.get(itemKey(name, items[i].image))?.expected_score != null);
    if (!idx.length) continue;
    const e = idx.map((i) => expected[i]);
    const p = idx.map((i) => byKey.get(itemKey(name, items[i].image))!.expected_score!);
    const m = errorMetrics(e, p, run.scale);
    expectedScore[name] = {
      n: m.n, mae: m.mae, rmse: m.rmse, acc1: m.acc1, acc2: m.acc2, median_error: m.medianError, bias: m.bias, pearson: m.pearson, spearman: m.spearman, qwk: m.qwk,
      ci95: (extraCIs[name] ?? metricCIs(e, p, run.scale, { seed: run.seed, iterations })) as Record<string, [number, number] | null>,
    };
  }
  const cost: RunMetrics["cost"] = {};
  for (const name of ran) {
    const rs = records.filter((r) => r.model === name);
    const priced = rs.filter((r) => r.cost_usd !== null);
    cost[name] = {
      usd: priced.length ? priced.reduce((s, r) => s + r.cost_usd!, 0) : null,
      requests: rs.filter((r) => !r.cached).length,
      cached: rs.filter((r) => r.cached).length,
      input_tokens: rs.reduce((s, r) => s + (r.usage?.input_tokens ?? 0), 0),
      output_tokens: rs.reduce((s, r) => s + (r.usage?.output_tokens ?? 0), 0),
    };
  }
  return {
    ...base,
    expected_score: expectedScore,
    cost,
    skipped: run.models.filter((m) => m.status === "skipped").map((m) => ({ name: m.name, reason: m.reason ?? "" })),
    incomplete_coverage: ran.filter((n) => base.models[n] && base.models[n].coverage < 1),
  };
}
