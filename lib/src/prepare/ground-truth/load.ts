/**
 * Ground truth loading and validation: CSV/TSV/TXT, XLSX and JSON manifests → one score per image.
 *
 * Every problem in the input is collected (with file, sheet, row and column) instead of stopping at the
 * first; `loadGroundTruthOrThrow` turns them into one InputError. Image files on disk are NOT checked
 * here (see prepare/images.ts); this module only normalises the paths as written.
 */
import * as path from "node:path";
import { InputError } from "../../core/errors";
import { readInputFile, tableFormat, unsupportedFileProblem } from "../../core/table/source";
import { DEFAULT_SCALE } from "../../core/scale";
import { loadCsv } from "./csv";
import { loadJson } from "./json";
import { loadXlsx } from "./xlsx";
import { CONFLICT_POLICIES, type Ctx, type LoadOptions, type LoadResult } from "./types";

const ACCEPTED = [".csv", ".tsv", ".txt", ".xlsx", ".json"];

/**
 * Load ground truth from a CSV/TSV/TXT, XLSX or JSON file. Never throws on bad input: every problem is
 * in `problems` (file, sheet, row, column), and `items` holds the rows that passed, duplicates merged.
 *
 * Row numbers: CSV/XLSX rows as a spreadsheet shows them (header = row 1); JSON: the item index
 * (`row: 3`, `column: "items[3].score"`).
 */
export async function loadGroundTruth(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const ext = path.extname(file).toLowerCase();
  const format: LoadResult["format"] = tableFormat(file);
  const result: LoadResult = {
    file,
    format,
    columns: { image: "", score: "" },
    rowsRead: 0,
    items: [],
    problems: [],
    merged: 0,
    skipped: 0,
    notes: [],
  };
  const scale = opts.scale ?? DEFAULT_SCALE;
  const policy = opts.onConflict ?? "error";
  if (!Number.isFinite(scale.min) || !Number.isFinite(scale.max) || scale.min >= scale.max) {
    result.problems.push({ file, kind: "invalid-option", message: `the scale ${scale.min}–${scale.max} is not a range (minimum must be below maximum)` });
  }
  if (!CONFLICT_POLICIES.includes(policy)) {
    result.problems.push({ file, kind: "invalid-option", message: `conflict policy must be one of ${CONFLICT_POLICIES.join(", ")}, got "${String(policy)}"` });
  }
  if (result.problems.length) return result;

  if (format === "unknown") {
    result.problems.push(unsupportedFileProblem(file, ACCEPTED));
    return result;
  }
  if (opts.sheet !== undefined && format !== "xlsx") result.notes.push(`the sheet option ("${opts.sheet}") applies to .xlsx files only; ignored`);

  const read = await readInputFile(file);
  if (!read.ok) {
    result.problems.push(read.problem);
    return result;
  }
  const buf = read.buf;
  const ctx: Ctx = { file, scale, policy, result };
  if (format === "csv") return loadCsv(ctx, buf, ext);
  if (format === "json") return loadJson(ctx, buf);
  return loadXlsx(ctx, buf, opts.sheet);
}

/** Same, but throws InputError (all problems at once) when there is any problem. */
export async function loadGroundTruthOrThrow(file: string, opts?: LoadOptions): Promise<LoadResult> {
  const result = await loadGroundTruth(file, opts);
  if (result.problems.length) {
    const n = result.problems.length;
    throw new InputError(result.problems, `${n} problem${n === 1 ? "" : "s"} in the ground truth ${file}`);
  }
  return result;
}
