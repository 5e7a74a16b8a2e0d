/**
 * Guide step 1 as one call: ground truth → validated items → prepared images → image-level splits →
 * OpenAI JSONL (text-only and with images) + Qwen2-VL (LLaMA-Factory) data → format checks and a cost
 * estimate. Everything is written into a staging folder and moved into `dataDir` only when all of it
 * succeeded; invalid input raises InputError with every problem and writes nothing.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { InputError, type Problem } from "../core/errors";
import { writeOpenAIJsonl } from "./openai-jsonl";
import { type ImageDetail } from "../prompt/messages";
import { loadGroundTruth, type ConflictPolicy, type LoadResult } from "./ground-truth";
import { checkImages, storedImageProvider, type ImageRecord } from "./images";
import { DEFAULT_IMAGE_MAX_SIDE, sha256Hex } from "../core/image";
import { StagedOutput, writeCsv, writeJson } from "../core/atomic-output";
import { promptHash, PROMPT_VERSION } from "../prompt/prompts";
import { writeQwenDataset } from "./qwen-data";
import { ensureDemoData } from "./demo";
import { DEFAULT_SCALE, type Scale } from "../core/scale";
import { checkLeakage, DEFAULT_SPLIT, splitByImage, summarizeSplits, type LeakageReport, type Splits, type SplitSummaryRow } from "./split";
import { SPLIT_NAMES, type GroundTruthItem } from "../core/types";
import { checkFineTuneFile, type FormatCheckResult } from "./format-check";
import { estimateTrainingCost, type TrainingCostRow } from "./cost";
import { fineTuneFilePaths, PREPARE_OUTPUTS, PREPARE_SUMMARY_FILE, PREPARED_IMAGES_FILE, QWEN_FINETUNING_SUBDIR, splitCsvPath } from "./outputs";

export interface PrepareOptions {
  groundTruth: string;
  images: string;
  dataDir?: string;
  seed?: number;
  valRatio?: number;
  testRatio?: number;
  imageMaxSide?: number;
  sheet?: string;
  onConflict?: ConflictPolicy;
  scale?: Scale;
  /** `image_url.detail` in the with-images files. */
  detail?: ImageDetail;
  /** Base models priced in the cost estimate. */
  costModels?: { textOnly: string; withImages: string };
  epochs?: number | "auto";
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const DEFAULT_COST_MODELS = { textOnly: "gpt-4o-mini-2024-07-18", withImages: "gpt-4o-2024-08-06" } as const;

export interface PrepareResult {
  dataDir: string;
  groundTruth: Omit<LoadResult, "items" | "problems"> & { sha256: string };
  splits: Splits;
  summary: SplitSummaryRow[];
  leakage: LeakageReport;
  images: ImageRecord[];
  files: string[];
  checks: FormatCheckResult[];
  cost: TrainingCostRow[];
}


export async function prepare(opts: PrepareOptions): Promise<PrepareResult> {
  const dataDir = path.resolve(opts.dataDir ?? "data");
  const scale = opts.scale ?? DEFAULT_SCALE;
  const gt = await loadGroundTruth(opts.groundTruth, { sheet: opts.sheet, scale, onConflict: opts.onConflict });
  const problems: Problem[] = [...gt.problems];
  if (!(await isDirectory(opts.images))) {
    problems.push({ file: opts.images, kind: "missing-image", message: "the images folder does not exist (--images)" });
  }
  if (problems.length) throw new InputError(problems, `${opts.groundTruth} cannot be used as it is`);

  const stage = await StagedOutput.begin(dataDir);
  try {
    const checked = await checkImages(gt.items, opts.images, {
      maxSide: opts.imageMaxSide ?? DEFAULT_IMAGE_MAX_SIDE,
      storeDir: await stage.path(".prepared"),
      imageColumn: gt.format === "json" ? (it) => `items[${it.source.row}].${gt.columns.image}` : gt.columns.image,
      onProgress: (d, t) => opts.onProgress?.("checking images", d, t),
    });
    if (checked.problems.length) throw new InputError(checked.problems, `images named in ${opts.groundTruth} cannot be used`);
    // From here on an item's image is the file found under --images, so the splits name real files.
    const items = relocate(gt.items, checked.records, gt.columns.image);
    const records = new Map([...checked.records.values()].map((r) => [r.file, { ...r, image: r.file }]));
    const contentHash = new Map([...records].map(([img, r]) => [img, r.sha256]));

    const splits = splitByImage(items, { seed: opts.seed, valRatio: opts.valRatio, testRatio: opts.testRatio, contentHash });
    const leakage = checkLeakage(splits, contentHash);
    if (!leakage.disjoint) throw new Error(`internal error: splits overlap ${JSON.stringify(leakage)}`);

    for (const name of SPLIT_NAMES) {
      const rows = splits[name].map((it) => ({ image: it.image, score: it.score, reasons: it.reasons.join("; ") }));
      await writeCsv(await stage.path(splitCsvPath("", name)), rows, ["image", "score", "reasons"]);
    }
    const splitOf = new Map(SPLIT_NAMES.flatMap((n) => splits[n].map((it) => [it.image, n] as const)));
    const imageRows = [...records.values()]
      .map((r) => ({ image: r.file, sha256: r.sha256, width: r.width, height: r.height, split: splitOf.get(r.image) }))
      .sort((a, b) => (a.image < b.image ? -1 : 1));
    await writeCsv(await stage.path(PREPARED_IMAGES_FILE), imageRows, ["image", "sha256", "width", "height", "split"]);

    // Training files hold train and val only: the test split never reaches a training file.
    const provider = storedImageProvider(records);
    const jsonl: string[] = [];
    for (const name of ["train", "val"] as const) {
      for (const withImages of [false, true]) {
        const file = await stage.path(fineTuneFilePaths("", withImages)[name]);
        await writeOpenAIJsonl(file, splits[name], withImages ? provider : null, { withImages, detail: opts.detail, scale });
        jsonl.push(file);
        opts.onProgress?.("writing fine-tuning files", jsonl.length, 4);
      }
    }
    await writeQwenDataset(await stage.path(QWEN_FINETUNING_SUBDIR), { train: splits.train, val: splits.val }, provider, { scale });

    const checks: FormatCheckResult[] = [];
    for (const file of jsonl) checks.push(await checkFineTuneFile(file));
    const costModels = opts.costModels ?? DEFAULT_COST_MODELS;
    const cost = estimateTrainingCost(
      checks.filter((c) => c.file.includes("train_")).map((c) => ({ ...c, file: path.basename(c.file) })),
      { baseModelFor: (file) => (file.includes("with_images") ? costModels.withImages : costModels.textOnly), epochs: opts.epochs ?? "auto" },
    );

    const { items: _items, problems: _problems, ...gtInfo } = gt;
    const groundTruth = { ...gtInfo, sha256: sha256Hex(await fs.readFile(opts.groundTruth)) };
    const result: PrepareResult = {
      dataDir,
      groundTruth,
      splits,
      summary: summarizeSplits(splits),
      leakage,
      images: imageRows.map(({ split: _s, ...r }) => r as ImageRecord),
      files: [],
      checks: checks.map((c) => ({ ...c, file: path.relative(stage.stagingDir, c.file) })),
      cost,
    };
    await writeJson(await stage.path(PREPARE_SUMMARY_FILE), {
      created_at: new Date().toISOString(),
      ground_truth: { ...groundTruth, file: path.resolve(opts.groundTruth) },
      images_dir: path.resolve(opts.images),
      options: {
        seed: opts.seed ?? DEFAULT_SPLIT.seed,
        val_ratio: opts.valRatio ?? DEFAULT_SPLIT.valRatio,
        test_ratio: opts.testRatio ?? DEFAULT_SPLIT.testRatio,
        image_max_side: opts.imageMaxSide ?? DEFAULT_IMAGE_MAX_SIDE,
        scale,
        detail: opts.detail ?? "low",
        on_conflict: opts.onConflict ?? "error",
      },
      prompt: { version: PROMPT_VERSION, sha256: promptHash(scale) },
      splits: result.summary,
      leakage,
      format_checks: result.checks,
      cost_estimate: cost,
    });
    await fs.rm(await stage.path(".prepared"), { recursive: true, force: true });
    result.files = await stage.commit(PREPARE_OUTPUTS);
    return result;
  } catch (err) {
    await stage.abort();
    throw err;
  }
}

/** Rename items to the files checkImages located; two rows landing on one file is a conflict. */
function relocate(items: GroundTruthItem[], records: Map<string, ImageRecord>, column: string): GroundTruthItem[] {
  const byFile = new Map<string, GroundTruthItem>();
  const problems: Problem[] = [];
  for (const it of items) {
    const file = records.get(it.image)!.file;
    const first = byFile.get(file);
    if (first) {
      problems.push({
        ...it.source,
        column,
        kind: "duplicate-conflict",
        message: `"${it.image}" and "${first.image}" (row ${first.source.row}) are the same file ${file}`,
      });
    } else byFile.set(file, { ...it, image: file });
  }
  if (problems.length) throw new InputError(problems, "two ground-truth rows name the same image file");
  return [...byFile.values()];
}

async function isDirectory(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

/**
 * For the notebooks after step 1: make sure `dataDir` holds step 1's outputs, running step 1 on the
 * demo dataset when it does not (so each notebook also runs on its own).
 */
export async function ensurePrepared(opts: { dataDir: string }): Promise<{ dataDir: string; prepared: boolean }> {
  const dataDir = path.resolve(opts.dataDir);
  const have = await fs.stat(path.join(dataDir, PREPARE_SUMMARY_FILE)).then(() => true, () => false);
  if (have) return { dataDir, prepared: false };
  const demo = await ensureDemoData({ outDir: path.join(dataDir, "demo") });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir });
  return { dataDir, prepared: true };
}
