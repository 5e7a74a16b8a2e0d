/**
 * The reports of a comparison run: metrics.csv, metrics.xlsx, report.md and report.txt, made from the run
 * folder's data (compare's readRun).
 *
 * What the reports promise (a reader publishes these numbers):
 * - The overall table shows every model that ran, the constant baseline, and every skipped model with its
 *   reason; a coverage below 100% and a skipped model each get a WARNING line at the top.
 * - Overall metrics are on the common images every model answered (metrics.json), with 95% bootstrap CIs;
 *   "valid x/y" is each model's own success over all test images. Per-model error summaries and the five
 *   best / worst images are on that model's own valid answers and say so.
 * - Numbers as format.ts writes them; error = predicted − expected, as in compare/statistics.ts.
 */
export { formatRunReport, writeRunReports } from "./write";
export { METRICS_CSV_COLUMNS, metricsRows } from "./csv";
export { addSheet, metricsWorkbook, sheetName, type SheetColumn } from "./xlsx";
export { BEST_WORST_COUNT, bestAndWorst, CONSTANT_BASELINE, isBaseline, reportWarnings, skippedModels } from "./facts";
export { fmtCoef, fmtError, fmtP, fmtRate, fmtScore, fmtSignedError, fmtUsd, withCi } from "./format";
