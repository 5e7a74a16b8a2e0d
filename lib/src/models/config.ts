/**
 * The model config file (`models/models.json`): every model streetsafe can run, by name, with its
 * settings. Validated with zod so a typo names the model and the field.
 */
import { promises as fs } from "node:fs";
import { z } from "zod";

const common = { description: z.string().optional() };
const detail = z.enum(["low", "high", "auto"]);

const OpenAIChatEntry = z
  .object({
    type: z.literal("openai-chat"),
    /** Model id; or read from a fine-tuning record. */
    model: z.string().optional(),
    fine_tune_info: z.string().optional(),
    provider: z.enum(["openai", "azure"]).optional(),
    base_url: z.string().url().optional(),
    /** Variable holding the key (`<VAR>_FILE` may name a file instead). */
    api_key_env: z.string().optional(),
    detail: detail.optional(),
    structured_outputs: z.boolean().optional(),
    logprobs: z.boolean().optional(),
    max_tokens: z.number().int().positive().optional(),
    timeout_ms: z.number().int().positive().optional(),
    max_retries: z.number().int().min(0).optional(),
    seed: z.number().int().optional(),
    /** Requests in flight at once for this model during a comparison. */
    concurrency: z.number().int().positive().optional(),
    ...common,
  })
  .strict()
  .refine((e) => !!e.model !== !!e.fine_tune_info, { message: "give exactly one of model or fine_tune_info" });

const Qwen2VLEntry = z
  .object({
    type: z.literal("qwen2vl-local"),
    dir: z.string(),
    dtype: z.union([z.enum(["fp32", "fp16", "q8", "q4"]), z.record(z.string())]).optional(),
    device: z.enum(["cpu", "cuda"]).optional(),
    max_pixels: z.number().int().positive().optional(),
    max_new_tokens: z.number().int().positive().optional(),
    /** Served by an OpenAI-compatible server (vLLM) instead of locally: its base URL and model/LoRA name. */
    base_url: z.string().url().optional(),
    served_model: z.string().optional(),
    api_key_env: z.string().optional(),
    concurrency: z.number().int().positive().optional(),
    ...common,
  })
  .strict()
  .refine((e) => !e.base_url || !!e.served_model, { message: "base_url needs served_model (the model or LoRA name the server knows)" });

const MeanEntry = z.object({ type: z.literal("mean"), ...common }).strict();
const ImageStatsEntry = z.object({ type: z.literal("image-stats"), lambda: z.number().positive().optional(), ...common }).strict();

export const ModelEntry = z.union([OpenAIChatEntry, Qwen2VLEntry, MeanEntry, ImageStatsEntry]);
export type ModelEntry = z.infer<typeof ModelEntry>;
export const ModelConfig = z.object({ $comment: z.string().optional(), models: z.record(ModelEntry) }).strict();
export type ModelConfig = z.infer<typeof ModelConfig>;

export const DEFAULT_MODEL_CONFIG = "models/models.json";

/** Built-in entries, used when no config file exists (e.g. a fresh data folder elsewhere). */
export const BUILTIN_MODELS: ModelConfig["models"] = {
  gpt4: { type: "openai-chat", model: "gpt-4o", description: "GPT-4-class vision baseline" },
  "gpt4o-mini-ft": { type: "openai-chat", fine_tune_info: "models/gpt4o_mini_finetuned/fine_tune_info.json", description: "the fine-tuned GPT model from step 2" },
  "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/fine_tuned_qwen2vl", dtype: "q8", description: "fine-tuned Qwen2-VL-2B, local ONNX" },
  mean: { type: "mean", description: "constant baseline: the training mean" },
  "image-stats": { type: "image-stats", description: "ridge regression on image statistics" },
};

export async function loadModelConfig(file: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return { models: BUILTIN_MODELS };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = ModelConfig.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${file}: ${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new Error(`invalid model config:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
