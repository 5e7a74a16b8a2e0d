/**
 * Pairwise votes from a table: columns `left`, `right`, `winner` and an optional question/study column →
 * a VoteSet, with every problem reported at once (file, sheet, row, column), as ground truth is.
 *
 * Rows arrive one at a time (`VoteReader.row`), so a streamed CSV of a million votes never sits in memory
 * as text; `readVoteTable` feeds a table already in memory (an XLSX sheet, a test). No file IO here:
 * files are opened in load.ts, and image files are looked up there after reading.
 *
 * Image cells follow the project's path rules (core/image.ts `normaliseImagePath`): absolute paths are
 * reduced to the file name, `..` that leaves the images folder is a path-escape problem.
 *
 * Winner cells are read in this order (case and spaces/underscores/hyphens/dots ignored):
 * 1. the exact text of the left or the right image cell (a winner given by image name);
 * 2. the left or right column's own header (Place Pulse style `agent_a` / `agent_b`);
 * 3. words: left, l, first, 1st, a, image a, left image … / right, r, second, 2nd, b … /
 *    equal, tie, tied, draw, drawn, same, both, neither, none, no preference, "=";
 * 4. numbers, only through `numericWinner` (e.g. { left: 0, right: 1, equal: 0.5 }): a bare number could
 *    mean either side, and guessing would silently flip every vote, so without the option a numeric winner
 *    is an "ambiguous-winner" problem.
 * The same pair voted several times stays several votes, in file order (TrueSkill depends on that order).
 * Votes on different questions (a study column with "safer" and "livelier") are never pooled: without a
 * question filter such a table is a "mixed-questions" problem.
 */
import type { Problem, ProblemKind, ProblemLocation } from "../../core/errors";
import { normaliseImagePath } from "../../core/image";
import { cellText, type Plain } from "../../core/table/cells";
import { findColumn, listHeaders, normaliseHeader } from "../../core/table/headers";
import { isEmptyRow, type Table, type TableRow } from "../../core/table/rows";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, type Outcome, type VoteSet } from "./vote-set";

export interface VoteColumns {
  left?: string;
  right?: string;
  winner?: string;
  question?: string;
}

export interface VoteReadOptions {
  /** Column names to use instead of the automatic match (as written in the header). */
  columns?: VoteColumns;
  /**
   * Keep only votes on these questions (case and spacing ignored; e.g. Place Pulse's "safer"). Needed when
   * the table has a question column with several questions; rows of other questions are skipped and counted.
   */
  question?: string | readonly string[];
  /** How numeric winner cells are coded, e.g. { left: 0, right: 1, equal: 0.5 }. */
  numericWinner?: { left: number; right: number; equal?: number };
}

/** What reading a votes table gives: the valid votes, every problem, and what was read. */
export interface VoteReadResult {
  votes: VoteSet;
  /** Row number of each vote in the file (parallel to the VoteSet's arrays). */
  voteRows: Int32Array;
  /** Per image id: the row and column that first named it (for problems about the image itself). */
  firstSeen: { row: number; column: string }[];
  problems: Problem[];
  /** Columns used, as written in the header ("" when not found). */
  columns: { left: string; right: string; winner: string; question?: string };
  /** Non-empty data rows read. */
  rowsRead: number;
  /** Rows left out because their question was not selected. */
  skippedOtherQuestions: number;
  /** Rows per question value (lower case), when there is a question column. */
  questions: Record<string, number>;
  notes: string[];
}

export const LEFT_COLUMNS = ["left", "left_image", "image_left", "left_id", "img_left", "left_img", "image_a", "image1", "image_1", "img_a", "img1", "agent_a", "first", "first_image", "a"];
export const RIGHT_COLUMNS = ["right", "right_image", "image_right", "right_id", "img_right", "right_img", "image_b", "image2", "image_2", "img_b", "img2", "agent_b", "second", "second_image", "b"];
export const WINNER_COLUMNS = ["winner", "choice", "chosen", "preferred", "preference", "selected", "answer", "result", "outcome", "vote", "safer"];
export const QUESTION_COLUMNS = ["question", "study_question", "study", "category", "attribute", "perception", "criterion", "dimension", "task"];

const LEFT_WORDS = ["left", "l", "first", "1st", "a", "image a", "left image", "image left", "lhs"];
const RIGHT_WORDS = ["right", "r", "second", "2nd", "b", "image b", "right image", "image right", "rhs"];
const EQUAL_WORDS = ["equal", "equally", "tie", "tied", "draw", "drawn", "same", "both", "neither", "none", "no preference", "=", "eq"];

const wordSet = (words: readonly string[]) => new Set(words.map(normaliseHeader));
const LEFT_SET = wordSet(LEFT_WORDS);
const RIGHT_SET = wordSet(RIGHT_WORDS);
const EQUAL_SET = wordSet(EQUAL_WORDS);

function text(v: Plain | undefined): string {
  return cellText(v).trim();
}

function shownText(t: string): string {
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}…` : t);
}

type WinnerRead = { ok: true; outcome: Outcome } | { ok: false; kind: ProblemKind; message: string };

/** Memoised string function: image names and winner words repeat across many rows. */
function memo<T>(f: (s: string) => T): (s: string) => T {
  const cache = new Map<string, T>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = f(s);
      cache.set(s, v);
    }
    return v;
  };
}

function readWinner(
  cell: Plain | undefined,
  leftRaw: string,
  rightRaw: string,
  sides: { left: string; right: string },
  numeric: VoteReadOptions["numericWinner"],
  normalise: (s: string) => string,
): WinnerRead {
  const t = text(cell);
  if (t === "") return { ok: false, kind: "empty-winner", message: "the winner is empty" };
  // 1. by image name
  if (leftRaw !== "" && t === leftRaw && t !== rightRaw) return { ok: true, outcome: LEFT };
  if (rightRaw !== "" && t === rightRaw && t !== leftRaw) return { ok: true, outcome: RIGHT };
  const w = normalise(t);
  // 2. by the side's column header (normalised)
  if (w === sides.left) return { ok: true, outcome: LEFT };
  if (w === sides.right) return { ok: true, outcome: RIGHT };
  // 3. words
  if (LEFT_SET.has(w)) return { ok: true, outcome: LEFT };
  if (RIGHT_SET.has(w)) return { ok: true, outcome: RIGHT };
  if (EQUAL_SET.has(w)) return { ok: true, outcome: EQUAL };
  // 4. numbers
  const num = typeof cell === "number" ? cell : /^[-+]?\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
  if (Number.isFinite(num)) {
    if (!numeric) {
      return {
        ok: false,
        kind: "ambiguous-winner",
        message: `winner ${shownText(t)} is a number, which could mean either side; say how numbers are coded (--numeric-winner LEFT,RIGHT[,EQUAL], e.g. 0,1,0.5) or write left / right / equal`,
      };
    }
    if (num === numeric.left) return { ok: true, outcome: LEFT };
    if (num === numeric.right) return { ok: true, outcome: RIGHT };
    if (numeric.equal !== undefined && num === numeric.equal) return { ok: true, outcome: EQUAL };
    const codes = `left = ${numeric.left}, right = ${numeric.right}${numeric.equal !== undefined ? `, equal = ${numeric.equal}` : ""}`;
    return { ok: false, kind: "invalid-winner", message: `winner ${num} is not one of the numeric codes (${codes})` };
  }
  return {
    ok: false,
    kind: "invalid-winner",
    message: `winner ${shownText(t)} names neither side: expected the left image (${shownText(leftRaw)}), the right image (${shownText(rightRaw)}), left / right, or equal / tie / draw`,
  };
}

/** Growable Int32 list (the row number of each vote). */
class IntList {
  private data = new Int32Array(1024);
  size = 0;
  push(x: number): void {
    if (this.size === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.size++] = x;
  }
  toArray(): Int32Array {
    return this.data.slice(0, this.size);
  }
}

/** Reads a votes table row by row: `header` once, `row` per data row, `finish` at the end. */
export class VoteReader {
  private readonly problems: Problem[] = [];
  private readonly notes: string[] = [];
  private readonly builder = new VoteSetBuilder();
  private readonly rows = new IntList();
  private readonly firstSeen: { row: number; column: string }[] = [];
  private readonly questionCounts = new Map<string, number>();
  private readonly wanted: Set<string> | undefined;
  private headers: string[] = [];
  private headerRow = 1;
  private cols = { left: -1, right: -1, winner: -1, question: -1 };
  private sides = { left: "", right: "" };
  // image names and winner words repeat over many rows: each distinct text is checked once
  private readonly imagePath = memo(normaliseImagePath);
  private readonly word = memo(normaliseHeader);
  private ready = false;
  private rowsRead = 0;
  private skippedOtherQuestions = 0;

  constructor(
    private readonly base: ProblemLocation,
    private readonly opts: VoteReadOptions = {},
  ) {
    const q = opts.question;
    this.wanted = q === undefined ? undefined : new Set((typeof q === "string" ? [q] : q).map(normaliseHeader));
  }

  /** Match the columns; false (with problems) when the table cannot be read as votes. */
  header(headerRow: number, headers: string[]): boolean {
    this.headerRow = headerRow;
    this.headers = headers;
    const at = { ...this.base, row: headerRow };
    const given = this.opts.columns ?? {};
    const pick = (name: string | undefined, names: readonly string[], what: string): number => {
      if (name === undefined) return findColumn(headers, names);
      const i = headers.indexOf(name);
      const j = i >= 0 ? i : findColumn(headers, [name]);
      if (j < 0) this.problems.push({ ...at, kind: "missing-column", message: `the ${what} column "${name}" is not in the header (columns: ${listHeaders(headers)})` });
      return j;
    };
    this.cols = {
      left: pick(given.left, LEFT_COLUMNS, "left"),
      right: pick(given.right, RIGHT_COLUMNS, "right"),
      winner: pick(given.winner, WINNER_COLUMNS, "winner"),
      question: pick(given.question, QUESTION_COLUMNS, "question"),
    };
    const missing: string[] = [];
    if (this.cols.left < 0 && given.left === undefined) missing.push(`a left-image column (${LEFT_COLUMNS.join(", ")})`);
    if (this.cols.right < 0 && given.right === undefined) missing.push(`a right-image column (${RIGHT_COLUMNS.join(", ")})`);
    if (this.cols.winner < 0 && given.winner === undefined) missing.push(`a winner column (${WINNER_COLUMNS.join(", ")})`);
    if (missing.length) this.problems.push({ ...at, kind: "missing-column", message: `no ${missing.join(", no ")} found; columns found: ${listHeaders(headers)}` });
    const used = [this.cols.left, this.cols.right, this.cols.winner].filter((c) => c >= 0);
    if (new Set(used).size < used.length) this.problems.push({ ...at, kind: "invalid-option", message: "the left, right and winner columns must be three different columns" });
    if (this.wanted && this.cols.question < 0 && given.question === undefined) {
      this.problems.push({ ...at, kind: "missing-column", message: `a question filter was given but the table has no question column (${QUESTION_COLUMNS.join(", ")})` });
    }
    this.ready = this.problems.length === 0;
    if (this.ready) this.sides = { left: normaliseHeader(headers[this.cols.left]!), right: normaliseHeader(headers[this.cols.right]!) };
    return this.ready;
  }

  row(r: TableRow): void {
    if (!this.ready || isEmptyRow(r)) return;
    this.rowsRead++;
    const { headers, cols } = this;
    const at = { ...this.base, row: r.row };
    if (cols.question >= 0) {
      const q = text(r.cells[cols.question]);
      if (q === "") {
        this.problems.push({ ...at, column: headers[cols.question], kind: "empty-question", message: "the question is empty, so the vote cannot be given to a study" });
        return;
      }
      const key = q.toLowerCase();
      this.questionCounts.set(key, (this.questionCounts.get(key) ?? 0) + 1);
      if (this.wanted && !this.wanted.has(this.word(q))) {
        this.skippedOtherQuestions++;
        return;
      }
    }
    const leftRaw = text(r.cells[cols.left]);
    const rightRaw = text(r.cells[cols.right]);
    const li = this.imagePath(leftRaw);
    const ri = this.imagePath(rightRaw);
    let bad = false;
    if (!li.ok) {
      this.problems.push({ ...at, column: headers[cols.left], kind: li.kind, message: li.message.replace(/^the image/, "the left image") });
      bad = true;
    }
    if (!ri.ok) {
      this.problems.push({ ...at, column: headers[cols.right], kind: ri.kind, message: ri.message.replace(/^the image/, "the right image") });
      bad = true;
    }
    if (li.ok && ri.ok && li.value === ri.value) {
      this.problems.push({ ...at, column: headers[cols.right], kind: "self-comparison", message: `image "${li.value}" is compared with itself` });
      bad = true;
    }
    const w = readWinner(r.cells[cols.winner], leftRaw, rightRaw, this.sides, this.opts.numericWinner, this.word);
    if (!w.ok) {
      this.problems.push({ ...at, column: headers[cols.winner], kind: w.kind, message: w.message });
      bad = true;
    }
    if (bad || !li.ok || !ri.ok || !w.ok) return;
    const l = this.imageId(li.value, r.row, headers[cols.left]!);
    const rt = this.imageId(ri.value, r.row, headers[cols.right]!);
    this.builder.add(l, rt, w.outcome);
    this.rows.push(r.row);
  }

  private imageId(name: string, row: number, column: string): number {
    const id = this.builder.imageId(name);
    if (id === this.firstSeen.length) this.firstSeen.push({ row, column });
    return id;
  }

  finish(): VoteReadResult {
    const { headers, cols, problems } = this;
    if (this.ready && this.rowsRead === 0) problems.push({ ...this.base, kind: "empty-file", message: "there is a header but no vote rows" });
    if (this.ready && cols.question >= 0) {
      const at = { ...this.base, row: this.headerRow, column: headers[cols.question] };
      const listing = [...this.questionCounts].map(([q, c]) => `"${q}" ×${c}`).join(", ");
      if (!this.wanted && this.questionCounts.size > 1) {
        problems.push({
          ...at,
          kind: "mixed-questions",
          message: `the votes answer ${this.questionCounts.size} different questions (${listing}); votes on different questions must not be pooled — choose one (--question)`,
        });
      }
      if (this.wanted) {
        const seen = new Set([...this.questionCounts.keys()].map(normaliseHeader));
        for (const q of this.wanted) {
          if (!seen.has(q)) problems.push({ ...at, kind: "unknown-question", message: `no vote answers the question "${q}"; questions found: ${listing || "none"}` });
        }
        if (this.skippedOtherQuestions) this.notes.push(`kept question${this.wanted.size > 1 ? "s" : ""} ${[...this.wanted].join(", ")}; skipped ${this.skippedOtherQuestions} votes on other questions`);
      }
    }
    return {
      votes: this.builder.build(),
      voteRows: this.rows.toArray(),
      firstSeen: this.firstSeen,
      problems,
      columns: {
        left: cols.left >= 0 ? headers[cols.left]! : "",
        right: cols.right >= 0 ? headers[cols.right]! : "",
        winner: cols.winner >= 0 ? headers[cols.winner]! : "",
        ...(cols.question >= 0 ? { question: headers[cols.question]! } : {}),
      },
      rowsRead: this.rowsRead,
      skippedOtherQuestions: this.skippedOtherQuestions,
      questions: Object.fromEntries(this.questionCounts),
      notes: this.notes,
    };
  }
}

/** Read a table already in memory (an XLSX sheet, a test). */
export function readVoteTable(table: Table | null, base: ProblemLocation, opts: VoteReadOptions = {}): VoteReadResult {
  const reader = new VoteReader(base, opts);
  if (!table) {
    const r = reader.finish();
    r.problems.push({ ...base, kind: "empty-file", message: base.sheet ? "the sheet is empty" : "the file is empty" });
    return r;
  }
  if (reader.header(table.headerRow, table.headers)) for (const row of table.rows) reader.row(row);
  return reader.finish();
}
