/** A table file as given by the user: its format from the extension, its bytes, or the problem reading it. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../errors";

export type TableFormat = "csv" | "xlsx" | "json" | "unknown";
export const CSV_EXTENSIONS = [".csv", ".tsv", ".txt"];

export function tableFormat(file: string): TableFormat {
  const ext = path.extname(file).toLowerCase();
  return CSV_EXTENSIONS.includes(ext) ? "csv" : ext === ".xlsx" ? "xlsx" : ext === ".json" ? "json" : "unknown";
}

/** The problem for a file of a type the reader does not take; `accepted` lists the extensions it does. */
export function unsupportedFileProblem(file: string, accepted: readonly string[]): Problem {
  const ext = path.extname(file).toLowerCase();
  const list = accepted.length > 1 ? `${accepted.slice(0, -1).join(", ")} or ${accepted.at(-1)}` : accepted.join("");
  const message =
    ext === ".xls"
      ? "old Excel .xls files are not supported; open it in Excel or LibreOffice and save it as .xlsx"
      : `unsupported file type "${ext || "(no extension)"}"; use ${list}`;
  return { file, kind: "unsupported-file", message };
}

/** Why a file cannot be read: not found, a folder, or the system's reason. */
export function unreadableFileProblem(file: string, e: unknown): Problem {
  const code = (e as NodeJS.ErrnoException).code;
  const message = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a folder, not a file" : `cannot read the file: ${(e as Error).message}`;
  return { file, kind: "unreadable-file", message };
}

/** The file's bytes, or the problem: unreadable, or empty. */
export async function readInputFile(file: string): Promise<{ ok: true; buf: Buffer } | { ok: false; problem: Problem }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    return { ok: false, problem: unreadableFileProblem(file, e) };
  }
  if (buf.length === 0) return { ok: false, problem: { file, kind: "empty-file", message: "the file is empty" } };
  return { ok: true, buf };
}
