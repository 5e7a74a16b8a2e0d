/** One score per image: exact duplicate rows merge; conflicting ones follow the conflict policy. */
import type { Problem } from "../../core/errors";
import type { GroundTruthItem } from "../../core/types";
import type { ConflictPolicy, Ctx, LoadResult, RowRecord } from "./types";

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function unionReasons(records: RowRecord[]): string[] {
  return [...new Set(records.flatMap((r) => r.reasons))];
}

function mergeDuplicates(
  records: RowRecord[],
  policy: ConflictPolicy,
  problems: Problem[],
  rowLabel: (row: number | undefined) => string,
): { items: GroundTruthItem[]; merged: number } {
  const groups = new Map<string, RowRecord[]>();
  for (const r of records) {
    const g = groups.get(r.image);
    if (g) g.push(r);
    else groups.set(r.image, [r]);
  }
  const items: GroundTruthItem[] = [];
  let merged = 0;
  for (const [image, group] of groups) {
    const first = group[0]!;
    if (group.length === 1) {
      items.push({ image, score: first.score, reasons: first.reasons, source: first.source });
      continue;
    }
    const distinct = new Set(group.map((r) => r.score));
    if (distinct.size === 1) {
      merged += group.length - 1;
      items.push({ image, score: first.score, reasons: unionReasons(group), source: first.source });
      continue;
    }
    const listing = group.map((r) => `${rowLabel(r.source.row)}: ${r.score}`).join(", ");
    if (policy === "error") {
      problems.push({
        ...first.source,
        column: first.scoreColumn,
        kind: "duplicate-conflict",
        message: `image "${image}" has ${group.length} rows with different scores (${listing}); fix them, or choose a conflict policy ("mean" or "first")`,
      });
      continue;
    }
    merged += group.length - 1;
    if (policy === "first") {
      items.push({ image, score: first.score, reasons: first.reasons, source: first.source });
    } else {
      items.push({ image, score: mean(group.map((r) => r.score)), reasons: unionReasons(group), source: first.source });
    }
  }
  return { items, merged };
}

/** Merge the records into the result's items (problems for conflicts). */
export function finish(ctx: Ctx, records: RowRecord[], rowLabel = (row: number | undefined) => `row ${row}`): LoadResult {
  const { items, merged } = mergeDuplicates(records, ctx.policy, ctx.result.problems, rowLabel);
  ctx.result.items = items;
  ctx.result.merged = merged;
  return ctx.result;
}
