/** CSV / TSV / TXT ground truth: delimiter detected, decoded, parsed, then read as a table. */
import { parse as parseCsv } from "csv-parse/sync";
import type { Plain } from "./cells";
import { loadTable, toTable } from "./table";
import { decodeText } from "./text";
import type { Ctx, LoadResult } from "./types";

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

export function loadCsv(ctx: Ctx, buf: Buffer, ext: string): LoadResult {
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
