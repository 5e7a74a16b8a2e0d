/**
 * CSV / TSV / TXT tables: the delimiter detected from the header line, then csv-parse with one set of
 * options, whole (`parseCsvText`) or streamed record by record (`streamCsvFile`, memory flat in the rows).
 * Row numbers are record numbers (header = 1), as a spreadsheet shows the file.
 */
import { parse as parseStream, type Options } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";
import type { Plain } from "./cells";
import { decodeFileChunks } from "./text";
import type { TableRow } from "./rows";

export type Delimiter = "," | ";" | "\t";

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
export function detectDelimiter(text: string, preferred: "," | "\t" = ","): Delimiter {
  const header = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  const order: Delimiter[] = preferred === "\t" ? ["\t", ",", ";"] : [",", ";", "\t"];
  let best = preferred as Delimiter;
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

/** The delimiter a file of this extension is expected to use. */
export function expectedDelimiter(ext: string): "," | "\t" {
  return ext.toLowerCase() === ".tsv" ? "\t" : ",";
}

/** A note when the detected delimiter differs from what the extension suggests. */
export function delimiterNote(delimiter: Delimiter, ext: string): string | null {
  if (delimiter === expectedDelimiter(ext)) return null;
  return `columns separated by ${delimiter === "\t" ? "tabs" : `"${delimiter}"`}`;
}

function options(delimiter: Delimiter): Options {
  return { delimiter, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: false };
}

/** Parse CSV text whole; throws csv-parse's error on text it cannot read. */
export function parseCsvText(text: string, delimiter: Delimiter): TableRow[] {
  const records = parseSync(text, options(delimiter)) as string[][];
  return records.map((cells, i) => ({ row: i + 1, cells: cells as Plain[] }));
}

/**
 * Stream a CSV file's rows (header included, as row 1): decoded as `decodeText` would, the delimiter
 * detected from the first line. Throws csv-parse's error where the file cannot be read as CSV.
 */
export async function* streamCsvFile(file: string, ext: string, notes: string[]): AsyncGenerator<TableRow> {
  const chunks = decodeFileChunks(file, notes);
  const first = await chunks.next();
  if (first.done) return;
  const delimiter = detectDelimiter(first.value.replace(/^\uFEFF/, ""), expectedDelimiter(ext));
  const note = delimiterNote(delimiter, ext);
  if (note) notes.push(note);
  const parser = parseStream(options(delimiter));
  const feed = (async () => {
    try {
      parser.write(first.value);
      for await (const text of chunks) if (!parser.write(text)) await new Promise((r) => parser.once("drain", r));
      parser.end();
    } catch (e) {
      parser.destroy(e as Error);
    }
  })();
  let row = 0;
  for await (const cells of parser as AsyncIterable<string[]>) yield { row: ++row, cells: cells as Plain[] };
  await feed;
}
