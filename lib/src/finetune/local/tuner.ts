/**
 * `LocalQwen2VLFineTuner`: step 2's local route as a job — LoRA SFT of Qwen2-VL on step 1's
 * `data/qwen_finetuning/`, merge, ONNX export (fp32 + q8 by default) and the parity check — each stage a Python
 * job in the project's venv (python/qwen2vl/, core/python/job.ts), the record written at every change.
 *
 *   plan(req)          the dry run (plan.ts)
 *   start(req)         a fresh run: clears training/, writes a new record (an earlier one is kept as
 *                      fine_tune_info.<job>.json), then runs every stage
 *   resume(req?)       continues from the record: training from its newest checkpoint, or the first stage not done
 *   status()           the record
 *
 * Stages: train (progress: step/total, train and validation loss; Ctrl-C = abort the signal → the job writes a
 * checkpoint and stops; `resume` continues from it) → merge → export (atomic: a failed export leaves the previous
 * one in place) → check. The check is step 3's (`check-export`: it runs streetsafe's Node model on the export);
 * this step is given it as `checkExport` so that it does not reach into a later step — the CLI and the notebook
 * pass `ss.models.checkQwen2VLExport`. Without it the run ends at "exported" and says how to check.
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { ensurePythonPart, PROJECT_ROOT, runPythonJob, type JobEvent, type ProjectPython } from "../../core/python";
import { formatFineTuneProgress, type FineTuneProgress, type TrainingMetricPoint } from "../training-progress";
import { localFineTuneLayout, type LocalFineTuneLayout } from "./layout";
import { baseModelForChild, exportDtypeList, forChild, LOCAL_FINETUNE_DEFAULTS, trainArgs, type LocalRunRequest } from "./options";
import { dataFiles, dataSha256, planLocalFineTune, TRAIN_SCRIPT, type LocalPlan } from "./plan";
import { LOCAL_RECORD_VERSION, readLocalRecord, writeLocalRecord, type LocalFineTuneRecord, type LocalStage } from "./record";

const MERGE_SCRIPT = path.join("python", "qwen2vl", "merge_lora.py");
const EXPORT_SCRIPT = path.join("python", "qwen2vl", "export_onnx.py");
export const INTERRUPTED_EXIT = 130;

/** What the parity check needs (step 3 implements it: models/qwen2vl/check). */
export interface ExportCheckRequest {
  exportDir: string;
  /** The PyTorch model the export came from (the merged folder). */
  torchModel: string;
  /** Where the result goes (beside the record). */
  out: string;
  /** step 1's data folder: the check's images come from its validation split. */
  dataDir: string;
  python: ProjectPython;
  threads?: number;
  logFile?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}
export interface ExportCheckOutcome {
  passed: boolean;
  dtypes: Record<string, Record<string, unknown>>;
  file: string;
}
export type ExportChecker = (req: ExportCheckRequest) => Promise<ExportCheckOutcome>;

export interface LocalTunerOptions {
  modelsDir?: string;
  /** The repository (python/, .venv/); default the one this library is in. */
  root?: string;
  log?: (line: string) => void;
  /** When progress moves: the latest values and every point so far. */
  onProgress?: (progress: FineTuneProgress, points: TrainingMetricPoint[]) => void;
  /** After every write of the record. */
  onRecord?: (record: LocalFineTuneRecord) => void;
  checkExport?: ExportChecker;
  /** The project's Python; default ensurePythonPart(root, "train") (installs it once, ~2 min). */
  python?: ProjectPython;
}

export interface LocalRunOptions extends LocalRunRequest {
  signal?: AbortSignal;
}

export type LocalOutcome = "succeeded" | "exported" | "interrupted" | "failed";
export interface LocalRunResult {
  outcome: LocalOutcome;
  record: LocalFineTuneRecord;
}

export class LocalQwen2VLFineTuner {
  readonly layout: LocalFineTuneLayout;
  private readonly modelsDir: string;
  private readonly root: string;
  private readonly log: (line: string) => void;
  private py: ProjectPython | undefined;
  private record: LocalFineTuneRecord | null = null;

  constructor(private readonly opts: LocalTunerOptions = {}) {
    this.modelsDir = opts.modelsDir ?? LOCAL_FINETUNE_DEFAULTS.modelsDir;
    this.layout = localFineTuneLayout(this.modelsDir);
    this.root = opts.root ?? PROJECT_ROOT;
    this.log = opts.log ?? ((l) => console.log(l));
    this.py = opts.python;
  }

  /** The project's Python with the training stack (installed on first use). */
  python(): ProjectPython {
    this.py ??= ensurePythonPart(this.root, "train", { log: this.log });
    return this.py;
  }

  async status(): Promise<LocalFineTuneRecord | null> {
    return readLocalRecord(this.layout.record);
  }

  /** The command that continues this run. */
  resumeCommand(): string {
    const models = this.modelsDir === LOCAL_FINETUNE_DEFAULTS.modelsDir ? "" : ` --models-dir ${this.modelsDir}`;
    return `npx streetsafe finetune watch --provider local${models}`;
  }

  plan(req: LocalRunRequest = {}): Promise<LocalPlan> {
    return planLocalFineTune(req, { python: this.python(), root: this.root, outputDir: this.layout.training });
  }

  /** A fresh run (see the file comment). Refuses data with problems, before anything is written. */
  async start(req: LocalRunOptions = {}): Promise<LocalRunResult> {
    const plan = await this.plan(req);
    if (plan.problems.length) throw new Error(`the training data has problems; nothing was started:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}`);
    const previous = await readLocalRecord(this.layout.record).catch(() => null);
    const stoppedInTraining = previous && (["planned", "training", "interrupted"].includes(previous.status) || (previous.status === "failed" && previous.stage === "train"));
    if (stoppedInTraining && previous.checkpoint && !req.restart) {
      throw new Error(
        `${previous.job_id} stopped at step ${previous.steps.done}/${previous.steps.total} with a checkpoint (${previous.checkpoint}): continue it with ${this.resumeCommand()}, or start over with --restart (its checkpoints are then removed)`,
      );
    }
    if (previous) await fs.copyFile(this.layout.record, path.join(this.layout.dir, `fine_tune_info.${previous.job_id}.json`));
    await fs.rm(this.layout.training, { recursive: true, force: true });
    await fs.mkdir(this.layout.dir, { recursive: true });
    const now = new Date();
    this.record = {
      provider: "local",
      job_id: `local-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`,
      status: "planned",
      stage: null,
      base_model: plan.baseModel,
      fine_tuned_model: null,
      backend: plan.backend,
      request: {
        hyperparameters: { ...req.hyperparameters },
        device: req.device ?? LOCAL_FINETUNE_DEFAULTS.device,
        backend: req.backend ?? LOCAL_FINETUNE_DEFAULTS.backend,
        threads: req.threads ?? null,
        export_dtypes: exportDtypeList(req.exportDtypes),
      },
      data: { dir: forChild(plan.dataDir, this.root), sha256: plan.dataSha256, train_examples: plan.train.examples, val_examples: plan.val.examples },
      hyperparameters: { ...plan.hyperparameters, export_dtypes: exportDtypeList(req.exportDtypes) },
      lora: plan.lora,
      steps: { done: 0, total: plan.totalSteps },
      losses: [],
      progress: null,
      device: null,
      versions: null,
      trainable_params: null,
      checkpoint: null,
      adapter: null,
      merged: null,
      export: null,
      check: null,
      durations: {},
      error: null,
      created_at: now.toISOString(),
      finished_at: null,
      updated_at: now.toISOString(),
      record_version: LOCAL_RECORD_VERSION,
    };
    await this.save();
    this.log(`${this.record.job_id}: ${plan.totalSteps} steps on ${plan.device === "cuda" ? plan.deviceName : "CPU"}; record: ${this.layout.record}`);
    return this.continue(req);
  }

  /** Continue the run the record describes (training from its newest checkpoint, or the next stage). */
  async resume(req: LocalRunOptions = {}): Promise<LocalRunResult> {
    this.record = await readLocalRecord(this.layout.record);
    if (!this.record) throw new Error(`${this.layout.record} does not exist: start a run first (npx streetsafe finetune --provider local)`);
    if (this.record.status === "succeeded") {
      this.log(`${this.record.job_id} already succeeded: the export is ${this.record.fine_tuned_model}`);
      return { outcome: "succeeded", record: this.record };
    }
    const files = dataFiles(path.resolve(this.root, this.record.data.dir), await this.splitFiles());
    const sha = await dataSha256(files);
    if (this.stageToRun() === "train" && sha !== this.record.data.sha256) {
      throw new Error(`the training data changed since ${this.record.job_id} started (sha256 ${sha.slice(0, 12)}… ≠ ${this.record.data.sha256.slice(0, 12)}…): start a new run instead of resuming`);
    }
    return this.continue(this.replay(req));
  }

  /** The record's request, with what this call sets on top (threads, device; a test's pause). */
  private replay(req: LocalRunOptions): LocalRunOptions {
    const asked = this.record!.request;
    return {
      ...req,
      hyperparameters: { ...asked.hyperparameters, ...req.hyperparameters },
      device: req.device ?? (asked.device as LocalRunOptions["device"]),
      backend: req.backend ?? (asked.backend as LocalRunOptions["backend"]),
      exportDtypes: req.exportDtypes ?? asked.export_dtypes,
      ...(req.threads ?? asked.threads ? { threads: req.threads ?? asked.threads! } : {}),
    };
  }

  private async splitFiles(): Promise<string[]> {
    const dir = path.resolve(this.root, this.record!.data.dir);
    try {
      const info = JSON.parse(await fs.readFile(path.join(dir, "dataset_info.json"), "utf8")) as Record<string, { file_name: string }>;
      return Object.values(info).map((e) => path.join(dir, e.file_name));
    } catch {
      return [];
    }
  }

  /** The first stage not done yet. */
  private stageToRun(): LocalStage | null {
    const r = this.record!;
    if (r.status === "failed") return r.error?.stage ?? "train";
    switch (r.status) {
      case "planned":
      case "training":
      case "interrupted":
        return "train";
      case "trained":
      case "merging":
        return "merge";
      case "exporting":
        return "export";
      case "checking":
        return "check";
      default:
        return null;
    }
  }

  private async continue(req: LocalRunOptions): Promise<LocalRunResult> {
    for (;;) {
      const stage = this.stageToRun();
      if (!stage) break;
      if (req.signal?.aborted) return this.stop(stage);
      const t0 = Date.now();
      let outcome: "done" | "interrupted" | "failed" | "skipped";
      try {
        outcome = await this.runStage(stage, req);
      } catch (e) {
        outcome = "failed";
        await this.update({ status: "failed", stage, error: { stage, message: (e as Error).message } });
      }
      const r = this.record!;
      r.durations[stage] = round((r.durations[stage] ?? 0) + (Date.now() - t0) / 1000);
      await this.save();
      if (outcome === "interrupted") return this.stop(stage);
      if (outcome === "failed") {
        this.log(`${stage} failed: ${r.error?.message ?? "see the log"}\n  log: ${this.layout.log(stage)}\n  after fixing it, continue with: ${this.resumeCommand()}`);
        return { outcome: "failed", record: r };
      }
      if (outcome === "skipped") return { outcome: "exported", record: r };
    }
    return { outcome: this.record!.status === "succeeded" ? "succeeded" : "exported", record: this.record! };
  }

  private async stop(stage: LocalStage): Promise<LocalRunResult> {
    if (stage === "train") await this.update({ status: "interrupted", stage });
    this.log(`stopped during ${stage}${stage === "train" && this.record!.checkpoint ? ` (checkpoint: ${this.record!.checkpoint})` : ""}; continue with: ${this.resumeCommand()}`);
    return { outcome: "interrupted", record: this.record! };
  }

  private runStage(stage: LocalStage, req: LocalRunOptions): Promise<"done" | "interrupted" | "failed" | "skipped"> {
    if (stage === "train") return this.train(req);
    if (stage === "merge") return this.merge(req);
    if (stage === "export") return this.export(req);
    return this.check(req);
  }

  private job(stage: LocalStage, script: string, args: string[], req: LocalRunOptions, onEvent: (e: JobEvent) => Promise<void> | void) {
    let chain = Promise.resolve();
    return runPythonJob(this.python(), script, args, {
      root: this.root,
      logFile: this.layout.log(stage),
      signal: req.signal,
      ...(req.threads ? { env: { OMP_NUM_THREADS: String(req.threads) } } : {}),
      onEvent: (e) => {
        chain = chain.then(() => onEvent(e)); // record writes in event order
      },
    }).then(async (r) => {
      await chain;
      return r;
    });
  }

  private async train(req: LocalRunOptions): Promise<"done" | "interrupted" | "failed"> {
    const r = () => this.record!;
    const resume = r().status !== "planned";
    const args = trainArgs({
      ...req,
      baseModel: baseModelForChild(r().base_model, existsSync, this.root),
      dataDir: forChild(path.resolve(this.root, r().data.dir), this.root),
      outputDir: forChild(this.layout.training, this.root),
    });
    await this.update({ status: "training", stage: "train", error: null });
    this.log(resume ? `resuming training${r().checkpoint ? ` from ${r().checkpoint}` : ""} …` : "training …");
    const result = await this.job("train", TRAIN_SCRIPT, resume ? [...args, "--resume"] : args, req, async (e) => {
      if (e.event === "start") {
        await this.update({
          backend: String(e.backend),
          device: { device: String(e.device), name: String(e.device_name ?? e.device), dtype: String(e.dtype) },
          versions: (e.versions as Record<string, string>) ?? null,
          trainable_params: Number(e.trainable_params ?? 0) || null,
          hyperparameters: { ...r().hyperparameters, ...(e.hyperparameters as Record<string, unknown>) },
          lora: (e.lora as Record<string, unknown>) ?? r().lora,
          steps: { done: Number(e.step ?? 0), total: Number(e.total) },
        });
        this.log(`  ${e.device === "cuda" ? `GPU: ${e.device_name}` : String(e.device_name)}, ${e.dtype}; ${e.trainable_params} trainable LoRA parameters; ${e.train_examples} train / ${e.val_examples} validation examples`);
      } else if (e.event === "step") {
        const step = Number(e.step);
        const point: TrainingMetricPoint = {
          step,
          train_loss: typeof e.loss === "number" ? e.loss : null,
          valid_loss: typeof e.eval_loss === "number" ? e.eval_loss : null,
          full_valid_loss: null,
          train_accuracy: null,
          valid_accuracy: null,
        };
        const losses = [...r().losses.filter((p) => p.step !== step), point].sort((a, b) => a.step - b.step);
        const lastValid = [...losses].reverse().find((p) => p.valid_loss !== null)?.valid_loss ?? null;
        const progress: FineTuneProgress = { step, total_steps: Number(e.total), train_loss: point.train_loss, valid_loss: lastValid, full_valid_loss: null, train_accuracy: null, valid_accuracy: null };
        await this.update({ losses, progress, steps: { done: step, total: Number(e.total) } });
        this.opts.onProgress?.(progress, losses);
      } else if (e.event === "checkpoint" || (e.event === "interrupted" && e.checkpoint)) {
        await this.update({ checkpoint: forChild(String(e.path ?? e.checkpoint), this.root) });
      }
    });
    if (result.code === 0) {
      await this.update({ status: "trained", stage: null, adapter: forChild(this.layout.training, this.root) });
      this.log(`  trained: ${formatFineTuneProgress(this.record!.progress)}`);
      return "done";
    }
    if (result.code === INTERRUPTED_EXIT || result.interrupted) return "interrupted";
    await this.update({ status: "failed", stage: "train", error: { stage: "train", message: result.error ?? `exit ${result.code}` } });
    return "failed";
  }

  private async merge(req: LocalRunOptions): Promise<"done" | "interrupted" | "failed"> {
    await this.update({ status: "merging", stage: "merge", error: null });
    this.log("merging the adapter into the base model …");
    const result = await this.job("merge", MERGE_SCRIPT, ["--adapter", forChild(this.layout.training, this.root), "--out", forChild(this.layout.merged, this.root)], req, () => undefined);
    if (result.code === 0) {
      await this.update({ status: "exporting", stage: "export", merged: forChild(this.layout.merged, this.root) });
      return "done";
    }
    return this.failedOr(result, "merge");
  }

  private async export(req: LocalRunOptions): Promise<"done" | "interrupted" | "failed"> {
    const dtypes = exportDtypeList(req.exportDtypes ?? this.record!.request.export_dtypes);
    await this.update({ status: "exporting", stage: "export", error: null });
    this.log(`exporting to ONNX (${dtypes.join(", ")}) …`);
    const verify: Record<string, number> = {};
    let done: JobEvent | undefined;
    const args = ["--model", forChild(this.layout.merged, this.root), "--out", forChild(this.layout.export, this.root), "--dtypes", dtypes.join(",")];
    if (req.threads) args.push("--threads", String(req.threads));
    const result = await this.job("export", EXPORT_SCRIPT, args, req, (e) => {
      if (e.event === "graph") this.log(`  ${e.file}: ${(Number(e.bytes) / 1e6).toFixed(1)} MB (${e.seconds} s)`);
      if (e.event === "verify") verify[`${e.graph}/${e.dtype}`] = Number(e.max_abs_diff);
      if (e.event === "done") done = e;
    });
    if (result.code === 0 && done) {
      const manifest = JSON.parse(await fs.readFile(path.join(this.layout.export, "streetsafe_export.json"), "utf8")) as { max_pixels?: number };
      await this.update({
        status: "checking",
        stage: "check",
        export: {
          dir: forChild(this.layout.export, this.root),
          dtypes: done.dtypes as string[],
          default_dtype: String(done.default_dtype),
          files: done.files as Record<string, number>,
          verify,
          max_pixels: manifest.max_pixels ?? null,
          exported_at: new Date().toISOString(),
        },
      });
      return "done";
    }
    return this.failedOr(result, "export");
  }

  private async check(req: LocalRunOptions): Promise<"done" | "interrupted" | "failed" | "skipped"> {
    if (!this.opts.checkExport) {
      this.log(`exported to ${this.layout.export}; check it with: npx streetsafe check-export ${this.layout.export} --torch-model ${this.layout.merged}`);
      return "skipped";
    }
    await this.update({ status: "checking", stage: "check", error: null });
    this.log("checking the export against PyTorch …");
    const outcome = await this.opts.checkExport({
      exportDir: this.layout.export,
      torchModel: this.layout.merged,
      out: this.layout.check,
      dataDir: path.dirname(path.resolve(this.root, this.record!.data.dir)), // step 1's folder: the run's own data
      python: this.python(),
      threads: req.threads,
      logFile: this.layout.log("check"),
      signal: req.signal,
      log: this.log,
    });
    if (req.signal?.aborted) return "interrupted";
    const check = { file: forChild(outcome.file, this.root), passed: outcome.passed, dtypes: outcome.dtypes, checked_at: new Date().toISOString() };
    if (!outcome.passed) {
      await this.update({ status: "failed", stage: "check", check, error: { stage: "check", message: `the fp32 export does not match PyTorch (see ${check.file})` } });
      return "failed";
    }
    await this.update({ status: "succeeded", stage: null, check, fine_tuned_model: this.record!.export?.dir ?? null, finished_at: new Date().toISOString() });
    return "done";
  }

  private async failedOr(result: { code: number | null; error: string | null; interrupted: boolean }, stage: LocalStage): Promise<"interrupted" | "failed"> {
    if (result.code === INTERRUPTED_EXIT || result.interrupted) return "interrupted";
    await this.update({ status: "failed", stage, error: { stage, message: result.error ?? `exit ${result.code}` } });
    return "failed";
  }

  private async update(patch: Partial<LocalFineTuneRecord>): Promise<void> {
    Object.assign(this.record!, patch);
    await this.save();
  }

  private async save(): Promise<void> {
    this.record!.updated_at = (await writeLocalRecord(this.layout.record, this.record!)).updated_at;
    this.opts.onRecord?.(this.record!);
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
