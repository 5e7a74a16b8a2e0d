/** Every chart of a run, named and grouped for its page in plots/. */
import { isBaseline } from "./report";
import { modelRecords, type RunData } from "../compare";
import type { Figure } from "../core/figure";
import { BAR_METRICS, blandAltman, confusionHeatmap, metricBars, scatterPredictedVsExpected, signedErrorHistogram, type BarMetric } from "./charts";

/** One chart of a run: its figure, its page title, and its file name inside plots/ (without extension). */
export interface RunChart {
  /** File name stem in plots/ (`metric_mae`, `scatter_gpt4`, …). */
  name: string;
  title: string;
  /** Section of the index page. */
  group: string;
  /** The model of a per-model chart; null for charts of every model. */
  model: string | null;
  figure: Figure;
}

/** File-name-safe stem of a model name, unique among `used`. */
function slug(name: string, used: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "model";
  let s = base;
  for (let i = 2; used.has(s.toLowerCase()); i++) s = `${base}_${i}`;
  used.add(s.toLowerCase());
  return s;
}

/**
 * Every chart of a run: metric bars (MAE, RMSE, Acc@1, Acc@2, QWK) with CI whiskers, the signed-error
 * histogram, and per model (with at least one valid answer) the predicted-vs-expected scatter,
 * Bland–Altman plot and confusion heatmap. `withoutValid` lists models that got no per-model charts.
 */
export function runCharts(data: RunData): { charts: RunChart[]; withoutValid: string[] } {
  const models = Object.keys(data.metrics.models);
  const baselines = data.run.models.map((m) => m.name).concat(models).filter((m) => isBaseline(data.run, m));
  const charts: RunChart[] = [];
  const level = `${Math.round(data.metrics.bootstrap.level * 100)}%`;
  for (const metric of Object.keys(BAR_METRICS) as BarMetric[]) {
    charts.push({ name: `metric_${metric}`, title: `${BAR_METRICS[metric].label} per model with ${level} CI`, group: `Metrics (common images, ${level} bootstrap CIs)`, model: null, figure: metricBars(data.metrics, metric, { baselines }) });
  }
  charts.push({ name: "signed_error_histogram", title: "Signed error per model", group: "Errors of every model", model: null, figure: signedErrorHistogram(data.records, { models }) });
  const used = new Set<string>();
  const withoutValid: string[] = [];
  for (const model of models) {
    if (modelRecords(data.records, model).valid.length === 0) {
      withoutValid.push(model);
      continue;
    }
    const s = slug(model, used);
    const group = `Model ${model}`;
    const scale = data.run.scale;
    charts.push({ name: `scatter_${s}`, title: `${model}: predicted vs expected`, group, model, figure: scatterPredictedVsExpected(data.records, model, scale) });
    charts.push({ name: `bland_altman_${s}`, title: `${model}: Bland–Altman`, group, model, figure: blandAltman(data.records, model, scale) });
    charts.push({ name: `confusion_${s}`, title: `${model}: confusion of rounded scores`, group, model, figure: confusionHeatmap(data.records, model, scale) });
  }
  return { charts, withoutValid };
}
