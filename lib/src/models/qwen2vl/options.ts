/** Options of the local Qwen2-VL model, and their defaults (one place; covered by a test). */
import type { Scale } from "../../core/scale";

export type Qwen2VLDtype = "fp32" | "fp16" | "q8" | "q4" | "q4f16" | "int8" | "uint8" | "bnb4";
/** What a config entry's `dtype` and `--qwen2vl-dtype` accept. */
export const QWEN2VL_DTYPE_CHOICES = ["auto", "fp32", "fp16", "q8", "q4", "q4f16", "int8", "uint8", "bnb4"] as const;

export interface LocalQwen2VLOptions {
  /** The config name the user asked for; default "qwen2vl-local". */
  name?: string;
  /** The exported model folder (`--qwen2vl-dir`). */
  dir: string;
  scale: Scale;
  /**
   * Which ONNX files to load: "auto" (default: what the folder has — its config.json's
   * `transformers.js_config.dtype`, else q8 when the `_quantized` files are there, else fp32, …), one dtype for
   * all three, or one per file name (missing names: fp32).
   */
  dtype?: "auto" | Qwen2VLDtype | Record<string, string>;
  /** Default "cpu". "cuda" needs onnxruntime-node's CUDA libraries, which are not installed here. */
  device?: "cpu" | "cuda";
  /**
   * Image pixel cap (h·w after resizing, multiples of 28). Default: the folder's `max_pixels` — as it is when
   * streetsafe's exporter recorded it as the fine-tune's training cap, else capped at 262,144.
   */
  maxPixels?: number;
  /** Generation cap; default 128 (a JSON reply with a few reasons). */
  maxNewTokens?: number;
  /** Where the load's notes go (which dtype "auto" picked); default stderr. */
  log?: (line: string) => void;
}

export const QWEN2VL_DIR_FLAG = "--qwen2vl-dir";
export const QWEN2VL_DEFAULTS = { name: "qwen2vl-local", dtype: "auto", device: "cpu", maxNewTokens: 128 } as const;
