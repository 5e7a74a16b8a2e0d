/**
 * `npx streetsafe finetune --provider local …` and its subcommands (`status`, `watch`, `list`): the local
 * Qwen2-VL route of step 2 (finetune/local), with the parity check of step 3 after the export.
 */
import { InvalidArgumentError } from "commander";
import { createProgress, type Progress } from "../../core/progress";
import {
  exportDtypeList,
  FINE_TUNE_DEFAULTS,
  formatDuration,
  formatFineTuneProgress,
  formatLocalPlan,
  LOCAL_FINETUNE_DEFAULTS,
  LocalQwen2VLFineTuner,
  lossCurveText,
  readLocalRecord,
  type LocalBackend,
  type LocalDevice,
  type LocalFineTuneRecord,
  type LocalRunRequest,
  type LocalRunResult,
} from "../../finetune";
import { qwen2vlExportChecker } from "../../models";

/** The flags `finetune` takes that the local route reads (the shared ones included). */
export interface LocalFinetuneFlags {
  baseModel?: string;
  epochs?: number | "auto";
  batchSize?: number | "auto";
  lr?: number;
  maxSteps?: number;
  gradAccum?: number;
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  imageMaxPixels?: number;
  evalSteps?: number;
  saveSteps?: number;
  seed?: number;
  device?: LocalDevice;
  backend?: LocalBackend;
  threads?: number;
  dtype?: string;
  stopAfterStep?: number;
  restart?: boolean;
  dryRun?: boolean;
  dataDir: string;
  modelsDir: string;
}

export interface LocalFinetunePlan {
  dryRun: boolean;
  modelsDir: string;
  request: LocalRunRequest;
}

/** Flags → the plan (pure; tested table-style). */
export function localFinetunePlan(f: LocalFinetuneFlags): LocalFinetunePlan {
  const num = (v: number | "auto" | undefined) => (v === "auto" ? undefined : v);
  const dtypes = f.dtype === undefined ? undefined : f.dtype.split(",").map((d) => d.trim()).filter(Boolean);
  if (dtypes) exportDtypeList(dtypes); // names an unknown dtype
  const h = {
    epochs: num(f.epochs),
    maxSteps: f.maxSteps,
    batchSize: num(f.batchSize),
    gradAccum: f.gradAccum,
    learningRate: f.lr,
    loraRank: f.loraRank,
    loraAlpha: f.loraAlpha,
    loraDropout: f.loraDropout,
    imageMaxPixels: f.imageMaxPixels,
    evalSteps: f.evalSteps,
    saveSteps: f.saveSteps,
    seed: f.seed,
  };
  const hyperparameters = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));
  return {
    dryRun: !!f.dryRun,
    modelsDir: f.modelsDir,
    request: {
      dataDir: f.dataDir,
      baseModel: f.baseModel ?? LOCAL_FINETUNE_DEFAULTS.baseModel,
      hyperparameters,
      device: f.device ?? LOCAL_FINETUNE_DEFAULTS.device,
      backend: f.backend ?? LOCAL_FINETUNE_DEFAULTS.backend,
      ...(f.threads !== undefined ? { threads: f.threads } : {}),
      ...(dtypes ? { exportDtypes: dtypes } : {}),
      ...(f.stopAfterStep !== undefined ? { stopAfterStep: f.stopAfterStep } : {}),
      ...(f.restart ? { restart: true } : {}),
    },
  };
}

/** Flags only the local route reads, and flags only the OpenAI-compatible routes read (as commander names them). */
export const LOCAL_ONLY_FLAGS = ["restart", "lr", "maxSteps", "gradAccum", "loraRank", "loraAlpha", "loraDropout", "imageMaxPixels", "evalSteps", "saveSteps", "device", "backend", "threads", "dtype", "stopAfterStep"] as const;
const API_ONLY_FLAGS: Record<string, (v: unknown) => boolean> = {
  lrMultiplier: (v) => v !== undefined && v !== "auto",
  withImages: (v) => !!v,
  textOnly: (v) => !!v,
  force: (v) => !!v,
  wait: (v) => v === false,
  suffix: (v) => v !== undefined && v !== FINE_TUNE_DEFAULTS.suffix,
};
const kebab = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`.replace("--wait", "--no-wait");

/** Flags given that the chosen route does not read (a typo-proof refusal beats a silent no-op). */
export function misplacedFlags(flags: Record<string, unknown>, local: boolean): string[] {
  if (local) return Object.entries(API_ONLY_FLAGS).filter(([k, given]) => given(flags[k])).map(([k]) => kebab(k));
  return LOCAL_ONLY_FLAGS.filter((k) => flags[k] !== undefined).map(kebab);
}

/** A number > 0 (learning rate, LoRA α). */
export function positiveFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a number > 0, got "${value}"`);
    return n;
  };
}

/** A number in [0, 1) (dropout). */
export function fractionFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`${flag} must be a number in [0, 1), got "${value}"`);
    return n;
  };
}

function tuner(modelsDir: string, bar: { current?: Progress }): LocalQwen2VLFineTuner {
  return new LocalQwen2VLFineTuner({
    modelsDir,
    checkExport: qwen2vlExportChecker, // step 3's check, handed over: step 2 does not import a later step
    log: (l) => {
      bar.current?.stop();
      bar.current = undefined;
      console.log(l);
    },
    onProgress: (p) => {
      bar.current ??= createProgress("training", p.total_steps ?? 0);
      const parts = [p.train_loss !== null ? `train loss ${p.train_loss.toFixed(3)}` : "", p.valid_loss !== null ? `valid loss ${p.valid_loss.toFixed(3)}` : ""];
      bar.current.update(p.step ?? 0, parts.filter(Boolean).join(" · "));
    },
  });
}

/** Exit status: 0 succeeded (or exported without a check), 130 stopped, 1 failed. */
export function localExitCode(r: LocalRunResult): number {
  return r.outcome === "succeeded" || r.outcome === "exported" ? 0 : r.outcome === "interrupted" ? 130 : 1;
}

export async function runLocalFinetune(flags: LocalFinetuneFlags, signal: AbortSignal): Promise<number> {
  const plan = localFinetunePlan(flags);
  const bar: { current?: Progress } = {};
  const t = tuner(plan.modelsDir, bar);
  if (plan.dryRun) {
    const p = await t.plan(plan.request);
    console.log(formatLocalPlan(p));
    console.log(`\ndry run: nothing was trained. Train for real without --dry-run${p.problems.length ? ", once the data problems above are fixed" : ""}.`);
    return p.problems.length ? 2 : 0;
  }
  const r = await t.start({ ...plan.request, signal });
  bar.current?.stop();
  printSummary(r.record);
  return localExitCode(r);
}

export async function watchLocal(flags: LocalFinetuneFlags, signal: AbortSignal): Promise<number> {
  const plan = localFinetunePlan(flags);
  const bar: { current?: Progress } = {};
  const r = await tuner(plan.modelsDir, bar).resume({ ...plan.request, signal });
  bar.current?.stop();
  printSummary(r.record);
  return localExitCode(r);
}

export async function statusLocal(modelsDir: string): Promise<void> {
  const t = new LocalQwen2VLFineTuner({ modelsDir });
  const r = await t.status();
  if (!r) {
    console.log(`no local fine-tune yet (${t.layout.record}); start one with: npx streetsafe finetune --provider local`);
    return;
  }
  printSummary(r);
  if (r.status === "interrupted" || r.status === "failed" || r.status === "checking") console.log(`continue with: ${t.resumeCommand()}`);
}

/** Status, progress, times, export and check of a record, then its loss curve. */
export function printSummary(r: LocalFineTuneRecord): void {
  console.log(`${r.job_id}: ${r.status}${r.stage && r.status !== "succeeded" ? ` (stage ${r.stage})` : ""}`);
  console.log(`  base model: ${r.base_model} · ${r.device ? `${r.device.name}, ${r.device.dtype}` : "device not known yet"} · backend ${r.backend ?? "—"}`);
  console.log(`  progress: ${formatFineTuneProgress(r.progress)}${r.checkpoint ? ` · checkpoint ${r.checkpoint}` : ""}`);
  const times = Object.entries(r.durations).map(([k, v]) => `${k} ${formatDuration(v)}`);
  if (times.length) console.log(`  times: ${times.join(" · ")}`);
  if (r.export) console.log(`  export: ${r.export.dir} (${r.export.dtypes.join(", ")}; "auto" loads ${r.export.default_dtype})`);
  if (r.check) console.log(`  check: ${r.check.passed ? "passed" : "FAILED"} (${r.check.file})`);
  if (r.error) console.log(`  error (${r.error.stage}): ${r.error.message}`);
  const curve = lossCurveText(r.losses);
  if (curve) console.log(`\n${curve}`);
  if (r.status === "succeeded") console.log(`\nscore with it: npx streetsafe predict --model qwen2vl-ft IMAGE   (or compare --models qwen2vl-ft …)`);
}

/** The local record, for `finetune list --provider local`. */
export async function listLocal(modelsDir: string): Promise<void> {
  const t = new LocalQwen2VLFineTuner({ modelsDir });
  const r = await readLocalRecord(t.layout.record);
  console.log(r ? `${r.job_id}  ${r.status}  ${r.base_model}  ${r.fine_tuned_model ?? "—"}  ${r.created_at.slice(0, 16).replace("T", " ")}` : "no local fine-tune");
}
