/**
 * Token counts as OpenAI bills them, offline: o200k_base text tokens (GPT-4o / GPT-4.1 family) with the
 * cookbook's per-message overhead (examples/Chat_finetuning_data_prep.ipynb), and the GPT-4o-class image
 * tile rule. Estimates, used by the fine-tuning file checks and the pre-run cost estimates.
 */

// ---------------------------------------------------------------------------------------------
// Text tokens

/** The part of js-tiktoken's Tiktoken used here. */
export interface TokenEncoder {
  encode(text: string): number[];
}

let encoder: TokenEncoder | null = null;
/**
 * The o200k_base encoder (GPT-4o / GPT-4.1 family), loaded once, offline. js-tiktoken is an ES module
 * package with CommonJS builds behind its "require" condition; this library compiles to CommonJS,
 * so it is loaded with require (its ESM type declarations cannot be imported from CommonJS).
 */
export function o200k(): TokenEncoder {
  if (!encoder) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lite = require("js-tiktoken/lite") as { Tiktoken: new (ranks: unknown) => TokenEncoder };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ranks = require("js-tiktoken/ranks/o200k_base") as { default?: unknown };
    encoder = new lite.Tiktoken(ranks.default ?? ranks);
  }
  return encoder;
}
export function countTextTokens(text: string): number {
  return o200k().encode(text).length;
}

export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING_TOKENS = 3;

// ---------------------------------------------------------------------------------------------
// Image tokens

export interface ImageTokenRule {
  /** Tokens for a low-detail image, and the base added to every high-detail image. */
  base: number;
  perTile: number;
}
/** GPT-4o, GPT-4.1, gpt-4o-2024-08-06 (vision fine-tuning): 85 + 170 per 512-px tile. */
export const GPT4O_IMAGE_TOKENS: ImageTokenRule = { base: 85, perTile: 170 };
/**
 * gpt-4o-mini bills images at 2833 + 5667 per tile at inference (image cost kept equal to GPT-4o).
 * Vision fine-tuning is documented for gpt-4o-2024-08-06, not for gpt-4o-mini.
 */
export const GPT4O_MINI_IMAGE_TOKENS: ImageTokenRule = { base: 2833, perTile: 5667 };

/**
 * Tokens for one image on a GPT-4o-class model. low: `base`. high/auto (auto counted as high, the upper
 * bound): scale to fit inside 2048×2048, then so the shortest side is at most 768 (never enlarged), then
 * `base + perTile × (tiles of 512×512)`. E.g. 1024×1024 high → 768×768 → 4 tiles → 765.
 */
export function imageTokens(
  width: number,
  height: number,
  detail: "low" | "high" | "auto" = "auto",
  rule: ImageTokenRule = GPT4O_IMAGE_TOKENS,
): number {
  if (!(width > 0 && height > 0)) throw new Error(`image size must be positive, got ${width}x${height}`);
  if (detail === "low") return rule.base;
  let w = width;
  let h = height;
  if (w > 2048 || h > 2048) {
    const s = 2048 / Math.max(w, h);
    w = Math.floor(w * s + 1e-9);
    h = Math.floor(h * s + 1e-9);
  }
  const shortSide = Math.min(w, h);
  if (shortSide > 768) {
    const s = 768 / shortSide;
    w = Math.floor(w * s + 1e-9);
    h = Math.floor(h * s + 1e-9);
  }
  const tiles = Math.ceil(w / 512) * Math.ceil(h / 512);
  return rule.base + rule.perTile * tiles;
}
