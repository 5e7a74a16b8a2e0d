/**
 * Tables (CSV and XLSX alike): header row, data rows, the task-type filter of image × task tables, and
 * rows read into records with a problem per bad cell.
 */
import type { Problem, ProblemLocation } from "../../core/errors";
import type { Scale } from "../../core/scale";
import { finish } from "./duplicates";
import { cellText, type Plain } from "../../core/table/cells";
import { isEmptyCell, type Table, type TableRow } from "../../core/table/rows";
import { imageFromValue, scoreFromValue } from "./cells";
import { missingColumnsMessage, resolveColumns, type ColumnIndex } from "./columns";
import { splitReasons } from "../../prompt/score-text";
import type { Ctx, LoadResult, RowRecord } from "./types";

const SCORE_TASK_RE = /score|rating/i;

/**
 * Tables with one row per image × task type (a "task type" column, as in the original project's
 * workbook) keep only rows of safety *score* tasks: other tasks (binary SAFE/UNSAFE classification,
 * risk lists, 5-aspect analyses out of 50) are different instruments, and turning them into a 1–10
 * score would invent data. When no task type looks like a score task, all rows are kept.
 */
export function filterTaskRows(table: Table, cols: ColumnIndex): { rows: TableRow[]; skipped: number; note?: string } {
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
export function scoreLikeness(rows: TableRow[], col: number, scale: Scale): { scores: number; filled: number; example?: Plain } {
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

export function readRows(
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

export function loadTable(ctx: Ctx, table: Table | null, base: ProblemLocation): LoadResult {
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
