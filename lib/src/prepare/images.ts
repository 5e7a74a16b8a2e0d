/**
 * Step 1's image check: every image the ground truth names is found, decoded and prepared once (see
 * core/image.ts for the preparation itself); a bad image is a problem with its row, never a stop.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import type { Problem } from "../core/errors";
import { findImageFile, prepareImage, type ImageOptions } from "../core/image";
import type { GroundTruthItem, PreparedImage } from "../core/types";

export { SUPPORTED_IMAGE_EXTENSIONS } from "../core/image";

/** What the check learned about one image, without holding its bytes. */
export interface ImageRecord {
  image: string;
  /** The file it was read from, relative to the images folder (differs from `image` when located). */
  file: string;
  sha256: string;
  width: number;
  height: number;
  /** Where the prepared JPEG was stored, when a store folder was given. */
  preparedPath?: string;
}

export interface ImageCheckOptions extends ImageOptions {
  /** Write each prepared JPEG here as <sha256>.jpg, so later steps need not decode again. */
  storeDir?: string;
  /** The ground truth's image column (or, for JSON manifests, a field path per item), named in problems. */
  imageColumn?: string | ((item: GroundTruthItem) => string);
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decode and prepare every image the ground truth names; collect a problem per bad image
 * (missing, unsupported format, not decodable, outside the images folder) instead of stopping.
 */
export async function checkImages(
  items: GroundTruthItem[],
  imagesDir: string,
  opts: ImageCheckOptions = {},
): Promise<{ records: Map<string, ImageRecord>; problems: Problem[] }> {
  const records = new Map<string, ImageRecord>();
  const problems: Problem[] = [];
  const limit = pLimit(opts.concurrency ?? 4);
  if (opts.storeDir) await fs.mkdir(opts.storeDir, { recursive: true });
  let done = 0;
  await Promise.all(
    items.map((item) =>
      limit(async () => {
        const problem = await checkOne(item, imagesDir, opts, records);
        if (problem) problems.push(problem);
        opts.onProgress?.(++done, items.length);
      }),
    ),
  );
  // Promise.all finishes in completion order; report in file order.
  problems.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
  return { records, problems };
}

async function checkOne(
  item: GroundTruthItem,
  imagesDir: string,
  opts: ImageCheckOptions,
  records: Map<string, ImageRecord>,
): Promise<Problem | null> {
  const column = typeof opts.imageColumn === "function" ? opts.imageColumn(item) : opts.imageColumn;
  const at = { ...item.source, column: column ?? item.source.column };
  const found = await findImageFile(imagesDir, item.image);
  if (!found.ok) return { ...at, kind: found.kind, message: found.message };
  const file = found.file;
  const bytes = await fs.readFile(path.join(imagesDir, file));
  let prepared: PreparedImage;
  try {
    prepared = await prepareImage(bytes, opts);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { ...at, kind: "undecodable-image", message: `"${item.image}" is not a decodable image (${why})` };
  }
  const record: ImageRecord = { image: item.image, file, sha256: prepared.sha256, width: prepared.width, height: prepared.height };
  if (opts.storeDir) {
    record.preparedPath = path.join(opts.storeDir, `${prepared.sha256}.jpg`);
    await fs.writeFile(record.preparedPath, prepared.jpeg);
  }
  records.set(item.image, record);
  return null;
}

/** An image provider for the fine-tuning writers, reading the JPEGs checkImages stored. */
export function storedImageProvider(records: Map<string, ImageRecord>) {
  return async (item: GroundTruthItem): Promise<PreparedImage> => {
    const r = records.get(item.image);
    if (!r?.preparedPath) throw new Error(`no prepared image for "${item.image}" (was checkImages given a storeDir?)`);
    return { jpeg: await fs.readFile(r.preparedPath), sha256: r.sha256, width: r.width, height: r.height };
  };
}
