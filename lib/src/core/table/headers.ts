/** Which column is which: headers matched by name (case, spaces, "_", "-", ".", bracketed units ignored). */

/** Compare headers without case, spaces, "_", "-", "." and anything in () or [] ("Score (1-10)"). */
export function normaliseHeader(h: string): string {
  return h
    .replace(/^\uFEFF/, "")
    .replace(/\([^)]*\)|\[[^\]]*\]/g, "")
    .toLowerCase()
    .replace(/[\s_\-.]+/g, "");
}

/** Index of the first of `names` (in their order of preference) found among the headers, or −1. */
export function findColumn(headers: readonly string[], names: readonly string[]): number {
  const norm = headers.map(normaliseHeader);
  for (const name of names) {
    const i = norm.indexOf(normaliseHeader(name));
    if (i >= 0) return i;
  }
  return -1;
}

/** The named headers, quoted, for "columns found: …" messages. */
export function listHeaders(headers: readonly string[]): string {
  const named = headers.filter((h) => h.trim() !== "");
  return named.length ? named.map((h) => `"${h}"`).join(", ") : "none";
}
