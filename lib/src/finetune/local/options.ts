/**
 * What a local Qwen2-VL fine-tune is asked to do, its defaults (one place; covered by a test), and the
 * training job's command line. Unset hyperparameters come from step 1's `qwen2vl_lora_sft.yaml` (the training
 * job reads it: LoRA r 8 / α 16 / dropout 0.05 on every language-model linear layer, lr 1e-4 cosine with 10 %
 * warm-up, batch 2 × 8 accumulation, 3 epochs, images ≤ 262,144 pixels).
 */
import path from "node:path";
import { PROJECT_ROOT } from "../../core/python";
import { QWEN_BASE_MODEL, QWEN_FINETUNING_SUBDIR } from "../../prepare";

export interface LocalHyperparameters {
  epochs?: number;
  /** Stop after this many optimizer steps (overrides epochs). */
  maxSteps?: number;
  batchSize?: number;
  gradAccum?: number;
  learningRate?: number;
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  imageMaxPixels?: number;
  warmupRatio?: number;
  /** Validation loss every N steps (and at the end). */
  evalSteps?: number;
  /** A checkpoint every N steps (and at the end, and on Ctrl-C). */
  saveSteps?: number;
  seed?: number;
  gradientCheckpointing?: boolean;
}

export const LOCAL_DEVICES = ["auto", "cpu", "cuda"] as const;
export type LocalDevice = (typeof LOCAL_DEVICES)[number];
export const LOCAL_BACKENDS = ["auto", "transformers", "llamafactory"] as const;
export type LocalBackend = (typeof LOCAL_BACKENDS)[number];
/** What the export builds besides fp32 (always built: the parity check's reference). */
export const EXPORT_DTYPES = ["q8", "fp16", "fp32"] as const;

export const LOCAL_FINETUNE_DEFAULTS = {
  baseModel: QWEN_BASE_MODEL,
  device: "auto",
  backend: "auto",
  /** fp32 + q8; "auto" at inference then loads q8. */
  exportDtypes: ["fp32", "q8"],
  dataDir: "data",
  modelsDir: "models",
} as const;

export interface LocalRunRequest {
  dataDir?: string;
  /** A hub id (downloaded by the training job on a machine with a network) or a local folder. */
  baseModel?: string;
  hyperparameters?: LocalHyperparameters;
  device?: LocalDevice;
  backend?: LocalBackend;
  /** torch CPU threads (default: torch's own choice). */
  threads?: number;
  /** Export dtypes, fp32 always included; default fp32 + q8. */
  exportDtypes?: string[];
  /** Tests: pause (checkpoint, exit as on Ctrl-C) once this step is done. */
  stopAfterStep?: number;
  /** Start over even though a stopped run has checkpoints (they are removed). */
  restart?: boolean;
}

/** `<dataDir>/qwen_finetuning`. */
export function qwenDataDir(dataDir: string): string {
  return path.join(dataDir, QWEN_FINETUNING_SUBDIR);
}

/**
 * A path as the Python jobs get it (they run in the repository root): relative to the root when inside it, so
 * no machine path lands in the files they write; absolute otherwise.
 */
export function forChild(p: string, root = PROJECT_ROOT): string {
  const abs = path.resolve(p);
  const rel = path.relative(root, abs);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : abs;
}

/** A base model given as an existing folder is a path for the child; anything else is a hub id, as given. */
export function baseModelForChild(base: string, exists: (p: string) => boolean, root = PROJECT_ROOT): string {
  return exists(base) ? forChild(base, root) : base;
}

/** train_lora.py's flags for a request (the YAML gives the rest). */
export function trainArgs(req: LocalRunRequest & { baseModel: string; dataDir: string; outputDir: string }): string[] {
  const h = req.hyperparameters ?? {};
  const args = ["--data-dir", req.dataDir, "--base-model", req.baseModel, "--output-dir", req.outputDir];
  const flag = (name: string, v: number | undefined) => (v === undefined ? [] : [name, String(v)]);
  args.push(
    ...flag("--epochs", h.epochs),
    ...flag("--max-steps", h.maxSteps),
    ...flag("--batch-size", h.batchSize),
    ...flag("--grad-accum", h.gradAccum),
    ...flag("--lr", h.learningRate),
    ...flag("--lora-rank", h.loraRank),
    ...flag("--lora-alpha", h.loraAlpha),
    ...flag("--lora-dropout", h.loraDropout),
    ...flag("--image-max-pixels", h.imageMaxPixels),
    ...flag("--warmup-ratio", h.warmupRatio),
    ...flag("--eval-steps", h.evalSteps),
    ...flag("--save-steps", h.saveSteps),
    ...flag("--seed", h.seed),
    ...flag("--threads", req.threads),
    ...flag("--stop-after-step", req.stopAfterStep),
  );
  if (h.gradientCheckpointing) args.push("--gradient-checkpointing");
  args.push("--device", req.device ?? LOCAL_FINETUNE_DEFAULTS.device, "--backend", req.backend ?? LOCAL_FINETUNE_DEFAULTS.backend);
  return args;
}

/** The export's dtype list: fp32 first, then the others asked for, without repeats. */
export function exportDtypeList(asked: readonly string[] | undefined): string[] {
  const list = ["fp32", ...(asked ?? LOCAL_FINETUNE_DEFAULTS.exportDtypes)];
  for (const d of list) if (!(EXPORT_DTYPES as readonly string[]).includes(d)) throw new Error(`unknown export dtype "${d}" (known: ${EXPORT_DTYPES.join(", ")})`);
  return [...new Set(list)];
}
