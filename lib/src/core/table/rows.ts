/** A table as read from a CSV file or a sheet: the header row and the data rows, numbered as in the file. */
import { cellText, type Plain } from "./cells";

export interface TableRow {
  /** 1-based row as a spreadsheet shows it (CSV: the record number, header = 1). */
  row: number;
  cells: Plain[];
}

export interface Table {
  headerRow: number;
  headers: string[];
  /** Data rows that are not fully empty. */
  rows: TableRow[];
}

export function isEmptyCell(v: Plain | undefined): boolean {
  return v === null || v === undefined || (typeof v === "string" && v.trim() === "");
}

export function isEmptyRow(r: TableRow): boolean {
  return r.cells.every((c) => isEmptyCell(c));
}

/** The header's cells as text (BOM and surrounding spaces removed). */
export function headerTexts(cells: readonly Plain[]): string[] {
  return cells.map((c) => cellText(c).replace(/^\uFEFF/, "").trim());
}

/** First non-empty row is the header; fully empty rows are dropped; row numbers stay as in the file. */
export function toTable(rows: TableRow[]): Table | null {
  const nonEmpty = rows.filter((r) => !isEmptyRow(r));
  const header = nonEmpty[0];
  if (!header) return null;
  return { headerRow: header.row, headers: headerTexts(header.cells), rows: nonEmpty.slice(1) };
}
