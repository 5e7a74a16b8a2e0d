import type { Scale } from "../core/scale";
import { SCORE_LABEL } from "./score-position";

/** Why a text is not a score; lets callers map failures to problem kinds. */
export type ScoreTextFailure =
  | "empty" // nothing but whitespace
  | "no-score" // no bare number, no labelled score, no JSON score field
  | "ambiguous" // two different labelled scores, or a range such as "6-7"
  | "denominator" // "7/5" on a 1–10 scale: the denominator is not the scale's maximum
  | "out-of-scale" // a clear score that lies outside the scale (never clamped)
  | "invalid-json"; // looks like JSON (starts with "{" or a ```json fence) but does not parse

export type ScoreTextResult =
  | { ok: true; score: number; reasons: string[] }
  | {
      ok: false;
      reason: string;
      /** Machine-readable cause. */
      code: ScoreTextFailure;
      /** The number that was read, when one was (out-of-scale, denominator). */
      value?: number;
    };

const NUM = String.raw`[+-]?\d+(?:\.\d+)?`;
const DENOM = String.raw`(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))`;

/** A cell or reply that is only a number, optionally "/max" or "out of max". */
const BARE_RE = new RegExp(String.raw`^([+-]?\d+(?:[.,]\d+)?)${DENOM}?$`, "i");

/**
 * A labelled score: the label of score-position.ts (a whole word "score", "rating", "safety score",
 * "safety rating"; a preceding word such as "Overall" or "Final" is allowed because the match starts at
 * "score"; then ":" or "=", optionally wrapped in markdown bold or quotes), then the number, then an
 * optional denominator.
 */
const LABEL_RE = new RegExp(SCORE_LABEL + String.raw`(${NUM})(?!\d)(?:\*\*|__)?${DENOM}?(?:\*\*|__)?`, "gi");
/** What may not directly follow a labelled number: a range ("6-7", "6 to 7"), a percent, more digits. */
const AFTER_NUMBER_BAD_RE = /^(?:\s*(?:-|–|—|to)\s*\d|\s*%|\.\d|,\d)/i;

/** A "Reasons:" section label (also Reason, Reasoning, Explanation, Rationale, Justification). */
const REASONS_LABEL_RE = /\b(?:reasons?|reasoning|explanation|rationale|justification)\b\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?/i;

const FENCE_RE = /```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n?([\s\S]*?)```/g;

const JSON_SCORE_KEYS = ["score", "safetyscore", "safetyrating", "rating", "overallscore", "finalscore"];
const JSON_REASON_KEYS = ["reasons", "reason", "reasoning", "explanation", "rationale", "justification"];

function normKey(k: string): string {
  return k.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function fmtScale(scale: Scale): string {
  return `${scale.min}–${scale.max}`;
}

function fail(code: ScoreTextFailure, reason: string, value?: number): ScoreTextResult {
  return value === undefined ? { ok: false, code, reason } : { ok: false, code, reason, value };
}

function checked(value: number, denom: string | undefined, scale: Scale, reasons: string[]): ScoreTextResult {
  if (!Number.isFinite(value)) return fail("no-score", "the number is not finite");
  if (denom !== undefined && Number(denom) !== scale.max) {
    return fail(
      "denominator",
      `"${value}/${denom}" is out of ${denom}, but the scale is ${fmtScale(scale)} (expected "/${scale.max}")`,
      value,
    );
  }
  if (value < scale.min || value > scale.max) {
    return fail("out-of-scale", `${value} is outside the scale ${fmtScale(scale)}`, value);
  }
  return { ok: true, score: value, reasons };
}

/** Split a reasons text into items: newlines, ";" and bullet markers separate; commas do not. */
export function splitReasons(text: string): string[] {
  return text
    .split(/\r?\n|;|(?:^|\s)[•·▪‣](?=\s)/)
    .map((s) =>
      s
        .trim()
        .replace(/^(?:[-*•·▪‣]|\d+[.)])\s+/, "")
        .replace(/^(?:\*\*|__)|(?:\*\*|__)$/g, "")
        .trim(),
    )
    .filter((s) => s.length > 0);
}

function reasonsFromJson(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return splitReasons(value);
  if (Array.isArray(value)) {
    return value
      .filter((v) => v !== null && v !== undefined)
      .map((v) => (typeof v === "string" ? v.trim() : JSON.stringify(v)))
      .filter((s) => s.length > 0);
  }
  return [JSON.stringify(value)];
}

function parseJsonObject(text: string, scale: Scale): ScoreTextResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail("invalid-json", `looks like JSON but does not parse (${(e as Error).message})`);
  }
  if (typeof data === "number") return checked(data, undefined, scale, []);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return fail("no-score", "JSON is not an object with a score field");
  }
  const obj = data as Record<string, unknown>;
  const found: { key: string; value: unknown }[] = [];
  let reasonsValue: unknown;
  for (const [k, v] of Object.entries(obj)) {
    const nk = normKey(k);
    if (JSON_SCORE_KEYS.includes(nk)) found.push({ key: k, value: v });
    else if (reasonsValue === undefined && JSON_REASON_KEYS.includes(nk)) reasonsValue = v;
  }
  if (found.length === 0) {
    return fail("no-score", `JSON has no score field (looked for: score, safety_score, rating, …; found: ${Object.keys(obj).join(", ") || "nothing"})`);
  }
  const reasons = reasonsFromJson(reasonsValue);
  const results: ScoreTextResult[] = found.map(({ key, value }) => {
    if (typeof value === "number") return checked(value, undefined, scale, reasons);
    if (typeof value === "string") {
      const m = BARE_RE.exec(value.trim());
      if (m) return checked(Number(m[1]!.replace(",", ".")), m[2], scale, reasons);
      return fail("no-score", `JSON field "${key}" is not a number: ${JSON.stringify(value)}`);
    }
    if (value === null) return fail("empty", `JSON field "${key}" is null`);
    return fail("no-score", `JSON field "${key}" is not a number: ${JSON.stringify(value)}`);
  });
  const oks = results.filter((r): r is Extract<ScoreTextResult, { ok: true }> => r.ok);
  const distinct = new Set(oks.map((r) => r.score));
  if (distinct.size > 1) {
    return fail("ambiguous", `JSON has different scores: ${found.map((f) => `${f.key}=${JSON.stringify(f.value)}`).join(", ")}`);
  }
  // Any failing score field makes the whole reply fail: a half-valid answer is not a clear score.
  const firstFail = results.find((r) => !r.ok);
  return firstFail ?? oks[0]!;
}

/**
 * Parse a score written as text — a ground-truth cell or a model's reply — strictly.
 *
 * Accepted (case-insensitive; surrounding whitespace ignored):
 * - a bare number: `7`, `7.5`, ` 7 `, `7,5` (decimal comma), optionally with the scale's maximum as
 *   denominator: `7/10`, `7 out of 10`;
 * - a labelled score anywhere in the text: `Score: 7/10`, `Safety Score: 4`, `safety score = 7`,
 *   `Rating: 8`, `**Safety Score:** 6`, `Final score: 7 out of 10`. The label must be a whole word
 *   (score, rating, safety score, safety rating) followed by `:` or `=`. The same score labelled twice
 *   is fine; two *different* labelled scores fail as ambiguous;
 * - JSON: `{"score": 7, "reasons": [...]}`, `{"safety_score": 7}`, `{"rating": "7/10"}` (keys
 *   compared without case/punctuation: score, safety_score, safety_rating, rating, overall_score,
 *   final_score); the JSON may be the whole text or inside a ``` / ```json code fence.
 *
 * Reasons: from JSON `reasons`/`reason`/`reasoning`/`explanation`/`rationale` (a list, or a string
 * split on newlines and ";"); for a labelled score, from a `Reasons:` / `Reasoning:` / `Explanation:`
 * section if there is one (split on newlines, bullets and ";" — not on commas), otherwise from the
 * text after the score (`Score: 7/10. The street is well lit` → `["The street is well lit"]`).
 *
 * Rejected: prose with numbers but no labelled score ("There are 3 cars…" — the first number is never
 * taken), a label without a number ("the score is unclear"), ranges ("Score: 6-7"), percentages, a
 * denominator other than the scale's maximum ("7/5" on 1–10), and scores outside the scale (reported,
 * never clamped).
 */
export function parseScoreText(text: string, scale: Scale): ScoreTextResult {
  const trimmed = text.replace(/^\uFEFF/, "").trim();
  if (trimmed === "") return fail("empty", "the text is empty");

  // 1. A bare number (the usual ground-truth cell).
  const bare = BARE_RE.exec(trimmed);
  if (bare) return checked(Number(bare[1]!.replace(",", ".")), bare[2], scale, []);

  // 2. JSON: the whole text, or the first code fence that holds an object.
  if (trimmed.startsWith("{")) return parseJsonObject(trimmed, scale);
  for (const m of trimmed.matchAll(FENCE_RE)) {
    const lang = m[1]!.toLowerCase();
    const body = m[2]!.trim();
    if (body.startsWith("{") || lang === "json") return parseJsonObject(body, scale);
  }

  // 3. Labelled scores.
  const matches = [...trimmed.matchAll(LABEL_RE)];
  if (matches.length === 0) {
    return fail(
      "no-score",
      'no score found: expected a number, "Score: N", "Safety Score: N", "N/' +
        scale.max +
        '" or JSON with a score field (numbers in prose are not taken as the score)',
    );
  }
  const values: { value: number; denom: string | undefined; end: number; raw: string }[] = [];
  for (const m of matches) {
    const end = m.index! + m[0].length;
    if (AFTER_NUMBER_BAD_RE.test(trimmed.slice(end))) {
      const shown = trimmed.slice(m.index!, Math.min(trimmed.length, end + 8)).split(/\r?\n/)[0];
      return fail("ambiguous", `"${shown}" is a range or not a plain number`);
    }
    values.push({ value: Number(m[1]), denom: m[2], end, raw: m[0].trim() });
  }
  const distinct = new Set(values.map((v) => v.value));
  if (distinct.size > 1) {
    return fail("ambiguous", `different scores in one text: ${values.map((v) => `"${v.raw}"`).join(", ")}`);
  }
  for (const v of values) {
    const r = checked(v.value, v.denom, scale, []);
    if (!r.ok) return r;
  }

  // Reasons: a labelled section wins; otherwise whatever follows the (last) score.
  const last = values[values.length - 1]!;
  const section = REASONS_LABEL_RE.exec(trimmed);
  let reasonsText: string;
  if (section) {
    const start = section.index + section[0].length;
    // A "Reasons:" section written before the score stops where the score's label begins.
    const next = matches.find((m) => m.index! >= start);
    reasonsText = trimmed.slice(start, next ? next.index : undefined);
  } else {
    reasonsText = trimmed.slice(last.end).replace(/^[\s.,;:)\]}"'\-–—*_]+/, "");
  }
  return { ok: true, score: last.value, reasons: splitReasons(reasonsText) };
}
