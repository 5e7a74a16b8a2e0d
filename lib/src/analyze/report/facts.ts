/** What the reports say about a run before formatting it: baselines, skipped models, warnings, per-model error summaries. */
import { isValidPrediction, latestRecords, type PredictionRecord, type RunData, type RunInfo } from "../../compare";
import { kindOfType } from "../../models";
import { fmtRate, plural } from "./format";

/** The constant baseline every comparison includes. */
export const CONSTANT_BASELINE = "mean";
/** How many best and worst images each model's section lists. */
export const BEST_WORST_COUNT = 5;

/** Is this model a baseline (by its kind in run.json, or the constant baseline's name)? */
export function isBaseline(run: RunInfo, model: string): boolean {
  const info = run.models.find((m) => m.name === model);
  if (model === CONSTANT_BASELINE) return true;
  if (info?.kind) return info.kind === "baseline";
  // A run made before run.json recorded each model's kind: its type in the settings says it.
  const type = info?.settings?.type;
  return typeof type === "string" && kindOfType(type) === "baseline";
}

/** The models that ran, in metrics.json's order. */
export function ranModels(data: RunData): string[] {
  return Object.keys(data.metrics.models);
}

/** Skipped models with reasons: metrics.json's list, plus any run.json marks skipped that it lacks. */
export function skippedModels(data: RunData): { name: string; reason: string }[] {
  const out = [...(data.metrics.skipped ?? [])];
  for (const m of data.run.models) {
    if (m.status === "skipped" && !out.some((s) => s.name === m.name)) out.push({ name: m.name, reason: m.reason ?? "no reason recorded" });
  }
  return out;
}

/** Every line that must shout: unfinished run, skipped models, incomplete coverage, missing baseline. */
export function reportWarnings(data: RunData): string[] {
  const { run, metrics } = data;
  const out: string[] = [];
  if (run.finished_at === null) out.push(`this run has not finished (run.json has no finished_at): the numbers may cover only part of it.`);
  for (const s of skippedModels(data)) out.push(`model "${s.name}" was SKIPPED and is not compared: ${s.reason}`);
  const flagged = new Set(metrics.incomplete_coverage ?? []);
  for (const [name, m] of Object.entries(metrics.models)) if (m.coverage < 1) flagged.add(name);
  for (const name of flagged) {
    const m = metrics.models[name];
    if (!m) {
      out.push(`model "${name}" has incomplete coverage (no metrics recorded).`);
      continue;
    }
    out.push(
      `model "${name}" answered ${m.valid} of ${m.n} test images (coverage ${fmtRate(m.coverage)}; ${plural(m.failed, "failure")}). ` +
        `Overall metrics use only the ${m.n_common} images every model answered.`,
    );
  }
  if (!metrics.models[CONSTANT_BASELINE] && !skippedModels(data).some((s) => s.name === CONSTANT_BASELINE)) {
    out.push(`the constant baseline "${CONSTANT_BASELINE}" is missing from this run: there is nothing to tell the models' numbers from chance level.`);
  }
  return out;
}

export interface ModelErrorSummary {
  name: string;
  total: number;
  valid: (PredictionRecord & { predicted: number })[];
  failed: PredictionRecord[];
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
}

export function summariseModel(records: PredictionRecord[], name: string): ModelErrorSummary {
  const all = records.filter((r) => r.model === name);
  const valid = all.filter(isValidPrediction);
  const abs = valid.map((r) => Math.abs(r.predicted - r.expected)).sort((a, b) => a - b);
  const n = abs.length;
  const median = n === 0 ? null : n % 2 === 1 ? abs[(n - 1) / 2] : (abs[n / 2 - 1] + abs[n / 2]) / 2;
  return {
    name,
    total: all.length,
    valid,
    failed: all.filter((r) => !isValidPrediction(r)),
    mean: n === 0 ? null : abs.reduce((s, v) => s + v, 0) / n,
    median,
    min: n === 0 ? null : abs[0],
    max: n === 0 ? null : abs[n - 1],
  };
}

/** The `count` best (smallest |error|) and worst (largest) valid answers; ties broken by image name. */
export function bestAndWorst<T extends { image: string; expected: number; predicted: number }>(valid: readonly T[], count = BEST_WORST_COUNT): { best: T[]; worst: T[] } {
  const abs = (r: T) => Math.abs(r.predicted - r.expected);
  const byName = (a: T, b: T) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0);
  const best = [...valid].sort((a, b) => abs(a) - abs(b) || byName(a, b)).slice(0, count);
  const worst = [...valid].sort((a, b) => abs(b) - abs(a) || byName(a, b)).slice(0, count);
  return { best, worst };
}

export function modelCost(data: RunData, name: string): number | null {
  const c = data.metrics.cost?.[name];
  if (c) return c.usd;
  const costs = latestRecords(data.records).filter((r) => r.model === name).map((r) => r.cost_usd);
  return costs.some((c) => c !== null) ? costs.reduce<number>((s, c) => s + (c ?? 0), 0) : null;
}

export function displayName(data: RunData, name: string): string {
  return isBaseline(data.run, name) ? `${name} (baseline)` : name;
}
