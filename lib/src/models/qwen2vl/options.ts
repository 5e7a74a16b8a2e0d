/** Options of the local Qwen2-VL model, and their defaults (one place; covered by a test). */
import type { Scale } from "../../core/scale";

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
