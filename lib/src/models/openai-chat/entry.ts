/**
 * The `openai-chat` model type: any OpenAI-compatible chat endpoint — OpenAI, Azure OpenAI, and servers
 * that speak the same API (vLLM, Ollama, LM Studio) — including the model fine-tuned in step 2, whose id
 * is read from its fine_tune_info.json through step 2's validated reader.
 */
import { z } from "zod";
import { ModelUnavailableError } from "../../core/errors";
import { displayPath } from "../../core/project-path";
import { fineTunedModelFromRecord, readFineTuneRecord } from "../../finetune";
import type { ModelType } from "../model-type";
import { OpenAIChatModel } from "./model";

export const OpenAIChatEntry = z
  .object({
    type: z.literal("openai-chat"),
    /** Model id; or read from a fine-tuning record. */
    model: z.string().optional(),
    fine_tune_info: z.string().optional(),
    provider: z.enum(["openai", "azure"]).optional(),
    base_url: z.string().url().optional(),
    /** Variable holding the key (`<VAR>_FILE` may name a file instead). */
    api_key_env: z.string().optional(),
    detail: z.enum(["low", "high", "auto"]).optional(),
    structured_outputs: z.boolean().optional(),
    logprobs: z.boolean().optional(),
    max_tokens: z.number().int().positive().optional(),
    timeout_ms: z.number().int().positive().optional(),
    max_retries: z.number().int().min(0).optional(),
    seed: z.number().int().optional(),
    /** Requests in flight at once for this model during a comparison. */
    concurrency: z.number().int().positive().optional(),
    description: z.string().optional(),
  })
  .strict()
  .refine((e) => !!e.model !== !!e.fine_tune_info, { message: "give exactly one of model or fine_tune_info" });
export type OpenAIChatEntry = z.infer<typeof OpenAIChatEntry>;

export const OPENAI_CHAT_TYPE: ModelType<OpenAIChatEntry> = {
  type: "openai-chat",
  kind: "api",
  schema: OpenAIChatEntry,
  defaultConcurrency: 8,
  async create(e, ctx) {
    const model = ctx.override.model ?? e.model ?? (await fineTunedModelId(ctx.name, ctx.resolve(e.fine_tune_info!)));
    return new OpenAIChatModel({
      name: ctx.name,
      model,
      scale: ctx.scale,
      provider: e.provider,
      baseURL: e.base_url,
      apiKeyEnv: e.api_key_env,
      detail: e.detail,
      structuredOutputs: e.structured_outputs,
      logprobs: e.logprobs,
      maxTokens: e.max_tokens,
      timeoutMs: e.timeout_ms,
      maxRetries: e.max_retries,
      seed: e.seed,
      env: ctx.env,
    });
  },
};

/**
 * The fine-tuned model id step 2's record names, read with step 2's validated reader: the record must say
 * `succeeded` (or be an older record with only `model_name`); any other status makes the model skipped,
 * with the job's status and how to follow it.
 */
export async function fineTunedModelId(name: string, infoPath: string): Promise<string> {
  let record: Awaited<ReturnType<typeof readFineTuneRecord>>;
  try {
    record = await readFineTuneRecord(infoPath);
  } catch (e) {
    throw new ModelUnavailableError(name, (e as Error).message);
  }
  if (!record) throw new ModelUnavailableError(name, `no fine-tuning record at ${displayPath(infoPath)} (run \`npx streetsafe finetune\` first)`);
  try {
    return fineTunedModelFromRecord(record, infoPath);
  } catch (e) {
    throw new ModelUnavailableError(name, (e as Error).message);
  }
}
