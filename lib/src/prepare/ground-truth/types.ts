/** What loading ground truth returns and takes; the shapes shared by the readers in this folder. */
import type { Problem, ProblemLocation } from "../../core/errors";
import type { Scale } from "../../core/scale";
import type { GroundTruthItem } from "../../core/types";

export type ConflictPolicy = "error" | "mean" | "first";
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ["error", "mean", "first"];

export interface LoadOptions {
  /** XLSX only: the sheet to read. Without it the first sheet whose columns hold scores is used. */
  sheet?: string;
  scale?: Scale;
  /** What to do when one image has rows with different scores. Default "error". */
  onConflict?: ConflictPolicy;
}

export interface LoadResult {
  file: string;
  /** "unknown" only when the file type is not supported (see problems). */
  format: "csv" | "xlsx" | "json" | "unknown";
  sheet?: string;
  /** Column headers as written in the file (JSON: the item keys); "" when not found. */
  columns: { image: string; score: string; reasons?: string };
  /** Non-empty data rows (JSON: items) read from the file or chosen sheet. */
  rowsRead: number;
  items: GroundTruthItem[];
  problems: Problem[];
  /** Rows dropped as exact duplicates or merged by the conflict policy, for the summary. */
  merged: number;
  /** Rows left out on purpose: rows of other task types in an image × task-type table (see notes). */
  skipped: number;
  /** Decisions taken while loading (sheet chosen and why, rows skipped, encoding), for the summary. */
  notes: string[];
}

/** Row (RowRecord) that passed validation, before duplicates are merged. */
export interface RowRecord {
  image: string;
  score: number;
  reasons: string[];
  source: ProblemLocation;
  /** Where the score was read, for duplicate-conflict problems. */
  scoreColumn: string;
}

export type { Checked } from "../../core/errors";

/** One load in progress: the file, its options, and the result being filled in. */
export interface Ctx {
  file: string;
  scale: Scale;
  policy: ConflictPolicy;
  result: LoadResult;
}
