/**
 * A votes file (CSV/TSV/TXT or XLSX) → validated votes on images that exist, every problem listed.
 *
 * CSV is streamed record by record (core/table/csv.ts), so memory grows with images and votes as typed
 * arrays (9 bytes a vote plus its row number), not with the file's text. XLSX is read whole by exceljs
 * (a sheet holds at most 1,048,576 rows; Place Pulse–sized files are CSV). Then every image the votes
 * name is looked up under the images folder (core/image.ts `findImageFile`: leaving the folder, links out
 * of it, unsupported formats and missing files are problems, one per image at the row that first named
 * it — looked up for the rows that passed even when other rows have problems, so one run lists all). Names are replaced by the file found, relative to the folder ("images/12.jpg" found as "12.jpg"),
 * so two spellings of one file are one image.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { InputError, type Problem } from "../../core/errors";
import { imageFinder } from "../../core/image";
import { streamCsvFile } from "../../core/table/csv";
import { headerTexts, isEmptyRow } from "../../core/table/rows";
import { readInputFile, tableFormat, unreadableFileProblem, unsupportedFileProblem } from "../../core/table/source";
import { findSheet, readWorkbook, sheetNames, sheetsInOrder, sheetTable } from "../../core/table/xlsx";
import { findColumn } from "../../core/table/headers";
import { LEFT_COLUMNS, readVoteTable, RIGHT_COLUMNS, VoteReader, WINNER_COLUMNS, type VoteReadOptions, type VoteReadResult } from "./validate";
import { VoteSetBuilder, type VoteSet } from "./vote-set";

export const VOTE_FILE_EXTENSIONS = [".csv", ".tsv", ".txt", ".xlsx"];

export interface LoadVotesOptions extends VoteReadOptions {
  /** The folder the image names are looked up in. */
  images: string;
  /** XLSX only: the sheet to read (default: the first sheet with left, right and winner columns). */
  sheet?: string;
  /** Image lookups in flight (default 16). */
  concurrency?: number;
}

export interface VotesFile extends Omit<VoteReadResult, "firstSeen"> {
  file: string;
  format: "csv" | "xlsx" | "unknown";
  sheet?: string;
  /** sha256 of the file's bytes ("" when it could not be read). */
  sha256: string;
  imagesDir: string;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function emptyResult(): VoteReadResult {
  return { ...new VoteReader({ file: "" }).finish(), problems: [] };
}

async function readCsv(file: string, opts: VoteReadOptions, notes: string[]): Promise<VoteReadResult> {
  const reader = new VoteReader({ file }, opts);
  let headerSeen = false;
  let usable = true;
  try {
    for await (const row of streamCsvFile(file, path.extname(file), notes)) {
      if (!headerSeen) {
        if (isEmptyRow(row)) continue;
        headerSeen = true;
        usable = reader.header(row.row, headerTexts(row.cells));
        if (!usable) break;
        continue;
      }
      reader.row(row);
    }
  } catch (e) {
    const r = reader.finish();
    r.problems.push({ file, kind: "unreadable-file", message: `cannot parse as CSV: ${(e as Error).message}` });
    return r;
  }
  const r = reader.finish();
  if (!headerSeen) r.problems.push({ file, kind: "empty-file", message: "the file is empty" });
  return r;
}

async function readXlsx(file: string, buf: Buffer, opts: VoteReadOptions & { sheet?: string }): Promise<VoteReadResult & { sheet?: string }> {
  const wb = await readWorkbook(buf);
  const fail = (p: Problem) => ({ ...emptyResult(), problems: [p] });
  if (!wb.ok) return fail({ file, kind: "unreadable-file", message: wb.message });
  if (opts.sheet !== undefined) {
    const ws = findSheet(wb.workbook, opts.sheet);
    if (!ws) return fail({ file, sheet: opts.sheet, kind: "missing-sheet", message: `no sheet "${opts.sheet}"; the workbook has: ${sheetNames(wb.workbook)}` });
    return { ...readVoteTable(sheetTable(ws), { file, sheet: ws.name }, opts), sheet: ws.name };
  }
  const sheets = sheetsInOrder(wb.workbook);
  const hasVoteColumns = (headers: string[]) => [LEFT_COLUMNS, RIGHT_COLUMNS, WINNER_COLUMNS].every((names) => findColumn(headers, names) >= 0);
  for (const ws of sheets) {
    const table = sheetTable(ws);
    if (table && hasVoteColumns(table.headers)) {
      const r = readVoteTable(table, { file, sheet: ws.name }, opts);
      if (sheets.length > 1) r.notes.push(`used sheet "${ws.name}": the first with left, right and winner columns`);
      return { ...r, sheet: ws.name };
    }
  }
  const first = sheets[0];
  if (!first) return fail({ file, kind: "empty-file", message: "the workbook has no sheets" });
  // No sheet has the three columns: read the first one so its header is reported.
  return { ...readVoteTable(sheetTable(first), { file, sheet: first.name }, opts), sheet: first.name };
}

/**
 * Look up every voted image; replace names by the files found (merging two spellings of one file). A vote
 * that merging turns into a self-comparison is a problem at its row.
 */
async function checkImages(read: VoteReadResult, imagesDir: string, file: string, concurrency: number): Promise<{ votes: VoteSet; voteRows: Int32Array; problems: Problem[]; notes: string[] }> {
  const { votes, firstSeen } = read;
  const found: (string | null)[] = new Array(votes.images.length).fill(null);
  const missing: { id: number; kind: Problem["kind"]; message: string }[] = [];
  const limit = pLimit(concurrency);
  const find = imageFinder(imagesDir);
  await Promise.all(
    votes.images.map((name, id) =>
      limit(async () => {
        const r = await find(name);
        if (r.ok) found[id] = r.file;
        else missing.push({ id, kind: r.kind, message: r.message });
      }),
    ),
  );
  const notes: string[] = [];
  if (missing.length) {
    const perImage = votesPerImage(votes);
    const problems: Problem[] = missing.map((m) => ({
      file,
      row: firstSeen[m.id]!.row,
      column: firstSeen[m.id]!.column,
      kind: m.kind,
      message: `${m.message}${perImage[m.id]! > 1 ? ` (in ${perImage[m.id]} votes)` : ""}`,
    }));
    return { votes, voteRows: read.voteRows, problems, notes };
  }
  const problems: Problem[] = [];
  const builder = new VoteSetBuilder();
  const renamed = found.filter((f, id) => f !== votes.images[id]).length;
  const rows: number[] = [];
  for (let v = 0; v < votes.count; v++) {
    const l = found[votes.left[v]]!;
    const r = found[votes.right[v]]!;
    if (l === r) {
      problems.push({ file, row: read.voteRows[v], kind: "self-comparison", message: `"${votes.images[votes.left[v]]}" and "${votes.images[votes.right[v]]}" are the same file "${l}"` });
      continue;
    }
    builder.add(l, r, votes.outcome[v] as 0 | 1 | 2);
    rows.push(read.voteRows[v]!);
  }
  if (renamed) notes.push(`${renamed} image name${renamed === 1 ? "" : "s"} found under another path in the images folder (e.g. "${votes.images[found.findIndex((f, id) => f !== votes.images[id])]}" as "${found.find((f, id) => f !== votes.images[id])}")`);
  return { votes: builder.build(), voteRows: Int32Array.from(rows), problems, notes };
}

function votesPerImage(votes: VoteSet): Int32Array {
  const n = new Int32Array(votes.images.length);
  for (let v = 0; v < votes.count; v++) {
    n[votes.left[v]!]++;
    n[votes.right[v]!]++;
  }
  return n;
}

/**
 * Load a votes file. Never throws on bad input: every problem is in `problems` (file, sheet, row, column);
 * `votes` holds the votes that passed.
 */
export async function loadVotes(file: string, opts: LoadVotesOptions): Promise<VotesFile> {
  const fmt = tableFormat(file);
  const format: VotesFile["format"] = fmt === "csv" || fmt === "xlsx" ? fmt : "unknown";
  const base = { file, format, sha256: "", imagesDir: opts.images };
  const notes: string[] = [];
  if (format === "unknown") return { ...base, ...emptyResult(), problems: [unsupportedFileProblem(file, VOTE_FILE_EXTENSIONS)] };
  if (opts.sheet !== undefined && format !== "xlsx") notes.push(`the sheet option ("${opts.sheet}") applies to .xlsx files only; ignored`);
  let read: VoteReadResult & { sheet?: string };
  if (format === "csv") {
    try {
      base.sha256 = await fileSha256(file);
    } catch (e) {
      return { ...base, ...emptyResult(), problems: [unreadableFileProblem(file, e)] };
    }
    read = await readCsv(file, opts, notes);
  } else {
    const bytes = await readInputFile(file);
    if (!bytes.ok) return { ...base, ...emptyResult(), problems: [bytes.problem] };
    base.sha256 = createHash("sha256").update(bytes.buf).digest("hex");
    read = await readXlsx(file, bytes.buf, opts);
  }
  const { firstSeen: _firstSeen, ...rest } = read;
  const result: VotesFile = { ...base, ...rest, notes: [...notes, ...read.notes] };
  // The images of the rows that passed are looked up even when other rows have problems: one pass
  // shows every problem.
  const checked = await checkImages(read, opts.images, file, opts.concurrency ?? 16);
  result.votes = checked.votes;
  result.voteRows = checked.voteRows;
  result.problems = [...read.problems, ...checked.problems].sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
  result.notes.push(...checked.notes);
  return result;
}

/** `loadVotes`, throwing an InputError with every problem when there is any. */
export async function loadVotesOrThrow(file: string, opts: LoadVotesOptions): Promise<VotesFile> {
  const r = await loadVotes(file, opts);
  if (r.problems.length) throw new InputError(r.problems, `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} in the votes ${file}`);
  return r;
}
