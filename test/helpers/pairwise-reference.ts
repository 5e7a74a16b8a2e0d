import { readFileSync } from "node:fs";
import * as path from "node:path";
import assert from "node:assert/strict";

/** reference/reference.json, written by reference/make_reference.py (numpy, scipy, statsmodels). */
export const REF = JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", "pairwise", "reference.json"), "utf8"));

/** |actual − expected| ≤ tol, with a readable message. */
export function close(actual: number | null | undefined, expected: number, tol: number, what = "value"): void {
  assert.ok(actual !== null && actual !== undefined && Number.isFinite(actual), `${what} is ${actual}, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} (tol ${tol})`);
}

/** |actual/expected − 1| ≤ rel. */
export function closeRel(actual: number, expected: number, rel: number, what = "value"): void {
  const r = expected === 0 ? Math.abs(actual) : Math.abs(actual / expected - 1);
  assert.ok(r <= rel, `${what}: ${actual} vs ${expected} (relative error ${r} > ${rel})`);
}
