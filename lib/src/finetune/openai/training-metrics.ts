/**
 * Training progress of a fine-tuning job: points (step, train/valid loss, accuracies) from metrics events,
 * checkpoints and the result file (CSV: step, train_loss, train_accuracy, valid_loss,
 * valid_mean_token_accuracy, …), a one-line progress text, and the loss curves as a Plotly figure.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { FineTuningJobEvent } from "openai/resources/fine-tuning/jobs/jobs";
import type { FineTuningJobCheckpoint } from "openai/resources/fine-tuning/jobs/checkpoints";
import type { Figure } from "../../core/figure";
import { formatFineTuneProgress, lossCurveFigure, type FineTuneProgress, type TrainingMetricPoint } from "../training-progress";
import { fineTuneDir, fineTuneRecordPath, readFineTuneRecord } from "./record";

export { formatFineTuneProgress, lossCurveFigure, type TrainingMetricPoint };

function num(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function pick(o: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = num(o[k]);
    if (v !== null) return v;
  }
  return null;
}

function pointFrom(o: Record<string, unknown>, step: number): TrainingMetricPoint {
  return {
    step,
    train_loss: pick(o, "train_loss"),
    valid_loss: pick(o, "valid_loss"),
    full_valid_loss: pick(o, "full_valid_loss"),
    train_accuracy: pick(o, "train_accuracy", "train_mean_token_accuracy"),
    valid_accuracy: pick(o, "valid_mean_token_accuracy", "valid_accuracy"),
  };
}

/** A metrics event → its point and the total steps it names; null for other events. */
export function metricsFromEvent(e: Pick<FineTuningJobEvent, "type" | "data" | "message">): { point: TrainingMetricPoint; totalSteps: number | null } | null {
  const data = (e.data && typeof e.data === "object" ? e.data : {}) as Record<string, unknown>;
  const fromMessage = /\bstep\s+(\d+)\s*\/\s*(\d+)/i.exec(e.message ?? "");
  const step = num(data["step"]) ?? (fromMessage ? Number(fromMessage[1]) : null);
  if (step === null || (e.type !== "metrics" && num(data["train_loss"]) === null)) return null;
  const totalSteps = num(data["total_steps"]) ?? (fromMessage ? Number(fromMessage[2]) : null);
  return { point: pointFrom(data, step), totalSteps };
}

/** A checkpoint's metrics as a point. */
export function metricsFromCheckpoint(c: Pick<FineTuningJobCheckpoint, "step_number" | "metrics">): TrainingMetricPoint {
  const m = (c.metrics ?? {}) as Record<string, unknown>;
  return pointFrom(m, num(m["step"]) ?? c.step_number);
}

/** Points merged by step (later values fill gaps, never erase), sorted by step. */
export function mergeMetricPoints(...lists: TrainingMetricPoint[][]): TrainingMetricPoint[] {
  const byStep = new Map<number, TrainingMetricPoint>();
  for (const list of lists) {
    for (const p of list) {
      const old = byStep.get(p.step);
      if (!old) {
        byStep.set(p.step, { ...p });
        continue;
      }
      for (const k of ["train_loss", "valid_loss", "full_valid_loss", "train_accuracy", "valid_accuracy"] as const) {
        if (p[k] !== null) old[k] = p[k];
      }
    }
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The latest values of each metric over the points, with the total steps when known. */
export function progressFromPoints(points: TrainingMetricPoint[], totalSteps: number | null): FineTuneProgress | null {
  if (points.length === 0 && totalSteps === null) return null;
  const last = <K extends keyof TrainingMetricPoint>(k: K): number | null => {
    for (let i = points.length - 1; i >= 0; i--) {
      const v = points[i]![k];
      if (v !== null) return v as number;
    }
    return null;
  };
  return {
    step: points.length ? points[points.length - 1]!.step : null,
    total_steps: totalSteps,
    train_loss: last("train_loss"),
    valid_loss: last("valid_loss"),
    full_valid_loss: last("full_valid_loss"),
    train_accuracy: last("train_accuracy"),
    valid_accuracy: last("valid_accuracy"),
  };
}

/**
 * A result file's text as CSV. OpenAI has served result files base64-encoded; such a body is decoded.
 * Throws when the text is neither CSV with a `step` column nor base64 of one.
 */
export function decodeResultFile(text: string): string {
  const trimmed = text.trim();
  if (/^\s*step\b/i.test(trimmed)) return trimmed + "\n";
  if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed)) {
    const decoded = Buffer.from(trimmed, "base64").toString("utf8").trim();
    if (/^step\b/i.test(decoded)) return decoded + "\n";
  }
  throw new Error(`the result file is not a metrics CSV (starts with ${JSON.stringify(trimmed.slice(0, 40))})`);
}

/** Points from a result metrics CSV's text. Empty cells are null; rows without a step are skipped. */
export function parseTrainingMetricsCsv(csv: string): TrainingMetricPoint[] {
  const rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const points: TrainingMetricPoint[] = [];
  for (const row of rows) {
    const step = num(row["step"]);
    if (step !== null) points.push(pointFrom(row, step));
  }
  return points;
}

/** Points from a saved metrics CSV file. */
export function readTrainingMetricsCsv(file: string): TrainingMetricPoint[] {
  return parseTrainingMetricsCsv(readFileSync(file, "utf8"));
}

/**
 * The metrics CSV the record in `modelsDir` names, with its points; null when there is no record, the job
 * has not succeeded yet, or the file is missing.
 */
export async function loadSavedTrainingMetrics(modelsDir: string): Promise<{ jobId: string; file: string; points: TrainingMetricPoint[] } | null> {
  const record = await readFineTuneRecord(fineTuneRecordPath(modelsDir));
  if (!record?.metrics_csv) return null;
  const file = path.join(fineTuneDir(modelsDir), record.metrics_csv);
  if (!existsSync(file)) return null;
  return { jobId: record.job_id, file, points: readTrainingMetricsCsv(file) };
}

/**
 * An `onProgress` callback for watching in a notebook: redraws the loss chart with `draw` when progress
 * moves, at most every `everyMs` (a live view that does not flood the output).
 */
export function throttledLossChart(draw: (fig: Figure) => void, everyMs = 10 * 60_000): (p: FineTuneProgress, points: TrainingMetricPoint[]) => void {
  let last = -Infinity;
  return (_p, points) => {
    const now = Date.now();
    if (now - last < everyMs || points.length === 0) return;
    last = now;
    draw(lossCurveFigure(points, `loss so far (step ${points[points.length - 1]!.step})`));
  };
}
