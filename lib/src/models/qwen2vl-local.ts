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
 * - The prompt is the fine-tuning prompt (qwen-data.ts): the system prompt, then a user turn with the image
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
import { systemPrompt, userPrompt } from "../prompt/prompts";
import { DEFAULT_IMAGE_MAX_PIXELS } from "../prepare";
import type { Scale } from "../core/scale";
import { parseScoreText } from "../prompt/score-text";
import { endsAtScorePosition } from "../prompt/score-position";
import type { PreparedImage } from "../core/types";
import { ModelUnavailableError } from "../core/errors";
import { type Prediction, type PredictOptions, type ScoreModel, type TokenUsage } from "./types";

// ---------------------------------------------------------------------------------------------------
// Options and constants

export type Qwen2VLDtype = "fp32" | "fp16" | "q8" | "q4" | "q4f16" | "int8" | "uint8" | "bnb4";

export interface LocalQwen2VLOptions {
  /** The config name the user asked for; default "qwen2vl-local". */
  name?: string;
  /** The exported model folder (`--qwen2vl-dir`). */
  dir: string;
  scale: Scale;
  /** Which ONNX files to load: one dtype for all three, or per file name (missing names: fp32). Default fp32. */
  dtype?: "fp32" | "q8" | "q4" | "fp16" | Record<string, string>;
  /** Default "cpu". "cuda" needs onnxruntime-node's CUDA libraries, which are not installed here. */
  device?: "cpu" | "cuda";
  /** Image pixel cap for the processor (h·w after resizing, multiples of 28). */
  maxPixels?: number;
  /** Generation cap; default 128 (a JSON reply with a few reasons). */
  maxNewTokens?: number;
}

export const QWEN2VL_DIR_FLAG = "--qwen2vl-dir";
export const QWEN2VL_DEFAULTS = { name: "qwen2vl-local", dtype: "fp32", device: "cpu", maxNewTokens: 128 } as const;

/** The three ONNX sessions transformers.js builds for Qwen2VLForConditionalGeneration. */
export const QWEN2VL_SESSIONS = ["embed_tokens", "vision_encoder", "decoder_model_merged"] as const;
/** transformers.js v3's file suffix per dtype (utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
const DTYPE_SUFFIX: Record<string, string> = {
  fp32: "",
  fp16: "_fp16",
  int8: "_int8",
  uint8: "_uint8",
  q8: "_quantized",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
};
const REQUIRED_JSON = ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"];
const MAX_PROBABILITY_PASSES = 32;

// ---------------------------------------------------------------------------------------------------
// Files

function normaliseDtype(dtype: LocalQwen2VLOptions["dtype"], model: string): Record<string, string> {
  const given = dtype ?? QWEN2VL_DEFAULTS.dtype;
  const perFile: Record<string, string> = {};
  for (const s of QWEN2VL_SESSIONS) perFile[s] = typeof given === "string" ? given : (given[s] ?? "fp32");
  if (typeof given !== "string") {
    const unknown = Object.keys(given).filter((k) => !(QWEN2VL_SESSIONS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new ModelUnavailableError(model, `dtype names unknown ONNX files: ${unknown.join(", ")} (known: ${QWEN2VL_SESSIONS.join(", ")})`);
    }
  }
  for (const [file, d] of Object.entries(perFile)) {
    if (!(d in DTYPE_SUFFIX)) {
      throw new ModelUnavailableError(model, `unknown dtype "${d}" for ${file} (known: ${Object.keys(DTYPE_SUFFIX).join(", ")})`);
    }
  }
  return perFile;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every file the folder lacks for this dtype (paths relative to the folder), in a stable order; [] when
 * complete. External-data files are included when config.json asks for them.
 */
export async function missingQwen2VLFiles(dir: string, dtype: LocalQwen2VLOptions["dtype"] = "fp32"): Promise<string[]> {
  const perFile = normaliseDtype(dtype, QWEN2VL_DEFAULTS.name);
  let external: unknown;
  try {
    const config = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    external = (config["transformers.js_config"] as Record<string, unknown> | undefined)?.use_external_data_format;
  } catch {
    external = undefined; // a missing config.json is reported below; a broken one fails at load with its message
  }
  const wanted = [...REQUIRED_JSON];
  for (const s of QWEN2VL_SESSIONS) {
    const base = `${s}${DTYPE_SUFFIX[perFile[s]!]}.onnx`;
    wanted.push(`onnx/${base}`);
    let chunks: unknown = external;
    if (external && typeof external === "object") {
      const map = external as Record<string, unknown>;
      chunks = map[base] ?? map[s] ?? false;
    }
    const n = chunks === true ? 1 : typeof chunks === "number" ? chunks : 0;
    for (let i = 0; i < n; i++) wanted.push(`onnx/${base}_data${i === 0 ? "" : `_${i}`}`);
  }
  const missing: string[] = [];
  for (const f of wanted) if (!(await exists(path.join(dir, f)))) missing.push(f);
  return missing;
}

// ---------------------------------------------------------------------------------------------------
// The slice of transformers.js this module uses, typed locally (its own .d.ts are loose in places).

interface TfTensor {
  readonly dims: number[];
  readonly type: string;
  readonly data: ArrayLike<number | bigint>;
  slice(...slices: (number | [number, number] | null)[]): TfTensor;
  to(type: string): TfTensor;
  tolist(): unknown[];
}
interface TfTensorCtor {
  new (type: string, data: ArrayLike<number | bigint> | bigint[] | number[], dims: number[]): TfTensor;
}
interface TfTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[] | bigint[], opts?: { skip_special_tokens?: boolean }): string;
}
interface TfImageProcessor {
  max_pixels?: number;
  min_pixels?: number;
  size?: unknown;
  do_resize?: boolean;
  config: Record<string, unknown>;
}
interface TfProcessor {
  (text: string, images: unknown): Promise<Record<string, TfTensor>>;
  tokenizer: TfTokenizer;
  image_processor: TfImageProcessor;
  apply_chat_template(messages: unknown[], opts: Record<string, unknown>): string;
}
interface TfModel {
  sessions: Record<string, unknown>;
  generate(opts: Record<string, unknown>): Promise<{ sequences: TfTensor; past_key_values: Record<string, TfTensor> }>;
  forward(inputs: Record<string, unknown>): Promise<Record<string, TfTensor>>;
  get_rope_index(input_ids: TfTensor, image_grid_thw: TfTensor | null, video_grid_thw: TfTensor | null, attention_mask: TfTensor): [TfTensor, TfTensor];
  dispose(): Promise<unknown>;
}
interface Runtime {
  Tensor: TfTensorCtor;
  RawImage: new (data: Uint8ClampedArray, width: number, height: number, channels: 3) => unknown;
  processor: TfProcessor;
  model: TfModel;
  chatTemplate: string | undefined;
}

// ---------------------------------------------------------------------------------------------------
// Score probabilities over the digit tree

interface StepLogits {
  /** Logits of the tokens "0".."9". */
  digits: number[];
  /** log Σ exp(logit) over the whole vocabulary. */
  lse: number;
}

/** Digit-string trie of the scale's integers: which prefixes need a next-token distribution. */
function scoreTrie(scale: Scale): { nodes: string[]; children: (p: string) => number[]; terminal: (p: string) => boolean } | null {
  if (scale.min < 0 || !Number.isInteger(scale.min) || !Number.isInteger(scale.max)) return null;
  const words = new Set<string>();
  for (let k = scale.min; k <= scale.max; k++) words.add(String(k));
  const children = (p: string) => {
    const out: number[] = [];
    for (let d = 0; d <= 9; d++) {
      const q = p + d;
      for (const w of words) {
        if (w.startsWith(q)) {
          out.push(d);
          break;
        }
      }
    }
    return out;
  };
  const nodes: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    for (let i = 0; i < w.length; i++) {
      const p = w.slice(0, i);
      if (!seen.has(p)) {
        seen.add(p);
        nodes.push(p);
      }
    }
  }
  if (nodes.length - 1 > MAX_PROBABILITY_PASSES) return null;
  return { nodes, children, terminal: (p) => words.has(p) };
}

/** p(k) for each integer on the scale from the next-token distributions at the trie's nodes. */
export function digitTreeProbabilities(
  scale: Scale,
  at: (prefix: string) => StepLogits,
): { probabilities: Record<number, number>; expectedScore: number } | null {
  const trie = scoreTrie(scale);
  if (!trie) return null;
  const probabilities: Record<number, number> = {};
  const walk = (p: string, mass: number) => {
    const kids = trie.children(p);
    const isEnd = p !== "" && trie.terminal(p);
    if (kids.length === 0) {
      probabilities[Number(p)] = mass;
      return;
    }
    const step = at(p);
    const pd = step.digits.map((l) => Math.exp(l - step.lse));
    const endMass = isEnd ? Math.max(0, 1 - pd.reduce((a, b) => a + b, 0)) : 0;
    const total = kids.reduce((a, d) => a + pd[d]!, 0) + endMass;
    // Nothing representable (all mass underflowed): share evenly rather than divide by zero.
    const share = (x: number) => (total > 0 ? x / total : 1 / (kids.length + (isEnd ? 1 : 0)));
    if (isEnd) probabilities[Number(p)] = mass * share(endMass);
    for (const d of kids) walk(p + d, mass * share(pd[d]!));
  };
  walk("", 1);
  let sum = 0;
  let expected = 0;
  for (let k = scale.min; k <= scale.max; k++) {
    const v = probabilities[k] ?? 0;
    probabilities[k] = v;
    sum += v;
  }
  if (!(sum > 0)) return null;
  for (let k = scale.min; k <= scale.max; k++) {
    probabilities[k] = probabilities[k]! / sum;
    expected += probabilities[k]! * k;
  }
  return { probabilities, expectedScore: expected };
}

/** IEEE half → number (Node 20 has no Float16Array; transformers.js then keeps float16 data as raw Uint16Array). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function logitsRow(t: TfTensor, row: number, vocab: number): ArrayLike<number> {
  if (t.type === "float16" && t.data instanceof Uint16Array) {
    return Float64Array.from(t.data.subarray(row * vocab, (row + 1) * vocab), halfToNumber);
  }
  const tt = t.type === "float32" || t.type === "float64" || t.type === "float16" ? t : t.to("float32");
  const data = tt.data as Float32Array | Float64Array;
  return data.subarray(row * vocab, (row + 1) * vocab);
}

function stepLogits(row: ArrayLike<number>, digitIds: number[]): StepLogits {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  return { digits: digitIds.map((id) => row[id]!), lse: max + Math.log(s) };
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

/**
 * The size Qwen2-VL's processor resizes an image to (Python `smart_resize`, as in qwen-vl-utils): both sides
 * multiples of `factor` (patch 14 × merge 2 = 28), about the same aspect ratio, pixels within
 * [minPixels, maxPixels]; sides below `factor` are raised to it.
 */
export function qwen2vlImageSize(
  width: number,
  height: number,
  opts: { minPixels: number; maxPixels: number; factor?: number },
): { width: number; height: number } {
  const f = opts.factor ?? 28;
  if (!(width > 0 && height > 0)) throw new Error(`image size must be positive, got ${width}×${height}`);
  if (Math.max(width, height) / Math.min(width, height) > 200) {
    throw new Error(`aspect ratio ${width}×${height} is beyond Qwen2-VL's limit of 200`);
  }
  let h = Math.max(f, Math.round(height / f) * f);
  let w = Math.max(f, Math.round(width / f) * f);
  if (h * w > opts.maxPixels) {
    const beta = Math.sqrt((height * width) / opts.maxPixels);
    h = Math.max(f, Math.floor(height / beta / f) * f);
    w = Math.max(f, Math.floor(width / beta / f) * f);
  } else if (h * w < opts.minPixels) {
    const beta = Math.sqrt(opts.minPixels / (height * width));
    h = Math.ceil((height * beta) / f) * f;
    w = Math.ceil((width * beta) / f) * f;
  }
  return { width: w, height: h };
}

// ---------------------------------------------------------------------------------------------------
// The model

export class LocalQwen2VLModel implements ScoreModel {
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
    if (!isDir) throw new ModelUnavailableError(name, `Qwen2-VL folder not found: ${opts.dir} (${fix})`);
    const missing = await missingQwen2VLFiles(abs, dtypes);
    if (missing.length > 0) {
      throw new ModelUnavailableError(
        name,
        `the Qwen2-VL folder ${opts.dir} lacks ${missing.length} file${missing.length === 1 ? "" : "s"}: ${missing.join(", ")} (${fix})`,
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
      dir: this.opts.dir,
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

async function loadRuntime(dir: string, dtypes: Record<string, string>, device: "cpu" | "cuda"): Promise<Runtime> {
  const tf = await import("@huggingface/transformers");
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  const options = { local_files_only: true };
  const processor = (await tf.AutoProcessor.from_pretrained(dir, options)) as unknown as TfProcessor;
  if (!processor.tokenizer || !processor.image_processor) {
    throw new Error("preprocessor_config.json does not describe a Qwen2VLProcessor (processor_class)");
  }
  const model = (await tf.Qwen2VLForConditionalGeneration.from_pretrained(dir, {
    ...options,
    dtype: dtypes as Record<string, "fp32">,
    device,
  })) as unknown as TfModel;
  // The chat template: inside tokenizer_config.json (DESIGN.md), or a separate file newer exports write.
  let chatTemplate: string | undefined;
  const tokenizerConfig = JSON.parse(await fs.readFile(path.join(dir, "tokenizer_config.json"), "utf8")) as { chat_template?: unknown };
  if (!tokenizerConfig.chat_template) {
    for (const [file, read] of [
      ["chat_template.json", (s: string) => (JSON.parse(s) as { chat_template?: string }).chat_template],
      ["chat_template.jinja", (s: string) => s],
    ] as const) {
      try {
        chatTemplate = read(await fs.readFile(path.join(dir, file), "utf8"));
        if (chatTemplate) break;
      } catch {
        /* not there */
      }
    }
    if (!chatTemplate) throw new Error("no chat template (tokenizer_config.json has no chat_template, and there is no chat_template.json)");
  }
  return {
    Tensor: tf.Tensor as unknown as TfTensorCtor,
    RawImage: tf.RawImage as unknown as Runtime["RawImage"],
    processor,
    model,
    chatTemplate,
  };
}
