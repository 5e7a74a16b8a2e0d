/**
 * The images every model is asked about: step 1's test split by default, or any ground-truth file
 * step 1 accepts (`--test-set FILE --images DIR`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { loadGroundTruthOrThrow, readPreparedSplit, splitCsvPath } from "../prepare";
import { locateImage, sha256Hex } from "../core/image";
import type { Scale } from "../core/scale";

export interface TestItem {
  image: string;
  score: number;
}

export interface TestSet {
  file: string;
  sheet?: string;
  imagesDir: string;
  /** sha256 of the test-set file's bytes: a resumed run must be on the same set. */
  sha256: string;
  items: TestItem[];
}

export async function loadTestSet(opts: { testSet?: string; images?: string; dataDir?: string; scale: Scale; limit?: number }): Promise<TestSet> {
  let set: TestSet;
  if (opts.testSet) {
    if (!opts.images) throw new Error("--test-set needs --images (the folder its image names are looked up in)");
    const gt = await loadGroundTruthOrThrow(opts.testSet, { scale: opts.scale });
    const items: TestItem[] = [];
    const missing: string[] = [];
    for (const it of gt.items) {
      const file = await locateImage(opts.images, it.image);
      if (file) items.push({ image: file, score: it.score });
      else missing.push(`${it.image} (row ${it.source.row})`);
    }
    if (missing.length) throw new Error(`${opts.testSet}: ${missing.length} image(s) not found in ${opts.images}: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}`);
    set = { file: path.resolve(opts.testSet), sheet: gt.sheet, imagesDir: path.resolve(opts.images), sha256: sha256Hex(await fs.readFile(opts.testSet)), items };
  } else {
    const dataDir = opts.dataDir ?? "data";
    const file = splitCsvPath(dataDir, "test");
    const t = await readPreparedSplit("compare", dataDir, "test").catch(() => {
      throw new Error(`no test split in ${dataDir} (run \`npx streetsafe prepare\` first, pass --data-dir, or give --test-set FILE --images DIR)`);
    });
    set = { file: path.resolve(file), imagesDir: t.imagesDir, sha256: sha256Hex(await fs.readFile(file)), items: t.items };
  }
  if (opts.limit !== undefined) set.items = set.items.slice(0, opts.limit);
  if (!set.items.length) throw new Error(`the test set ${set.file} has no images`);
  return set;
}
