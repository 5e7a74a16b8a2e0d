/**
 * The exported Qwen2-VL folder: which ONNX files a dtype needs (transformers.js v3's suffixes), which dtype
 * `"auto"` picks from what the folder holds, every file a folder lacks (listed at once), and the record
 * streetsafe's own exporter leaves in it (`streetsafe_export.json`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { ModelUnavailableError } from "../../core/errors";
import { QWEN2VL_DEFAULTS, type LocalQwen2VLOptions } from "./options";

/** The three ONNX sessions transformers.js builds for Qwen2VLForConditionalGeneration. */
export const QWEN2VL_SESSIONS = ["embed_tokens", "vision_encoder", "decoder_model_merged"] as const;
/** transformers.js v3's file suffix per dtype (utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const DTYPE_SUFFIX: Record<string, string> = {
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

/** Which dtype "auto" prefers when the folder does not say: the smallest well-tested one first. */
export const AUTO_DTYPE_ORDER = ["q8", "fp32", "fp16", "q4", "q4f16", "int8", "uint8", "bnb4"] as const;

/** One dtype for all three files, or one per file; never "auto" (see resolveDtype). */
export type ResolvedDtype = Exclude<NonNullable<LocalQwen2VLOptions["dtype"]>, "auto">;

export function normaliseDtype(dtype: ResolvedDtype | undefined, model: string): Record<string, string> {
  const given = dtype ?? "fp32";
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
export async function missingQwen2VLFiles(dir: string, dtype: ResolvedDtype = "fp32"): Promise<string[]> {
  const perFile = normaliseDtype(dtype, QWEN2VL_DEFAULTS.name);
  const external = (await transformersJsConfig(dir))?.use_external_data_format;
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

/** config.json's `transformers.js_config`, or null (a missing or broken config.json is reported elsewhere). */
async function transformersJsConfig(dir: string): Promise<Record<string, unknown> | null> {
  try {
    const config = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    const c = config["transformers.js_config"];
    return c && typeof c === "object" ? (c as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface DtypeChoice {
  dtype: ResolvedDtype;
  /** Why: "as configured", "config.json transformers.js_config.dtype", or "the folder has …". */
  reason: string;
}

/**
 * The dtype to load. A dtype other than "auto" is taken as given. "auto" (the default) takes what the folder
 * says it is for (config.json `transformers.js_config.dtype`, which streetsafe's exporter writes) when its files
 * are there, else the first of AUTO_DTYPE_ORDER whose three files are all there. null when no dtype is complete.
 */
export async function resolveDtype(dir: string, dtype: LocalQwen2VLOptions["dtype"]): Promise<DtypeChoice | null> {
  const given = dtype ?? QWEN2VL_DEFAULTS.dtype;
  if (given !== "auto") return { dtype: given, reason: "as configured" };
  const declared = (await transformersJsConfig(dir))?.dtype;
  if (typeof declared === "string" ? declared in DTYPE_SUFFIX : declared && typeof declared === "object") {
    const d = declared as ResolvedDtype;
    if ((await missingQwen2VLFiles(dir, d).catch(() => ["?"])).length === 0) return { dtype: d, reason: "config.json transformers.js_config.dtype" };
  }
  for (const d of AUTO_DTYPE_ORDER) {
    if ((await missingQwen2VLFiles(dir, d)).length === 0) {
      const earlier = AUTO_DTYPE_ORDER.slice(0, AUTO_DTYPE_ORDER.indexOf(d));
      const files = `onnx/*${DTYPE_SUFFIX[d]}.onnx`;
      return { dtype: d, reason: earlier.length ? `the folder has no complete ${earlier.join("/")} set; its ${d} graphs (${files}) are complete` : `the folder has the ${d} graphs (${files})` };
    }
  }
  return null;
}

/** What streetsafe's exporter (python/qwen2vl/export_onnx.py) records in the folder; null for other folders. */
export interface ExportManifest {
  source?: string;
  exporter?: string;
  opset?: number;
  dtypes?: string[];
  default_dtype?: string;
  max_pixels?: number;
  /** The folder's max_pixels is the fine-tune's training cap: inference must use it as it is. */
  max_pixels_from_training?: boolean;
  files?: Record<string, number>;
  verify?: Record<string, { case: string; max_abs_diff: number }[]>;
}

export const EXPORT_MANIFEST = "streetsafe_export.json";

export async function readExportManifest(dir: string): Promise<ExportManifest | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, EXPORT_MANIFEST), "utf8")) as ExportManifest;
  } catch {
    return null;
  }
}
