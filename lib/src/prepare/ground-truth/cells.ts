/** One cell's value: plain values from CSV and XLSX cells, scores read strictly, image paths normalised. */
import * as path from "node:path";
import type ExcelJS from "exceljs";
import { inScale, type Scale } from "../../core/scale";
import { parseScoreText } from "../../prompt/score-text";
import type { Checked } from "./types";

export type Plain = string | number | boolean | Date | null;

export function plainCell(v: ExcelJS.CellValue | unknown): Plain {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v instanceof Date) return v;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) return (o.richText as { text?: string }[]).map((r) => r.text ?? "").join("");
    if ("formula" in o || "sharedFormula" in o) return plainCell(o.result);
    if ("hyperlink" in o) return plainCell(o.text ?? o.hyperlink);
    if (typeof o.error === "string") return o.error;
    if ("text" in o) return plainCell(o.text);
  }
  return String(v);
}

export function cellText(v: Plain): string {
  if (v === null) return "";
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export function shown(v: Plain): string {
  const t = cellText(v).trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}…` : t);
}

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

/**
 * Normalise an image path as written by the user:
 * - absolute paths (`C:\data\imgs\12.jpg`, `\\server\share\12.jpg`, `/home/x/12.jpg`, `~/x/12.jpg`,
 *   `file:///…`) are reduced to the file name (the images folder is given separately);
 * - relative paths keep their folders, with `\` turned into `/` and `.`/`..` segments resolved;
 *   one that leaves the images folder (`../x.jpg`) is a path-escape problem.
 */
export function normaliseImagePath(raw: string): Checked<string> {
  let p = raw.trim().replace(/^(["'])(.*)\1$/, "$2").trim();
  if (p === "") return { ok: false, kind: "empty-image", message: "the image is empty" };
  if (/^file:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(p.replace(/^file:\/\/[^/]*/i, ""));
    } catch {
      p = p.replace(/^file:\/\/[^/]*/i, "");
    }
  }
  const absolute = /^[A-Za-z]:[\\/]/.test(p) || /^[\\/]/.test(p) || /^~[\\/]/.test(p);
  if (absolute) {
    const name = p.split(/[\\/]+/).filter((s) => s !== "" && s !== "." && s !== "..").pop();
    if (!name || /^[A-Za-z]:$/.test(name) || name === "~") {
      return { ok: false, kind: "empty-image", message: `image path "${raw.trim()}" names no file` };
    }
    return { ok: true, value: name };
  }
  const norm = path.posix.normalize(p.replace(/\\/g, "/"));
  if (norm === ".." || norm.startsWith("../")) {
    return {
      ok: false,
      kind: "path-escape",
      message: `image path "${raw.trim()}" leads outside the images folder; give it relative to the images folder`,
    };
  }
  if (norm === "." || norm.endsWith("/")) {
    return { ok: false, kind: "empty-image", message: `image path "${raw.trim()}" names a folder, not a file` };
  }
  return { ok: true, value: norm.replace(/^\.\//, "") };
}

export function imageFromValue(v: Plain): Checked<string> {
  return normaliseImagePath(typeof v === "number" ? String(v) : cellText(v));
}
