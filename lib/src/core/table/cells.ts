/** One spreadsheet or CSV cell as a plain value, and as text (for tables of any kind: ground truth, votes). */
import type ExcelJS from "exceljs";

export type Plain = string | number | boolean | Date | null;

/** An exceljs cell value (rich text, formula result, hyperlink…) as a plain value. */
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

export function cellText(v: Plain | undefined): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** A cell's text, trimmed, quoted and cut at 60 characters, for problem messages. */
export function shown(v: Plain): string {
  const t = cellText(v).trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}…` : t);
}
