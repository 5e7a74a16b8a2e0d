/**
 * The one image preparation every step shares (fine-tuning files, model requests, caches):
 * EXIF orientation applied, alpha flattened on white, sRGB, longest side capped, JPEG quality 85.
 * The sha256 of the prepared bytes identifies an image's content everywhere downstream. Also: finding
 * the file a ground-truth path names under an images folder, without leaving that folder.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { PreparedImage } from "./types";

export const DEFAULT_IMAGE_MAX_SIDE = 768;
export const DEFAULT_JPEG_QUALITY = 85;
/** Refuse decompression bombs; 100 MP is far above any street-view tile. */
const MAX_INPUT_PIXELS = 100_000_000;

export interface ImageOptions {
  maxSide?: number;
  quality?: number;
}

export async function prepareImage(input: string | Buffer, opts: ImageOptions = {}): Promise<PreparedImage> {
  const maxSide = opts.maxSide ?? DEFAULT_IMAGE_MAX_SIDE;
  const { data, info } = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" })
    .rotate()
    .resize({ width: maxSide, height: maxSide, fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .toColourspace("srgb")
    .jpeg({ quality: opts.quality ?? DEFAULT_JPEG_QUALITY })
    .toBuffer({ resolveWithObject: true });
  return { jpeg: data, sha256: sha256Hex(data), width: info.width, height: info.height };
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function toDataUrl(jpeg: Buffer): string {
  return `data:image/jpeg;base64,${jpeg.toString("base64")}`;
}

/** Resolve an item's image under the images folder; null when the path would leave it. */
export function resolveImagePath(imagesDir: string, image: string): string | null {
  const root = path.resolve(imagesDir);
  const full = path.resolve(root, image);
  return full === root || !full.startsWith(root + path.sep) ? null : full;
}

/**
 * Find the file a ground-truth path names: as given, else with leading folders dropped one at a time
 * (manifests often say "images/12.jpg" relative to the dataset, while --images already points into
 * "images/"). Returns the path relative to the images folder, or null.
 */
export async function locateImage(imagesDir: string, image: string): Promise<string | null> {
  const parts = image.split("/");
  for (let i = 0; i < parts.length; i++) {
    const candidate = parts.slice(i).join("/");
    const full = resolveImagePath(imagesDir, candidate);
    if (full && (await fs.stat(full).then((st) => st.isFile(), () => false))) return candidate;
  }
  return null;
}
