/**
 * LLaMA-Factory multimodal data for a Qwen2-VL LoRA fine-tune.
 *
 * Layout written into `dir`:
 *   <name>_train.json, <name>_val.json   sharegpt-format arrays (streamed, one example at a time)
 *   images/<sha256>.jpg                   the prepared JPEGs, named by content hash only
 *   dataset_info.json                     LLaMA-Factory dataset registrations for both splits
 *   qwen2vl_lora_sft.yaml                 a sample LoRA SFT config (llamafactory-cli train)
 *   qwen2vl_lora_merge.yaml               merging the adapter into the base model (llamafactory-cli export)
 *   README.md                             train → merge → ONNX export for streetsafe
 *
 * Format checked against LLaMA-Factory's data/README.md ("OpenAI Format" / multimodal sharegpt:
 * `formatting: sharegpt`, `columns: {messages, images}`, role/content tags) and its
 * data/converter.py (a leading `system` message becomes the system prompt when `system_tag` is set;
 * image paths are joined to `media_dir`, which defaults to `dataset_dir`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { openLineWriter } from "../core/line-writer";
import { type ImageProvider } from "./openai-jsonl";
import { assistantTarget, PROMPT_VERSION, systemPrompt, userPrompt } from "../prompt/prompts";
import type { Scale } from "../core/scale";
import type { GroundTruthItem } from "../core/types";

export const QWEN_BASE_MODEL = "Qwen/Qwen2-VL-2B-Instruct";
/** LLaMA-Factory's image placeholder; the qwen2_vl template expands it into vision tokens. */
export const IMAGE_PLACEHOLDER = "<image>";
/** 512×512: at most ~334 visual tokens per image (Qwen2-VL merges 28×28-pixel patches into one token). */
export const DEFAULT_IMAGE_MAX_PIXELS = 262_144;

export interface QwenWriteOptions {
  scale: Scale;
  /** Dataset name prefix: files `<name>_train.json` / `<name>_val.json`, entries `<name>_train` / `<name>_val`. */
  datasetName?: string;
  /** Put the system prompt in as a leading `system` message (default true; inference must then send it too). */
  includeSystemPrompt?: boolean;
  /** `dataset_dir` written into the YAML; default "." (run llamafactory-cli from this folder). */
  configDatasetDir?: string;
  /** `output_dir` for the LoRA adapter in the YAML (relative to where llamafactory-cli runs). */
  outputDir?: string;
  /** `export_dir` for the merged model in the merge YAML. */
  mergedDir?: string;
  modelNameOrPath?: string;
  imageMaxPixels?: number;
}

export interface QwenMessage {
  role: "system" | "user" | "assistant";
  content: string;
}
export interface QwenExample {
  messages: QwenMessage[];
  images: string[];
}

export interface QwenWriteResult {
  train: { examples: number; bytes: number; file: string };
  val: { examples: number; bytes: number; file: string };
  /** Distinct JPEGs written under images/. */
  images: number;
  /** Every file written, relative to `dir`. */
  files: string[];
}

/** One sharegpt example; `imageRelPath` is relative to the dataset folder (e.g. `images/<sha256>.jpg`). */
export function qwenExample(
  item: GroundTruthItem,
  imageRelPath: string,
  opts: { scale: Scale; includeSystemPrompt?: boolean },
): QwenExample {
  const messages: QwenMessage[] = [];
  if (opts.includeSystemPrompt ?? true) messages.push({ role: "system", content: systemPrompt(opts.scale) });
  messages.push({ role: "user", content: IMAGE_PLACEHOLDER + userPrompt(opts.scale) });
  messages.push({ role: "assistant", content: assistantTarget(item) });
  return { messages, images: [imageRelPath] };
}

export function qwenDatasetInfo(datasetName = "streetsafe"): Record<string, unknown> {
  const entry = (file: string) => ({
    file_name: file,
    formatting: "sharegpt",
    columns: { messages: "messages", images: "images" },
    tags: {
      role_tag: "role",
      content_tag: "content",
      user_tag: "user",
      assistant_tag: "assistant",
      system_tag: "system",
    },
  });
  return {
    [`${datasetName}_train`]: entry(`${datasetName}_train.json`),
    [`${datasetName}_val`]: entry(`${datasetName}_val.json`),
  };
}

/**
 * Write both splits, their images, dataset_info.json, the sample configs and README.md into `dir`
 * (created if missing). Images are fetched one at a time and written once per sha256.
 */
export async function writeQwenDataset(
  dir: string,
  splits: { train: GroundTruthItem[]; val: GroundTruthItem[] },
  images: ImageProvider,
  opts: QwenWriteOptions,
): Promise<QwenWriteResult> {
  if (typeof images !== "function") throw new Error("writeQwenDataset needs an image provider");
  const name = opts.datasetName ?? "streetsafe";
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`datasetName must be a plain name, got "${name}"`);
  const imagesDir = path.join(dir, "images");
  await fs.mkdir(imagesDir, { recursive: true });

  const written = new Set<string>();
  const files: string[] = [];
  const writeSplit = async (split: "train" | "val", items: GroundTruthItem[]) => {
    const file = `${name}_${split}.json`;
    const full = path.join(dir, file);
    const out = await openLineWriter(full);
    let examples = 0;
    try {
      await out.writeRaw("[\n");
      for (const item of items) {
        const image = await images(item);
        if (!/^[0-9a-f]{64}$/.test(image.sha256)) throw new Error(`prepared image has no sha256 hex: "${image.sha256}"`);
        const rel = `images/${image.sha256}.jpg`;
        if (!written.has(image.sha256)) {
          await writeOnce(path.join(imagesDir, `${image.sha256}.jpg`), image.jpeg);
          written.add(image.sha256);
          files.push(rel);
        }
        const example = qwenExample(item, rel, opts);
        await out.writeRaw((examples === 0 ? "" : ",\n") + JSON.stringify(example));
        examples++;
      }
      await out.writeRaw("\n]\n");
      const bytes = await out.close();
      files.push(file);
      return { examples, bytes, file };
    } catch (err) {
      await out.abort();
      throw err;
    }
  };

  const train = await writeSplit("train", splits.train);
  const val = await writeSplit("val", splits.val);

  const extra: Record<string, string> = {
    "dataset_info.json": JSON.stringify(qwenDatasetInfo(name), null, 2) + "\n",
    "qwen2vl_lora_sft.yaml": qwenTrainConfigYaml({ ...opts, datasetName: name, hasVal: val.examples > 0 }),
    "qwen2vl_lora_merge.yaml": qwenMergeConfigYaml(opts),
    "README.md": qwenReadme({ ...opts, datasetName: name, trainExamples: train.examples, valExamples: val.examples }),
  };
  for (const [file, text] of Object.entries(extra)) {
    await fs.writeFile(path.join(dir, file), text, "utf8");
    files.push(file);
  }
  return { train, val, images: written.size, files };
}

async function writeOnce(file: string, data: Buffer): Promise<void> {
  try {
    await fs.writeFile(file, data, { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // same name = same content (sha256)
  }
}

const DEFAULT_OUTPUT_DIR = "saves/qwen2vl-2b-streetsafe/lora/sft";
const DEFAULT_MERGED_DIR = "saves/qwen2vl-2b-streetsafe/merged";

function yamlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
}

/** The sample LoRA SFT config (keys as in LLaMA-Factory's examples/train_lora/qwen2vl_lora_sft.yaml). */
export function qwenTrainConfigYaml(opts: Partial<QwenWriteOptions> & { hasVal?: boolean } = {}): string {
  const name = opts.datasetName ?? "streetsafe";
  const hasVal = opts.hasVal ?? true;
  const lines = [
    `# streetsafe: LoRA SFT of ${opts.modelNameOrPath ?? QWEN_BASE_MODEL} with LLaMA-Factory (prompt ${PROMPT_VERSION}).`,
    "# Run from this folder:  llamafactory-cli train qwen2vl_lora_sft.yaml",
    "",
    "### model: the base checkpoint; images are downscaled to at most image_max_pixels before encoding",
    `model_name_or_path: ${yamlString(opts.modelNameOrPath ?? QWEN_BASE_MODEL)}`,
    `image_max_pixels: ${opts.imageMaxPixels ?? DEFAULT_IMAGE_MAX_PIXELS}`,
    "trust_remote_code: true",
    "",
    "### method: supervised fine-tuning with LoRA adapters on all linear layers of the language model",
    "stage: sft",
    "do_train: true",
    "finetuning_type: lora",
    "lora_rank: 8",
    "lora_alpha: 16",
    "lora_dropout: 0.05",
    "lora_target: all",
    "freeze_vision_tower: true",
    "",
    "### dataset: this folder's dataset_info.json; image paths are relative to dataset_dir",
    `dataset_dir: ${yamlString(opts.configDatasetDir ?? ".")}`,
    `dataset: ${name}_train`,
    ...(hasVal ? [`eval_dataset: ${name}_val`] : ["# no validation examples were written, so no eval_dataset"]),
    "template: qwen2_vl",
    "cutoff_len: 2048",
    "overwrite_cache: true",
    "preprocessing_num_workers: 4",
    "dataloader_num_workers: 2",
    "",
    "### output: where the LoRA adapter, logs and the loss plot go",
    `output_dir: ${yamlString(opts.outputDir ?? DEFAULT_OUTPUT_DIR)}`,
    "logging_steps: 10",
    "save_steps: 100",
    "plot_loss: true",
    "overwrite_output_dir: true",
    "save_only_model: false",
    "report_to: none",
    "",
    "### train: effective batch 2 x 8 = 16 per device; small data, so a few epochs at a LoRA-typical rate",
    "per_device_train_batch_size: 2",
    "gradient_accumulation_steps: 8",
    "learning_rate: 1.0e-4",
    "num_train_epochs: 3.0",
    "lr_scheduler_type: cosine",
    "warmup_ratio: 0.1",
    "bf16: true",
    "ddp_timeout: 180000000",
    "resume_from_checkpoint: null",
    "",
  ];
  if (hasVal) {
    lines.push(
      "### eval: loss on the validation split during training (the test split is never used here)",
      "per_device_eval_batch_size: 2",
      "eval_strategy: steps",
      "eval_steps: 100",
      "",
    );
  }
  return lines.join("\n");
}

/** Merging the adapter into the base weights (keys as in LLaMA-Factory's examples/merge_lora/qwen2vl_lora_sft.yaml). */
export function qwenMergeConfigYaml(opts: Partial<QwenWriteOptions> = {}): string {
  return [
    "# Merge the LoRA adapter into the base model:  llamafactory-cli export qwen2vl_lora_merge.yaml",
    "# Do not merge into a quantized model.",
    "",
    "### model: base checkpoint + the adapter written by qwen2vl_lora_sft.yaml",
    `model_name_or_path: ${yamlString(opts.modelNameOrPath ?? QWEN_BASE_MODEL)}`,
    `adapter_name_or_path: ${yamlString(opts.outputDir ?? DEFAULT_OUTPUT_DIR)}`,
    "template: qwen2_vl",
    "finetuning_type: lora",
    "trust_remote_code: true",
    "",
    "### export: a full Hugging Face checkpoint (safetensors shards of at most 2 GB), merged on CPU",
    `export_dir: ${yamlString(opts.mergedDir ?? DEFAULT_MERGED_DIR)}`,
    "export_size: 2",
    "export_device: cpu",
    "export_legacy_format: false",
    "",
  ].join("\n");
}

export function qwenReadme(
  opts: Partial<QwenWriteOptions> & { trainExamples?: number; valExamples?: number } = {},
): string {
  const name = opts.datasetName ?? "streetsafe";
  const out = opts.outputDir ?? DEFAULT_OUTPUT_DIR;
  const merged = opts.mergedDir ?? DEFAULT_MERGED_DIR;
  return `# Qwen2-VL fine-tuning data (streetsafe)

Generated by \`streetsafe prepare\`; do not edit by hand, re-run prepare instead.

| file | what |
| --- | --- |
| \`${name}_train.json\`, \`${name}_val.json\` | LLaMA-Factory sharegpt examples (${opts.trainExamples ?? "?"} train, ${opts.valExamples ?? "?"} val): system prompt, \`<image>\` + user prompt, JSON target |
| \`images/<sha256>.jpg\` | the prepared images, named by content hash (no original file names anywhere in the data) |
| \`dataset_info.json\` | registers \`${name}_train\` and \`${name}_val\` (\`formatting: sharegpt\`, \`columns: {messages, images}\`) |
| \`qwen2vl_lora_sft.yaml\` | sample LoRA SFT config for \`${opts.modelNameOrPath ?? QWEN_BASE_MODEL}\` |
| \`qwen2vl_lora_merge.yaml\` | merges the adapter into the base model |

The prompts are the ones streetsafe uses at inference (prompt version \`${PROMPT_VERSION}\`); the test split is not here.

## The whole route with streetsafe

\`\`\`bash
npx streetsafe finetune --provider local --dry-run   # the plan, the data check, a time and memory estimate
npx streetsafe finetune --provider local             # train (LLaMA-Factory when installed, else transformers + peft),
                                                     # merge, export to ONNX (fp32 + q8), parity check
\`\`\`

It writes \`models/fine_tuned_qwen2vl/\` (record, checkpoints, merged model, the ONNX export \`export/\`) and uses the
project's own Python environment. The steps below do the same by hand with LLaMA-Factory.

## 1. Train (GPU)

\`\`\`bash
pip install llamafactory          # or: git clone https://github.com/hiyouga/LLaMA-Factory && pip install -e ".[torch,metrics]"
cd <this folder>                  # dataset_dir in the YAML is "." and image paths are relative to it
llamafactory-cli train qwen2vl_lora_sft.yaml
\`\`\`

The adapter lands in \`${out}\` (relative to this folder). Check \`training_loss.png\` and the eval loss.
Memory: the 2B model with LoRA, bf16 and batch 2 fits on one 24 GB GPU; lower
\`per_device_train_batch_size\` or \`image_max_pixels\` if it does not.

## 2. Merge the adapter

\`\`\`bash
llamafactory-cli export qwen2vl_lora_merge.yaml
\`\`\`

This writes a full Hugging Face checkpoint to \`${merged}\`.

## 3. Export to ONNX for streetsafe

streetsafe runs Qwen2-VL in Node through \`@huggingface/transformers\` (onnxruntime-node). The model folder
(\`models/fine_tuned_qwen2vl/export/\`) must hold \`config.json\`, \`generation_config.json\`,
\`preprocessor_config.json\` (\`processor_class: "Qwen2VLProcessor"\`, with \`max_pixels\` capped like
\`image_max_pixels\` above), \`tokenizer.json\`, \`tokenizer_config.json\` (chat template inside) and
\`onnx/embed_tokens.onnx\`, \`onnx/vision_encoder.onnx\`, \`onnx/decoder_model_merged.onnx\`
(optionally quantized variants such as \`_quantized\`, \`_q4\`, \`_fp16\`).

streetsafe's exporter writes exactly that from the merged checkpoint of step 2, and checks it against PyTorch:

\`\`\`bash
.venv/bin/python python/qwen2vl/export_onnx.py --model <this folder>/${merged} --out models/fine_tuned_qwen2vl/export --dtypes fp32,q8
npx streetsafe check-export models/fine_tuned_qwen2vl/export
\`\`\`

(run from the repository root; \`check-export\` finds the merged model in the export's \`streetsafe_export.json\`).
`;
}
