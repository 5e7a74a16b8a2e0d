/**
 * A text file's bytes as text: UTF-8 (with or without BOM), UTF-16 (with a BOM), else Windows-1252, the
 * choice said in a note. `decodeText` takes the bytes whole; `decodeFileChunks` streams a file of any size
 * (the encoding is found first: a BOM, else one fatal UTF-8 pass over the file).
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";

const NOTES: Partial<Record<TextEncoding, string>> = {
  "utf-16le": "read as UTF-16 (little-endian) text",
  "utf-16be": "read as UTF-16 (big-endian) text",
  "windows-1252": "the file is not valid UTF-8; read it as Windows-1252 (save as UTF-8 to be sure of accents)",
};

/** The encoding a byte-order mark names, and the mark's length; null without one. */
function bomOf(head: Uint8Array): { encoding: TextEncoding; length: number } | null {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: "utf-8", length: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf-16le", length: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf-16be", length: 2 };
  return null;
}

function noteFor(encoding: TextEncoding, notes: string[]): void {
  const note = NOTES[encoding];
  if (note) notes.push(note);
}

export function decodeText(buf: Buffer, notes: string[]): string {
  const bom = bomOf(buf);
  let encoding: TextEncoding = bom?.encoding ?? "utf-8";
  if (!bom) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf);
    } catch {
      encoding = "windows-1252";
    }
  }
  noteFor(encoding, notes);
  return new TextDecoder(encoding).decode(buf.subarray(bom?.length ?? 0));
}

/** Is the whole file valid UTF-8? Streams it through a fatal decoder (memory does not grow with the file). */
async function isUtf8(file: string): Promise<boolean> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch (e) {
    if (e instanceof TypeError) return false;
    throw e;
  }
}

/** The file's text in chunks, decoded as `decodeText` would decode it whole (same rules, same notes). */
export async function* decodeFileChunks(file: string, notes: string[]): AsyncGenerator<string> {
  const handle = await open(file, "r");
  const head = Buffer.alloc(4);
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const bom = bomOf(head);
  const encoding: TextEncoding = bom?.encoding ?? ((await isUtf8(file)) ? "utf-8" : "windows-1252");
  noteFor(encoding, notes);
  const decoder = new TextDecoder(encoding);
  for await (const chunk of createReadStream(file, { start: bom?.length ?? 0, highWaterMark: 1 << 16 })) {
    const text = decoder.decode(chunk as Buffer, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}
