/**
 * A tiny Qwen2-VL folder in the layout @huggingface/transformers v3 loads (see DESIGN.md, "Qwen2-VL in Node"),
 * written offline with hand-set weights, so the real local-model code can be tested without downloads.
 *
 * What the "model" does (deterministic, greedy):
 * - Tokenizer: Qwen2-style byte-level BPE (Qwen2's split regex, ByteLevel pre-tokenizer/decoder) over the 256
 *   byte symbols plus a few merges, so the reply `{"score":7,"reasons":[]}` (the fine-tuning target format,
 *   `JSON.stringify`) is the token chain `{"` `score` `":` `7` `,"` `reasons` `":[]}` — every token in the chain
 *   is distinct, digits are single tokens ("10" is "1" then "0", as in Qwen2's own tokenizer), and Qwen2-VL's
 *   special tokens (<|im_start|>, <|im_end|>, <|vision_start|>, <|image_pad|>, …) are added tokens.
 * - embed_tokens: a one-hot "role" for each token of that chain (and for "\n", which ends the generation prompt
 *   `<|im_start|>assistant\n`); every other token embeds to zeros.
 * - vision_encoder: each merged 2×2 patch becomes a feature carrying the patch's mean brightness in [0, 1]
 *   (pixel normalisation undone with the preprocessor's mean/std) and an "image" flag.
 * - decoder_model_merged: a bigram over the roles (each chain token → the next; `":[]}` → <|im_end|>). The
 *   present.{i}.key/value outputs are past ⊕ new (the embeddings, split into heads). After `":` the digit
 *   logits come from score logits z(k) = scoreBias[k] − α·(k − (1 + 9·b))², where b is the image's mean
 *   brightness read back from the whole value cache of layer 0 (so the image must reach the model and the cache
 *   must be carried between steps). Digit "1" carries log(e^z1 + e^z10); after a generated "1", "0" gets z10
 *   and `,"` gets z1 (so 10 is a real two-token answer). All chosen logits sit near +30, others at 0.
 *
 * With `bare: true` the reply is only the number (`7`): the score digits follow the generation prompt's "\n".
 *
 * Files: config.json, generation_config.json, preprocessor_config.json (Qwen2VLProcessor, max_pixels 112²),
 * tokenizer.json, tokenizer_config.json (with a simplified Qwen2-VL chat template), onnx/embed_tokens.onnx,
 * onnx/vision_encoder.onnx, onnx/decoder_model_merged.onnx.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { onnx } from "onnx-proto";

export interface TinyQwen2VLOptions {
  /** Added to the score logits z(k) for k = 1..10 (index 0 is score 1). Default all 0. */
  scoreBias?: number[];
  /** Width of the score preference around the image-driven peak; default 0.5. */
  alpha?: number;
  /**
   * Answer with the bare number (`7`, then <|im_end|>) instead of `{"score":7,"reasons":[]}`, as a foreign
   * fine-tune may: the score is the reply's first token.
   */
  bare?: boolean;
}

/** The numbers a test may want to check against. */
export const TINY_QWEN2VL = {
  hiddenSize: 32,
  numLayers: 2,
  numKvHeads: 2,
  headDim: 16,
  patchSize: 14,
  mergeSize: 2,
  temporalPatchSize: 2,
  maxPixels: 112 * 112,
  minPixels: 56 * 56,
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
  /** The preferred score for a mean brightness b in [0, 1] when scoreBias is 0. */
  peakScore: (b: number) => 1 + 9 * b,
} as const;

const SPECIAL_TOKENS = [
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|vision_start|>",
  "<|vision_end|>",
  "<|vision_pad|>",
  "<|image_pad|>",
  "<|video_pad|>",
] as const;

/** Qwen2's pre-tokenizer split (as in its tokenizer.json): digits one by one, letters, punctuation runs, spaces. */
const QWEN2_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Merge chains that make each multi-character token of the reply one token (order = rank). */
const MERGE_WORDS = ["score", "reasons", '{"', '":[]}', ',"'];

/** GPT-2 byte → printable unicode symbol mapping (the ByteLevel alphabet). */
function bytesToUnicode(): string[] {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const map = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = direct.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return map;
}

interface Vocab {
  tokenizerJson: unknown;
  vocabSize: number;
  id: (token: string) => number;
  special: (token: (typeof SPECIAL_TOKENS)[number]) => number;
}

function buildVocab(): Vocab {
  const byteSym = bytesToUnicode();
  const vocab = new Map<string, number>();
  byteSym.forEach((sym, b) => vocab.set(sym, b));
  const merges: [string, string][] = [];
  const sym = (s: string) => [...Buffer.from(s, "utf8")].map((b) => byteSym[b]!).join("");
  for (const word of MERGE_WORDS) {
    const chars = [...sym(word)];
    let acc = chars[0]!;
    for (const c of chars.slice(1)) {
      merges.push([acc, c]);
      acc += c;
      if (!vocab.has(acc)) vocab.set(acc, vocab.size);
    }
  }
  // '":' is a prefix of '":[]}', so it exists as a token; check the chain tokens all exist.
  for (const t of ['{"', "score", '":', ',"', "reasons", '":[]}']) {
    if (!vocab.has(sym(t))) throw new Error(`tiny tokenizer: no token for ${t}`);
  }
  const nBase = vocab.size;
  const specialIds = new Map<string, number>(SPECIAL_TOKENS.map((t, i) => [t, nBase + i]));
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: specialIds.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  return {
    tokenizerJson,
    vocabSize: nBase + SPECIAL_TOKENS.length,
    id: (token) => {
      const id = vocab.get(sym(token));
      if (id === undefined) throw new Error(`tiny tokenizer: no single token for ${JSON.stringify(token)}`);
      return id;
    },
    special: (token) => specialIds.get(token)!,
  };
}

/** A simplified Qwen2-VL chat template: same markers, images as <|vision_start|><|image_pad|><|vision_end|>. */
const CHAT_TEMPLATE =
  "{% for message in messages %}" +
  "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}" +
  "<|im_start|>{{ message['role'] }}\n" +
  "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n" +
  "{% else %}{% for content in message['content'] %}" +
  "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}<|vision_start|><|image_pad|><|vision_end|>" +
  "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>" +
  "{% elif 'text' in content %}{{ content['text'] }}{% endif %}" +
  "{% endfor %}<|im_end|>\n{% endif %}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

// ---------------------------------------------------------------------------------------------------------------
// ONNX writing helpers

const F32 = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private n = 0;

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`${name}: ${values.length} values for dims ${dims}`);
    const raw = Buffer.from(Float32Array.from(values).buffer);
    this.initializers.push({ name, dims, dataType: F32, rawData: raw });
    return name;
  }

  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    const raw = Buffer.from(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.initializers.push({ name, dims, dataType: I64, rawData: raw });
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.n++}`;
    const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, ints: v, type: onnx.AttributeProto.AttributeType.INTS }
        : { name, i: v, type: onnx.AttributeProto.AttributeType.INT },
    );
    this.nodes.push({ opType, input: inputs, output: [out], name: `${opType}_${this.n++}`, attribute });
    return out;
  }

  model(name: string, inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[]): Uint8Array {
    return onnx.ModelProto.encode({
      irVersion: 8,
      producerName: "streetsafe-tiny-qwen2vl",
      opsetImport: [{ domain: "", version: 18 }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: inputs, output: outputs },
    }).finish();
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Embedding dimensions ("roles"). */
const ROLE = {
  newline: 0,
  openBrace: 1, // {"
  score: 2,
  colon: 3, // ":
  digit0: 4, // 4..13 = digits 0..9
  comma: 14, // ,"
  reasons: 15,
  tail: 16, // ":[]}
  brightness: 17, // image features only
  imageFlag: 18, // image features only
} as const;

const BIG = 30;

export async function buildTinyQwen2VL(dir: string, opts: TinyQwen2VLOptions = {}): Promise<void> {
  const T = TINY_QWEN2VL;
  const H = T.hiddenSize;
  const bias = opts.scoreBias ?? new Array(10).fill(0);
  if (bias.length !== 10 || bias.some((b) => !Number.isFinite(b))) throw new Error("scoreBias must have 10 finite numbers (scores 1..10)");
  const alpha = opts.alpha ?? 0.5;
  const voc = buildVocab();
  const V = voc.vocabSize;
  const digitId = (d: number) => voc.id(String(d));
  const ids = {
    newline: voc.id("\n"),
    openBrace: voc.id('{"'),
    score: voc.id("score"),
    colon: voc.id('":'),
    comma: voc.id(',"'),
    reasons: voc.id("reasons"),
    tail: voc.id('":[]}'),
    imEnd: voc.special("<|im_end|>"),
    endOfText: voc.special("<|endoftext|>"),
  };

  await fs.mkdir(path.join(dir, "onnx"), { recursive: true });
  const writeJson = (name: string, value: unknown) => fs.writeFile(path.join(dir, name), JSON.stringify(value, null, 2) + "\n");

  // --- configs -------------------------------------------------------------------------------------------------
  await writeJson("config.json", {
    architectures: ["Qwen2VLForConditionalGeneration"],
    model_type: "qwen2_vl",
    hidden_size: H,
    intermediate_size: 2 * H,
    num_hidden_layers: T.numLayers,
    num_attention_heads: T.numKvHeads,
    num_key_value_heads: T.numKvHeads,
    head_dim: T.headDim,
    vocab_size: V,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    rope_scaling: { type: "mrope", mrope_section: [2, 3, 3] },
    tie_word_embeddings: false,
    torch_dtype: "float32",
    bos_token_id: ids.endOfText,
    eos_token_id: ids.imEnd,
    pad_token_id: ids.endOfText,
    vision_start_token_id: voc.special("<|vision_start|>"),
    vision_end_token_id: voc.special("<|vision_end|>"),
    vision_token_id: voc.special("<|vision_pad|>"),
    image_token_id: voc.special("<|image_pad|>"),
    video_token_id: voc.special("<|video_pad|>"),
    vision_config: {
      depth: 1,
      embed_dim: 16,
      hidden_size: H,
      num_heads: 1,
      in_chans: 3,
      patch_size: T.patchSize,
      spatial_merge_size: T.mergeSize,
      temporal_patch_size: T.temporalPatchSize,
    },
  });
  await writeJson("generation_config.json", {
    bos_token_id: ids.endOfText,
    eos_token_id: [ids.imEnd, ids.endOfText],
    pad_token_id: ids.endOfText,
    do_sample: false,
  });
  await writeJson("preprocessor_config.json", {
    processor_class: "Qwen2VLProcessor",
    image_processor_type: "Qwen2VLImageProcessor",
    do_convert_rgb: true,
    do_resize: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: T.imageMean,
    image_std: T.imageStd,
    resample: 3,
    min_pixels: T.minPixels,
    max_pixels: T.maxPixels,
    patch_size: T.patchSize,
    merge_size: T.mergeSize,
    temporal_patch_size: T.temporalPatchSize,
  });
  await writeJson("tokenizer.json", voc.tokenizerJson);
  await writeJson("tokenizer_config.json", {
    tokenizer_class: "Qwen2Tokenizer",
    add_prefix_space: false,
    bos_token: null,
    eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>",
    unk_token: null,
    clean_up_tokenization_spaces: false,
    errors: "replace",
    model_max_length: 32768,
    split_special_tokens: false,
    additional_special_tokens: SPECIAL_TOKENS.filter((t) => t !== "<|endoftext|>"),
    chat_template: CHAT_TEMPLATE,
  });

  // --- embed_tokens: input_ids [b, s] -> inputs_embeds [b, s, H] -------------------------------------------------
  {
    const E = new Float32Array(V * H);
    const role = (tokenId: number, dim: number) => (E[tokenId * H + dim] = 1);
    role(ids.newline, ROLE.newline);
    role(ids.openBrace, ROLE.openBrace);
    role(ids.score, ROLE.score);
    role(ids.colon, ROLE.colon);
    for (let d = 0; d <= 9; d++) role(digitId(d), ROLE.digit0 + d);
    role(ids.comma, ROLE.comma);
    role(ids.reasons, ROLE.reasons);
    role(ids.tail, ROLE.tail);
    const g = new GraphBuilder();
    g.floats("embed_weight", [V, H], E);
    g.op("Gather", ["embed_weight", "input_ids"], { axis: 0 }, "inputs_embeds");
    await fs.writeFile(
      path.join(dir, "onnx", "embed_tokens.onnx"),
      g.model(
        "embed_tokens",
        [valueInfo("input_ids", I64, ["batch_size", "sequence_length"])],
        [valueInfo("inputs_embeds", F32, ["batch_size", "sequence_length", H])],
      ),
    );
  }

  // --- vision_encoder: pixel_values [patches, 1176] + grid_thw [images, 3] -> image_features [patches/4, H] ------
  {
    const C = 3;
    const perChannel = T.temporalPatchSize * T.patchSize * T.patchSize; // 392
    const D = C * perChannel; // 1176
    // Flattened patch order is (channel, temporal, patch_h, patch_w); undo (x/255 - mean_c) / std_c and average.
    const w = new Float32Array(D);
    for (let i = 0; i < D; i++) w[i] = T.imageStd[Math.floor(i / perChannel)]! / D;
    const meanOfMeans = (T.imageMean[0] + T.imageMean[1] + T.imageMean[2]) / 3;
    const toFeature = new Float32Array(H);
    toFeature[ROLE.brightness] = 1;
    const flag = new Float32Array(H);
    flag[ROLE.imageFlag] = 1;
    const g = new GraphBuilder();
    g.floats("brightness_w", [D, 1], w);
    g.floats("brightness_b", [1], [meanOfMeans]);
    g.ints("group_shape", [-1, T.mergeSize * T.mergeSize]);
    g.ints("axis1", [1]);
    g.floats("to_feature", [1, H], toFeature);
    g.floats("image_flag", [H], flag);
    const per = g.op("Add", [g.op("MatMul", ["pixel_values", "brightness_w"]), "brightness_b"]); // [P, 1]
    const grouped = g.op("ReduceMean", [g.op("Reshape", [per, "group_shape"]), "axis1"], { keepdims: 1 }); // [P/4, 1]
    g.op("Add", [g.op("MatMul", [grouped, "to_feature"]), "image_flag"], {}, "image_features");
    await fs.writeFile(
      path.join(dir, "onnx", "vision_encoder.onnx"),
      g.model(
        "vision_encoder",
        [valueInfo("pixel_values", F32, ["num_patches", D]), valueInfo("grid_thw", I64, ["num_images", 3])],
        [valueInfo("image_features", F32, ["num_image_tokens", H])],
      ),
    );
  }

  // --- decoder_model_merged ------------------------------------------------------------------------------------
  {
    const KV = T.numKvHeads;
    const HD = T.headDim;
    const g = new GraphBuilder();
    // Static bigram: role → next token.
    const W = new Float32Array(H * V);
    const next = (dim: number, tokenId: number) => (W[dim * V + tokenId] = BIG);
    // Bare answers: the digits come right after the generation prompt's "\n", and the number ends the reply.
    const afterDigit = opts.bare ? ids.imEnd : ids.comma;
    if (!opts.bare) next(ROLE.newline, ids.openBrace);
    next(ROLE.openBrace, ids.score);
    next(ROLE.score, ids.colon);
    for (let d = 0; d <= 9; d++) if (d !== 1) next(ROLE.digit0 + d, afterDigit);
    next(ROLE.comma, ids.reasons);
    next(ROLE.reasons, ids.tail);
    next(ROLE.tail, ids.imEnd);
    g.floats("bigram", [H, V], W);
    const select = (name: string, dim: number) => {
      const s = new Float32Array(H);
      s[dim] = 1;
      return g.floats(name, [H, 1], s);
    };
    select("sel_brightness", ROLE.brightness);
    select("sel_image", ROLE.imageFlag);
    select("sel_colon", opts.bare ? ROLE.newline : ROLE.colon); // where the score's first digit is written
    select("sel_one", ROLE.digit0 + 1);
    // z(k) = bias_k − α(k − 1 − 9b)² = [bias_k − α(k−1)²] + b·[18α(k−1)] − 81α b²; the last term is the same
    // for every k and cancels in every softmax below, so it is left out.
    const c1 = bias.map((bk, i) => bk - alpha * i * i);
    const c2 = bias.map((_, i) => 18 * alpha * i);
    g.floats("z_const", [10], c1);
    g.floats("z_bright", [10], c2);
    const firstPlace = new Float32Array(9 * V); // rows: first digit 1..9
    for (let d = 1; d <= 9; d++) firstPlace[(d - 1) * V + digitId(d)] = 1;
    g.floats("first_place", [9, V], firstPlace);
    const contPlace = new Float32Array(2 * V); // after "1": row 0 → "0" (score 10), row 1 → ',"' (score 1)
    contPlace[0 * V + digitId(0)] = 1;
    contPlace[1 * V + afterDigit] = 1;
    g.floats("cont_place", [2, V], contPlace);
    g.floats("big", [1], [BIG]);
    g.floats("one", [1], [1]);
    g.ints("heads_shape", [0, 0, KV, HD]);
    g.ints("hidden_shape", [0, 0, H]);
    g.ints("axis1", [1]);
    g.ints("axis_last", [-1]);
    g.ints("s0", [0]);
    g.ints("s1", [1]);
    g.ints("s9", [9]);
    g.ints("s10", [10]);

    const newKv = g.op("Transpose", [g.op("Reshape", ["inputs_embeds", "heads_shape"])], { perm: [0, 2, 1, 3] }); // [b, kv, s, hd]
    const inputs: onnx.IValueInfoProto[] = [
      valueInfo("inputs_embeds", F32, ["batch_size", "sequence_length", H]),
      valueInfo("attention_mask", I64, ["batch_size", "total_sequence_length"]),
      valueInfo("position_ids", I64, [3, "batch_size", "sequence_length"]),
    ];
    const outputs: onnx.IValueInfoProto[] = [valueInfo("logits", F32, ["batch_size", "sequence_length", V])];
    for (let i = 0; i < T.numLayers; i++) {
      for (const kind of ["key", "value"]) {
        inputs.push(valueInfo(`past_key_values.${i}.${kind}`, F32, ["batch_size", KV, "past_sequence_length", HD]));
        outputs.push(valueInfo(`present.${i}.${kind}`, F32, ["batch_size", KV, "total_sequence_length", HD]));
        g.op("Concat", [`past_key_values.${i}.${kind}`, newKv], { axis: 2 }, `present.${i}.${kind}`);
      }
    }
    // Image brightness from everything in layer 0's value cache (past and new): Σ brightness / Σ image flags.
    const cache = g.op("Reshape", [g.op("Transpose", ["present.0.value"], { perm: [0, 2, 1, 3] }), "hidden_shape"]); // [b, t, H]
    const total = g.op("ReduceSum", [cache, "axis1"], { keepdims: 1 }); // [b, 1, H]
    const bright = g.op("Div", [
      g.op("MatMul", [total, "sel_brightness"]),
      g.op("Max", [g.op("MatMul", [total, "sel_image"]), "one"]),
    ]); // [b, 1, 1]
    const z = g.op("Add", [g.op("Mul", [bright, "z_bright"]), "z_const"]); // [b, 1, 10]: scores 1..10
    const lseAll = g.op("ReduceLogSumExp", [z, "axis_last"], { keepdims: 1 });
    const z1 = g.op("Slice", [z, "s0", "s1", "axis_last"]);
    const z2to9 = g.op("Slice", [z, "s1", "s9", "axis_last"]);
    const z10 = g.op("Slice", [z, "s9", "s10", "axis_last"]);
    const lse1or10 = g.op("ReduceLogSumExp", [g.op("Concat", [z1, z10], { axis: -1 }), "axis_last"], { keepdims: 1 });
    const first = g.op("Add", [g.op("Sub", [g.op("Concat", [lse1or10, z2to9], { axis: -1 }), lseAll]), "big"]); // [b,1,9]
    const cont = g.op("Add", [g.op("Sub", [g.op("Concat", [z10, z1], { axis: -1 }), lse1or10]), "big"]); // [b,1,2]
    const firstV = g.op("MatMul", [first, "first_place"]); // [b, 1, V]
    const contV = g.op("MatMul", [cont, "cont_place"]);
    const gateColon = g.op("MatMul", ["inputs_embeds", "sel_colon"]); // [b, s, 1]
    const gateOne = g.op("MatMul", ["inputs_embeds", "sel_one"]);
    const staticLogits = g.op("MatMul", ["inputs_embeds", "bigram"]); // [b, s, V]
    g.op(
      "Add",
      [g.op("Add", [staticLogits, g.op("Mul", [gateColon, firstV])]), g.op("Mul", [gateOne, contV])],
      {},
      "logits",
    );
    await fs.writeFile(path.join(dir, "onnx", "decoder_model_merged.onnx"), g.model("decoder_model_merged", inputs, outputs));
  }
}
