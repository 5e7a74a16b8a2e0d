/**
 * Hand-crafted image statistics for the `image-stats` baseline. Every feature is in [0, 1] and
 * computed on the prepared image downsized to 96×96 RGB:
 * - brightness: mean luminance (Rec. 601 luma / 255)
 * - contrast: standard deviation of luminance
 * - dark_fraction: share of pixels with luminance < 0.2
 * - colourfulness: Hasler & Süsstrunk (2003) M = σ_rgyb + 0.3·μ_rgyb, divided by 255
 * - green_fraction: share of pixels whose green channel clearly dominates (vegetation)
 * - sky_fraction: share of upper-half pixels that are bright and blue-dominant (open sky)
 * - edge_density: share of pixels whose Sobel gradient magnitude on luminance exceeds 0.25
 */
import sharp from "sharp";

export const IMAGE_FEATURES = ["brightness", "contrast", "dark_fraction", "colourfulness", "green_fraction", "sky_fraction", "edge_density"] as const;
export type ImageFeatureName = (typeof IMAGE_FEATURES)[number];

const SIDE = 96;

export async function imageFeatures(jpeg: Buffer): Promise<Record<ImageFeatureName, number>> {
  const { data } = await sharp(jpeg).resize(SIDE, SIDE, { fit: "fill" }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const n = SIDE * SIDE;
  const lum = new Float64Array(n);
  let sumL = 0, dark = 0, green = 0, sky = 0;
  let sumRg = 0, sumYb = 0, sumRg2 = 0, sumYb2 = 0;
  for (let i = 0; i < n; i++) {
    const r = data[3 * i], g = data[3 * i + 1], b = data[3 * i + 2];
    const l = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    lum[i] = l;
    sumL += l;
    if (l < 0.2) dark++;
    if (g > r * 1.1 && g > b * 1.1 && g > 40) green++;
    if (i < n / 2 && b > r && b >= g && l > 0.45) sky++;
    const rg = r - g, yb = 0.5 * (r + g) - b;
    sumRg += rg; sumYb += yb; sumRg2 += rg * rg; sumYb2 += yb * yb;
  }
  const meanL = sumL / n;
  let varL = 0;
  for (let i = 0; i < n; i++) varL += (lum[i] - meanL) ** 2;
  const mRg = sumRg / n, mYb = sumYb / n;
  const sdRgYb = Math.sqrt(Math.max(0, sumRg2 / n - mRg * mRg) + Math.max(0, sumYb2 / n - mYb * mYb));
  const colourfulness = (sdRgYb + 0.3 * Math.sqrt(mRg * mRg + mYb * mYb)) / 255;
  return {
    brightness: meanL,
    contrast: Math.sqrt(varL / n),
    dark_fraction: dark / n,
    colourfulness: Math.min(1, colourfulness),
    green_fraction: green / n,
    sky_fraction: sky / (n / 2),
    edge_density: edgeDensity(lum),
  };
}

function edgeDensity(lum: Float64Array): number {
  let edges = 0, count = 0;
  const at = (x: number, y: number) => lum[y * SIDE + x];
  for (let y = 1; y < SIDE - 1; y++) {
    for (let x = 1; x < SIDE - 1; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      if (Math.hypot(gx, gy) > 0.25) edges++;
      count++;
    }
  }
  return edges / count;
}
