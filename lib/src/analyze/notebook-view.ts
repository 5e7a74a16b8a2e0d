/** What notebooks 04 and 05 show of a run: a summary table, paired tests, takeaways, the worst images. */
import path from "node:path";
import { thumbnailsHtml } from "../core/display";
import { resolveProjectPath } from "../core/project-path";
import { prepareImage } from "../core/image";
import { latestRecords, type RunData } from "../compare";
import { bestAndWorst, isBaseline } from "./report";

/** Each pair of models: MAE difference with its paired-bootstrap CI and the Wilcoxon test. */
export function pairedRows(data: RunData): Record<string, unknown>[] {
  return data.metrics.paired.map((p) => ({
    a: p.a,
    b: p.b,
    n: p.n,
    mae_diff: p.mae_diff,
    ci95_lo: p.ci95?.[0] ?? null,
    ci95_hi: p.ci95?.[1] ?? null,
    wilcoxon_p: p.wilcoxon?.p_value ?? null,
    wilcoxon_p_holm: p.wilcoxon?.p_value_holm ?? null,
  }));
}

/**
 * Plain statements a reader can check against the tables: the lowest MAE, whether each model beats the
 * constant baseline beyond chance (the paired CI of the MAE difference excludes 0), coverage gaps, skips.
 */
export function takeaways(data: RunData): string[] {
  const m = data.metrics;
  const ran = Object.keys(m.models);
  const out: string[] = [];
  const withMae = ran.filter((n) => m.models[n].mae !== null).sort((a, b) => m.models[a].mae! - m.models[b].mae!);
  if (withMae.length) {
    const best = withMae[0];
    const ci = m.models[best].ci95.mae;
    out.push(`Lowest MAE on the ${m.common.n} images every model answered: **${best}**, ${m.models[best].mae!.toFixed(2)}${ci ? ` (95% CI ${ci[0].toFixed(2)}–${ci[1].toFixed(2)})` : ""}.`);
  }
  for (const name of ran.filter((n) => n !== "mean")) {
    const pair = m.paired.find((p) => (p.a === name && p.b === "mean") || (p.a === "mean" && p.b === name));
    if (!pair?.ci95 || pair.mae_diff === null) continue;
    // mae_diff = MAE(a) − MAE(b): orient it as (model − mean).
    const sign = pair.a === name ? 1 : -1;
    const [lo, hi] = [pair.ci95[0] * sign, pair.ci95[1] * sign].sort((x, y) => x - y);
    const verdict = hi < 0 ? "beats the constant baseline (the CI of the MAE difference is below 0)" : lo > 0 ? "is worse than the constant baseline" : "is not distinguishable from the constant baseline on this test set (the CI of the MAE difference includes 0)";
    out.push(`**${name}** ${verdict}: MAE difference ${(pair.mae_diff * sign).toFixed(2)} [${lo.toFixed(2)}, ${hi.toFixed(2)}].`);
  }
  for (const name of m.incomplete_coverage) out.push(`⚠ **${name}** answered ${m.models[name].valid} of ${m.models[name].n} images; its failures are in predictions.jsonl with their errors.`);
  for (const s of m.skipped) out.push(`Not compared: **${s.name}** — ${s.reason}.`);
  if (m.common.n < 30) out.push(`Only ${m.common.n} test images: intervals are wide; a larger test split narrows them.`);
  return out;
}

/** The model to look at in the error analysis: the best non-baseline model, else the best one. */
export function focusModel(data: RunData): string | null {
  const ran = Object.keys(data.metrics.models).filter((n) => data.metrics.models[n].mae !== null);
  const sorted = ran.sort((a, b) => data.metrics.models[a].mae! - data.metrics.models[b].mae!);
  return sorted.find((n) => !isBaseline(data.run, n)) ?? sorted[0] ?? null;
}

/** The images a model got most wrong, as thumbnails captioned with human and model score. */
export async function worstImagesHtml(data: RunData, model: string, count = 6): Promise<string> {
  const valid = latestRecords(data.records)
    .filter((r) => r.model === model && r.predicted !== null)
    .map((r) => ({ image: r.image, expected: r.expected, predicted: r.predicted as number }));
  const { worst } = bestAndWorst(valid, count);
  const dir = resolveProjectPath(data.run.test_set.images_dir);
  const cards = await Promise.all(
    worst.map(async (w) => ({
      jpeg: (await prepareImage(path.join(dir, w.image), { maxSide: 240 })).jpeg,
      caption: `${w.image}: human ${w.expected}, ${model} ${w.predicted}`,
    })),
  );
  return thumbnailsHtml(cards, 200);
}

/** One readable row per model (ran models first): coverage, the main metrics with their CIs, cost. */
export function summaryRows(data: RunData): Record<string, unknown>[] {
  const m = data.metrics;
  const ci = (v: [number, number] | null | undefined) => (v ? `[${v[0].toFixed(2)}, ${v[1].toFixed(2)}]` : "");
  const ran = Object.entries(m.models).map(([name, x]) => ({
    model: name + (isBaseline(data.run, name) ? " (baseline)" : ""),
    valid: `${x.valid}/${x.n}`,
    mae: x.mae,
    mae_ci95: ci(x.ci95.mae),
    rmse: x.rmse,
    acc1: x.acc1,
    acc2: x.acc2,
    qwk: x.qwk,
    bias: x.bias,
    cost_usd: m.cost[name]?.usd ?? null,
  }));
  const skipped = m.skipped.map((s) => ({ model: `${s.name} (skipped)`, valid: "—", mae: null, mae_ci95: s.reason, rmse: null, acc1: null, acc2: null, qwk: null, bias: null, cost_usd: null }));
  return [...ran, ...skipped];
}
