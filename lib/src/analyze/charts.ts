/**
 * Plotly figure specs of a comparison run (data + layout only; core/display.ts and pages.ts render them).
 *
 * Conventions (the same as compare/statistics.ts, so a chart never disagrees with a report):
 * - error = predicted − expected, in points of the score scale; > 0 means the model rates safer than humans.
 * - Only valid predictions (a finite `predicted`) are drawn; every title says how many that is.
 * - Rates (acc1, acc2) stay shares in [0, 1]; the axis shows them as percentages.
 * - Rounding to categories is `Math.round` (halves go up), as in the quadratic weighted kappa.
 * - A run folder's predictions.jsonl may hold more than one line for a model and image (a resumed run
 *   retrying a failure): the last line wins, as everywhere that reads a run.
 */
import type { Figure } from "../core/figure";
import { isValidPrediction, latestRecords, modelRecords, recordModels, type MetricsJson, type PredictionRecord } from "../compare";
import { DEFAULT_SCALE, type Scale } from "../core/scale";

/** Metrics `metricBars` can draw, with their labels and units. */
export const BAR_METRICS = {
  mae: { label: "MAE", axis: "mean absolute error (points)", rate: false, better: "lower" },
  rmse: { label: "RMSE", axis: "root mean squared error (points)", rate: false, better: "lower" },
  acc1: { label: "Acc@1", axis: "share with |error| ≤ 1", rate: true, better: "higher" },
  acc2: { label: "Acc@2", axis: "share with |error| ≤ 2", rate: true, better: "higher" },
  qwk: { label: "QWK", axis: "quadratic weighted kappa", rate: false, better: "higher" },
} as const;
export type BarMetric = keyof typeof BAR_METRICS;

/** Bar colours: models in order; baselines grey so the eye finds what must be beaten. */
const PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D"];
const BASELINE_COLOUR = "#9E9E9E";
/** Model names treated as baselines when the caller does not say (the always-added constant baseline). */
export const DEFAULT_BASELINES: readonly string[] = ["mean"];

const BASE_LAYOUT = { height: 460, margin: { t: 70, r: 30, b: 70, l: 70 }, hovermode: "closest" } as const;

function fmt(v: number, digits: number): string {
  return (Object.is(v, -0) ? 0 : v).toFixed(digits);
}

function validOf(valid: number, total: number): string {
  return `n=${valid} valid of ${total}`;
}

function scaleRange(scale: Scale): [number, number] {
  return [scale.min - 0.5, scale.max + 0.5];
}

function scaleTicks(scale: Scale): number[] {
  const out: number[] = [];
  for (let s = scale.min; s <= scale.max; s++) out.push(s);
  return out;
}

/**
 * One bar per model with its 95% bootstrap CI as an asymmetric whisker (error_y from `ci95`), on the
 * common images every model answered (`metrics.common.n`). A model whose value or interval is undefined
 * (e.g. QWK of a constant baseline on constant truth) gets no bar / no whisker and says so on hover.
 */
export function metricBars(metrics: MetricsJson, metric: BarMetric, opts: { baselines?: readonly string[] } = {}): Figure {
  const info = BAR_METRICS[metric];
  const baselines = new Set(opts.baselines ?? DEFAULT_BASELINES);
  const names = Object.keys(metrics.models);
  const values = names.map((n) => metrics.models[n][metric]);
  const cis = names.map((n) => metrics.models[n].ci95[metric]);
  const digits = info.rate ? 3 : metric === "qwk" ? 3 : 2;
  const show = (v: number) => (info.rate ? `${fmt(100 * v, 1)}%` : fmt(v, digits));
  const hover = names.map((n, i) => {
    const v = values[i];
    const ci = cis[i];
    const m = metrics.models[n];
    return `${n}: ${v === null ? "undefined" : show(v)}${ci ? ` [${show(ci[0])}, ${show(ci[1])}]` : " (no CI)"}<br>valid ${m.valid}/${m.n}`;
  });
  let colour = 0;
  const colours = names.map((n) => (baselines.has(n) ? BASELINE_COLOUR : PALETTE[colour++ % PALETTE.length]));
  const level = Math.round(metrics.bootstrap.level * 100);
  return {
    data: [
      {
        type: "bar",
        name: info.label,
        x: names,
        y: values,
        marker: { color: colours },
        error_y: {
          type: "data",
          symmetric: false,
          array: values.map((v, i) => (v === null || !cis[i] ? null : cis[i]![1] - v)),
          arrayminus: values.map((v, i) => (v === null || !cis[i] ? null : v - cis[i]![0])),
          visible: true,
          thickness: 1.5,
          width: 6,
          color: "#333",
        },
        hovertext: hover,
        hoverinfo: "text",
      },
    ],
    layout: {
      ...BASE_LAYOUT,
      title: {
        text: `${info.label} per model (${info.better} is better), n=${metrics.common.n} images every model answered<br><sub>whiskers: ${level}% bootstrap CI, ${metrics.bootstrap.iterations} resamples of images, seed ${metrics.bootstrap.seed}</sub>`,
      },
      xaxis: { title: { text: "model" }, type: "category" },
      yaxis: { title: { text: info.axis }, rangemode: "tozero", ...(info.rate ? { tickformat: ".0%", range: [0, 1.05] } : {}) },
      showlegend: false,
    },
  };
}

/**
 * Predicted vs expected score of one model's valid predictions, one point per image (no jitter: the
 * positions are the scores; overlapping points show as darker marks and hover lists the image), with the
 * y = x line of perfect agreement across the scale.
 */
export function scatterPredictedVsExpected(records: readonly PredictionRecord[], model: string, scale: Scale = DEFAULT_SCALE): Figure {
  const { all, valid } = modelRecords(records, model);
  const [lo, hi] = scaleRange(scale);
  return {
    data: [
      {
        type: "scatter",
        mode: "markers",
        name: `${model} (${validOf(valid.length, all.length)})`,
        x: valid.map((r) => r.expected),
        y: valid.map((r) => r.predicted),
        text: valid.map((r) => r.image),
        hovertemplate: "%{text}<br>expected %{x}, predicted %{y}<extra></extra>",
        marker: { size: 9, opacity: 0.45, color: PALETTE[0], line: { width: 0.5, color: "#1f3b5a" } },
      },
      {
        type: "scatter",
        mode: "lines",
        name: "y = x (perfect agreement)",
        x: [lo, hi],
        y: [lo, hi],
        line: { dash: "dash", color: "#666", width: 1.5 },
        hoverinfo: "skip",
      },
    ],
    layout: {
      ...BASE_LAYOUT,
      height: 520,
      title: { text: `${model}: predicted vs expected score (${validOf(valid.length, all.length)})` },
      // constrain "domain": keeping the square aspect shrinks the plot area, never widens the range.
      xaxis: { title: { text: "expected (human) score" }, range: [lo, hi], dtick: 1, zeroline: false, constrain: "domain" },
      yaxis: { title: { text: "predicted score" }, range: [lo, hi], dtick: 1, zeroline: false, scaleanchor: "x", scaleratio: 1, constrain: "domain" },
      legend: { orientation: "h", y: -0.18 },
    },
  };
}

/** Counts of signed errors per bin: bins 1 point wide on integers, or 0.5 when some error is fractional. */
export function errorBins(errorsByModel: readonly (readonly number[])[]): { size: number; centres: number[]; counts: number[][] } {
  const all = errorsByModel.flat();
  const size = all.every((e) => Number.isInteger(e)) ? 1 : 0.5;
  const bin = (e: number) => Math.round(e / size); // bin index; halves go up, as Math.round everywhere here
  // Loops, not Math.min(...all): spreading a long array overflows the call stack.
  let lo = 0;
  let hi = 0;
  for (const e of all) {
    lo = Math.min(lo, bin(e));
    hi = Math.max(hi, bin(e));
  }
  const centres: number[] = [];
  for (let b = lo; b <= hi; b++) centres.push(b * size);
  const counts = errorsByModel.map((errors) => {
    const c = new Array<number>(centres.length).fill(0);
    for (const e of errors) c[bin(e) - lo]++;
    return c;
  });
  return { size, centres, counts };
}

/**
 * Histogram of signed errors (predicted − expected), grouped bars with one trace per model, each over
 * its own valid predictions; bins 1 point wide centred on integers (0.5 when some error is fractional).
 */
export function signedErrorHistogram(records: readonly PredictionRecord[], opts: { models?: readonly string[] } = {}): Figure {
  const models = opts.models ?? recordModels(records);
  const latest = latestRecords(records);
  const series = models.map((m) => {
    const all = latest.filter((r) => r.model === m);
    const valid = all.filter(isValidPrediction);
    return { model: m, total: all.length, errors: valid.map((r) => r.predicted - r.expected) };
  });
  const { size, centres, counts } = errorBins(series.map((s) => s.errors));
  const totalValid = series.reduce((n, s) => n + s.errors.length, 0);
  return {
    data: series.map((s, i) => ({
      type: "bar",
      name: `${s.model} (${validOf(s.errors.length, s.total)})`,
      x: centres,
      y: counts[i],
      marker: { color: PALETTE[i % PALETTE.length] },
      hovertemplate: `${s.model}<br>error %{x}: %{y} images<extra></extra>`,
    })),
    layout: {
      ...BASE_LAYOUT,
      barmode: "group",
      bargap: 0.15,
      title: { text: `Signed error (predicted − expected) per model, valid predictions only (n=${totalValid} in all)<br><sub>&lt; 0: the model rates less safe than humans; &gt; 0: safer</sub>` },
      xaxis: { title: { text: "predicted − expected (points)" }, dtick: size, zeroline: false },
      yaxis: { title: { text: "images" } },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1, line: { color: "#333", width: 1, dash: "dot" } }],
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/** Bland–Altman statistics of one model: bias and 95% limits of agreement (sample sd, n − 1). */
export interface BlandAltmanStats {
  n: number;
  /** Mean of predicted − expected (points). */
  bias: number | null;
  /** Sample standard deviation of the differences; null for n < 2. */
  sd: number | null;
  /** bias ± 1.96·sd; null for n < 2. */
  limits: [number, number] | null;
}

export function blandAltmanStats(differences: readonly number[]): BlandAltmanStats {
  const n = differences.length;
  if (n === 0) return { n, bias: null, sd: null, limits: null };
  const bias = differences.reduce((s, d) => s + d, 0) / n;
  if (n < 2) return { n, bias, sd: null, limits: null };
  const sd = Math.sqrt(differences.reduce((s, d) => s + (d - bias) ** 2, 0) / (n - 1));
  return { n, bias, sd, limits: [bias - 1.96 * sd, bias + 1.96 * sd] };
}

/**
 * Bland–Altman plot of one model: x = mean of expected and predicted, y = predicted − expected, with
 * the bias (mean difference) and the 95% limits of agreement bias ± 1.96·sd as horizontal lines.
 */
export function blandAltman(records: readonly PredictionRecord[], model: string, scale: Scale = DEFAULT_SCALE): Figure {
  const { all, valid } = modelRecords(records, model);
  const diffs = valid.map((r) => r.predicted - r.expected);
  const stats = blandAltmanStats(diffs);
  const [lo, hi] = scaleRange(scale);
  const hline = (y: number, name: string, dash: string, color: string) => ({
    type: "scatter",
    mode: "lines",
    name,
    x: [lo, hi],
    y: [y, y],
    line: { dash, color, width: 1.5 },
    hoverinfo: "name",
  });
  const lines = [];
  if (stats.bias !== null) lines.push(hline(stats.bias, `bias ${signed(stats.bias)}`, "solid", "#E45756"));
  if (stats.limits) {
    lines.push(hline(stats.limits[1], `upper limit of agreement ${signed(stats.limits[1])} (bias + 1.96 sd)`, "dash", "#888"));
    lines.push(hline(stats.limits[0], `lower limit of agreement ${signed(stats.limits[0])} (bias − 1.96 sd)`, "dash", "#888"));
  }
  const sub = stats.sd === null ? "" : `<br><sub>bias ${signed(stats.bias!)}, sd ${fmt(stats.sd, 2)}, 95% limits of agreement [${fmt(stats.limits![0], 2)}, ${fmt(stats.limits![1], 2)}]</sub>`;
  return {
    data: [
      {
        type: "scatter",
        mode: "markers",
        name: `${model} (${validOf(valid.length, all.length)})`,
        x: valid.map((r) => (r.expected + r.predicted) / 2),
        y: diffs,
        text: valid.map((r) => `${r.image}<br>expected ${r.expected}, predicted ${r.predicted}`),
        hovertemplate: "%{text}<extra></extra>",
        marker: { size: 9, opacity: 0.45, color: PALETTE[0] },
      },
      ...lines,
    ],
    layout: {
      ...BASE_LAYOUT,
      height: 500,
      title: { text: `${model}: Bland–Altman (${validOf(valid.length, all.length)})${sub}` },
      xaxis: { title: { text: "mean of expected and predicted" }, range: [lo, hi], dtick: 1 },
      yaxis: { title: { text: "predicted − expected (points)" }, zeroline: true },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

function signed(v: number): string {
  const s = fmt(v, 2);
  return v > 0 && s !== "0.00" ? `+${s}` : s;
}

/** Counts of (rounded expected, rounded predicted) over the scale: z[row = expected][col = predicted]. */
export function confusionCounts(valid: readonly { expected: number; predicted: number }[], scale: Scale): { categories: number[]; z: number[][] } {
  const categories = scaleTicks(scale);
  const k = categories.length;
  const z = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const clamp = (v: number) => Math.min(scale.max, Math.max(scale.min, Math.round(v))) - scale.min;
  for (const r of valid) z[clamp(r.expected)][clamp(r.predicted)]++;
  return { categories, z };
}

/**
 * Confusion heatmap of rounded scores for one model's valid predictions: rows expected (human),
 * columns predicted, each cell the number of images, printed in the cell.
 */
export function confusionHeatmap(records: readonly PredictionRecord[], model: string, scale: Scale = DEFAULT_SCALE): Figure {
  const { all, valid } = modelRecords(records, model);
  const { categories, z } = confusionCounts(valid, scale);
  const exact = categories.reduce((s, _, i) => s + z[i][i], 0);
  return {
    data: [
      {
        type: "heatmap",
        x: categories,
        y: categories,
        z,
        colorscale: [
          [0, "#f7fbff"],
          [1, "#08306b"],
        ],
        zmin: 0,
        texttemplate: "%{z}",
        hovertemplate: "expected %{y}, predicted %{x}: %{z} images<extra></extra>",
        colorbar: { title: { text: "images" } },
        xgap: 1,
        ygap: 1,
      },
    ],
    layout: {
      ...BASE_LAYOUT,
      height: 540,
      title: { text: `${model}: confusion of rounded scores (${validOf(valid.length, all.length)}; ${exact} exact)` },
      xaxis: { title: { text: "predicted score (rounded)" }, dtick: 1, type: "linear", constrain: "domain" },
      yaxis: { title: { text: "expected (human) score (rounded)" }, dtick: 1, type: "linear", scaleanchor: "x", scaleratio: 1, constrain: "domain" },
    },
  };
}
