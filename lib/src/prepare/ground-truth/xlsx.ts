/**
 * XLSX ground truth: the named sheet, or the first sheet whose score column really holds scores (an
 * image × task-type workbook has sheets of other tasks, passed over with a note saying why).
 */
import type ExcelJS from "exceljs";
import { shown } from "../../core/table/cells";
import { listHeaders } from "../../core/table/headers";
import type { Table } from "../../core/table/rows";
import { findSheet, readWorkbook, sheetNames, sheetsInOrder, sheetTable } from "../../core/table/xlsx";
import { IMAGE_NAMES, resolveColumns, RESPONSE_NAMES, SCORE_NAMES } from "./columns";
import { filterTaskRows, loadTable, scoreLikeness } from "./table";
import type { Ctx, LoadResult } from "./types";

export async function loadXlsx(ctx: Ctx, buf: Buffer, sheetOpt: string | undefined): Promise<LoadResult> {
  const res = ctx.result;
  const read = await readWorkbook(buf);
  if (!read.ok) {
    res.problems.push({ file: ctx.file, kind: "unreadable-file", message: read.message });
    return res;
  }
  const wb = read.workbook;
  const names = sheetNames(wb);
  if (sheetOpt !== undefined) {
    const ws = findSheet(wb, sheetOpt);
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
  const ordered = sheetsInOrder(wb);
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
