/**
 * The `qwen2vl-local` model type: a Qwen2-VL export run here on ONNX. An older config served Qwen2-VL
 * through vLLM by adding `base_url` + `served_model` to this entry; such an entry is read as the
 * `openai-chat` entry it really is, with a note saying what to write instead.
 */
import { z } from "zod";
import type { ModelType } from "../model-type";
import { LocalQwen2VLModel } from "./model";
import { QWEN2VL_DTYPE_CHOICES } from "./options";

/** The key variable a vLLM-served entry used when it named none. */
const VLLM_KEY_ENV = "VLLM_API_KEY";

export const Qwen2VLEntry = z
  .object({
    type: z.literal("qwen2vl-local"),
    dir: z.string(),
    dtype: z.union([z.enum(QWEN2VL_DTYPE_CHOICES), z.record(z.string())]).optional(),
    device: z.enum(["cpu", "cuda"]).optional(),
    max_pixels: z.number().int().positive().optional(),
    max_new_tokens: z.number().int().positive().optional(),
    /** Deprecated: a model served over an OpenAI-compatible API is an `openai-chat` entry (see migrate). */
    base_url: z.string().url().optional(),
    served_model: z.string().optional(),
    api_key_env: z.string().optional(),
    concurrency: z.number().int().positive().optional(),
    description: z.string().optional(),
  })
  .strict()
  .refine((e) => !e.base_url || !!e.served_model, { message: "base_url needs served_model (the model or LoRA name the server knows)" });
export type Qwen2VLEntry = z.infer<typeof Qwen2VLEntry>;

export const QWEN2VL_TYPE: ModelType<Qwen2VLEntry> = {
  type: "qwen2vl-local",
  kind: "local",
  schema: Qwen2VLEntry,
  defaultConcurrency: 1,
  create(e, ctx) {
    const dir = ctx.override.dir ?? ctx.resolve(e.dir);
    const dtype = (ctx.override.dtype as Qwen2VLEntry["dtype"]) ?? e.dtype;
    return LocalQwen2VLModel.load({ name: ctx.name, dir, scale: ctx.scale, dtype, device: e.device, maxPixels: e.max_pixels, maxNewTokens: e.max_new_tokens });
  },
  migrate(e) {
    if (!e.base_url) return undefined;
    const entry = {
      type: "openai-chat" as const,
      model: e.served_model!,
      base_url: e.base_url,
      api_key_env: e.api_key_env ?? VLLM_KEY_ENV,
      ...(e.concurrency !== undefined ? { concurrency: e.concurrency } : {}),
      ...(e.description !== undefined ? { description: e.description } : {}),
    };
    const note =
      `type "qwen2vl-local" with base_url is deprecated: a model served over an OpenAI-compatible API (vLLM) is an openai-chat entry. ` +
      `It is read as ${JSON.stringify({ type: entry.type, model: entry.model, base_url: entry.base_url, api_key_env: entry.api_key_env })}; write that instead.`;
    return { entry, note };
  },
};
