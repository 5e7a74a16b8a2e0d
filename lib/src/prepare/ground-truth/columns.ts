/** Which ground-truth column is which: the names looked for (the matching rule: core/table/headers.ts). */
import { findColumn, listHeaders } from "../../core/table/headers";

export { findColumn };

export const IMAGE_NAMES = ["image", "image_path", "imagepath", "image_name", "filename", "file_name", "file", "path", "img"];
/** Numeric score columns: preferred over response-text columns when a table has both. */
export const SCORE_NAMES = ["score", "safety_score", "safety", "rating", "label_score", "perceived_safety"];
export const RESPONSE_NAMES = ["expected_response", "response", "answer", "output"];
export const REASON_NAMES = ["reasons", "reason", "reasoning", "explanation", "rationale", "comments", "comment"];
export const TASK_NAMES = ["task_type", "task", "tasktype"];

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

export function missingColumnsMessage(headers: string[], cols: ColumnIndex): string {
  const missing: string[] = [];
  if (cols.image < 0) missing.push(`an image column (${IMAGE_NAMES.join(", ")})`);
  if (cols.score < 0) missing.push(`a score column (${[...SCORE_NAMES, ...RESPONSE_NAMES].join(", ")})`);
  return `no ${missing.join(" and no ")} found; columns found: ${listHeaders(headers)}`;
}
