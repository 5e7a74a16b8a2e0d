/**
 * The local route's dry run: the plan (base model, device, backend, steps, hyperparameters as the training job
 * resolves them from the YAML and the flags), the data check (counts per named problem, with the first example
 * of each), the data hash, and a time and memory estimate (estimate.ts). Nothing is trained; the training job
 * is asked with `--plan` (it sizes the base model on torch's meta device: no weights are loaded or downloaded).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { displayPath } from "../../core/project-path";
import { PROJECT_ROOT, runPythonJob, type ProjectPython } from "../../core/python";
import { estimateTraining, formatBytes, formatDuration, type TrainingEstimate } from "./estimate";
import { baseModelForChild, forChild, LOCAL_FINETUNE_DEFAULTS, qwenDataDir, trainArgs, type LocalRunRequest } from "./options";

export const TRAIN_SCRIPT = path.join("python", "qwen2vl", "train_lora.py");

interface SplitCheck {
  file: string | null;
  examples: number;
  problems: Record<string, number>;
  first: Record<string, string>;
  image_tokens_mean?: number | null;
}

export interface LocalPlan {
  dataDir: string;
  baseModel: string;
  backend: string;
  device: "cpu" | "cuda";
  deviceName: string;
  bf16: boolean;
  base: { source: string | null; cached?: boolean; params?: number; vision_params?: number; language_params?: number; hidden_size?: number; layers?: number };
  train: SplitCheck;
  val: SplitCheck;
  stepsPerEpoch: number;
  totalSteps: number;
  hyperparameters: Record<string, unknown>;
  lora: Record<string, unknown>;
  /** The checkpoint a resumed run would continue from. */
  resumeFrom: string | null;
  /** sha256 over dataset_info.json, the YAML and the split files. */
  dataSha256: string;
  estimate: TrainingEstimate | null;
  /** Every data problem, one line each ("2 × image missing, first: …"). */
  problems: string[];
}

export interface PlanContext {
  python: ProjectPython;
  root?: string;
  outputDir: string;
}

/** sha256 over the files that make the training data (images are named by their own sha256 in them). */
export async function dataSha256(files: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${path.basename(f)}\0`);
    await new Promise<void>((resolve, reject) => {
      createReadStream(f)
        .on("data", (chunk) => h.update(chunk))
        .on("end", resolve)
        .on("error", reject);
    });
  }
  return h.digest("hex");
}

/** The files hashed for a data folder: dataset_info.json, the YAML, the split files that exist. */
export function dataFiles(qwenDir: string, splitFiles: (string | null)[]): string[] {
  const fixed = ["dataset_info.json", "qwen2vl_lora_sft.yaml"].map((f) => path.join(qwenDir, f));
  return [...fixed, ...splitFiles.filter((f): f is string => !!f)].filter((f) => existsSync(f));
}

export async function planLocalFineTune(req: LocalRunRequest, ctx: PlanContext): Promise<LocalPlan> {
  const root = ctx.root ?? PROJECT_ROOT;
  const dataDir = qwenDataDir(req.dataDir ?? LOCAL_FINETUNE_DEFAULTS.dataDir);
  if (!existsSync(path.join(dataDir, "dataset_info.json"))) {
    throw new Error(`${dataDir}/dataset_info.json not found: run step 1 first (npx streetsafe prepare), which writes the Qwen2-VL data there`);
  }
  const baseModel = req.baseModel ?? LOCAL_FINETUNE_DEFAULTS.baseModel;
  const args = trainArgs({ ...req, baseModel: baseModelForChild(baseModel, existsSync, root), dataDir: forChild(dataDir, root), outputDir: forChild(ctx.outputDir, root) });
  const r = await runPythonJob(ctx.python, TRAIN_SCRIPT, [...args, "--plan"], { root });
  const p = r.events.find((e) => e.event === "plan") as Record<string, unknown> | undefined;
  if (r.code !== 0 || !p) throw new Error(`the training job could not plan the run: ${r.error ?? `exit ${r.code}`}`);
  const train = p.train as SplitCheck;
  const val = p.val as SplitCheck;
  const base = p.base as LocalPlan["base"];
  const hyper = p.hyperparameters as Record<string, number | null>;
  const problems: string[] = [];
  for (const [name, split] of [["train", train], ["validation", val]] as const) {
    for (const [kind, n] of Object.entries(split.problems)) problems.push(`${name}: ${n} × ${kind} (first: ${split.first[kind]})`);
  }
  if (train.examples === 0) problems.push("train: no examples");
  const device = p.device === "cuda" ? "cuda" : "cpu";
  const totalSteps = Number(p.total_steps);
  const evalSteps = Number(hyper.eval_steps ?? 0);
  const estimate =
    base.params && base.language_params !== undefined && base.vision_params !== undefined
      ? estimateTraining({
          languageParams: base.language_params,
          visionParams: base.vision_params,
          width: (base.hidden_size ?? 1536) * (base.layers ?? 28),
          imageTokens: train.image_tokens_mean ?? 196,
          trainExamples: train.examples,
          valExamples: val.examples,
          totalSteps,
          stepsPerEpoch: Number(p.steps_per_epoch),
          batchSize: Number(hyper.batch_size ?? 2),
          evaluations: val.examples ? (evalSteps > 0 ? Math.floor(totalSteps / evalSteps) : 0) + 1 : 0,
          device,
          cores: req.threads ?? os.availableParallelism(),
        })
      : null;
  return {
    dataDir,
    baseModel,
    backend: String(p.backend),
    device,
    deviceName: String(p.device_name),
    bf16: p.bf16 === true,
    base,
    train,
    val,
    stepsPerEpoch: Number(p.steps_per_epoch),
    totalSteps,
    hyperparameters: hyper,
    lora: p.lora as Record<string, unknown>,
    resumeFrom: (p.resume_from as string | null) ?? null,
    dataSha256: await dataSha256(dataFiles(dataDir, [train.file, val.file])),
    estimate,
    problems,
  };
}

/** The dry run as text (the CLI prints it; the notebook shows the same facts as tables). */
export function formatLocalPlan(p: LocalPlan): string {
  const h = p.hyperparameters;
  const lines = [
    `local Qwen2-VL LoRA fine-tune (dry run: nothing is trained)`,
    `  base model: ${path.isAbsolute(p.baseModel) ? displayPath(p.baseModel) : p.baseModel}${p.base.params ? ` (${formatParams(p.base.params)} parameters: ${p.base.source})` : " (size unknown here: no config.json on this machine)"}`,
    `  backend: ${p.backend} · device: ${p.device === "cuda" ? `${p.deviceName} (CUDA${p.bf16 ? ", bf16" : ", fp32"})` : "CPU (fp32)"}`,
    `  data: ${displayPath(p.dataDir)} — ${p.train.examples} train, ${p.val.examples} validation examples; sha256 ${p.dataSha256.slice(0, 16)}…`,
    `  steps: ${p.totalSteps} (${p.stepsPerEpoch} per epoch; batch ${h.batch_size} × accumulation ${h.grad_accum}, ${h.max_steps ? `max ${h.max_steps} steps` : `${h.epochs} epochs`})`,
    `  learning rate ${h.learning_rate} (${h.scheduler}, warm-up ${h.warmup_ratio}); LoRA r ${p.lora.rank}, α ${p.lora.alpha}, dropout ${p.lora.dropout} on ${(p.lora.target as string[]).join(", ")}`,
    `  images ≤ ${h.image_max_pixels} pixels (≈ ${Math.round(p.train.image_tokens_mean ?? 0)} image tokens each)${p.resumeFrom ? ` · a resumed run continues from ${displayPath(p.resumeFrom)}` : ""}`,
    p.problems.length ? `  data problems:\n${p.problems.map((l) => `    - ${l}`).join("\n")}` : "  data check: no problems",
  ];
  if (p.estimate) {
    const e = p.estimate;
    lines.push(
      `  estimate: ${formatDuration(e.secondsPerExample)} per example, ${e.examplesSeen} examples → training ≈ ${formatDuration(e.trainSeconds)}, evaluation ≈ ${formatDuration(e.evalSeconds)}, total ≈ ${formatDuration(e.totalSeconds)}; peak memory ≈ ${formatBytes(e.peakMemoryBytes)}`,
      `    basis: ${e.basis}`,
    );
    if (e.peakMemoryBytes > os.totalmem() && p.device === "cpu") {
      lines.push(`  warning: that is more than this machine's ${formatBytes(os.totalmem())}: use --batch-size 1 with a larger --grad-accum (the same effective batch), or a lower --image-max-pixels`);
    }
  }
  return lines.join("\n");
}

function formatParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n.toLocaleString("en-US");
}
