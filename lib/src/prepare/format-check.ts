/**
 * Checks an OpenAI chat fine-tuning JSONL file before upload, in the spirit of OpenAI's cookbook
 * notebook examples/Chat_finetuning_data_prep.ipynb: read line by line, count every problem by name
 * with the first real occurrence, never stop at the first one, and count tokens for the cost estimate.
 *
 * Token counting (an estimate, as in the cookbook) uses openai/tokens.ts: o200k_base text tokens,
 * 3 tokens per message + the tokens of its role, content and name (+1 for a name), + 3 for the reply
 * priming; images by the GPT-4o-class tile rule in `imageTokens`.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { IMAGE_FILE_NAME_PATTERN } from "../prompt/prompts";
import { GPT4O_IMAGE_TOKENS, imageTokens, o200k, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, type ImageTokenRule } from "../openai/tokens";

export const FORMAT_PROBLEMS = [
  "invalid_json",
  "missing_messages",
  "invalid_role",
  "missing_content",
  "unrecognized_key",
  "invalid_content_part",
  "no_assistant_message",
  "too_few_examples",
  "too_many_images",
  "image_not_data_url",
  "unsupported_image_type",
  "image_unreadable",
  "image_too_large",
  "image_outside_user_message",
  "invalid_image_detail",
  "example_too_long",
  "file_name_in_prompt",
] as const;
export type FormatProblemName = (typeof FORMAT_PROBLEMS)[number];

export interface FormatCheckOptions {
  /** Fewer examples than this is a `too_few_examples` problem (OpenAI's minimum is 10). */
  minExamples?: number;
  /** Tokens per example above which `example_too_long` is reported (65,536: gpt-4o-mini / gpt-4o training examples). */
  maxTokensPerExample?: number;
  maxImagesPerExample?: number;
  /** Decoded image size limit in bytes (10 MB). */
  maxImageBytes?: number;
  /** Image token constants; GPT-4o-class by default. */
  imageTokenRule?: ImageTokenRule;
}

export interface TokenStats {
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
}

export interface FormatCheckResult {
  file: string;
  /** Non-blank lines (each is meant to be one example). */
  examples: number;
  problems: Partial<Record<FormatProblemName, number>>;
  /** The first occurrence of each problem; `line` is 1-based, 0 for whole-file problems. */
  firstExample: Partial<Record<FormatProblemName, { line: number; detail: string }>>;
  tokens: {
    /** Text + image tokens over all examples whose structure could be read. */
    total: number;
    /** `total` with each example capped at maxTokensPerExample (what the cookbook bills per epoch). */
    billable: number;
    perExample: TokenStats;
    imageTokens: number;
  };
  images: { total: number; maxPerExample: number };
  ok: boolean;
  limits: Required<Omit<FormatCheckOptions, "imageTokenRule">>;
}

export const DEFAULT_FORMAT_LIMITS = {
  minExamples: 10,
  maxTokensPerExample: 65_536,
  maxImagesPerExample: 10,
  maxImageBytes: 10 * 1024 * 1024,
} as const;

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "bmp" | "tiff";
export const SUPPORTED_FINE_TUNE_IMAGE_FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp"];

/** Format and pixel size from an image's header bytes (JPEG SOF, PNG IHDR, WebP VP8/VP8L/VP8X); null if unknown. */
export function imageInfoFromBytes(b: Buffer): { format: ImageFormat; width: number; height: number } | null {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 3 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++; // fill byte
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2;
        continue;
      }
      if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any SOF
      const len = b.readUInt16BE(i + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) {
        if (i + 9 > b.length) return null;
        return { format: "jpeg", height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
    return null;
  }
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) {
    return { format: "png", width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 30 && b.toString("ascii", 0, 4) === "RIFF" && b.toString("ascii", 8, 12) === "WEBP") {
    const chunk = b.toString("ascii", 12, 16);
    if (chunk === "VP8 ") return { format: "webp", width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = b.readUInt32LE(21);
      return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === "VP8X") return { format: "webp", width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
    return null;
  }
  if (b.length >= 10 && b.toString("ascii", 0, 4) === "GIF8") {
    return { format: "gif", width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    return { format: "bmp", width: b.readInt32LE(18), height: Math.abs(b.readInt32LE(22)) };
  }
  if (b.length >= 4 && (b.toString("latin1", 0, 4) === "II*\u0000" || b.toString("latin1", 0, 4) === "MM\u0000*")) {
    return { format: "tiff", width: 0, height: 0 };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The check

const TOP_KEYS = new Set(["messages", "tools", "functions", "parallel_tool_calls"]);
const MESSAGE_KEYS = new Set(["role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"]);
const ROLES = new Set(["system", "user", "assistant", "tool", "function"]);
const IMAGE_URL_KEYS = new Set(["url", "detail"]);
const DETAILS = new Set(["low", "high", "auto"]);
const MIME_TO_FORMAT: Record<string, ImageFormat> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/bmp": "bmp",
  "image/tiff": "tiff",
};

class Collector {
  readonly problems: Partial<Record<FormatProblemName, number>> = {};
  readonly firstExample: Partial<Record<FormatProblemName, { line: number; detail: string }>> = {};
  add(name: FormatProblemName, line: number, detail: string): void {
    this.problems[name] = (this.problems[name] ?? 0) + 1;
    this.firstExample[name] ??= { line, detail: detail.length > 300 ? detail.slice(0, 297) + "..." : detail };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function preview(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/** Read `file` line by line and report every problem; never throws for bad content (only for I/O). */
export async function checkFineTuneFile(file: string, opts: FormatCheckOptions = {}): Promise<FormatCheckResult> {
  const limits = {
    minExamples: opts.minExamples ?? DEFAULT_FORMAT_LIMITS.minExamples,
    maxTokensPerExample: opts.maxTokensPerExample ?? DEFAULT_FORMAT_LIMITS.maxTokensPerExample,
    maxImagesPerExample: opts.maxImagesPerExample ?? DEFAULT_FORMAT_LIMITS.maxImagesPerExample,
    maxImageBytes: opts.maxImageBytes ?? DEFAULT_FORMAT_LIMITS.maxImageBytes,
  };
  const rule = opts.imageTokenRule ?? GPT4O_IMAGE_TOKENS;
  const c = new Collector();
  const perExample: number[] = [];
  let examples = 0;
  let imageTokenTotal = 0;
  let imagesTotal = 0;
  let maxImages = 0;

  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of rl) {
    lineNo++;
    const text = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (text.trim() === "") continue;
    examples++;
    const r = checkExample(text, lineNo, c, limits, rule);
    if (r) {
      perExample.push(r.tokens);
      imageTokenTotal += r.imageTokens;
      imagesTotal += r.images;
      maxImages = Math.max(maxImages, r.images);
    }
  }

  if (examples < limits.minExamples) {
    c.add("too_few_examples", 0, `${examples} example${examples === 1 ? "" : "s"}; at least ${limits.minExamples} needed`);
  }
  const total = perExample.reduce((a, b) => a + b, 0);
  const billable = perExample.reduce((a, b) => a + Math.min(b, limits.maxTokensPerExample), 0);
  return {
    file,
    examples,
    problems: c.problems,
    firstExample: c.firstExample,
    tokens: { total, billable, perExample: stats(perExample), imageTokens: imageTokenTotal },
    images: { total: imagesTotal, maxPerExample: maxImages },
    ok: Object.keys(c.problems).length === 0,
    limits,
  };
}

/** Same as checkFineTuneFile. */
export const checkFineTuneJsonl = checkFineTuneFile;

function checkExample(
  text: string,
  line: number,
  c: Collector,
  limits: { maxTokensPerExample: number; maxImagesPerExample: number; maxImageBytes: number },
  rule: ImageTokenRule,
): { tokens: number; imageTokens: number; images: number } | null {
  let ex: unknown;
  try {
    ex = JSON.parse(text);
  } catch (e) {
    c.add("invalid_json", line, (e as Error).message);
    return null;
  }
  if (!isObject(ex)) {
    c.add("invalid_json", line, `a line must be a JSON object, got ${Array.isArray(ex) ? "an array" : typeof ex}`);
    return null;
  }
  for (const k of Object.keys(ex)) if (!TOP_KEYS.has(k)) c.add("unrecognized_key", line, `top-level key "${k}"`);
  const messages = ex.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    c.add("missing_messages", line, messages === undefined ? 'no "messages" key' : `"messages" is ${preview(messages)}`);
    return null;
  }

  const enc = o200k();
  let tokens = REPLY_PRIMING_TOKENS;
  let imageTok = 0;
  let images = 0;
  let hasAssistant = false;

  messages.forEach((m, idx) => {
    const where = `message ${idx + 1}`;
    if (!isObject(m)) {
      c.add("invalid_role", line, `${where} is not an object: ${preview(m)}`);
      return;
    }
    tokens += TOKENS_PER_MESSAGE;
    for (const k of Object.keys(m)) if (!MESSAGE_KEYS.has(k)) c.add("unrecognized_key", line, `${where}: key "${k}"`);
    const role = m.role;
    if (typeof role !== "string" || !ROLES.has(role)) {
      c.add("invalid_role", line, `${where}: role ${role === undefined ? "missing" : JSON.stringify(role)}`);
    } else {
      tokens += enc.encode(role).length;
    }
    if (role === "assistant") hasAssistant = true;
    if (typeof m.name === "string") tokens += enc.encode(m.name).length + TOKENS_PER_NAME;
    for (const k of ["function_call", "tool_calls"] as const) {
      if (m[k] !== undefined && m[k] !== null) tokens += enc.encode(JSON.stringify(m[k])).length;
    }
    const hasCall = (m.function_call ?? m.tool_calls) != null;
    const textTurn = role === "user" || role === "system";

    const content = m.content;
    if (typeof content === "string") {
      if (content.length === 0 && !hasCall) c.add("missing_content", line, `${where} (${String(role)}): empty content`);
      tokens += enc.encode(content).length;
      if (textTurn) checkFileName(content, line, where, c);
    } else if (Array.isArray(content)) {
      if (content.length === 0) c.add("missing_content", line, `${where} (${String(role)}): empty content array`);
      content.forEach((part, pi) => {
        const pwhere = `${where} part ${pi + 1}`;
        if (!isObject(part)) {
          c.add("invalid_content_part", line, `${pwhere}: ${preview(part)}`);
          return;
        }
        if (part.type === "text") {
          for (const k of Object.keys(part)) if (k !== "type" && k !== "text") c.add("unrecognized_key", line, `${pwhere}: key "${k}"`);
          if (typeof part.text !== "string" || part.text.length === 0) {
            c.add("missing_content", line, `${pwhere}: text part without text`);
            return;
          }
          tokens += enc.encode(part.text).length;
          if (textTurn) checkFileName(part.text, line, pwhere, c);
        } else if (part.type === "image_url") {
          for (const k of Object.keys(part)) if (k !== "type" && k !== "image_url") c.add("unrecognized_key", line, `${pwhere}: key "${k}"`);
          images++;
          if (role !== "user") c.add("image_outside_user_message", line, `${pwhere}: image in a ${String(role)} message`);
          const t = checkImagePart(part.image_url, line, pwhere, c, limits, rule);
          imageTok += t;
          tokens += t;
        } else {
          c.add("invalid_content_part", line, `${pwhere}: type ${preview(part.type)}`);
        }
      });
    } else if (!(content == null && hasCall && role === "assistant")) {
      c.add(
        "missing_content",
        line,
        content === undefined ? `${where} (${String(role)}): no content` : `${where} (${String(role)}): content is ${preview(content)}`,
      );
    }
  });

  if (!hasAssistant) c.add("no_assistant_message", line, `no assistant message among ${messages.length}`);
  if (images > limits.maxImagesPerExample) {
    c.add("too_many_images", line, `${images} images; at most ${limits.maxImagesPerExample} per example`);
  }
  if (tokens > limits.maxTokensPerExample) {
    c.add("example_too_long", line, `${tokens} tokens; limit ${limits.maxTokensPerExample} (the rest would be truncated)`);
  }
  return { tokens, imageTokens: imageTok, images };
}

function checkFileName(text: string, line: number, where: string, c: Collector): void {
  const m = IMAGE_FILE_NAME_PATTERN.exec(text);
  if (m) c.add("file_name_in_prompt", line, `${where}: "${m[0]}"`);
}

/** Returns the image's tokens (0 when it cannot be read). */
function checkImagePart(
  imageUrl: unknown,
  line: number,
  where: string,
  c: Collector,
  limits: { maxImageBytes: number },
  rule: ImageTokenRule,
): number {
  if (!isObject(imageUrl) || typeof imageUrl.url !== "string") {
    c.add("invalid_content_part", line, `${where}: image_url must be {"url": ...}, got ${preview(imageUrl)}`);
    return 0;
  }
  for (const k of Object.keys(imageUrl)) if (!IMAGE_URL_KEYS.has(k)) c.add("unrecognized_key", line, `${where}: image_url key "${k}"`);
  let detail: "low" | "high" | "auto" = "auto";
  if (imageUrl.detail !== undefined) {
    if (typeof imageUrl.detail === "string" && DETAILS.has(imageUrl.detail)) detail = imageUrl.detail as typeof detail;
    else c.add("invalid_image_detail", line, `${where}: detail ${preview(imageUrl.detail)}`);
  }
  const url = imageUrl.url;
  const m = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(url.slice(0, 200));
  if (!m) {
    c.add("image_not_data_url", line, `${where}: ${preview(url)}`);
    return 0;
  }
  const mime = m[1].toLowerCase();
  const declared = MIME_TO_FORMAT[mime];
  if (!declared || !SUPPORTED_FINE_TUNE_IMAGE_FORMATS.includes(declared)) {
    c.add("unsupported_image_type", line, `${where}: declared type "${mime || "(none)"}"; JPEG, PNG or WEBP only`);
    return 0;
  }
  if (!/;base64$/i.test(m[2])) {
    c.add("image_unreadable", line, `${where}: data URL is not base64-encoded`);
    return 0;
  }
  const b64 = url.slice(m[0].length);
  const padding = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  const decodedBytes = Math.floor((b64.length * 3) / 4) - padding;
  if (decodedBytes > limits.maxImageBytes) {
    c.add("image_too_large", line, `${where}: ${formatBytes(decodedBytes)} decoded; limit ${formatBytes(limits.maxImageBytes)}`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    c.add("image_unreadable", line, `${where}: invalid base64 data`);
    return 0;
  }
  const info = imageInfoFromBytes(Buffer.from(b64, "base64"));
  if (!info) {
    c.add("image_unreadable", line, `${where}: the bytes are not a readable ${declared.toUpperCase()} image`);
    return 0;
  }
  if (!SUPPORTED_FINE_TUNE_IMAGE_FORMATS.includes(info.format)) {
    c.add("unsupported_image_type", line, `${where}: the bytes are ${info.format.toUpperCase()} (declared ${mime}); JPEG, PNG or WEBP only`);
    return 0;
  }
  if (info.format !== declared) {
    c.add("unsupported_image_type", line, `${where}: declared ${mime} but the bytes are ${info.format.toUpperCase()}`);
  }
  if (!(info.width > 0 && info.height > 0)) {
    c.add("image_unreadable", line, `${where}: image size ${info.width}x${info.height}`);
    return 0;
  }
  return imageTokens(info.width, info.height, detail, rule);
}

function formatBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${n} bytes`;
}

/** min / max / mean / p50 / p95 with linear interpolation between order statistics (numpy's default). */
export function stats(values: number[]): TokenStats {
  if (values.length === 0) return { min: 0, max: 0, mean: 0, p50: 0, p95: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return { min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p95: q(0.95) };
}

/** One line per problem, for CLI and notebook output. */
export function formatCheckSummary(r: FormatCheckResult): string {
  const head = `${r.file}: ${r.examples} examples, ~${r.tokens.total} tokens (${r.tokens.imageTokens} for ${r.images.total} images)`;
  if (r.ok) return `${head}; no problems`;
  const lines = Object.entries(r.problems).map(([name, n]) => {
    const ex = r.firstExample[name as FormatProblemName];
    return `  ${name}: ${n}${ex ? ` (first: ${ex.line > 0 ? `line ${ex.line}` : "file"}: ${ex.detail})` : ""}`;
  });
  return [head, ...lines].join("\n");
}
