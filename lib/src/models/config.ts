/**
 * The model config file (`models/models.json`): every model streetsafe can run, by name, with its
 * settings. Each entry is validated with its type's schema from the registry, so a typo names the
 * model and the field; an entry written the old way is read as what it is, with a note.
 */
import { promises as fs } from "node:fs";
import { z } from "zod";
import { MODEL_TYPES, modelType, type ModelEntry } from "./registry";

export type { ModelEntry } from "./registry";

/** One entry of any registered type. */
export const ModelEntrySchema = z.union(MODEL_TYPES.map((t) => t.schema) as unknown as [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]) as unknown as z.ZodType<ModelEntry, z.ZodTypeDef, unknown>;
export const ModelConfigSchema = z.object({ $comment: z.string().optional(), models: z.record(ModelEntrySchema) }).strict();

export interface ModelConfig {
  $comment?: string;
  models: Record<string, ModelEntry>;
  /** What was read differently from how it is written (deprecated entries), one line each. */
  notes?: string[];
}

export const DEFAULT_MODEL_CONFIG = "models/models.json";

/** Built-in entries, used when no config file exists (e.g. a fresh data folder elsewhere). */
export const BUILTIN_MODELS: ModelConfig["models"] = {
  gpt4: { type: "openai-chat", model: "gpt-4o", description: "GPT-4-class vision baseline" },
  "gpt4o-mini-ft": { type: "openai-chat", fine_tune_info: "models/gpt4o_mini_finetuned/fine_tune_info.json", description: "the fine-tuned GPT model from step 2" },
  "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/fine_tuned_qwen2vl/export", dtype: "auto", description: "fine-tuned Qwen2-VL-2B, local ONNX" },
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
  const parsed = ModelConfigSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${file}: ${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new Error(`invalid model config:\n${lines.join("\n")}`);
  }
  const models: Record<string, ModelEntry> = {};
  const notes: string[] = [];
  for (const [name, entry] of Object.entries(parsed.data.models)) {
    const migrated = modelType(entry.type).migrate?.(entry);
    models[name] = migrated ? (migrated.entry as ModelEntry) : entry;
    if (migrated) notes.push(`${file}: models.${name}: ${migrated.note}`);
  }
  return { ...(parsed.data.$comment !== undefined ? { $comment: parsed.data.$comment } : {}), models, notes };
}
