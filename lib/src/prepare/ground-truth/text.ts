/** A text file's bytes as text: UTF-8 (with or without BOM), UTF-16, else Windows-1252, said in a note. */

export function decodeText(buf: Buffer, notes: string[]): string {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString("utf8");
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    notes.push("read as UTF-16 (little-endian) text");
    return buf.subarray(2).toString("utf16le");
  }
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    notes.push("read as UTF-16 (big-endian) text");
    const body = Buffer.from(buf.subarray(2));
    body.swap16();
    return body.toString("utf16le");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    notes.push("the file is not valid UTF-8; read it as Windows-1252 (save as UTF-8 to be sure of accents)");
    return new TextDecoder("windows-1252").decode(buf);
  }
}
