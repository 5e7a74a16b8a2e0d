/** Where a problem in the user's input is, as precisely as we know it. */
export interface ProblemLocation {
  file: string;
  sheet?: string;
  /** 1-based row as the user sees it in a spreadsheet or editor (header = row 1 for CSV/XLSX). */
  row?: number;
  column?: string;
}

export type ProblemKind =
  | "empty-file"
  | "unreadable-file"
  | "unsupported-file"
  | "missing-sheet"
  | "missing-column"
  | "empty-score"
  | "non-numeric-score"
  | "out-of-range-score"
  | "empty-image"
  | "duplicate-conflict"
  | "missing-image"
  | "undecodable-image"
  | "unsupported-image-format"
  | "path-escape"
  | "invalid-json"
  | "invalid-option"
  // pairwise votes (pairwise/votes/)
  | "self-comparison"
  | "empty-winner"
  | "invalid-winner"
  | "ambiguous-winner"
  | "empty-question"
  | "mixed-questions"
  | "unknown-question";

export interface Problem extends ProblemLocation {
  kind: ProblemKind;
  message: string;
}

/** A value read from the user's input, or the problem with it (its kind and message; the caller adds where). */
export type Checked<T> = { ok: true; value: T } | { ok: false; kind: ProblemKind; message: string };

export function formatLocation(p: ProblemLocation): string {
  const parts = [p.file];
  if (p.sheet) parts.push(`sheet "${p.sheet}"`);
  if (p.row !== undefined) parts.push(`row ${p.row}`);
  if (p.column) parts.push(`column "${p.column}"`);
  return parts.join(", ");
}

export function formatProblem(p: Problem): string {
  return `${formatLocation(p)}: ${p.message} [${p.kind}]`;
}

/** Bad user input: carries every problem found, so the user can fix them all in one pass. */
export class InputError extends Error {
  constructor(
    readonly problems: Problem[],
    headline = `${problems.length} problem${problems.length === 1 ? "" : "s"} in the input`,
  ) {
    const shown = problems.slice(0, 50).map((p) => `  - ${formatProblem(p)}`);
    if (problems.length > 50) shown.push(`  … and ${problems.length - 50} more`);
    super(`${headline}:\n${shown.join("\n")}`);
    this.name = "InputError";
  }
}

/** Counts per problem kind, for summaries and notebook tables. */
export function countByKind(problems: Problem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of problems) counts[p.kind] = (counts[p.kind] ?? 0) + 1;
  return counts;
}

/**
 * A setup problem, raised where a model (or a client for an API) is made and cannot work here: no key,
 * no weights, no Azure endpoint. Carries the reason shown as "skipped" and names the variable or flag
 * * that fixes it.
 */
export class ModelUnavailableError extends Error {
  constructor(
    readonly model: string,
    readonly reason: string,
  ) {
    super(`model "${model}" cannot run: ${reason}`);
    this.name = "ModelUnavailableError";
  }
}
