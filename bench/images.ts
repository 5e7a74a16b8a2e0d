/**
 * Synthetic benchmark images: smooth random colour fields, 400×400 JPEG at quality 90 (about 45 KB each,
 * the size of the original project's street-view tiles), different for every index and the same for
 * the same seed. They cost the decoder what a photo of that size costs; they mean nothing.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import sharp from "sharp";

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const BENCH_IMAGE_SIDE = 400;

/** bench_0001.jpg … in `dir`; returns the file names. Existing files are kept (same seed, same bytes). */
export async function generateImages(dir: string, count: number, seed = 1): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `bench_${String(i + 1).padStart(4, "0")}.jpg`);
  const limit = pLimit(4);
  await Promise.all(
    names.map((name, i) =>
      limit(async () => {
        const file = path.join(dir, name);
        if (await fs.stat(file).then(() => true, () => false)) return;
        const small = 50;
        const r = rng(seed * 100_003 + i);
        const px = Buffer.alloc(small * small * 3);
        for (let k = 0; k < px.length; k++) px[k] = Math.floor(r() * 256);
        await sharp(px, { raw: { width: small, height: small, channels: 3 } })
          .resize(BENCH_IMAGE_SIDE, BENCH_IMAGE_SIDE, { kernel: "cubic" })
          .jpeg({ quality: 90 })
          .toFile(file);
      }),
    ),
  );
  return names;
}

/** A ground-truth CSV (image, score, reasons) for the first `n` names; scores spread over 1–10. */
export async function writeGroundTruth(file: string, names: string[], n: number): Promise<string> {
  const rows = names.slice(0, n).map((name, i) => `${name},${1 + ((i * 7) % 10)},synthetic`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, ["image,score,reasons", ...rows].join("\n") + "\n");
  return file;
}
