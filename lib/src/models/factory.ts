/**
 * `ModelFactory.createModel(name, options)` (the guide's name): turns a model name from the config file
 * into a ready ScoreModel through the model registry (registry.ts) — an OpenAI-compatible chat model
 * (OpenAI, Azure, vLLM, Ollama, …), the fine-tuned GPT from step 2, local Qwen2-VL on ONNX, or an offline
 * baseline — API and local models behind the response cache. A model that cannot run here throws
 * ModelUnavailableError with the reason (no key, no weights, …).
 */
import path from "node:path";
import { ModelUnavailableError } from "../core/errors";
import { DEFAULT_SCALE, type Scale } from "../core/scale";
import { ResponseCache, withCache } from "./cache";
import { BUILTIN_MODELS, DEFAULT_MODEL_CONFIG, loadModelConfig, type ModelConfig, type ModelEntry } from "./config";
import type { ModelContext, ModelOverride } from "./model-type";
import { modelType } from "./registry";
import type { ScoreModel } from "./types";

export interface FactoryOptions {
  /** The model config file; default `models/models.json`. Paths inside it are relative to its parent's parent (the project root). */
  configPath?: string;
  /** Where step 1 wrote its splits (the baselines learn from the train split); default `data`. */
  dataDir?: string;
  /** Per model name: a model id or folder that wins over the config (relative folders: to the working directory). */
  overrides?: Record<string, ModelOverride>;
  /** `--gpt4-model`: the model id of the model FLAG_MODELS.gpt4Model names. */
  gpt4Model?: string;
  /** `--qwen2vl-dir`: the folder of the model FLAG_MODELS.qwen2vlDir names. */
  qwen2vlDir?: string;
  /** `--qwen2vl-dtype`: its ONNX dtype ("auto", "q8", "fp32", …). */
  qwen2vlDtype?: string;
  scale?: Scale;
  /** Response cache folder; default `.cache/responses` under the project root; null disables (`--no-cache`). */
  cacheDir?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Where notes about the config go (an entry written the deprecated way); default stderr. */
  warn?: (line: string) => void;
}

/** The models the guide's per-model flags name: `--gpt4-model`, and `--qwen2vl-dir` / `--qwen2vl-dtype`. */
export const FLAG_MODELS = { gpt4Model: "gpt4", qwen2vlDir: "qwen2vl-ft" } as const;

export class ModelFactory {
  private constructor(
    readonly config: ModelConfig,
    readonly root: string,
    readonly opts: FactoryOptions,
  ) {}

  static async load(opts: FactoryOptions = {}): Promise<ModelFactory> {
    const configPath = path.resolve(opts.configPath ?? DEFAULT_MODEL_CONFIG);
    const config = await loadModelConfig(configPath);
    const warn = opts.warn ?? ((line: string) => console.warn(`warning: ${line}`));
    for (const note of config.notes ?? []) warn(note);
    return new ModelFactory(config, path.dirname(path.dirname(configPath)), opts);
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
    const e = this.config.models[name] ?? (builtin && modelType(builtin.type).builtin ? builtin : undefined);
    if (!e) throw new Error(`unknown model "${name}"; configured: ${this.names().join(", ")} (see ${DEFAULT_MODEL_CONFIG})`);
    return e;
  }

  /** Requests in flight at once the config allows this model (its `concurrency`, else its type's default). */
  concurrency(name: string): number {
    const e = this.entry(name);
    return ("concurrency" in e && e.concurrency) || modelType(e.type).defaultConcurrency;
  }

  async createModel(name: string): Promise<ScoreModel> {
    const e = this.entry(name);
    const model = await modelType(e.type).create(e, this.context(name));
    if (model.kind === "baseline") return model;
    const cache = this.opts.cacheDir === null ? null : new ResponseCache(this.opts.cacheDir ?? path.join(this.root, ".cache", "responses"));
    return withCache(model, cache);
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

  private context(name: string): ModelContext {
    return {
      name,
      scale: this.opts.scale ?? DEFAULT_SCALE,
      dataDir: this.opts.dataDir ?? "data",
      resolve: (p) => path.resolve(this.root, p),
      override: this.override(name),
      ...(this.opts.env ? { env: this.opts.env } : {}),
    };
  }

  /** What the command line sets for `name`: `overrides`, then the guide's two flags. */
  private override(name: string): ModelOverride {
    const o: ModelOverride = { ...this.opts.overrides?.[name] };
    if (o.dir) o.dir = path.resolve(o.dir);
    if (name === FLAG_MODELS.gpt4Model && this.opts.gpt4Model) o.model = this.opts.gpt4Model;
    if (name === FLAG_MODELS.qwen2vlDir && this.opts.qwen2vlDir) o.dir = path.resolve(this.opts.qwen2vlDir);
    if (name === FLAG_MODELS.qwen2vlDir && this.opts.qwen2vlDtype) o.dtype = this.opts.qwen2vlDtype;
    return o;
  }
}
