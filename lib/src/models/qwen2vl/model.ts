/**
 * Local Qwen2-VL (base or fine-tuned, exported to ONNX) through @huggingface/transformers v3 with
 * onnxruntime-node — CPU by default, no network: `env.allowRemoteModels = false`, files read from the folder.
 *
 * Folder layout (DESIGN.md, "Qwen2-VL in Node"): config.json, preprocessor_config.json, tokenizer.json,
 * tokenizer_config.json (chat template inside, or a chat_template.json / chat_template.jinja beside it),
 * optional generation_config.json, and onnx/{embed_tokens,vision_encoder,decoder_model_merged}<suffix>.onnx
 * with the dtype's suffix ("" fp32, "_fp16", "_quantized" q8, "_q4", …; plus `<file>.onnx_data` when
 * config.json's `transformers.js_config.use_external_data_format` says so).
 *
 * - Loaded once by `load()`, reused by every `predict()`; calls are serialised (one generation at a time).
 * - The prompt is the fine-tuning prompt (prepare/qwen-data.ts): the system prompt, then a user turn with the image
 *   followed directly by the user prompt (`<image>` + text in LLaMA-Factory's sharegpt files).
 * - Greedy decoding (`do_sample: false`, no repetition penalty): the same image gives the same reply.
 * - Images are resized here (`qwen2vlImageSize`, Qwen's smart_resize: sides multiples of 28, at most
 *   `maxPixels` pixels; default the folder's `max_pixels` capped at 262,144, the fine-tuning files'
 *   `image_max_pixels`) with the processor's own resize off: transformers.js v3 transposes non-square images.
 * - Probabilities: the logits at the step where the score's first digit is written are recorded during
 *   generation. Qwen2's tokenizer writes numbers digit by digit ("10" is "1" then "0"), so the scale's integers
 *   form a digit tree: at each node, the allowed next digits and (when the digits so far already are a score)
 *   "the number ends here" — the mass of every non-digit token — are renormalised among themselves, and p(k)
 *   is the product along k's path. On 1–10 that is a softmax over "1".."9" at the score step, then, for "1",
 *   p("0") against p(non-digit) one step later (from the recorded step if the model wrote "1", else from one
 *   extra one-token forward pass on the cache). `expectedScore = Σ p(k)·k`. Scales below 0, or whose tree
 *   needs more than 32 extra passes, get no probabilities. They are reported whenever the reply has a score
 *   position, even when the whole reply then fails to parse.
 * - A failure on one image is an error Prediction naming each input's type and shape; only setup problems
 *   (missing folder or files, unloadable graphs) throw, as ModelUnavailableError naming `--qwen2vl-dir`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { ModelUnavailableError } from "../../core/errors";
import type { Scale } from "../../core/scale";
import type { PreparedImage } from "../../core/types";
import { DEFAULT_IMAGE_MAX_PIXELS } from "../../prepare";
import { systemPrompt, userPrompt } from "../../prompt/prompts";
import { endsAtScorePosition } from "../../prompt/score-position";
import { parseScoreText } from "../../prompt/score-text";
import type { Prediction, PredictOptions, ScoreModel, TokenUsage } from "../types";
import { missingQwen2VLFiles, normaliseDtype } from "./files";
import { qwen2vlImageSize } from "./image-size";
import { displayPath } from "../../core/project-path";
import { QWEN2VL_DEFAULTS, QWEN2VL_DIR_FLAG, type LocalQwen2VLOptions } from "./options";
import { digitTreeProbabilities, logitsRow, scoreTrie, stepLogits, type StepLogits } from "./probabilities";
import { loadRuntime, type Runtime, type TfTensor } from "./runtime";

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
  private readonly resize: { minPixels: number; maxPixels: number; factor: number };
  private readonly maxNewTokens: number;
  private readonly digitIds: number[];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    opts: LocalQwen2VLOptions,
    rt: Runtime,
    dtypes: Record<string, string>,
    resize: { minPixels: number; maxPixels: number; factor: number },
    digitIds: number[],
  ) {
    this.opts = opts;
    this.name = opts.name ?? QWEN2VL_DEFAULTS.name;
    this.scale = opts.scale;
    this.rt = rt;
    this.dtypes = dtypes;
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
    const dtypes = normaliseDtype(opts.dtype, name);
    const abs = path.resolve(opts.dir);
    let isDir = false;
    try {
      isDir = (await fs.stat(abs)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new ModelUnavailableError(name, `Qwen2-VL folder not found: ${displayPath(abs)} (${fix})`);
    const missing = await missingQwen2VLFiles(abs, dtypes);
    if (missing.length > 0) {
      throw new ModelUnavailableError(
        name,
        `the Qwen2-VL folder ${displayPath(abs)} lacks ${missing.length} file${missing.length === 1 ? "" : "s"}: ${missing.join(", ")} (${fix})`,
      );
    }

    let rt: Runtime;
    const device = opts.device ?? QWEN2VL_DEFAULTS.device;
    try {
      rt = await loadRuntime(abs, dtypes, device);
    } catch (err) {
      const text = errorText(err);
      const hint = /providers_cuda|CUDA/i.test(text) && device === "cuda"
        ? "device cuda needs onnxruntime-node's CUDA libraries, which its install step downloads and this project's .npmrc skips; use device cpu"
        : fix;
      throw new ModelUnavailableError(name, `could not load the Qwen2-VL export in ${opts.dir}: ${text} (${hint})`);
    }

    // Pixel bounds: the caller's cap, else the folder's capped at the fine-tuning default. Newer exports write
    // min/max pixels as size.{shortest,longest}_edge (Python's meaning: pixel counts).
    // transformers.js v3 passes smart_resize's (height, width) on as (width, height), transposing every
    // non-square image; so images are resized here (qwen2vlImageSize) and the processor's resize is off.
    const ip = rt.processor.image_processor;
    const size = ip.size as { shortest_edge?: number; longest_edge?: number } | undefined;
    const minPixels = ip.min_pixels ?? size?.shortest_edge ?? 56 * 56;
    const folderMax = ip.max_pixels ?? size?.longest_edge ?? DEFAULT_IMAGE_MAX_PIXELS;
    const maxPixels = opts.maxPixels ?? Math.min(folderMax, DEFAULT_IMAGE_MAX_PIXELS);
    ip.do_resize = false;
    ip.config.do_resize = false;
    const factor = Number(ip.config.patch_size ?? 14) * Number(ip.config.merge_size ?? 2);

    const digitIds: number[] = [];
    for (let d = 0; d <= 9; d++) {
      const ids = rt.processor.tokenizer.encode(String(d), { add_special_tokens: false });
      digitIds.push(ids.length === 1 ? ids[0]! : -1);
    }
    return new LocalQwen2VLModel(opts, rt, dtypes, { minPixels, maxPixels, factor }, digitIds);
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
      device: this.opts.device ?? QWEN2VL_DEFAULTS.device,
      maxPixels: this.resize.maxPixels,
      minPixels: this.resize.minPixels,
      maxNewTokens: this.maxNewTokens,
      decoding: "greedy",
      probabilities: "digit tree over the score's tokens at the score position",
    };
  }

  predict(image: PreparedImage, opts: PredictOptions = {}): Promise<Prediction> {
    const run = this.queue.then(() => this.predictNow(image, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    const rt = this.rt;
    this.rt = null;
    await this.queue;
    if (rt) await rt.model.dispose();
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
    let inputs: Record<string, TfTensor> | undefined;
    try {
      const target = qwen2vlImageSize(image.width, image.height, this.resize);
      const { data, info } = await sharp(image.jpeg)
        .removeAlpha()
        .toColourspace("srgb")
        .resize(target.width, target.height, { fit: "fill", kernel: "cubic" })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const raw = new rt.RawImage(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, 3);
      const messages = [
        { role: "system", content: systemPrompt(this.scale) },
        { role: "user", content: [{ type: "image" }, { type: "text", text: opts.prompt ?? userPrompt(this.scale) }] },
      ];
      const text = rt.processor.apply_chat_template(messages, {
        add_generation_prompt: true,
        ...(rt.chatTemplate ? { chat_template: rt.chatTemplate } : {}),
      });
      inputs = await rt.processor(text, raw);
      const promptIds = inputs.input_ids!;
      const promptLen = promptIds.dims[1]!;

      // Record the digit logits of every step (before any change; greedy has no other processors).
      const steps: StepLogits[] = [];
      const recorder = (ids: bigint[][], logits: TfTensor) => {
        steps[ids[0]!.length - promptLen] = stepLogits(logitsRow(logits, 0, logits.dims.at(-1)!), this.digitIds);
        return logits;
      };
      const abort = (ids: unknown[]) => ids.map(() => opts.signal?.aborted === true);
      const out = await rt.model.generate({
        ...inputs,
        max_new_tokens: this.maxNewTokens,
        do_sample: false,
        num_beams: 1,
        repetition_penalty: 1.0,
        logits_processor: [recorder],
        stopping_criteria: [abort],
        return_dict_in_generate: true,
      });
      const all = (out.sequences.tolist()[0] as bigint[]).map(Number);
      const generated = all.slice(promptLen);
      const usage: TokenUsage = { inputTokens: promptLen, outputTokens: generated.length };
      const reply = rt.processor.tokenizer.decode(generated, { skip_special_tokens: true }).trim();
      if (opts.signal?.aborted) return this.failure("aborted during generation", reply, t0, usage);

      const probs = await this.scoreProbabilities(rt, inputs, generated, steps, out.past_key_values, promptLen);
      const parsed = parseScoreText(reply, this.scale);
      const latencyMs = performance.now() - t0;
      const extra = probs ? { probabilities: probs.probabilities, expectedScore: probs.expectedScore } : {};
      if (!parsed.ok) {
        const cut = generated.length >= this.maxNewTokens ? ` (the reply was cut at ${this.maxNewTokens} tokens)` : "";
        return { ...this.failure(`no clear score: ${parsed.reason}${cut}`, reply, t0, usage), latencyMs, ...extra };
      }
      return { score: parsed.score, reasons: parsed.reasons, raw: reply, latencyMs, modelId: this.id, usage, ...extra };
    } catch (err) {
      return this.failure(`${errorText(err)} (inputs: ${describeInputs(inputs)})`, "", t0);
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
      const before = rt.processor.tokenizer.decode(generated.slice(0, j), { skip_special_tokens: true });
      if (endsAtScorePosition(before)) {
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
