/**
 * `models/fine_tuned_qwen2vl/fine_tune_info.json`: what is known about the local Qwen2-VL fine-tune — base model,
 * data hash, hyperparameters, LoRA settings, steps, losses, device, durations, the export and its parity check —
 * rewritten atomically (temporary file + rename) at every change, so a reader never sees half a file. The one
 * reader and writer of that file; paths in it are as given (relative to the repository when run from there).
 *
 * Shaped like the OpenAI route's record where the facts are the same (`job_id`, `status`, `base_model`,
 * `fine_tuned_model` — here the export folder, set only once the export passed its check — `hyperparameters`,
 * `progress`, `created_at`, `finished_at`, `error`).
 */
import path from "node:path";
import { displayPath } from "../../core/project-path";
import { readTextIfExists, writeJson } from "../../core/atomic-output";
import type { FineTuneProgress, TrainingMetricPoint } from "../training-progress";
import type { LocalHyperparameters } from "./options";

export const LOCAL_RECORD_VERSION = 1;

/** planned → training (⇄ interrupted) → trained → merging → exporting → checking → succeeded; or failed. */
export type LocalFineTuneStatus = "planned" | "training" | "interrupted" | "trained" | "merging" | "exporting" | "checking" | "succeeded" | "failed";
export type LocalStage = "train" | "merge" | "export" | "check";
export const LOCAL_STAGES: readonly LocalStage[] = ["train", "merge", "export", "check"];

export interface LocalDataInfo {
  /** The data folder step 1 wrote (`data/qwen_finetuning`). */
  dir: string;
  /** sha256 over dataset_info.json, the split files and the training YAML (images are named by their sha256). */
  sha256: string;
  train_examples: number;
  val_examples: number;
}

export interface LocalExportInfo {
  dir: string;
  dtypes: string[];
  default_dtype: string;
  /** Bytes per file, relative to the export folder. */
  files: Record<string, number>;
  /** Largest |Δ| against transformers per graph/dtype, from the exporter's own checks. */
  verify: Record<string, number>;
  max_pixels: number | null;
  exported_at: string;
}

export interface LocalCheckInfo {
  file: string;
  passed: boolean;
  /** Per dtype: cases, largest |Δlogit|, reply and score agreement. */
  dtypes: Record<string, Record<string, unknown>>;
  checked_at: string;
}

export interface LocalRequestRecord {
  hyperparameters: LocalHyperparameters;
  device: string;
  backend: string;
  threads: number | null;
  export_dtypes: string[];
}

export interface LocalFineTuneRecord {
  provider: "local";
  /** Names this run: `local-<start time>`. */
  job_id: string;
  status: LocalFineTuneStatus;
  /** The stage running, stopped or failed (null before training and once done). */
  stage: LocalStage | null;
  base_model: string;
  /** The export folder, once it passed its parity check (what `qwen2vl-ft` loads). */
  fine_tuned_model: string | null;
  backend: string | null;
  data: LocalDataInfo;
  /** What was asked (flags), replayed by a resumed run so that it continues the same run. */
  request: LocalRequestRecord;
  /** As the training job resolved them (YAML defaults included), and the export dtypes. */
  hyperparameters: Record<string, unknown>;
  lora: Record<string, unknown> | null;
  steps: { done: number; total: number | null };
  losses: TrainingMetricPoint[];
  progress: FineTuneProgress | null;
  device: { device: string; name: string; dtype: string } | null;
  versions: Record<string, string> | null;
  trainable_params: number | null;
  /** The newest checkpoint written (resume continues from it). */
  checkpoint: string | null;
  adapter: string | null;
  merged: string | null;
  export: LocalExportInfo | null;
  check: LocalCheckInfo | null;
  /** Wall seconds per stage, summed over resumed runs. */
  durations: Partial<Record<LocalStage, number>>;
  error: { stage: LocalStage | null; message: string } | null;
  created_at: string;
  finished_at: string | null;
  updated_at: string;
  record_version: number;
}

/** The record at `file`, or null when there is none. Invalid JSON or another route's record throws, naming the file. */
export async function readLocalRecord(file: string): Promise<LocalFineTuneRecord | null> {
  const text = await readTextIfExists(file);
  if (text === null) return null;
  let r: LocalFineTuneRecord;
  try {
    r = JSON.parse(text) as LocalFineTuneRecord;
  } catch (e) {
    throw new Error(`${file}: not a fine-tuning record (${(e as Error).message})`);
  }
  if (!r || r.provider !== "local" || typeof r.job_id !== "string") throw new Error(`${file}: not a local fine-tuning record (provider "local")`);
  return r;
}

/** Why a record may not be written as it is; null when it may. */
export function localRecordProblem(r: LocalFineTuneRecord): string | null {
  if (r.status === "succeeded" && (!r.fine_tuned_model || !r.check?.passed)) return "status succeeded without a checked export";
  if (r.fine_tuned_model && r.status !== "succeeded") return `fine_tuned_model set while status is ${r.status}`;
  return null;
}

/** Write atomically (stamped with updated_at); throws, writing nothing, for a record that claims more than is known. */
export async function writeLocalRecord(file: string, r: LocalFineTuneRecord): Promise<LocalFineTuneRecord> {
  const problem = localRecordProblem(r);
  if (problem) throw new Error(`refusing to write ${file}: ${problem}`);
  const stamped = { ...r, updated_at: new Date().toISOString() };
  await writeJson(file, stamped);
  return stamped;
}

/** The record as `field | value` rows (notebooks); the loss list is summarised. */
export function localRecordRows(r: LocalFineTuneRecord): { field: string; value: string }[] {
  // The record keeps the machine's paths (resume needs them); what is shown names them for readers.
  const shown = (v: unknown): unknown => (typeof v === "string" && path.isAbsolute(v) ? displayPath(v) : v);
  return Object.entries(r).map(([field, v]) => ({
    field,
    value:
      field === "losses"
        ? `${r.losses.length} points`
        : v === null || v === undefined
          ? "—"
          : typeof v === "object"
            ? JSON.stringify(v, (_k, x) => shown(x))
            : String(shown(v)),
  }));
}
