/**
 * `models/gpt4o_mini_finetuned/fine_tune_info.json`: what is known about the fine-tuning job, rewritten
 * atomically (temporary file + rename) at every change, so a reader never sees half a file and the
 * record never presents a job as done without its model: `status: "succeeded"` is only ever written
 * together with `fine_tuned_model` (writeFineTuneRecord refuses anything else).
 *
 * Fields (DESIGN.md): job_id, status, base_model, fine_tuned_model, training_file, validation_file,
 * hyperparameters, with_images, trained_tokens, created_at, finished_at, error — plus provider, the local
 * files uploaded, suffix, seed, result files, the metrics CSV, progress and the last event seen (so a
 * resumed watch prints no event twice). Times are ISO 8601 (UTC). Reading also accepts the older
 * `model_name` for `fine_tuned_model` and Unix-second timestamps.
 */
import path from "node:path";
import type { FineTuningJob } from "openai/resources/fine-tuning/jobs/jobs";
import { readTextIfExists, writeJson } from "../../core/atomic-output";
import { displayPath } from "../../core/project-path";
import type { FineTuneProgress } from "../training-progress";
import type { FineTuneProvider } from "./capabilities";

export type { FineTuneProgress };

export const FINE_TUNE_SUBDIR = "gpt4o_mini_finetuned";
export const FINE_TUNE_RECORD_FILE = "fine_tune_info.json";
export const FINE_TUNE_RECORD_VERSION = 1;
export const DEFAULT_MODELS_DIR = "models";

/** The provider's job states; other strings (e.g. Azure's "pending") are kept as reported. */
export type FineTuneJobStatus = FineTuningJob["status"] | (string & {});
export const TERMINAL_STATUSES: readonly string[] = ["succeeded", "failed", "cancelled"];

export type HyperparameterValue = number | "auto";
export interface FineTuneHyperparameters {
  n_epochs?: HyperparameterValue;
  batch_size?: HyperparameterValue;
  learning_rate_multiplier?: HyperparameterValue;
}

export interface FineTuneRecord {
  job_id: string;
  status: FineTuneJobStatus;
  provider: FineTuneProvider;
  base_model: string;
  /** Set exactly when the job succeeded; the model id `predict --model gpt4o-mini-ft` uses. */
  fine_tuned_model: string | null;
  /** Provider file ids. */
  training_file: string | null;
  validation_file: string | null;
  /** The local files uploaded (null when the job was not started from here). */
  training_path: string | null;
  validation_path: string | null;
  hyperparameters: FineTuneHyperparameters;
  suffix: string | null;
  seed: number | null;
  /** Whether the training file carried images; null when unknown (a job started elsewhere). */
  with_images: boolean | null;
  trained_tokens: number | null;
  created_at: string | null;
  finished_at: string | null;
  estimated_finish: string | null;
  /** The provider's error for a failed job. */
  error: { code: string | null; message: string; param: string | null } | null;
  result_files: string[];
  /** The downloaded result metrics CSV, a file name in the record's folder. */
  metrics_csv: string | null;
  progress: FineTuneProgress | null;
  /** The newest job event already shown (a resumed watch starts after it). */
  last_event: { id: string; created_at: number } | null;
  updated_at: string;
  record_version: number;
}

/** `<modelsDir>/gpt4o_mini_finetuned`. */
export function fineTuneDir(modelsDir: string = DEFAULT_MODELS_DIR): string {
  return path.join(modelsDir, FINE_TUNE_SUBDIR);
}

/** `<modelsDir>/gpt4o_mini_finetuned/fine_tune_info.json`. */
export function fineTuneRecordPath(modelsDir: string = DEFAULT_MODELS_DIR): string {
  return path.join(fineTuneDir(modelsDir), FINE_TUNE_RECORD_FILE);
}

/** Unix seconds (or an ISO string) → ISO string; null stays null. */
export function isoTime(t: number | string | null | undefined): string | null {
  if (t === null || t === undefined || t === "") return null;
  if (typeof t === "number") return Number.isFinite(t) && t > 0 ? new Date(t * 1000).toISOString() : null;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString();
}

function asNumber(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
function asString(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}
function asHyper(v: unknown): HyperparameterValue | undefined {
  return v === "auto" ? "auto" : typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function hyperparametersFrom(v: unknown): FineTuneHyperparameters {
  const h = (v && typeof v === "object" ? v : {}) as Record<string, unknown>;
  const out: FineTuneHyperparameters = {};
  for (const k of ["n_epochs", "batch_size", "learning_rate_multiplier"] as const) {
    const x = asHyper(h[k]);
    if (x !== undefined) out[k] = x;
  }
  return out;
}

function progressFrom(v: unknown): FineTuneProgress | null {
  if (!v || typeof v !== "object") return null;
  const p = v as Record<string, unknown>;
  return {
    step: asNumber(p["step"]),
    total_steps: asNumber(p["total_steps"]),
    train_loss: asNumber(p["train_loss"]),
    valid_loss: asNumber(p["valid_loss"]),
    full_valid_loss: asNumber(p["full_valid_loss"]),
    train_accuracy: asNumber(p["train_accuracy"]),
    valid_accuracy: asNumber(p["valid_accuracy"]),
  };
}

/**
 * Any JSON object that looks like a record (this version, or the original workflow's with `model_name`)
 * → a complete FineTuneRecord. A record claiming `succeeded` without a model reads as status "unknown".
 */
export function normalizeFineTuneRecord(raw: unknown): FineTuneRecord {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("not a JSON object");
  const r = raw as Record<string, unknown>;
  const model = asString(r["fine_tuned_model"]) ?? asString(r["model_name"]);
  let status = asString(r["status"]) ?? (model ? "succeeded" : "unknown");
  if (status === "succeeded" && !model) status = "unknown";
  const err = r["error"];
  let error: FineTuneRecord["error"] = null;
  if (err && typeof err === "object") {
    const e = err as Record<string, unknown>;
    const message = asString(e["message"]);
    if (message) error = { code: asString(e["code"]), message, param: asString(e["param"]) };
  } else if (typeof err === "string" && err) {
    error = { code: null, message: err, param: null };
  }
  const last = r["last_event"] as Record<string, unknown> | null | undefined;
  return {
    job_id: asString(r["job_id"]) ?? "",
    status,
    provider: r["provider"] === "azure" ? "azure" : "openai",
    base_model: asString(r["base_model"]) ?? asString(r["model"]) ?? "",
    fine_tuned_model: model,
    training_file: asString(r["training_file"]),
    validation_file: asString(r["validation_file"]),
    training_path: asString(r["training_path"]),
    validation_path: asString(r["validation_path"]),
    hyperparameters: hyperparametersFrom(r["hyperparameters"]),
    suffix: asString(r["suffix"]),
    seed: asNumber(r["seed"]),
    with_images: typeof r["with_images"] === "boolean" ? r["with_images"] : null,
    trained_tokens: asNumber(r["trained_tokens"]),
    created_at: isoTime(r["created_at"] as number | string | null | undefined),
    finished_at: isoTime(r["finished_at"] as number | string | null | undefined),
    estimated_finish: isoTime(r["estimated_finish"] as number | string | null | undefined),
    error,
    result_files: Array.isArray(r["result_files"]) ? r["result_files"].filter((x): x is string => typeof x === "string") : [],
    metrics_csv: asString(r["metrics_csv"]),
    progress: progressFrom(r["progress"]),
    last_event:
      last && typeof last === "object" && typeof last["id"] === "string" && typeof last["created_at"] === "number"
        ? { id: last["id"], created_at: last["created_at"] }
        : null,
    updated_at: asString(r["updated_at"]) ?? new Date(0).toISOString(),
    record_version: FINE_TUNE_RECORD_VERSION,
  };
}

/** The record at `file`, or null when there is none. Invalid JSON throws, naming the file. */
export async function readFineTuneRecord(file: string): Promise<FineTuneRecord | null> {
  const text = await readTextIfExists(file);
  if (text === null) return null;
  try {
    return normalizeFineTuneRecord(JSON.parse(text));
  } catch (e) {
    throw new Error(`${displayPath(file)}: not a fine-tuning record (${(e as Error).message})`);
  }
}

/** Why a record may not be written as it is; null when it may. */
export function recordProblem(r: FineTuneRecord): string | null {
  if (!r.job_id) return "job_id is empty";
  if (r.status === "succeeded" && !r.fine_tuned_model) return "status succeeded without fine_tuned_model";
  if (r.fine_tuned_model && r.status !== "succeeded") return `fine_tuned_model set while status is ${r.status}`;
  return null;
}

/** Write atomically; throws (writing nothing) for a record that would claim more than is known. */
export async function writeFineTuneRecord(file: string, record: FineTuneRecord): Promise<void> {
  const problem = recordProblem(record);
  if (problem) throw new Error(`refusing to write ${file}: ${problem}`);
  await writeJson(file, record);
}

/**
 * The fine-tuned model id a record names, for `predict`: the record must say `succeeded` (or be an
 * older record with only `model_name`). Otherwise throws, saying what the job's status is and how to
 * follow it.
 */
export function fineTunedModelFromRecord(record: FineTuneRecord, file = FINE_TUNE_RECORD_FILE): string {
  if (record.status === "succeeded" && record.fine_tuned_model) return record.fine_tuned_model;
  file = displayPath(file);
  const job = record.job_id ? ` (job ${record.job_id})` : "";
  const follow = record.job_id ? `; follow it with: npx streetsafe finetune watch ${record.job_id}` : "";
  if (record.status === "failed") throw new Error(`${file}: the fine-tuning job${job} failed${record.error ? `: ${record.error.message}` : ""}`);
  if (record.status === "cancelled") throw new Error(`${file}: the fine-tuning job${job} was cancelled; no model was made`);
  throw new Error(`${file}: the fine-tuning job${job} has no model yet (status "${record.status}")${follow}`);
}

/** Read the record at `file` and return its model id (see fineTunedModelFromRecord); a clear error when absent. */
export async function loadFineTunedModelId(file: string): Promise<string> {
  const record = await readFineTuneRecord(file);
  if (!record) throw new Error(`${displayPath(file)} does not exist: run step 2 (npx streetsafe finetune) first`);
  return fineTunedModelFromRecord(record, file);
}

/** What a job object says, merged over what the record already knew (local paths, images, events). */
export function recordFromJob(
  job: FineTuningJob,
  previous: FineTuneRecord | null,
  known: Partial<Pick<FineTuneRecord, "provider" | "with_images" | "training_path" | "validation_path" | "suffix">> = {},
): FineTuneRecord {
  const same = previous && previous.job_id === job.id ? previous : null;
  const fromMethod = job.method?.supervised?.hyperparameters;
  const hyper = { ...same?.hyperparameters, ...hyperparametersFrom(job.hyperparameters), ...hyperparametersFrom(fromMethod) };
  const model = job.status === "succeeded" ? asString(job.fine_tuned_model) : null;
  // A job reported succeeded before its model is named stays at the last status we could honestly write.
  const status = job.status === "succeeded" && !model ? (same && same.status !== "succeeded" ? same.status : "running") : job.status;
  const error =
    job.error && asString(job.error.message)
      ? { code: asString(job.error.code), message: job.error.message, param: asString(job.error.param) }
      : null;
  return {
    job_id: job.id,
    status,
    provider: known.provider ?? same?.provider ?? "openai",
    base_model: job.model,
    fine_tuned_model: model,
    training_file: job.training_file ?? same?.training_file ?? null,
    validation_file: job.validation_file ?? same?.validation_file ?? null,
    training_path: known.training_path ?? same?.training_path ?? null,
    validation_path: known.validation_path ?? same?.validation_path ?? null,
    hyperparameters: hyper,
    suffix: known.suffix ?? same?.suffix ?? suffixFromModel(model),
    seed: asNumber(job.seed) ?? same?.seed ?? null,
    with_images: known.with_images ?? same?.with_images ?? null,
    trained_tokens: asNumber(job.trained_tokens),
    created_at: isoTime(job.created_at),
    finished_at: isoTime(job.finished_at),
    estimated_finish: isoTime(job.estimated_finish ?? null),
    error,
    result_files: Array.isArray(job.result_files) ? [...job.result_files] : (same?.result_files ?? []),
    metrics_csv: same?.metrics_csv ?? null,
    progress: same?.progress ?? null,
    last_event: same?.last_event ?? null,
    updated_at: new Date().toISOString(),
    record_version: FINE_TUNE_RECORD_VERSION,
  };
}

function suffixFromModel(model: string | null): string | null {
  // ft:<base>:<org>:<suffix>:<id>
  const parts = model?.split(":") ?? [];
  return parts.length >= 5 && parts[3] ? parts[3] : null;
}

/** Two records that differ only in `updated_at` are the same state. */
export function sameRecordState(a: FineTuneRecord | null, b: FineTuneRecord | null): boolean {
  if (!a || !b) return a === b;
  return JSON.stringify({ ...a, updated_at: "" }) === JSON.stringify({ ...b, updated_at: "" });
}

/**
 * Keeps one job's record file: `update` writes only when the state changed. Taking over a file that
 * holds another job's record first copies that one to `fine_tune_info.<its job id>.json`, so a new job
 * never erases the record of an earlier model.
 */
export class FineTuneRecordKeeper {
  private current: FineTuneRecord | null = null;

  private constructor(
    readonly file: string,
    private readonly onWrite?: (record: FineTuneRecord) => void,
  ) {}

  static async open(file: string, onWrite?: (record: FineTuneRecord) => void): Promise<FineTuneRecordKeeper> {
    const keeper = new FineTuneRecordKeeper(file, onWrite);
    keeper.current = await readFineTuneRecord(file);
    return keeper;
  }

  /** The record in the file now (null when none). */
  get record(): FineTuneRecord | null {
    return this.current;
  }

  /** The record for `jobId` if the file holds that job, else null. */
  forJob(jobId: string): FineTuneRecord | null {
    return this.current && this.current.job_id === jobId ? this.current : null;
  }

  /** Write `next` if it differs from the file's state; true when written. */
  async update(next: FineTuneRecord): Promise<boolean> {
    if (sameRecordState(this.current, next)) return false;
    if (this.current && this.current.job_id && this.current.job_id !== next.job_id) {
      const archived = path.join(path.dirname(this.file), `fine_tune_info.${safeName(this.current.job_id)}.json`);
      await writeJson(archived, this.current);
    }
    const stamped = { ...next, updated_at: new Date().toISOString() };
    await writeFineTuneRecord(this.file, stamped);
    this.current = stamped;
    this.onWrite?.(stamped);
    return true;
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** The record as `field | value` rows (notebooks). */
export function fineTuneRecordRows(r: FineTuneRecord): { field: string; value: string }[] {
  return Object.entries(r).map(([field, v]) => ({
    field,
    value: v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v),
  }));
}
