/**
 * Local Qwen2-VL (base or fine-tuned, exported to ONNX) through @huggingface/transformers v3 with
 * onnxruntime-node — CPU by default, no network: `env.allowRemoteModels = false`, files read from the folder.
 *
 * Folder layout (DESIGN.md, "Qwen2-VL in Node"): config.json, preprocessor_config.json, tokenizer.json,
 * tokenizer_config.json (chat template inside, or a chat_template.json / chat_template.jinja beside it),
 * optional generation_config.json, and onnx/{embed_tokens,vision_encoder,decoder_model_merged}<suffix>.onnx
 * with the dtype's suffix ("" fp32, "_fp16", "_quantized" q8, "_q4", …; plus `<file>.onnx_data` when
 * config.json's `transformers.js_config.use_external_data_format` says so). dtype "auto" (the default) loads
 * what the folder has (files.ts `resolveDtype`) and says which.
 *
 * - Loaded once by `load()`, reused by every call; calls are serialised (one generation at a time).
 * - `generate({ images, messages })`: any number of images and any chat messages (one `{type: "image"}` part per
 *   image, in order) → the greedy reply with its token ids, prompt ids, image grids and, on request, every
 *   step's full logits (`onStepLogits`; the parity check reads the first step's). See inputs.ts for how N images
 *   become one prompt.
 * - `predict(image)` is generate with the fine-tuning prompt (prepare/qwen-data.ts): the system prompt, then a
 *   user turn with the image followed directly by the user prompt (`<image>` + text in LLaMA-Factory's files).
 * - Greedy decoding (`do_sample: false`, no repetition penalty): the same image gives the same reply.
 * - Images: `qwen2vlImageSize` (Qwen's smart_resize: sides multiples of 28, at most `maxPixels` pixels); default
 *   the folder's `max_pixels`, as it is when streetsafe's exporter recorded it as the fine-tune's training cap,
 *   else capped at 262,144 (the fine-tuning files' `image_max_pixels`).
 * - Probabilities: the logits at the step where the score's first digit is written are recorded during
 *   generation — after a score label, or at the very start of a reply that is only a number ("7"). Qwen2's
 *   tokenizer writes numbers digit by digit ("10" is "1" then "0"), so the scale's integers form a digit tree:
 *   at each node, the allowed next digits and (when the digits so far already are a score) "the number ends
 *   here" — the mass of every non-digit token — are renormalised among themselves, and p(k) is the product along
 *   k's path. On 1–10 that is a softmax over "1".."9" at the score step, then, for "1", p("0") against
 *   p(non-digit) one step later (from the recorded step if the model wrote "1", else from one extra one-token
 *   forward pass on the cache). `expectedScore = Σ p(k)·k`. Scales below 0, or whose tree needs more than 32
 *   extra passes, get no probabilities. They are reported whenever the reply has a score position, even when
 *   the whole reply then fails to parse.
 * - A failure on one image is an error Prediction naming each input's type and shape; only setup problems
 *   (missing folder or files, unloadable graphs) throw, as ModelUnavailableError naming `--qwen2vl-dir`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ModelUnavailableError } from "../../core/errors";
import type { Scale } from "../../core/scale";
import type { PreparedImage } from "../../core/types";
import { DEFAULT_IMAGE_MAX_PIXELS } from "../../prepare";
import { systemPrompt, userPrompt } from "../../prompt/prompts";
import { endsAtScorePosition } from "../../prompt/score-position";
import { parseScoreText } from "../../prompt/score-text";
import type { Prediction, PredictOptions, ScoreModel, TokenUsage } from "../types";
import { missingQwen2VLFiles, normaliseDtype, readExportManifest, resolveDtype, type DtypeChoice, type ExportManifest } from "./files";
import { buildInputs, type ChatMessage, type ModelInputs, type ResizeRule } from "./inputs";
import { displayPath } from "../../core/project-path";
import { QWEN2VL_DEFAULTS, QWEN2VL_DIR_FLAG, type LocalQwen2VLOptions } from "./options";
import { digitTreeProbabilities, logitsRow, scoreTrie, stepLogits, type StepLogits } from "./probabilities";
import { loadRuntime, type Runtime, type TfTensor } from "./runtime";

/** One prompt with any number of images (see the file comment). */
export interface GenerateRequest {
  images: PreparedImage[];
  /** Chat messages with one `{type: "image"}` part per image, in order. Default (one image): the task prompt. */
  messages?: ChatMessage[];
  maxNewTokens?: number;
  signal?: AbortSignal;
  /** Every generated step's full logits row (step 0 = the first generated token), before any processing. */
  onStepLogits?: (step: number, logits: Float32Array) => void;
}

export interface Generation {
  /** The reply, decoded without special tokens and trimmed. */
  reply: string;
  generatedIds: number[];
  /** The prompt's token ids (image pads expanded). */
  promptIds: number[];
  /** [t, h, w] per image, in order. */
  imageGridThw: number[][];
  /** Each image's size after resizing. */
  imageSizes: { width: number; height: number }[];
  usage: TokenUsage;
  /** The reply reached maxNewTokens. */
  cut: boolean;
}

/** What a generation leaves for the score probabilities. */
interface Run extends Generation {
  inputs: ModelInputs;
  steps: StepLogits[];
  cache: Record<string, TfTensor>;
}

function describeInputs(inputs: Record<string, TfTensor> | undefined): string {
  if (!inputs) return "(no inputs were built)";
  return Object.entries(inputs)
    .filter(([, t]) => t && typeof t === "object" && Array.isArray(t.dims))
    .map(([k, t]) => `${k}: ${t.type}[${t.dims.join(", ")}]`)
    .join("; ");
}

/** One line, without a leading "Error: " (onnxruntime's messages span lines and repeat it). */
function errorText(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").replace(/^(?:Error: )+/, "").trim();
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

// ---------------------------------------------------------------------------------------------------
// The model

export class LocalQwen2VLModel implements ScoreModel {
  readonly kind = "local";
  readonly name: string;
  readonly id: string;
  readonly scale: Scale;
  private rt: Runtime | null;
  private readonly opts: LocalQwen2VLOptions;
  private readonly dtypes: Record<string, string>;
  private readonly dtypeChoice: DtypeChoice;
  private readonly manifest: ExportManifest | null;
  private readonly resize: ResizeRule;
  private readonly maxNewTokens: number;
  private readonly digitIds: number[];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    opts: LocalQwen2VLOptions,
    rt: Runtime,
    choice: DtypeChoice,
    dtypes: Record<string, string>,
    manifest: ExportManifest | null,
    resize: ResizeRule,
    digitIds: number[],
  ) {
    this.opts = opts;
    this.name = opts.name ?? QWEN2VL_DEFAULTS.name;
    this.scale = opts.scale;
    this.rt = rt;
    this.dtypeChoice = choice;
    this.dtypes = dtypes;
    this.manifest = manifest;
    this.resize = resize;
    this.maxNewTokens = opts.maxNewTokens ?? QWEN2VL_DEFAULTS.maxNewTokens;
    this.digitIds = digitIds;
    const distinct = new Set(Object.values(dtypes));
    const dtypeTag = distinct.size === 1 ? [...distinct][0]! : "mixed";
    this.id = `qwen2vl-local:${path.basename(path.resolve(opts.dir))}${dtypeTag === "fp32" ? "" : `@${dtypeTag}`}`;
  }

  static async load(opts: LocalQwen2VLOptions): Promise<LocalQwen2VLModel> {
    const name = opts.name ?? QWEN2VL_DEFAULTS.name;
    const fix = `set ${QWEN2VL_DIR_FLAG} to a folder with a Qwen2-VL ONNX export (see README.md, "Local Qwen2-VL")`;
    if (opts.maxNewTokens !== undefined && !(Number.isInteger(opts.maxNewTokens) && opts.maxNewTokens > 0)) {
      throw new ModelUnavailableError(name, `maxNewTokens must be a positive integer, got ${opts.maxNewTokens}`);
    }
    if (opts.maxPixels !== undefined && !(Number.isInteger(opts.maxPixels) && opts.maxPixels >= 28 * 28)) {
      throw new ModelUnavailableError(name, `maxPixels must be an integer of at least ${28 * 28}, got ${opts.maxPixels}`);
    }
    const abs = path.resolve(opts.dir);
    let isDir = false;
    try {
      isDir = (await fs.stat(abs)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new ModelUnavailableError(name, `Qwen2-VL folder not found: ${displayPath(abs)} (${fix})`);
    if (opts.dtype !== undefined && opts.dtype !== "auto") normaliseDtype(opts.dtype, name); // a bad dtype names itself first
    const choice = await resolveDtype(abs, opts.dtype);
    const dtype = choice?.dtype ?? "fp32";
    const dtypes = normaliseDtype(dtype, name);
    const missing = await missingQwen2VLFiles(abs, dtype);
    if (missing.length > 0) {
      const which = choice ? `for dtype ${JSON.stringify(dtype)}` : "for any dtype (auto; the fp32 files shown)";
      throw new ModelUnavailableError(
        name,
        `the Qwen2-VL folder ${displayPath(abs)} lacks ${missing.length} file${missing.length === 1 ? "" : "s"} ${which}: ${missing.join(", ")} (${fix})`,
      );
    }
    if ((opts.dtype ?? QWEN2VL_DEFAULTS.dtype) === "auto") (opts.log ?? ((l: string) => console.error(l)))(`${name}: dtype auto → ${JSON.stringify(dtype)} (${choice!.reason})`);

    let rt: Runtime;
    const device = opts.device ?? QWEN2VL_DEFAULTS.device;
    try {
      rt = await loadRuntime(abs, dtypes, device);
    } catch (err) {
      const text = errorText(err);
      const hint = /providers_cuda|CUDA/i.test(text) && device === "cuda"
        ? "device cuda needs onnxruntime-node's CUDA libraries, which its install step downloads and this project's .npmrc skips; use device cpu"
        : fix;
      throw new ModelUnavailableError(name, `could not load the Qwen2-VL export in ${displayPath(abs)}: ${text} (${hint})`);
    }

    // Pixel bounds: the caller's cap; else the folder's — as it is when streetsafe's exporter says it is the
    // fine-tune's training cap, otherwise capped at the fine-tuning default. Newer exports write min/max pixels as
    // size.{shortest,longest}_edge (Python's meaning: pixel counts).
    const manifest = await readExportManifest(abs);
    const ip = rt.processor.image_processor;
    const size = ip.size as { shortest_edge?: number; longest_edge?: number } | undefined;
    const minPixels = ip.min_pixels ?? size?.shortest_edge ?? 56 * 56;
    const folderMax = ip.max_pixels ?? size?.longest_edge ?? DEFAULT_IMAGE_MAX_PIXELS;
    const maxPixels = opts.maxPixels ?? (manifest?.max_pixels_from_training ? folderMax : Math.min(folderMax, DEFAULT_IMAGE_MAX_PIXELS));
    ip.do_resize = false;
    ip.config.do_resize = false;
    const factor = Number(ip.config.patch_size ?? 14) * Number(ip.config.merge_size ?? 2);

    const digitIds: number[] = [];
    for (let d = 0; d <= 9; d++) {
      const ids = rt.processor.tokenizer.encode(String(d), { add_special_tokens: false });
      digitIds.push(ids.length === 1 ? ids[0]! : -1);
    }
    return new LocalQwen2VLModel(opts, rt, choice!, dtypes, manifest, { minPixels, maxPixels, factor }, digitIds);
  }

  /** The ONNX sessions (loaded once; the same objects for every predict until dispose). */
  get sessions(): Readonly<Record<string, unknown>> {
    return this.rt?.model.sessions ?? {};
  }

  describe(): Record<string, unknown> {
    const distinct = new Set(Object.values(this.dtypes));
    return {
      type: "qwen2vl-local",
      dir: displayPath(this.opts.dir),
      dtype: distinct.size === 1 ? [...distinct][0] : { ...this.dtypes },
      dtypeChoice: this.dtypeChoice.reason,
      device: this.opts.device ?? QWEN2VL_DEFAULTS.device,
      maxPixels: this.resize.maxPixels,
      minPixels: this.resize.minPixels,
      maxNewTokens: this.maxNewTokens,
      decoding: "greedy",
      probabilities: "digit tree over the score's tokens at the score position",
      ...(this.manifest ? { export: { source: this.manifest.source, exporter: this.manifest.exporter, dtypes: this.manifest.dtypes } } : {}),
    };
  }

  /** The answer to one image under the fine-tuning prompt (see the file comment). */
  predict(image: PreparedImage, opts: PredictOptions = {}): Promise<Prediction> {
    return this.serialised(() => this.predictNow(image, opts));
  }

  /**
   * Any prompt with any number of images (e.g. "which of these two looks safer?"): the greedy reply. Throws for a
   * request that cannot run (disposed, image parts that do not match the images, a runtime failure).
   */
  generate(req: GenerateRequest): Promise<Generation> {
    return this.serialised(async () => {
      const rt = this.rt;
      if (!rt) throw new Error("the model was disposed");
      const { inputs: _i, steps: _s, cache: _c, ...generation } = await this.run(rt, req);
      return generation;
    });
  }

  async dispose(): Promise<void> {
    const rt = this.rt;
    this.rt = null;
    await this.queue;
    if (rt) await rt.model.dispose();
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The task prompt for one image: the system prompt, then the image and the user text. */
  private taskMessages(prompt?: string): ChatMessage[] {
    return [
      { role: "system", content: systemPrompt(this.scale) },
      { role: "user", content: [{ type: "image" }, { type: "text", text: prompt ?? userPrompt(this.scale) }] },
    ];
  }

  private async run(rt: Runtime, req: GenerateRequest, onInputs?: (inputs: ModelInputs) => void): Promise<Run> {
    if (!req.messages && req.images.length !== 1) throw new Error(`messages are needed for ${req.images.length} images (the task prompt takes one)`);
    const inputs = await buildInputs(rt, req.images, req.messages ?? this.taskMessages(), this.resize);
    onInputs?.(inputs);
    const promptLen = inputs.promptIds.length;
    const maxNewTokens = req.maxNewTokens ?? this.maxNewTokens;
    // Record every step's logits (before any change; greedy has no other processors).
    const steps: StepLogits[] = [];
    const recorder = (ids: bigint[][], logits: TfTensor) => {
      const step = ids[0]!.length - promptLen;
      const row = logitsRow(logits, 0, logits.dims.at(-1)!);
      steps[step] = stepLogits(row, this.digitIds);
      req.onStepLogits?.(step, Float32Array.from(row));
      return logits;
    };
    const abort = (ids: unknown[]) => ids.map(() => req.signal?.aborted === true);
    const out = await rt.model.generate({
      ...inputs.tensors,
      max_new_tokens: maxNewTokens,
      do_sample: false,
      num_beams: 1,
      repetition_penalty: 1.0,
      logits_processor: [recorder],
      stopping_criteria: [abort],
      return_dict_in_generate: true,
    });
    const all = (out.sequences.tolist()[0] as bigint[]).map(Number);
    const generatedIds = all.slice(promptLen);
    return {
      reply: rt.processor.tokenizer.decode(generatedIds, { skip_special_tokens: true }).trim(),
      generatedIds,
      promptIds: inputs.promptIds,
      imageGridThw: inputs.imageGridThw,
      imageSizes: inputs.imageSizes,
      usage: { inputTokens: promptLen, outputTokens: generatedIds.length },
      cut: generatedIds.length >= maxNewTokens,
      inputs,
      steps,
      cache: out.past_key_values,
    };
  }

  private failure(error: string, raw: string, t0: number, usage?: TokenUsage): Prediction {
    return {
      score: null,
      reasons: [],
      raw,
      error,
      latencyMs: performance.now() - t0,
      modelId: this.id,
      ...(usage ? { usage } : {}),
    };
  }

  private async predictNow(image: PreparedImage, opts: PredictOptions): Promise<Prediction> {
    const t0 = performance.now();
    const rt = this.rt;
    if (!rt) return this.failure("the model was disposed", "", t0);
    if (opts.signal?.aborted) return this.failure("aborted before the request", "", t0);
    let built: ModelInputs | undefined;
    try {
      const r = await this.run(rt, { images: [image], messages: this.taskMessages(opts.prompt), signal: opts.signal }, (i) => (built = i));
      if (opts.signal?.aborted) return this.failure("aborted during generation", r.reply, t0, r.usage);
      const probs = await this.scoreProbabilities(rt, r.inputs.tensors, r.generatedIds, r.steps, r.cache, r.promptIds.length);
      const parsed = parseScoreText(r.reply, this.scale);
      const latencyMs = performance.now() - t0;
      const extra = probs ? { probabilities: probs.probabilities, expectedScore: probs.expectedScore } : {};
      if (!parsed.ok) {
        const cut = r.cut ? ` (the reply was cut at ${this.maxNewTokens} tokens)` : "";
        return { ...this.failure(`no clear score: ${parsed.reason}${cut}`, r.reply, t0, r.usage), latencyMs, ...extra };
      }
      return { score: parsed.score, reasons: parsed.reasons, raw: r.reply, latencyMs, modelId: this.id, usage: r.usage, ...extra };
    } catch (err) {
      return this.failure(`${errorText(err)} (inputs: ${describeInputs(built?.tensors)})`, "", t0);
    }
  }

  /** See the file comment; null when the reply has no score position or the scale is not supported. */
  private async scoreProbabilities(
    rt: Runtime,
    inputs: Record<string, TfTensor>,
    generated: number[],
    steps: StepLogits[],
    cache: Record<string, TfTensor>,
    promptLen: number,
  ): Promise<{ probabilities: Record<number, number>; expectedScore: number } | null> {
    if (this.digitIds.some((id) => id < 0)) return null;
    const digitOf = new Map(this.digitIds.map((id, d) => [id, d]));
    let k = -1;
    for (let j = 0; j < generated.length; j++) {
      if (!digitOf.has(generated[j]!)) continue;
      // A reply that begins with its score ("7"): nothing before it (and no empty list to decode).
      const before = j === 0 ? "" : rt.processor.tokenizer.decode(generated.slice(0, j), { skip_special_tokens: true });
      if (before.trim() === "" || endsAtScorePosition(before)) {
        k = j;
        break;
      }
    }
    if (k < 0 || !steps[k]) return null;
    // The digits the model actually wrote from k on: their steps were recorded.
    let written = "";
    for (let j = k; j < generated.length && digitOf.has(generated[j]!); j++) written += String(digitOf.get(generated[j]!));

    const base = promptLen + k; // cache length before the score's first digit
    const cacheLen = Object.values(cache)[0]?.dims.at(-2) ?? 0;
    const needed = new Map<string, StepLogits>();
    const trie = scoreTrie(this.scale);
    if (!trie) return null;
    let ropeDelta: number | null = null;
    for (const p of trie.nodes) {
      if (trie.children(p).length === 0) continue;
      if (written.startsWith(p) && steps[k + p.length]) {
        needed.set(p, steps[k + p.length]!);
        continue;
      }
      if (p === "" || cacheLen < base) return null;
      // One extra pass: the cache up to the score position, then the prefix's digit tokens.
      if (ropeDelta === null) {
        const [, deltas] = rt.model.get_rope_index(inputs.input_ids!, inputs.image_grid_thw ?? null, null, inputs.attention_mask!);
        ropeDelta = Number((deltas.tolist()[0] as (bigint | number)[])[0]);
      }
      const past: Record<string, TfTensor> = {};
      for (const [name, t] of Object.entries(cache)) past[name] = t.slice(null, null, [0, base], null);
      const ids = [...p].map((c) => BigInt(this.digitIds[Number(c)]!));
      const n = ids.length;
      const pos: bigint[] = [];
      for (let axis = 0; axis < 3; axis++) for (let i = 0; i < n; i++) pos.push(BigInt(base + i + ropeDelta));
      const outputs = await rt.model.forward({
        input_ids: new rt.Tensor("int64", ids, [1, n]),
        attention_mask: new rt.Tensor("int64", new BigInt64Array(base + n).fill(1n), [1, base + n]),
        position_ids: new rt.Tensor("int64", pos, [3, 1, n]),
        past_key_values: past,
      });
      const logits = outputs.logits!;
      needed.set(p, stepLogits(logitsRow(logits, n - 1, logits.dims.at(-1)!), this.digitIds));
    }
    return digitTreeProbabilities(this.scale, (p) => {
      const s = needed.get(p);
      if (!s) throw new Error(`internal: no logits for score prefix "${p}"`);
      return s;
    });
  }
}
