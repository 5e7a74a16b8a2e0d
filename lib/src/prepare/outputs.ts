/**
 * Step 1's outputs as later steps find them, the ONE place the data folder's layout is known:
 * the splits (`<dataDir>/splits/<split>.csv`, with the images folder recorded in `prepare_summary.json`),
 * the OpenAI fine-tuning files and the Qwen2-VL data's README.
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { ModelUnavailableError } from "../core/errors";
import type { SplitName } from "../core/types";

export const SPLITS_SUBDIR = "splits";
export const PREPARED_IMAGES_FILE = "prepared_images.csv";
export const PREPARE_SUMMARY_FILE = "prepare_summary.json";
export const OPENAI_FINETUNING_SUBDIR = "openai_finetuning";
export const QWEN_FINETUNING_SUBDIR = "qwen_finetuning";
export const QWEN_FINETUNING_README = path.join(QWEN_FINETUNING_SUBDIR, "README.md");

/** The top-level entries of the data folder step 1 owns (and replaces as a whole on each run). */
export const PREPARE_OUTPUTS = [SPLITS_SUBDIR, OPENAI_FINETUNING_SUBDIR, QWEN_FINETUNING_SUBDIR, PREPARED_IMAGES_FILE, PREPARE_SUMMARY_FILE];

/** A split read back: its images folder and each image's human score. */
export interface PreparedSplit {
  imagesDir: string;
  items: { image: string; score: number }[];
}

/** `<dataDir>/splits/<split>.csv`. */
export function splitCsvPath(dataDir: string, split: SplitName): string {
  return path.join(dataDir, SPLITS_SUBDIR, `${split}.csv`);
}

/**
 * One split as step 1 wrote it, with the images folder it was prepared from. Throws ModelUnavailableError
 * for `who` (a model that learns from it, or the step asking) when step 1 has not run.
 */
export async function readPreparedSplit(who: string, dataDir: string, split: SplitName = "train"): Promise<PreparedSplit> {
  const csvPath = splitCsvPath(dataDir, split);
  const summaryPath = path.join(dataDir, PREPARE_SUMMARY_FILE);
  let csv: string;
  let summary: { images_dir?: string };
  try {
    [csv, summary] = await Promise.all([fs.readFile(csvPath, "utf8"), fs.readFile(summaryPath, "utf8").then(JSON.parse)]);
  } catch {
    throw new ModelUnavailableError(who, `no ${split} split in ${dataDir} (run \`npx streetsafe prepare\` first, or pass --data-dir)`);
  }
  const rows = parse(csv, { columns: true, skip_empty_lines: true }) as { image: string; score: string }[];
  const items = rows.map((r) => ({ image: r.image, score: Number(r.score) }));
  if (!items.length || items.some((it) => !Number.isFinite(it.score))) {
    throw new ModelUnavailableError(who, `${csvPath} has no usable rows`);
  }
  if (!summary.images_dir) throw new ModelUnavailableError(who, `${summaryPath} does not name the images folder`);
  return { imagesDir: summary.images_dir, items };
}

export interface FineTuneFilePaths {
  train: string;
  val: string;
}

/** `<dataDir>/openai_finetuning/{train,val}_{text_only,with_images}.jsonl` (written by `prepare`). */
export function fineTuneFilePaths(dataDir: string, withImages: boolean): FineTuneFilePaths {
  const kind = withImages ? "with_images" : "text_only";
  const dir = path.join(dataDir, OPENAI_FINETUNING_SUBDIR);
  return { train: path.join(dir, `train_${kind}.jsonl`), val: path.join(dir, `val_${kind}.jsonl`) };
}

/** Whether `prepare` has written the fine-tuning files under `dataDir` (both kinds' training files). */
export function fineTuneFilesExist(dataDir: string): boolean {
  return existsSync(fineTuneFilePaths(dataDir, false).train) && existsSync(fineTuneFilePaths(dataDir, true).train);
}
