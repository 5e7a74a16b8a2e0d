/** Where the pairwise step writes: one folder of runs, each run a folder named by its kind and start time. */
import path from "node:path";
import { newRunId } from "../compare";

export const DEFAULT_PAIRWISE_DIR = path.join("results", "pairwise");

/** `fit-2026-12-01T10-00-00-000Z`, `plan-…` , `ask-…`, `evaluate-…`: sortable, filesystem-safe. */
export function pairwiseRunId(kind: "fit" | "plan" | "ask" | "evaluate", now = new Date()): string {
  return `${kind}-${newRunId(now)}`;
}
