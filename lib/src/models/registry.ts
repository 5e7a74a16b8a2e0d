/**
 * The model registry: every model type streetsafe knows — its config schema, how it is created, its kind
 * (api / local / baseline) and its default concurrency — the ONE place model types are listed. A new
 * model type is an `entry.ts` in its own folder, added here.
 */
import { IMAGE_STATS_TYPE, MEAN_TYPE, type ImageStatsEntry, type MeanEntry } from "./baselines/entry";
import type { ModelType } from "./model-type";
import { OPENAI_CHAT_TYPE, type OpenAIChatEntry } from "./openai-chat/entry";
import { QWEN2VL_TYPE, type Qwen2VLEntry } from "./qwen2vl/entry";
import type { ModelKind } from "./types";

/** One entry of the model config file, of any registered type. */
export type ModelEntry = OpenAIChatEntry | Qwen2VLEntry | MeanEntry | ImageStatsEntry;

/** Every registered type, in the order the config's errors list them. */
export const MODEL_TYPES: readonly ModelType[] = [OPENAI_CHAT_TYPE, QWEN2VL_TYPE, MEAN_TYPE, IMAGE_STATS_TYPE] as unknown as readonly ModelType[];

/** The registered type of an entry (`type` field); throws, listing the known types, for an unknown one. */
export function modelType(type: string): ModelType<ModelEntry> {
  const t = MODEL_TYPES.find((m) => m.type === type);
  if (!t) throw new Error(`unknown model type "${type}"; known: ${MODEL_TYPES.map((m) => m.type).join(", ")}`);
  return t as unknown as ModelType<ModelEntry>;
}

/** The kind of a registered type; undefined for a type streetsafe does not know (an older run's). */
export function kindOfType(type: string): ModelKind | undefined {
  return MODEL_TYPES.find((m) => m.type === type)?.kind;
}
