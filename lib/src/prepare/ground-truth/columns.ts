/** Which column is which: headers matched by name (case, spaces, "_", bracketed units ignored). */

/** Compare headers without case, spaces, "_", "-", "." and anything in () or [] ("Score (1-10)"). */
export function normaliseHeader(h: string): string {
  return h
    .replace(/^\uFEFF/, "")
    .replace(/\([^)]*\)|\[[^\]]*\]/g, "")
    .toLowerCase()
    .replace(/[\s_\-.]+/g, "");
}

export const IMAGE_NAMES = ["image", "image_path", "imagepath", "image_name", "filename", "file_name", "file", "path", "img"];
/** Numeric score columns: preferred over response-text columns when a table has both. */
export const SCORE_NAMES = ["score", "safety_score", "safety", "rating", "label_score", "perceived_safety"];
export const RESPONSE_NAMES = ["expected_response", "response", "answer", "output"];
export const REASON_NAMES = ["reasons", "reason", "reasoning", "explanation", "rationale", "comments", "comment"];
export const TASK_NAMES = ["task_type", "task", "tasktype"];

export function findColumn(headers: string[], names: string[]): number {
  const norm = headers.map(normaliseHeader);
  for (const name of names) {
    const i = norm.indexOf(normaliseHeader(name));
    if (i >= 0) return i;
  }
  return -1;
}

export interface ColumnIndex {
  image: number;
  score: number;
  reasons: number;
  task: number;
}

export function resolveColumns(headers: string[]): ColumnIndex {
  let score = findColumn(headers, SCORE_NAMES);
  if (score < 0) score = findColumn(headers, RESPONSE_NAMES);
  return {
    image: findColumn(headers, IMAGE_NAMES),
    score,
    reasons: findColumn(headers, REASON_NAMES),
    task: findColumn(headers, TASK_NAMES),
  };
}

export function listHeaders(headers: string[]): string {
  const named = headers.filter((h) => h.trim() !== "");
  return named.length ? named.map((h) => `"${h}"`).join(", ") : "none";
}

export function missingColumnsMessage(headers: string[], cols: ColumnIndex): string {
  const missing: string[] = [];
  if (cols.image < 0) missing.push(`an image column (${IMAGE_NAMES.join(", ")})`);
  if (cols.score < 0) missing.push(`a score column (${[...SCORE_NAMES, ...RESPONSE_NAMES].join(", ")})`);
  return `no ${missing.join(" and no ")} found; columns found: ${listHeaders(headers)}`;
}
