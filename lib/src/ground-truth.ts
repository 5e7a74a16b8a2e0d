/**
 * Ground truth loading and validation: CSV/TSV/TXT, XLSX and JSON manifests → one score per image.
 *
 * Every problem in the input is collected (with file, sheet, row and column) instead of stopping at the
 * first; `loadGroundTruthOrThrow` turns them into one InputError. Image files on disk are NOT checked
 * here (see images.ts); this module only normalises the paths as written.
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import ExcelJS from "exceljs";
import { z } from "zod";
import { InputError, type Problem, type ProblemKind, type ProblemLocation } from "./core/errors";
import { DEFAULT_SCALE, inScale, type Scale } from "./core/scale";
import { parseScoreText, splitReasons } from "./prompt/score-text";
import type { GroundTruthItem } from "./core/types";

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

// ---------------------------------------------------------------------------------------------
// Column names

/** Compare headers without case, spaces, "_", "-", "." and anything in () or [] ("Score (1-10)"). */
export function normaliseHeader(h: string): string {
  return h
    .replace(/^\uFEFF/, "")
    .replace(/\([^)]*\)|\[[^\]]*\]/g, "")
    .toLowerCase()
    .replace(/[\s_\-.]+/g, "");
}

const IMAGE_NAMES = ["image", "image_path", "imagepath", "image_name", "filename", "file_name", "file", "path", "img"];
/** Numeric score columns: preferred over response-text columns when a table has both. */
const SCORE_NAMES = ["score", "safety_score", "safety", "rating", "label_score", "perceived_safety"];
const RESPONSE_NAMES = ["expected_response", "response", "answer", "output"];
const REASON_NAMES = ["reasons", "reason", "reasoning", "explanation", "rationale", "comments", "comment"];
const TASK_NAMES = ["task_type", "task", "tasktype"];

function findColumn(headers: string[], names: string[]): number {
  const norm = headers.map(normaliseHeader);
  for (const name of names) {
    const i = norm.indexOf(normaliseHeader(name));
    if (i >= 0) return i;
  }
  return -1;
}

interface ColumnIndex {
  image: number;
  score: number;
  reasons: number;
  task: number;
}

function resolveColumns(headers: string[]): ColumnIndex {
  let score = findColumn(headers, SCORE_NAMES);
  if (score < 0) score = findColumn(headers, RESPONSE_NAMES);
  return {
    image: findColumn(headers, IMAGE_NAMES),
    score,
    reasons: findColumn(headers, REASON_NAMES),
    task: findColumn(headers, TASK_NAMES),
  };
}

function listHeaders(headers: string[]): string {
  const named = headers.filter((h) => h.trim() !== "");
  return named.length ? named.map((h) => `"${h}"`).join(", ") : "none";
}

function missingColumnsMessage(headers: string[], cols: ColumnIndex): string {
  const missing: string[] = [];
  if (cols.image < 0) missing.push(`an image column (${IMAGE_NAMES.join(", ")})`);
  if (cols.score < 0) missing.push(`a score column (${[...SCORE_NAMES, ...RESPONSE_NAMES].join(", ")})`);
  return `no ${missing.join(" and no ")} found; columns found: ${listHeaders(headers)}`;
}

// ---------------------------------------------------------------------------------------------
// Cell values

type Plain = string | number | boolean | Date | null;

function plainCell(v: ExcelJS.CellValue | unknown): Plain {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Date) return v;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) return (o.richText as { text?: string }[]).map((r) => r.text ?? "").join("");
    if ("formula" in o || "sharedFormula" in o) return plainCell(o.result);
    if ("hyperlink" in o) return plainCell(o.text ?? o.hyperlink);
    if (typeof o.error === "string") return o.error;
    if ("text" in o) return plainCell(o.text);
  }
  return String(v);
}

function cellText(v: Plain): string {
  if (v === null) return "";
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function shown(v: Plain): string {
  const t = cellText(v).trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}…` : t);
}

// ---------------------------------------------------------------------------------------------
// Scores and image paths

type Checked<T> = { ok: true; value: T } | { ok: false; kind: ProblemKind; message: string };

function fmtScale(scale: Scale): string {
  return `${scale.min}–${scale.max}`;
}

function scoreFromValue(v: Plain, scale: Scale): Checked<{ score: number; reasons: string[] }> {
  if (v === null || (typeof v === "string" && v.trim() === "")) {
    return { ok: false, kind: "empty-score", message: "the score is empty" };
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return { ok: false, kind: "non-numeric-score", message: `score ${v} is not a number` };
    if (!inScale(v, scale)) {
      return { ok: false, kind: "out-of-range-score", message: `score ${v} is outside the scale ${fmtScale(scale)}` };
    }
    return { ok: true, value: { score: v, reasons: [] } };
  }
  if (v instanceof Date) {
    return {
      ok: false,
      kind: "non-numeric-score",
      message: `the score cell holds a date (${v.toISOString().slice(0, 10)}); a spreadsheet may have turned "7/10" into a date — format the column as text or write plain numbers`,
    };
  }
  if (typeof v === "boolean") {
    return { ok: false, kind: "non-numeric-score", message: `the score cell holds ${String(v).toUpperCase()}, not a number` };
  }
  const r = parseScoreText(v, scale);
  if (r.ok) return { ok: true, value: { score: r.score, reasons: r.reasons } };
  switch (r.code) {
    case "empty":
      return { ok: false, kind: "empty-score", message: "the score is empty" };
    case "out-of-scale":
      return {
        ok: false,
        kind: "out-of-range-score",
        message: `score ${r.value}${String(r.value) === v.trim() ? "" : ` (written ${shown(v)})`} is outside the scale ${fmtScale(scale)}`,
      };
    default:
      return { ok: false, kind: "non-numeric-score", message: `${shown(v)} is not a score: ${r.reason}` };
  }
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

function imageFromValue(v: Plain): Checked<string> {
  return normaliseImagePath(typeof v === "number" ? String(v) : cellText(v));
}

// ---------------------------------------------------------------------------------------------
// Tables (CSV and XLSX)

interface TableRow {
  row: number;
  cells: Plain[];
}
interface Table {
  headerRow: number;
  headers: string[];
  /** Data rows that are not fully empty. */
  rows: TableRow[];
}

function isEmptyCell(v: Plain): boolean {
  return v === null || (typeof v === "string" && v.trim() === "");
}

/** First non-empty row is the header; fully empty rows are dropped; row numbers stay as in the file. */
function toTable(rows: TableRow[]): Table | null {
  const nonEmpty = rows.filter((r) => r.cells.some((c) => !isEmptyCell(c)));
  const header = nonEmpty[0];
  if (!header) return null;
  return {
    headerRow: header.row,
    headers: header.cells.map((c) => cellText(c).replace(/^\uFEFF/, "").trim()),
    rows: nonEmpty.slice(1),
  };
}

/** Row (RowRecord) that passed validation, before duplicates are merged. */
interface RowRecord {
  image: string;
  score: number;
  reasons: string[];
  source: ProblemLocation;
  /** Where the score was read, for duplicate-conflict problems. */
  scoreColumn: string;
}

const SCORE_TASK_RE = /score|rating/i;

/**
 * Tables with one row per image × task type (a "task type" column, as in the original project's
 * workbook) keep only rows of safety *score* tasks: other tasks (binary SAFE/UNSAFE classification,
 * risk lists, 5-aspect analyses out of 50) are different instruments, and turning them into a 1–10
 * score would invent data. When no task type looks like a score task, all rows are kept.
 */
function filterTaskRows(table: Table, cols: ColumnIndex): { rows: TableRow[]; skipped: number; note?: string } {
  if (cols.task < 0) return { rows: table.rows, skipped: 0 };
  const taskOf = (r: TableRow) => cellText(r.cells[cols.task] ?? null).trim();
  const keep = table.rows.filter((r) => SCORE_TASK_RE.test(taskOf(r)));
  if (keep.length === 0) return { rows: table.rows, skipped: 0 };
  const dropped = new Map<string, number>();
  for (const r of table.rows) {
    if (!SCORE_TASK_RE.test(taskOf(r))) dropped.set(taskOf(r) || "(empty)", (dropped.get(taskOf(r) || "(empty)") ?? 0) + 1);
  }
  const skipped = table.rows.length - keep.length;
  if (skipped === 0) return { rows: keep, skipped };
  const kept = [...new Set(keep.map(taskOf))].join(", ");
  const list = [...dropped].map(([t, n]) => `${t} ×${n}`).join(", ");
  return {
    rows: keep,
    skipped,
    note: `kept ${keep.length} rows of score task type(s) ${kept} from column "${table.headers[cols.task]}"; skipped ${skipped} rows of other task types (${list})`,
  };
}

/** How many non-empty score cells look like scores (out-of-scale numbers count: they are scores). */
function scoreLikeness(rows: TableRow[], col: number, scale: Scale): { scores: number; filled: number; example?: Plain } {
  let scores = 0;
  let filled = 0;
  let example: Plain | undefined;
  for (const r of rows) {
    const v = r.cells[col] ?? null;
    if (isEmptyCell(v)) continue;
    filled++;
    const s = scoreFromValue(v, scale);
    if (s.ok || s.kind === "out-of-range-score") scores++;
    else if (example === undefined) example = v;
  }
  return example === undefined ? { scores, filled } : { scores, filled, example };
}

function readRows(
  rows: TableRow[],
  cols: ColumnIndex,
  headers: string[],
  base: ProblemLocation,
  scale: Scale,
  problems: Problem[],
): RowRecord[] {
  const records: RowRecord[] = [];
  const imageCol = headers[cols.image]!;
  const scoreCol = headers[cols.score]!;
  for (const r of rows) {
    const loc = { ...base, row: r.row };
    const img = imageFromValue(r.cells[cols.image] ?? null);
    const sc = scoreFromValue(r.cells[cols.score] ?? null, scale);
    if (!img.ok) problems.push({ ...loc, column: imageCol, kind: img.kind, message: img.message });
    if (!sc.ok) problems.push({ ...loc, column: scoreCol, kind: sc.kind, message: sc.message });
    if (!img.ok || !sc.ok) continue;
    const reasonCell = cols.reasons >= 0 ? cellText(r.cells[cols.reasons] ?? null) : "";
    const reasons = reasonCell.trim() !== "" ? splitReasons(reasonCell) : sc.value.reasons;
    records.push({ image: img.value, score: sc.value.score, reasons, source: loc, scoreColumn: scoreCol });
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Text decoding and CSV

function decodeText(buf: Buffer, notes: string[]): string {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString("utf8");
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    notes.push("read as UTF-16 (little-endian) text");
    return buf.subarray(2).toString("utf16le");
  }
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    notes.push("read as UTF-16 (big-endian) text");
    const body = Buffer.from(buf.subarray(2));
    body.swap16();
    return body.toString("utf16le");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    notes.push("the file is not valid UTF-8; read it as Windows-1252 (save as UTF-8 to be sure of accents)");
    return new TextDecoder("windows-1252").decode(buf);
  }
}

function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ch) n++;
  }
  return n;
}

/** The delimiter among "," ";" and tab that occurs most often (outside quotes) in the header line. */
export function detectDelimiter(text: string, preferred: "," | "\t" = ","): "," | ";" | "\t" {
  const header = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  const order: ("," | ";" | "\t")[] = preferred === "\t" ? ["\t", ",", ";"] : [",", ";", "\t"];
  let best = preferred as "," | ";" | "\t";
  let bestCount = 0;
  for (const d of order) {
    const n = countOutsideQuotes(header, d);
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Duplicates

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function unionReasons(records: RowRecord[]): string[] {
  return [...new Set(records.flatMap((r) => r.reasons))];
}

function mergeDuplicates(
  records: RowRecord[],
  policy: ConflictPolicy,
  problems: Problem[],
  rowLabel: (row: number | undefined) => string,
): { items: GroundTruthItem[]; merged: number } {
  const groups = new Map<string, RowRecord[]>();
  for (const r of records) {
    const g = groups.get(r.image);
    if (g) g.push(r);
    else groups.set(r.image, [r]);
  }
  const items: GroundTruthItem[] = [];
  let merged = 0;
  for (const [image, group] of groups) {
    const first = group[0]!;
    if (group.length === 1) {
      items.push({ image, score: first.score, reasons: first.reasons, source: first.source });
      continue;
    }
    const distinct = new Set(group.map((r) => r.score));
    if (distinct.size === 1) {
      merged += group.length - 1;
      items.push({ image, score: first.score, reasons: unionReasons(group), source: first.source });
      continue;
    }
    const listing = group.map((r) => `${rowLabel(r.source.row)}: ${r.score}`).join(", ");
    if (policy === "error") {
      problems.push({
        ...first.source,
        column: first.scoreColumn,
        kind: "duplicate-conflict",
        message: `image "${image}" has ${group.length} rows with different scores (${listing}); fix them, or choose a conflict policy ("mean" or "first")`,
      });
      continue;
    }
    merged += group.length - 1;
    if (policy === "first") {
      items.push({ image, score: first.score, reasons: first.reasons, source: first.source });
    } else {
      items.push({ image, score: mean(group.map((r) => r.score)), reasons: unionReasons(group), source: first.source });
    }
  }
  return { items, merged };
}

// ---------------------------------------------------------------------------------------------
// Loading

interface Ctx {
  file: string;
  scale: Scale;
  policy: ConflictPolicy;
  result: LoadResult;
}

function finish(ctx: Ctx, records: RowRecord[], rowLabel = (row: number | undefined) => `row ${row}`): LoadResult {
  const { items, merged } = mergeDuplicates(records, ctx.policy, ctx.result.problems, rowLabel);
  ctx.result.items = items;
  ctx.result.merged = merged;
  return ctx.result;
}

function loadTable(ctx: Ctx, table: Table | null, base: ProblemLocation): LoadResult {
  const res = ctx.result;
  if (!table) {
    res.problems.push({ ...base, kind: "empty-file", message: base.sheet ? "the sheet is empty" : "the file is empty" });
    return res;
  }
  const cols = resolveColumns(table.headers);
  res.columns = {
    image: cols.image >= 0 ? table.headers[cols.image]! : "",
    score: cols.score >= 0 ? table.headers[cols.score]! : "",
    ...(cols.reasons >= 0 ? { reasons: table.headers[cols.reasons]! } : {}),
  };
  if (cols.image < 0 || cols.score < 0) {
    res.problems.push({ ...base, row: table.headerRow, kind: "missing-column", message: missingColumnsMessage(table.headers, cols) });
    return res;
  }
  res.rowsRead = table.rows.length;
  if (table.rows.length === 0) {
    res.problems.push({ ...base, kind: "empty-file", message: "there is a header but no data rows" });
    return res;
  }
  const filtered = filterTaskRows(table, cols);
  res.skipped = filtered.skipped;
  if (filtered.note) res.notes.push(filtered.note);
  const records = readRows(filtered.rows, cols, table.headers, base, ctx.scale, res.problems);
  return finish(ctx, records);
}

function loadCsv(ctx: Ctx, buf: Buffer, ext: string): LoadResult {
  const text = decodeText(buf, ctx.result.notes).replace(/^\uFEFF/, "");
  if (text.trim() === "") {
    ctx.result.problems.push({ file: ctx.file, kind: "empty-file", message: "the file is empty" });
    return ctx.result;
  }
  const delimiter = detectDelimiter(text, ext === ".tsv" ? "\t" : ",");
  if (delimiter !== (ext === ".tsv" ? "\t" : ",")) {
    ctx.result.notes.push(`columns separated by ${delimiter === "\t" ? "tabs" : `"${delimiter}"`}`);
  }
  let records: string[][];
  try {
    records = parseCsv(text, {
      delimiter,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: false,
    }) as string[][];
  } catch (e) {
    ctx.result.problems.push({ file: ctx.file, kind: "unreadable-file", message: `cannot parse as CSV: ${(e as Error).message}` });
    return ctx.result;
  }
  // Row numbers are record numbers (header = 1), as a spreadsheet shows the file.
  const rows = records.map((cells, i) => ({ row: i + 1, cells: cells as Plain[] }));
  return loadTable(ctx, toTable(rows), { file: ctx.file });
}

function sheetTable(ws: ExcelJS.Worksheet): Table | null {
  const rows: TableRow[] = [];
  ws.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: Plain[] = [];
    row.eachCell({ includeEmpty: false }, (cell, col) => {
      cells[col - 1] = plainCell(cell.value);
    });
    for (let i = 0; i < cells.length; i++) if (cells[i] === undefined) cells[i] = null;
    rows.push({ row: rowNumber, cells });
  });
  return toTable(rows);
}

async function loadXlsx(ctx: Ctx, buf: Buffer, sheetOpt: string | undefined): Promise<LoadResult> {
  const res = ctx.result;
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as Parameters<typeof wb.xlsx.load>[0]);
  } catch (e) {
    res.problems.push({ file: ctx.file, kind: "unreadable-file", message: `cannot read as an .xlsx workbook: ${(e as Error).message}` });
    return res;
  }
  const sheets = wb.worksheets;
  const names = sheets.map((s) => `"${s.name}"`).join(", ") || "none";
  if (sheetOpt !== undefined) {
    const ws =
      sheets.find((s) => s.name === sheetOpt) ??
      sheets.find((s) => s.name.trim().toLowerCase() === sheetOpt.trim().toLowerCase());
    if (!ws) {
      res.problems.push({ file: ctx.file, sheet: sheetOpt, kind: "missing-sheet", message: `no sheet "${sheetOpt}"; the workbook has: ${names}` });
      return res;
    }
    res.sheet = ws.name;
    return loadTable(ctx, sheetTable(ws), { file: ctx.file, sheet: ws.name });
  }

  // No sheet named: the first sheet (visible sheets first) whose image + score columns exist and whose
  // score column mostly holds scores. In an image × task-type workbook the first sheet with an image and
  // an "Expected Response" column may hold SAFE/UNSAFE labels or risk lists: those sheets are passed
  // over, with a note saying why, rather than loaded as hundreds of non-numeric-score problems.
  const ordered = [...sheets.filter((s) => s.state === "visible"), ...sheets.filter((s) => s.state !== "visible")];
  const described: string[] = [];
  const passedOver: string[] = [];
  let fallback: { ws: ExcelJS.Worksheet; table: Table } | undefined;
  let anyData = false;
  for (const ws of ordered) {
    const table = sheetTable(ws);
    if (!table) {
      described.push(`"${ws.name}" (empty)`);
      continue;
    }
    anyData = true;
    const cols = resolveColumns(table.headers);
    if (cols.image < 0 || cols.score < 0) {
      described.push(`"${ws.name}" (${listHeaders(table.headers)})`);
      continue;
    }
    const rows = filterTaskRows(table, cols).rows;
    const like = scoreLikeness(rows, cols.score, ctx.scale);
    if (like.filled === 0 || like.scores * 2 >= like.filled) {
      res.sheet = ws.name;
      const why =
        `used sheet "${ws.name}": the first sheet with image and score columns ("${table.headers[cols.image]}", "${table.headers[cols.score]}")` +
        (like.filled ? ` holding scores (${like.scores} of ${like.filled} cells)` : "");
      res.notes.push(passedOver.length ? `${why}; passed over ${passedOver.join("; ")}` : why);
      return loadTable(ctx, table, { file: ctx.file, sheet: ws.name });
    }
    fallback ??= { ws, table };
    passedOver.push(
      `"${ws.name}" (${like.scores} of ${like.filled} "${table.headers[cols.score]}" cells are scores, e.g. ${shown(like.example ?? null)})`,
    );
  }
  if (fallback) {
    // No sheet holds mostly scores: load the first candidate so its rows are reported one by one.
    res.sheet = fallback.ws.name;
    res.notes.push(`no sheet's score column mostly holds scores; used the first sheet with image and score columns, "${fallback.ws.name}"`);
    return loadTable(ctx, fallback.table, { file: ctx.file, sheet: fallback.ws.name });
  }
  if (!anyData) {
    res.problems.push({ file: ctx.file, kind: "empty-file", message: `the workbook has no data (sheets: ${names})` });
    return res;
  }
  res.problems.push({
    file: ctx.file,
    kind: "missing-column",
    message: `no sheet has both an image column (${IMAGE_NAMES.join(", ")}) and a score column (${[...SCORE_NAMES, ...RESPONSE_NAMES].join(", ")}); sheets and their columns: ${described.join("; ")}`,
  });
  return res;
}

const JsonTop = z.union([z.array(z.unknown()), z.object({ items: z.array(z.unknown()) }).passthrough()]);
const JsonItem = z.object({
  image: z.union([z.string(), z.number()], {
    errorMap: (issue, ctx) =>
      issue.code === "invalid_union" || issue.code === "invalid_type"
        ? { message: ctx.data === undefined || ctx.data === null ? "is missing" : `must be a string, got ${JSON.stringify(ctx.data)}` }
        : { message: ctx.defaultError },
  }),
  score: z.unknown(),
  reasons: z
    .union([z.string(), z.array(z.string())], {
      errorMap: (_issue, ctx) => ({ message: `must be a list of strings or a string, got ${JSON.stringify(ctx.data)}` }),
    })
    .nullish(),
});

function jsonPosition(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return "";
  const before = text.slice(0, Number(m[1]));
  const line = before.split("\n").length;
  const col = before.length - before.lastIndexOf("\n");
  return ` (line ${line}, column ${col})`;
}

function loadJson(ctx: Ctx, buf: Buffer): LoadResult {
  const res = ctx.result;
  const text = decodeText(buf, res.notes).replace(/^\uFEFF/, "");
  if (text.trim() === "") {
    res.problems.push({ file: ctx.file, kind: "empty-file", message: "the file is empty" });
    return res;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    res.problems.push({ file: ctx.file, kind: "invalid-json", message: `not valid JSON: ${(e as Error).message}${jsonPosition(text, e as Error)}` });
    return res;
  }
  const top = JsonTop.safeParse(data);
  if (!top.success) {
    res.problems.push({ file: ctx.file, kind: "invalid-json", message: 'expected {"items": [...]} or a list of items with image_path and score' });
    return res;
  }
  const list = Array.isArray(top.data) ? top.data : top.data.items;
  const prefix = Array.isArray(top.data) ? "" : "items";
  res.rowsRead = list.length;
  if (list.length === 0) {
    res.problems.push({ file: ctx.file, kind: "empty-file", message: "the manifest has no items" });
    return res;
  }
  const used = { image: new Map<string, number>(), score: new Map<string, number>(), reasons: new Map<string, number>() };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const records: RowRecord[] = [];
  list.forEach((raw, i) => {
    const col = (key: string) => `${prefix}[${i}].${key}`;
    const loc: ProblemLocation = { file: ctx.file, row: i };
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      res.problems.push({ ...loc, column: `${prefix}[${i}]`, kind: "invalid-json", message: `item is not an object: ${JSON.stringify(raw)}` });
      return;
    }
    const obj = raw as Record<string, unknown>;
    const keys = Object.keys(obj);
    const keyFor = (names: string[]) => keys[findColumn(keys, names)];
    const imageKey = keyFor(IMAGE_NAMES) ?? "image_path";
    const scoreKey = keyFor(SCORE_NAMES) ?? keyFor(RESPONSE_NAMES) ?? "score";
    const reasonsKey = keyFor(REASON_NAMES) ?? "reasons";
    bump(used.image, imageKey);
    bump(used.score, scoreKey);
    if (reasonsKey in obj) bump(used.reasons, reasonsKey);
    const parsed = JsonItem.safeParse({ image: obj[imageKey], score: obj[scoreKey], reasons: obj[reasonsKey] });
    let image: Checked<string> | undefined;
    let reasons: string[] = [];
    let bad = false;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path[0];
        if (field === "image") {
          const kind: ProblemKind = obj[imageKey] === undefined || obj[imageKey] === null ? "empty-image" : "invalid-json";
          res.problems.push({ ...loc, column: col(imageKey), kind, message: `${imageKey} ${issue.message}` });
        } else {
          res.problems.push({ ...loc, column: col(reasonsKey), kind: "invalid-json", message: `${reasonsKey} ${issue.message}` });
        }
        bad = true;
      }
    } else {
      image = imageFromValue(parsed.data.image);
      const r = parsed.data.reasons;
      reasons = r == null ? [] : typeof r === "string" ? splitReasons(r) : r.map((s) => s.trim()).filter((s) => s !== "");
    }
    if (image && !image.ok) {
      res.problems.push({ ...loc, column: col(imageKey), kind: image.kind, message: image.message });
      bad = true;
    }
    const sv = obj[scoreKey];
    const sc = scoreFromValue(sv === undefined ? null : typeof sv === "string" || typeof sv === "number" || sv === null ? sv : JSON.stringify(sv), ctx.scale);
    if (!sc.ok) {
      const message = sv === undefined ? `${scoreKey} is missing` : sc.message;
      res.problems.push({ ...loc, column: col(scoreKey), kind: sc.kind, message });
      bad = true;
    }
    if (bad || !image?.ok || !sc.ok) return;
    records.push({
      image: image.value,
      score: sc.value.score,
      reasons: reasons.length ? reasons : sc.value.reasons,
      source: loc,
      scoreColumn: col(scoreKey),
    });
  });
  const mostUsed = (m: Map<string, number>, dflt: string) => [...m].sort((a, b) => b[1] - a[1])[0]?.[0] ?? dflt;
  res.columns = {
    image: mostUsed(used.image, "image_path"),
    score: mostUsed(used.score, "score"),
    ...(used.reasons.size ? { reasons: mostUsed(used.reasons, "reasons") } : {}),
  };
  return finish(ctx, records, (row) => `${prefix}[${row}]`);
}

const CSV_EXTS = [".csv", ".tsv", ".txt"];

/**
 * Load ground truth from a CSV/TSV/TXT, XLSX or JSON file. Never throws on bad input: every problem is
 * in `problems` (file, sheet, row, column), and `items` holds the rows that passed, duplicates merged.
 *
 * Row numbers: CSV/XLSX rows as a spreadsheet shows them (header = row 1); JSON: the item index
 * (`row: 3`, `column: "items[3].score"`).
 */
export async function loadGroundTruth(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const ext = path.extname(file).toLowerCase();
  const format: LoadResult["format"] = CSV_EXTS.includes(ext) ? "csv" : ext === ".xlsx" ? "xlsx" : ext === ".json" ? "json" : "unknown";
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
    const message =
      ext === ".xls"
        ? "old Excel .xls files are not supported; open it in Excel or LibreOffice and save it as .xlsx"
        : `unsupported file type "${ext || "(no extension)"}"; use .csv, .tsv, .txt, .xlsx or .json`;
    result.problems.push({ file, kind: "unsupported-file", message });
    return result;
  }
  if (opts.sheet !== undefined && format !== "xlsx") result.notes.push(`the sheet option ("${opts.sheet}") applies to .xlsx files only; ignored`);

  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a folder, not a file" : `cannot read the file: ${(e as Error).message}`;
    result.problems.push({ file, kind: "unreadable-file", message });
    return result;
  }
  const ctx: Ctx = { file, scale, policy, result };
  if (buf.length === 0) {
    result.problems.push({ file, kind: "empty-file", message: "the file is empty" });
    return result;
  }
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
