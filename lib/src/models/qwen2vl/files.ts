/**
 * The exported Qwen2-VL folder: which ONNX files a dtype needs (transformers.js v3's suffixes), and
 * every file a folder lacks, listed at once.
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

export function normaliseDtype(dtype: LocalQwen2VLOptions["dtype"], model: string): Record<string, string> {
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
