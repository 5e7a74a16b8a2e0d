/** XLSX tables (exceljs): a workbook read whole, and one sheet as a table with row numbers as Excel shows them. */
import type ExcelJS from "exceljs";
import { excelJS } from "../lazy";
import { plainCell, type Plain } from "./cells";
import { toTable, type Table, type TableRow } from "./rows";

/** The workbook, or the reason it cannot be read. */
export async function readWorkbook(buf: Buffer): Promise<{ ok: true; workbook: ExcelJS.Workbook } | { ok: false; message: string }> {
  const workbook = new (excelJS().Workbook)();
  try {
    await workbook.xlsx.load(buf as unknown as Parameters<typeof workbook.xlsx.load>[0]);
    return { ok: true, workbook };
  } catch (e) {
    return { ok: false, message: `cannot read as an .xlsx workbook: ${(e as Error).message}` };
  }
}

export function sheetTable(ws: ExcelJS.Worksheet): Table | null {
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

/** A sheet by name (exact, else ignoring case and surrounding spaces). */
export function findSheet(workbook: ExcelJS.Workbook, name: string): ExcelJS.Worksheet | undefined {
  const sheets = workbook.worksheets;
  return sheets.find((s) => s.name === name) ?? sheets.find((s) => s.name.trim().toLowerCase() === name.trim().toLowerCase());
}

/** Visible sheets first, then hidden ones: the order a sheet is looked for when none is named. */
export function sheetsInOrder(workbook: ExcelJS.Workbook): ExcelJS.Worksheet[] {
  const sheets = workbook.worksheets;
  return [...sheets.filter((s) => s.state === "visible"), ...sheets.filter((s) => s.state !== "visible")];
}

export function sheetNames(workbook: ExcelJS.Workbook): string {
  return workbook.worksheets.map((s) => `"${s.name}"`).join(", ") || "none";
}
