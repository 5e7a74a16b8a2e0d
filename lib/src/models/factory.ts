/**
 * `ModelFactory.createModel(name, options)` (the guide's name): turns a model name from the config
 * file into a ready ScoreModel — an OpenAI-compatible chat model (OpenAI, Azure, vLLM, Ollama, …), the
 * fine-tuned GPT from step 2, local Qwen2-VL on ONNX, or an offline baseline — behind the response cache.
 * A model that cannot run here throws ModelUnavailableError with the reason (no key, no weights, …).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { ResponseCache, withCache } from "../cache";
import { DEFAULT_SCALE, type Scale } from "../core/scale";
import { ImageStatsBaseline, MeanBaseline } from "./baselines";
import { BUILTIN_MODELS, DEFAULT_MODEL_CONFIG, loadModelConfig, type ModelConfig, type ModelEntry } from "./config";
import { OpenAIChatModel } from "./openai-chat";
import { LocalQwen2VLModel } from "./qwen2vl-local";
import { ModelUnavailableError } from "../core/errors";
import { type ScoreModel } from "./types";

export interface FactoryOptions {
  /** The model config file; default `models/models.json`. Paths inside it are relative to its parent's parent (the project root). */
  configPath?: string;
  /** Where step 1 wrote its splits (the baselines learn from the train split); default `data`. */
  dataDir?: string;
  /** Overrides the `gpt4` model id (`--gpt4-model`). */
  gpt4Model?: string;
  /** Overrides the `qwen2vl-ft` folder (`--qwen2vl-dir`). */
  qwen2vlDir?: string;
  scale?: Scale;
  /** Response cache folder; default `.cache/responses` under the project root; null disables (`--no-cache`). */
  cacheDir?: string | null;
  env?: NodeJS.ProcessEnv;
}

export class ModelFactory {
  private constructor(
    readonly config: ModelConfig,
    readonly root: string,
    readonly opts: FactoryOptions,
  ) {}

  static async load(opts: FactoryOptions = {}): Promise<ModelFactory> {
    const configPath = path.resolve(opts.configPath ?? DEFAULT_MODEL_CONFIG);
    return new ModelFactory(await loadModelConfig(configPath), path.dirname(path.dirname(configPath)), opts);
  }

  /** The guide's entry point: load the config and create one model. */
  static async createModel(name: string, opts: FactoryOptions = {}): Promise<ScoreModel> {
    return (await ModelFactory.load(opts)).createModel(name);
  }

  names(): string[] {
    return Object.keys(this.config.models);
  }

  entry(name: string): ModelEntry {
    // The offline baselines need no settings: a config file that does not list them still has them
    // (a comparison always adds "mean", and must not fail on a config that only names API models).
    const builtin = BUILTIN_MODELS[name];
    const e = this.config.models[name] ?? (builtin && (builtin.type === "mean" || builtin.type === "image-stats") ? builtin : undefined);
    if (!e) throw new Error(`unknown model "${name}"; configured: ${this.names().join(", ")} (see ${DEFAULT_MODEL_CONFIG})`);
    return e;
  }

  /** Requests in flight at once the config allows this model (API models default 8, local models 1). */
  concurrency(name: string): number {
    const e = this.entry(name);
    if ("concurrency" in e && e.concurrency) return e.concurrency;
    return e.type === "openai-chat" || (e.type === "qwen2vl-local" && e.base_url) ? 8 : 1;
  }

  async createModel(name: string): Promise<ScoreModel> {
    const e = this.entry(name);
    const scale = this.opts.scale ?? DEFAULT_SCALE;
    const dataDir = this.opts.dataDir ?? "data";
    const cache = this.opts.cacheDir === null ? null : new ResponseCache(this.opts.cacheDir ?? path.join(this.root, ".cache", "responses"));
    switch (e.type) {
      case "mean":
        return MeanBaseline.fromDataDir({ name, dataDir, scale });
      case "image-stats":
        return ImageStatsBaseline.fromDataDir({ name, dataDir, scale, lambda: e.lambda });
      case "openai-chat": {
        const model = name === "gpt4" && this.opts.gpt4Model ? this.opts.gpt4Model : e.model ?? (await fineTunedModelId(name, this.resolve(e.fine_tune_info!)));
        return withCache(
          new OpenAIChatModel({
            name,
            model,
            scale,
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
            env: this.opts.env,
          }),
          cache,
        );
      }
      case "qwen2vl-local": {
        if (e.base_url) {
          // Served by vLLM (or any OpenAI-compatible server): the same chat path as the GPT models.
          return withCache(
            new OpenAIChatModel({ name, model: e.served_model!, scale, baseURL: e.base_url, apiKeyEnv: e.api_key_env ?? "VLLM_API_KEY", env: this.opts.env }),
            cache,
          );
        }
        const dir = name === "qwen2vl-ft" && this.opts.qwen2vlDir ? path.resolve(this.opts.qwen2vlDir) : this.resolve(e.dir);
        const model = await LocalQwen2VLModel.load({ name, dir, scale, dtype: e.dtype, device: e.device, maxPixels: e.max_pixels, maxNewTokens: e.max_new_tokens });
        return withCache(model, cache);
      }
    }
  }

  /** Create, or say why not: for listing models and for "skipped" rows in comparisons. */
  async tryCreate(name: string): Promise<{ name: string; model: ScoreModel } | { name: string; skipped: string }> {
    try {
      return { name, model: await this.createModel(name) };
    } catch (err) {
      if (err instanceof ModelUnavailableError) return { name, skipped: err.reason };
      throw err;
    }
  }

  private resolve(p: string): string {
    return path.resolve(this.root, p);
  }
}

/** The fine-tuned model id from step 2's record (`fine_tuned_model`, or the older `model_name`). */
export async function fineTunedModelId(name: string, infoPath: string): Promise<string> {
  let info: { status?: string; job_id?: string; fine_tuned_model?: string | null; model_name?: string | null };
  try {
    info = JSON.parse(await fs.readFile(infoPath, "utf8"));
  } catch {
    throw new ModelUnavailableError(name, `no fine-tuning record at ${infoPath} (run \`npx streetsafe finetune\` first)`);
  }
  const id = info.fine_tuned_model ?? info.model_name;
  if (id) return id;
  const status = info.status ?? "unknown";
  const hint = info.job_id ? `; check it with \`npx streetsafe finetune watch ${info.job_id}\`` : "";
  throw new ModelUnavailableError(name, `the fine-tuning job ${info.job_id ?? ""} has status "${status}" and no fine-tuned model yet${hint}`);
}
