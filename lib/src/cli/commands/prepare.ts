import type { Command } from "commander";
import { choiceFlag, intFlag, ratioFlag } from "../args";
import { formatPrepareSummary, run as prepare, type PrepareOptions } from "../../prepare";
import { progressCallback } from "../../core/progress";
import { parseScale } from "../../core/scale";

export interface PrepareFlags {
  groundTruth: string;
  images: string;
  dataDir: string;
  seed: number;
  valRatio: number;
  testRatio: number;
  imageMaxSide: number;
  sheet?: string;
  onConflict: "error" | "mean" | "first";
  scale: string;
  detail: "low" | "high" | "auto";
}

/** Flags → library options (pure; tested table-style). */
export function preparePlan(f: PrepareFlags): PrepareOptions {
  if (f.valRatio + f.testRatio >= 1) throw new Error(`--val-ratio + --test-ratio must be below 1, got ${f.valRatio + f.testRatio}`);
  return {
    groundTruth: f.groundTruth,
    images: f.images,
    dataDir: f.dataDir,
    seed: f.seed,
    valRatio: f.valRatio,
    testRatio: f.testRatio,
    imageMaxSide: f.imageMaxSide,
    sheet: f.sheet,
    onConflict: f.onConflict,
    scale: parseScale(f.scale),
    detail: f.detail,
  };
}

export function register(program: Command): void {
  program
    .command("prepare")
    .description("validate ground truth, split by image, and write OpenAI and Qwen2-VL fine-tuning data")
    .requiredOption("--ground-truth <file>", "ground truth: .xlsx, .csv/.tsv or .json manifest")
    .requiredOption("--images <dir>", "folder the ground truth's image names are looked up in")
    .option("--data-dir <dir>", "where splits and fine-tuning files are written", "data")
    .option("--seed <n>", "split seed", intFlag("--seed"), 42)
    .option("--val-ratio <r>", "share of images for validation", ratioFlag("--val-ratio"), 0.15)
    .option("--test-ratio <r>", "share of images held out for testing", ratioFlag("--test-ratio"), 0.15)
    .option("--image-max-side <px>", "cap on the longest image side", intFlag("--image-max-side", 64, 4096), 768)
    .option("--sheet <name>", "XLSX sheet to read (default: the first with image and score columns)")
    .option("--on-conflict <policy>", "duplicate images with different scores: error, mean or first", choiceFlag("--on-conflict", ["error", "mean", "first"] as const), "error")
    .option("--scale <min-max>", "score scale", "1-10")
    .option("--detail <level>", "image detail in the with-images files: low, high or auto", choiceFlag("--detail", ["low", "high", "auto"] as const), "low")
    .action(async (flags: PrepareFlags) => {
      const stages = new Map<string, ReturnType<typeof progressCallback>>();
      const result = await prepare({
        ...preparePlan(flags),
        onProgress: (stage, done, total) => {
          if (!stages.has(stage)) stages.set(stage, progressCallback(stage, true));
          stages.get(stage)!(done, total);
        },
      });
      console.log(formatPrepareSummary(result));
    });
}
