/**
 * Training progress shared by step 2's routes (OpenAI jobs in openai/, the local Qwen2-VL LoRA in local/): the
 * points of a loss curve, the latest progress, its one-line text, and the loss curves as a Plotly figure.
 */
import * as asciichart from "asciichart";
import type { Figure } from "../core/figure";

/** The latest training progress seen (metrics events and checkpoints). */
export interface FineTuneProgress {
  step: number | null;
  total_steps: number | null;
  train_loss: number | null;
  valid_loss: number | null;
  full_valid_loss: number | null;
  train_accuracy: number | null;
  valid_accuracy: number | null;
}

export interface TrainingMetricPoint {
  step: number;
  train_loss: number | null;
  valid_loss: number | null;
  full_valid_loss: number | null;
  train_accuracy: number | null;
  valid_accuracy: number | null;
}

/** `step 120/450 (27%) · train loss 0.412 · valid loss 0.455`. */
export function formatFineTuneProgress(p: FineTuneProgress | null): string {
  if (!p || p.step === null) return "no training steps yet";
  const parts = [p.total_steps ? `step ${p.step}/${p.total_steps} (${Math.round((p.step / p.total_steps) * 100)}%)` : `step ${p.step}`];
  if (p.train_loss !== null) parts.push(`train loss ${p.train_loss.toFixed(3)}`);
  if (p.valid_loss !== null) parts.push(`valid loss ${p.valid_loss.toFixed(3)}`);
  if (p.full_valid_loss !== null) parts.push(`full valid loss ${p.full_valid_loss.toFixed(3)}`);
  return parts.join(" · ");
}

/** Train and validation loss per step (and the full validation loss where reported) as one chart. */
export function lossCurveFigure(points: TrainingMetricPoint[], title = "Fine-tuning loss"): Figure {
  const series = (k: "train_loss" | "valid_loss" | "full_valid_loss") => points.filter((p) => p[k] !== null);
  const trace = (k: "train_loss" | "valid_loss" | "full_valid_loss", name: string, style: Record<string, unknown>) => {
    const ps = series(k);
    return { type: "scatter", mode: ps.length > 30 ? "lines" : "lines+markers", name: `${name} (${ps.length} points)`, x: ps.map((p) => p.step), y: ps.map((p) => p[k]), ...style };
  };
  const data = [
    trace("train_loss", "train loss", { line: { color: "#4C78A8", width: 1.5 } }),
    trace("valid_loss", "validation loss", { line: { color: "#F58518", width: 1.5 } }),
    trace("full_valid_loss", "full validation loss", { line: { color: "#54A24B", width: 2, dash: "dot" }, mode: "lines+markers" }),
  ].filter((t) => (t.x as number[]).length > 0);
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" }, rangemode: "tozero" },
      height: 380,
      margin: { t: 50, r: 20, b: 50, l: 60 },
      legend: { orientation: "h", y: -0.2 },
    },
  };
}

/**
 * The loss curve for a terminal (asciichart): the train loss, resampled to at most `width` columns, then the
 * validation losses where they were measured (asciichart draws no gaps, so they are listed, not drawn).
 */
export function lossCurveText(points: TrainingMetricPoint[], opts: { width?: number; height?: number } = {}): string {
  const train = points.filter((p) => p.train_loss !== null);
  if (train.length < 2) return "";
  const n = Math.min(Math.max(10, opts.width ?? 60), train.length);
  const series = Array.from({ length: n }, (_, i) => train[Math.round((i * (train.length - 1)) / Math.max(1, n - 1))]!.train_loss!);
  const chart = asciichart.plot(series, { height: opts.height ?? 8, format: (x: number) => x.toFixed(3).padStart(8) });
  const valid = points.filter((p) => p.valid_loss !== null);
  const shown = valid.length > 8 ? [valid[0]!, ...valid.slice(-7)] : valid;
  const validText = shown.map((p, i) => `${i === 1 && valid.length > 8 ? "… " : ""}step ${p.step} ${p.valid_loss!.toFixed(3)}`).join(" · ");
  return [chart, `${" ".repeat(9)}train loss, step ${train[0]!.step} … ${train.at(-1)!.step}`, ...(valid.length ? [`validation loss: ${validText}`] : [])].join("\n");
}
