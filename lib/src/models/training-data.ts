/**
 * What the trained baselines learn from: the train split written by `prepare` (step 1), read back
 * from `<dataDir>/splits/train.csv` with the images folder recorded in `prepare_summary.json`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { ModelUnavailableError } from "../core/errors";

export interface TrainingSet {
  imagesDir: string;
  items: { image: string; score: number }[];
}

export async function readTrainingSet(model: string, dataDir: string, split: "train" | "val" | "test" = "train"): Promise<TrainingSet> {
  const csvPath = path.join(dataDir, "splits", `${split}.csv`);
  const summaryPath = path.join(dataDir, "prepare_summary.json");
  let csv: string;
  let summary: { images_dir?: string };
  try {
    [csv, summary] = await Promise.all([fs.readFile(csvPath, "utf8"), fs.readFile(summaryPath, "utf8").then(JSON.parse)]);
  } catch {
    throw new ModelUnavailableError(model, `no ${split} split in ${dataDir} (run \`npx streetsafe prepare\` first, or pass --data-dir)`);
  }
  const rows = parse(csv, { columns: true, skip_empty_lines: true }) as { image: string; score: string }[];
  const items = rows.map((r) => ({ image: r.image, score: Number(r.score) }));
  if (!items.length || items.some((it) => !Number.isFinite(it.score))) {
    throw new ModelUnavailableError(model, `${csvPath} has no usable rows`);
  }
  if (!summary.images_dir) throw new ModelUnavailableError(model, `${summaryPath} does not name the images folder`);
  return { imagesDir: summary.images_dir, items };
}
