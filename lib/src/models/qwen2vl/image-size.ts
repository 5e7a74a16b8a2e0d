/** The image size the Qwen2-VL processor expects (done here: transformers.js v3 transposes non-square images). */

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
