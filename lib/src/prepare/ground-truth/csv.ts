/** CSV / TSV / TXT ground truth: decoded, delimiter detected, parsed (core/table/csv.ts), then read as a table. */
import { decodeText } from "../../core/table/text";
import { delimiterNote, detectDelimiter, expectedDelimiter, parseCsvText } from "../../core/table/csv";
import { toTable, type TableRow } from "../../core/table/rows";
import { loadTable } from "./table";
import type { Ctx, LoadResult } from "./types";

export function loadCsv(ctx: Ctx, buf: Buffer, ext: string): LoadResult {
  const text = decodeText(buf, ctx.result.notes).replace(/^\uFEFF/, "");
  if (text.trim() === "") {
    ctx.result.problems.push({ file: ctx.file, kind: "empty-file", message: "the file is empty" });
    return ctx.result;
  }
  const delimiter = detectDelimiter(text, expectedDelimiter(ext));
  const note = delimiterNote(delimiter, ext);
  if (note) ctx.result.notes.push(note);
  let rows: TableRow[];
  try {
    rows = parseCsvText(text, delimiter);
  } catch (e) {
    ctx.result.problems.push({ file: ctx.file, kind: "unreadable-file", message: `cannot parse as CSV: ${(e as Error).message}` });
    return ctx.result;
  }
  return loadTable(ctx, toTable(rows), { file: ctx.file });
}
