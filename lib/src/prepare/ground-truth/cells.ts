/** One ground-truth cell: scores read strictly, image paths normalised (plain cell values: core/table/cells.ts). */
import { normaliseImagePath } from "../../core/image";
import { inScale, type Scale } from "../../core/scale";
import { cellText, shown, type Plain } from "../../core/table/cells";
import { parseScoreText } from "../../prompt/score-text";
import type { Checked } from "./types";

export function fmtScale(scale: Scale): string {
  return `${scale.min}–${scale.max}`;
}

export function scoreFromValue(v: Plain, scale: Scale): Checked<{ score: number; reasons: string[] }> {
  if (v === null || (typeof v === "string" && v.trim() === "")) {
    return { ok: false, kind: "empty-score", message: "the score is empty" };
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return { ok: false, kind: "non-numeric-score", message: `score ${v} is not a number` };
    if (!inScale(v, scale)) {
      return { ok: false, kind: "out-of-range-score", message: `score ${v} is outside the scale ${fmtScale(scale)}` };
    }
    return { ok: true, value: { score: v, reasons: [] } };
  }
  if (v instanceof Date) {
    return {
      ok: false,
      kind: "non-numeric-score",
      message: `the score cell holds a date (${v.toISOString().slice(0, 10)}); a spreadsheet may have turned "7/10" into a date — format the column as text or write plain numbers`,
    };
  }
  if (typeof v === "boolean") {
    return { ok: false, kind: "non-numeric-score", message: `the score cell holds ${String(v).toUpperCase()}, not a number` };
  }
  const r = parseScoreText(v, scale);
  if (r.ok) return { ok: true, value: { score: r.score, reasons: r.reasons } };
  switch (r.code) {
    case "empty":
      return { ok: false, kind: "empty-score", message: "the score is empty" };
    case "out-of-scale":
      return {
        ok: false,
        kind: "out-of-range-score",
        message: `score ${r.value}${String(r.value) === v.trim() ? "" : ` (written ${shown(v)})`} is outside the scale ${fmtScale(scale)}`,
      };
    default:
      return { ok: false, kind: "non-numeric-score", message: `${shown(v)} is not a score: ${r.reason}` };
  }
}

export function imageFromValue(v: Plain): Checked<string> {
  return normaliseImagePath(typeof v === "number" ? String(v) : cellText(v));
}
