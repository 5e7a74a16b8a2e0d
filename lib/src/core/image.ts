/**
 * The one image preparation every step shares (fine-tuning files, model requests, caches):
 * EXIF orientation applied, alpha flattened on white, sRGB, longest side capped, JPEG quality 85.
 * The sha256 of the prepared bytes identifies an image's content everywhere downstream. Also: finding
 * the file a ground-truth (or votes) path names under an images folder, without leaving that folder:
 * `normaliseImagePath` (the path as written), `findImageFile` (the file on disk, links included).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Checked, ProblemKind } from "./errors";
import type { PreparedImage } from "./types";

/** Formats sharp decodes here and the OpenAI/Qwen pipelines accept after conversion to JPEG. */
export const SUPPORTED_IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".avif"];

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

/**
 * Normalise an image path as written by the user:
 * - absolute paths (`C:\data\imgs\12.jpg`, `\\server\share\12.jpg`, `/home/x/12.jpg`, `~/x/12.jpg`,
 *   `file:///…`) are reduced to the file name (the images folder is given separately);
 * - relative paths keep their folders, with `\` turned into `/` and `.`/`..` segments resolved;
 *   one that leaves the images folder (`../x.jpg`) is a path-escape problem.
 */
export function normaliseImagePath(raw: string): Checked<string> {
  let p = raw.trim().replace(/^(["'])(.*)\1$/, "$2").trim();
  if (p === "") return { ok: false, kind: "empty-image", message: "the image is empty" };
  if (/^file:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(p.replace(/^file:\/\/[^/]*/i, ""));
    } catch {
      p = p.replace(/^file:\/\/[^/]*/i, "");
    }
  }
  const absolute = /^[A-Za-z]:[\\/]/.test(p) || /^[\\/]/.test(p) || /^~[\\/]/.test(p);
  if (absolute) {
    const name = p.split(/[\\/]+/).filter((s) => s !== "" && s !== "." && s !== "..").pop();
    if (!name || /^[A-Za-z]:$/.test(name) || name === "~") {
      return { ok: false, kind: "empty-image", message: `image path "${raw.trim()}" names no file` };
    }
    return { ok: true, value: name };
  }
  const norm = path.posix.normalize(p.replace(/\\/g, "/"));
  if (norm === ".." || norm.startsWith("../")) {
    return {
      ok: false,
      kind: "path-escape",
      message: `image path "${raw.trim()}" leads outside the images folder; give it relative to the images folder`,
    };
  }
  if (norm === "." || norm.endsWith("/")) {
    return { ok: false, kind: "empty-image", message: `image path "${raw.trim()}" names a folder, not a file` };
  }
  return { ok: true, value: norm.replace(/^\.\//, "") };
}

export type FoundImage = { ok: true; file: string } | { ok: false; kind: ProblemKind & ("path-escape" | "unsupported-image-format" | "missing-image"); message: string };

/**
 * The file an (already normalised) image path names under the images folder, relative to it — or why
 * there is none: the path leaves the folder, the format is not supported, no such file, or a symbolic link
 * inside the folder leads outside it. Messages name the image and the folder as given.
 */
export async function findImageFile(imagesDir: string, image: string): Promise<FoundImage> {
  return imageFinder(imagesDir)(image);
}

/** `findImageFile` for many images of one folder: the folder's real path is looked up once. */
export function imageFinder(imagesDir: string): (image: string) => Promise<FoundImage> {
  let realRoot: Promise<string> | undefined;
  return async (image) => {
    const full = resolveImagePath(imagesDir, image);
    if (!full) return { ok: false, kind: "path-escape", message: `image path "${image}" points outside the images folder ${imagesDir}` };
    const ext = path.extname(full).toLowerCase();
    if (!SUPPORTED_IMAGE_EXTENSIONS.includes(ext)) {
      return { ok: false, kind: "unsupported-image-format", message: `"${image}" has format "${ext || "(none)"}"; supported: ${SUPPORTED_IMAGE_EXTENSIONS.join(" ")}` };
    }
    const file = await locateImage(imagesDir, image);
    if (!file) return { ok: false, kind: "missing-image", message: `image "${image}" not found in ${imagesDir}` };
    realRoot ??= fs.realpath(imagesDir);
    const [root, realFile] = await Promise.all([realRoot, fs.realpath(path.join(imagesDir, file))]);
    if (!realFile.startsWith(root + path.sep)) {
      return { ok: false, kind: "path-escape", message: `image "${image}" is a link to a file outside the images folder ${imagesDir}` };
    }
    return { ok: true, file };
  };
}

const FILE_NAME_ORDER = new Intl.Collator("en", { numeric: true });

/** File names in the order people expect: "img_2" before "img_10" (one collator; localeCompare per call is slow). */
export function byFileName(a: string, b: string): number {
  return FILE_NAME_ORDER.compare(a, b);
}

/**
 * Every image file under the folder (sub-folders included), relative to it with "/" separators, in name
 * order: supported formats only; hidden files and folders (".staging-…") and links leading outside the
 * folder are left out.
 */
export async function listImageFiles(imagesDir: string): Promise<string[]> {
  const root = await fs.realpath(imagesDir);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(imagesDir, rel), { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (SUPPORTED_IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        if (e.isFile()) out.push(child);
        else if (e.isSymbolicLink()) {
          const real = await fs.realpath(path.join(imagesDir, child)).catch(() => null);
          if (real && real.startsWith(root + path.sep) && (await fs.stat(real)).isFile()) out.push(child);
        }
      }
    }
  };
  await walk("");
  return out.sort(byFileName);
}
