/** What `prepare` tells the user: splits, the leakage proof, format checks and the cost estimate. */
import path from "node:path";
import sharp from "sharp";
import { formatProblem, type Problem } from "../core/errors";
import { SPLIT_NAMES, type GroundTruthItem } from "../core/types";
import { formatTrainingCost } from "./cost";
import { formatCheckSummary } from "./format-check";
import type { PrepareResult } from "./run";

export function splitSummaryRows(r: PrepareResult): Record<string, unknown>[] {
  return r.summary.map((s) => ({
    split: s.split,
    images: s.images,
    share: Number(s.share.toFixed(3)),
    mean_score: Number(s.meanScore.toFixed(2)),
    min_score: s.minScore,
    max_score: s.maxScore,
  }));
}

export function formatCheckRows(r: PrepareResult): Record<string, unknown>[] {
  return r.checks.map((c) => ({
    file: c.file,
    examples: c.examples,
    tokens: c.tokens.total,
    image_tokens: c.tokens.imageTokens,
    images: c.images.total,
    max_tokens_per_example: c.tokens.perExample.max,
    problems: Object.entries(c.problems).map(([k, n]) => `${k}: ${n}`).join("; ") || "none",
  }));
}

export function costRows(r: PrepareResult): Record<string, unknown>[] {
  return r.cost.map((c) => ({
    file: c.file,
    base_model: c.baseModel,
    examples: c.examples,
    tokens: c.tokens,
    epochs: c.epochs,
    billed_tokens: c.billedTokens,
    usd_per_1m: c.pricePer1M,
    usd: Number(c.usd.toFixed(2)),
    prices_as_of: c.pricesAsOf,
  }));
}

export function leakageText(r: PrepareResult): string {
  if (r.leakage.disjoint) {
    const n = r.summary.reduce((a, s) => a + s.images, 0);
    return `leakage check: passed — ${n} images, no image name and no identical image content in two splits`;
  }
  return `leakage check: FAILED — ${JSON.stringify(r.leakage)}`;
}

export function formatPrepareSummary(r: PrepareResult): string {
  const gt = r.groundTruth;
  const lines = [
    `ground truth: ${gt.file}${gt.sheet ? ` (sheet "${gt.sheet}")` : ""} — ${gt.rowsRead} rows, columns image="${gt.columns.image}" score="${gt.columns.score}"${gt.merged ? `, ${gt.merged} duplicate rows merged` : ""}`,
    "",
    "split   images  share  mean  min  max",
    ...r.summary.map(
      (s) =>
        `${s.split.padEnd(7)} ${String(s.images).padStart(6)}  ${s.share.toFixed(2)}  ${s.meanScore.toFixed(2).padStart(4)}  ${String(s.minScore).padStart(3)}  ${String(s.maxScore).padStart(3)}`,
    ),
    leakageText(r),
    "",
    "format checks:",
    ...r.checks.map((c) => "  " + formatCheckSummary(c).replace(/\n/g, "\n  ")),
    "",
    "training cost estimate:",
    formatTrainingCost(r.cost),
    "",
    `written to ${r.dataDir}:`,
    ...r.files.map((f) => `  ${path.relative(r.dataDir, f)}`),
  ];
  return lines.join("\n");
}

/** Ground truth as table rows (image, score, reasons) for a quick look. */
export function groundTruthRows(items: GroundTruthItem[]): Record<string, unknown>[] {
  return items.map((it) => ({ image: it.image, score: it.score, reasons: it.reasons.join("; ") }));
}

/** Problems counted per kind, with the first one of each kind as the example. */
export function problemSummaryRows(problems: Problem[]): Record<string, unknown>[] {
  const rows = new Map<string, { problem: string; count: number; first: string }>();
  for (const p of problems) {
    const row = rows.get(p.kind) ?? rows.set(p.kind, { problem: p.kind, count: 0, first: formatProblem(p) }).get(p.kind)!;
    row.count++;
  }
  return [...rows.values()];
}

/** A few images per split, downsized, captioned with split and score. */
export async function splitThumbnails(r: PrepareResult, imagesDir: string, perSplit = 4, size = 160): Promise<{ jpeg: Buffer; caption: string }[]> {
  const out: { jpeg: Buffer; caption: string }[] = [];
  for (const name of SPLIT_NAMES) {
    for (const it of r.splits[name].slice(0, perSplit)) {
      const jpeg = await sharp(path.join(imagesDir, it.image)).rotate().resize(size, size, { fit: "cover" }).jpeg({ quality: 80 }).toBuffer();
      out.push({ jpeg, caption: `${name} · score ${it.score}` });
    }
  }
  return out;
}
