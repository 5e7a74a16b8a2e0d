/**
 * XLSX ground truth: the named sheet, or the first sheet whose score column really holds scores (an
 * image × task-type workbook has sheets of other tasks, passed over with a note saying why).
 */
import type ExcelJS from "exceljs";
import { excelJS } from "../../core/lazy";
import { plainCell, shown, type Plain } from "./cells";
import { IMAGE_NAMES, listHeaders, resolveColumns, RESPONSE_NAMES, SCORE_NAMES } from "./columns";
import { filterTaskRows, loadTable, scoreLikeness, toTable, type Table, type TableRow } from "./table";
import type { Ctx, LoadResult } from "./types";

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

export async function loadXlsx(ctx: Ctx, buf: Buffer, sheetOpt: string | undefined): Promise<LoadResult> {
  const res = ctx.result;
  const wb = new (excelJS().Workbook)();
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
