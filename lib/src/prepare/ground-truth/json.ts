/** JSON manifests: `{"items": [...]}` or a top-level list of items with an image path and a score. */
import { z } from "zod";
import type { ProblemKind, ProblemLocation } from "../../core/errors";
import { splitReasons } from "../../prompt/score-text";
import { imageFromValue, scoreFromValue } from "./cells";
import { findColumn, IMAGE_NAMES, REASON_NAMES, RESPONSE_NAMES, SCORE_NAMES } from "./columns";
import { finish } from "./duplicates";
import { decodeText } from "../../core/table/text";
import type { Checked, Ctx, LoadResult, RowRecord } from "./types";

const JsonTop = z.union([z.array(z.unknown()), z.object({ items: z.array(z.unknown()) }).passthrough()]);
const JsonItem = z.object({
  image: z.union([z.string(), z.number()], {
    errorMap: (issue, ctx) =>
      issue.code === "invalid_union" || issue.code === "invalid_type"
        ? { message: ctx.data === undefined || ctx.data === null ? "is missing" : `must be a string, got ${JSON.stringify(ctx.data)}` }
        : { message: ctx.defaultError },
  }),
  score: z.unknown(),
  reasons: z
    .union([z.string(), z.array(z.string())], {
      errorMap: (_issue, ctx) => ({ message: `must be a list of strings or a string, got ${JSON.stringify(ctx.data)}` }),
    })
    .nullish(),
});

function jsonPosition(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return "";
  const before = text.slice(0, Number(m[1]));
  const line = before.split("\n").length;
  const col = before.length - before.lastIndexOf("\n");
  return ` (line ${line}, column ${col})`;
}

export function loadJson(ctx: Ctx, buf: Buffer): LoadResult {
  const res = ctx.result;
  const text = decodeText(buf, res.notes).replace(/^\uFEFF/, "");
  if (text.trim() === "") {
    res.problems.push({ file: ctx.file, kind: "empty-file", message: "the file is empty" });
    return res;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    res.problems.push({ file: ctx.file, kind: "invalid-json", message: `not valid JSON: ${(e as Error).message}${jsonPosition(text, e as Error)}` });
    return res;
  }
  const top = JsonTop.safeParse(data);
  if (!top.success) {
    res.problems.push({ file: ctx.file, kind: "invalid-json", message: 'expected {"items": [...]} or a list of items with image_path and score' });
    return res;
  }
  const list = Array.isArray(top.data) ? top.data : top.data.items;
  const prefix = Array.isArray(top.data) ? "" : "items";
  res.rowsRead = list.length;
  if (list.length === 0) {
    res.problems.push({ file: ctx.file, kind: "empty-file", message: "the manifest has no items" });
    return res;
  }
  const used = { image: new Map<string, number>(), score: new Map<string, number>(), reasons: new Map<string, number>() };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const records: RowRecord[] = [];
  list.forEach((raw, i) => {
    const col = (key: string) => `${prefix}[${i}].${key}`;
    const loc: ProblemLocation = { file: ctx.file, row: i };
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      res.problems.push({ ...loc, column: `${prefix}[${i}]`, kind: "invalid-json", message: `item is not an object: ${JSON.stringify(raw)}` });
      return;
    }
    const obj = raw as Record<string, unknown>;
    const keys = Object.keys(obj);
    const keyFor = (names: string[]) => keys[findColumn(keys, names)];
    const imageKey = keyFor(IMAGE_NAMES) ?? "image_path";
    const scoreKey = keyFor(SCORE_NAMES) ?? keyFor(RESPONSE_NAMES) ?? "score";
    const reasonsKey = keyFor(REASON_NAMES) ?? "reasons";
    bump(used.image, imageKey);
    bump(used.score, scoreKey);
    if (reasonsKey in obj) bump(used.reasons, reasonsKey);
    const parsed = JsonItem.safeParse({ image: obj[imageKey], score: obj[scoreKey], reasons: obj[reasonsKey] });
    let image: Checked<string> | undefined;
    let reasons: string[] = [];
    let bad = false;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path[0];
        if (field === "image") {
          const kind: ProblemKind = obj[imageKey] === undefined || obj[imageKey] === null ? "empty-image" : "invalid-json";
          res.problems.push({ ...loc, column: col(imageKey), kind, message: `${imageKey} ${issue.message}` });
        } else {
          res.problems.push({ ...loc, column: col(reasonsKey), kind: "invalid-json", message: `${reasonsKey} ${issue.message}` });
        }
        bad = true;
      }
    } else {
      image = imageFromValue(parsed.data.image);
      const r = parsed.data.reasons;
      reasons = r == null ? [] : typeof r === "string" ? splitReasons(r) : r.map((s) => s.trim()).filter((s) => s !== "");
    }
    if (image && !image.ok) {
      res.problems.push({ ...loc, column: col(imageKey), kind: image.kind, message: image.message });
      bad = true;
    }
    const sv = obj[scoreKey];
    const sc = scoreFromValue(sv === undefined ? null : typeof sv === "string" || typeof sv === "number" || sv === null ? sv : JSON.stringify(sv), ctx.scale);
    if (!sc.ok) {
      const message = sv === undefined ? `${scoreKey} is missing` : sc.message;
      res.problems.push({ ...loc, column: col(scoreKey), kind: sc.kind, message });
      bad = true;
    }
    if (bad || !image?.ok || !sc.ok) return;
    records.push({
      image: image.value,
      score: sc.value.score,
      reasons: reasons.length ? reasons : sc.value.reasons,
      source: loc,
      scoreColumn: col(scoreKey),
    });
  });
  const mostUsed = (m: Map<string, number>, dflt: string) => [...m].sort((a, b) => b[1] - a[1])[0]?.[0] ?? dflt;
  res.columns = {
    image: mostUsed(used.image, "image_path"),
    score: mostUsed(used.score, "score"),
    ...(used.reasons.size ? { reasons: mostUsed(used.reasons, "reasons") } : {}),
  };
  return finish(ctx, records, (row) => `${prefix}[${row}]`);
}
