/**
 * metrics.xlsx: the metrics sheet (metrics.csv's rows), paired tests, skipped models, expected scores, the
 * run, and each model's predictions — built in memory (`metricsWorkbook`, notebooks) or streamed to its
 * file row by row (`writeMetricsWorkbook`, the reports: at 10,000 images the in-memory workbook peaked at
 * ~0.5 GB and took twice as long).
 */
import { promises as fs } from "node:fs";
import type ExcelJS from "exceljs";
import { excelJS } from "../../core/lazy";
import { isValidPrediction, latestRecords, type PredictionRecord, type RunData } from "../../compare";
import { displayStoredPath } from "../../core/project-path";
import { PRICE_NOTE } from "../../openai/prices";
import { METRICS_CSV_COLUMNS, metricsRows } from "./csv";
import { ranModels, skippedModels } from "./facts";

/** Longest text Excel keeps in one cell. */
const XLSX_CELL_MAX = 32_767;

const FMT = {
  int: "0",
  rate: "0.0%",
  error: "0.00",
  coef: "0.000",
  p: "0.0000",
  usd: '"$"0.0000',
} as const;

function metricsColumnFormat(col: string): string | undefined {
  const base = col.replace(/_(lo|hi)$/, "");
  if (["n", "valid", "failed", "n_common", "requests", "cached", "input_tokens", "output_tokens"].includes(col)) return FMT.int;
  if (["coverage", "acc1", "acc2"].includes(base)) return FMT.rate;
  if (["mae", "rmse", "bias", "median_error"].includes(base)) return FMT.error;
  if (["pearson", "spearman", "qwk"].includes(base)) return FMT.coef;
  if (col === "cost_usd") return FMT.usd;
  return undefined;
}

export interface SheetColumn {
  header: string;
  key: string;
  width?: number;
  numFmt?: string;
}

/** Excel sheet names: ≤ 31 characters, none of []:*?/\, unique ignoring case. */
export function sheetName(wanted: string, used: Set<string>): string {
  const clean = wanted.replace(/[[\]:*?/\\]/g, "_").replace(/^'+|'+$/g, "") || "sheet";
  let name = clean.slice(0, 31);
  for (let i = 2; used.has(name.toLowerCase()); i++) {
    const suffix = ` (${i})`;
    name = clean.slice(0, 31 - suffix.length) + suffix;
  }
  used.add(name.toLowerCase());
  return name;
}

/** A workbook being built in memory, or streamed to its file (exceljs's WorkbookWriter). */
type SheetSink = ExcelJS.Workbook | ExcelJS.stream.xlsx.WorkbookWriter;

/**
 * One sheet: the header row styled and frozen, an auto-filter, then the rows. On a streamed workbook each
 * row is committed (written out and let go) as it is added, so memory does not grow with the rows.
 */
export function addSheet(wb: SheetSink, name: string, columns: SheetColumn[], rows: Iterable<Record<string, unknown>>): void {
  const streaming = !(wb instanceof excelJS().Workbook);
  const ws = wb.addWorksheet(name, { views: [{ state: "frozen", ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, key: c.key, width: c.width ?? Math.max(10, c.header.length + 2), style: c.numFmt ? { numFmt: c.numFmt } : {} }));
  const header = ws.getRow(1);
  header.font = { bold: true, color: { argb: "FFFFFFFF" } };
  header.fill = { type: "pattern", pattern: "solid", fgColor: { argb: "FF4C78A8" } };
  header.alignment = { vertical: "middle" };
  header.eachCell((cell) => {
    cell.numFmt = "@";
  });
  if (columns.length > 0) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
  for (const r of rows) {
    const cells: Record<string, unknown> = {};
    for (const c of columns) {
      const v = r[c.key];
      // An empty text is an empty cell (the streamed writer writes no cell for it either).
      cells[c.key] = v === "" ? null : typeof v === "string" && v.length > XLSX_CELL_MAX ? `${v.slice(0, XLSX_CELL_MAX - 1)}…` : (v ?? null);
    }
    const row = ws.addRow(cells);
    if (streaming) row.commit();
  }
  if (streaming) (ws as unknown as { commit(): void }).commit();
}

function* predictionRows(records: PredictionRecord[]): Generator<Record<string, unknown>> {
  for (const r of records) {
    const ok = isValidPrediction(r);
    yield {
      image: r.image,
      expected: r.expected,
      predicted: r.predicted,
      error: ok ? r.predicted! - r.expected : null,
      abs_error: ok ? Math.abs(r.predicted! - r.expected) : null,
      expected_score: r.expected_score,
      failure: r.error,
      reasons: r.reasons.join("; "),
      raw: r.raw,
      model_id: r.model_id,
      image_sha256: r.image_sha256,
      input_tokens: r.usage?.input_tokens ?? null,
      output_tokens: r.usage?.output_tokens ?? null,
      cost_usd: r.cost_usd,
      latency_ms: r.latency_ms,
      cached: r.cached,
      finished_at: r.finished_at,
    };
  }
}

const PREDICTION_COLUMNS: SheetColumn[] = [
  { header: "image", key: "image", width: 28 },
  { header: "expected", key: "expected", numFmt: "0.##" },
  { header: "predicted", key: "predicted", numFmt: "0.##" },
  { header: "error", key: "error", numFmt: "+0.00;-0.00;0.00" },
  { header: "abs_error", key: "abs_error", numFmt: FMT.error },
  { header: "expected_score", key: "expected_score", width: 15, numFmt: FMT.error },
  { header: "failure", key: "failure", width: 30 },
  { header: "reasons", key: "reasons", width: 50 },
  { header: "raw", key: "raw", width: 50 },
  { header: "model_id", key: "model_id", width: 24 },
  { header: "image_sha256", key: "image_sha256", width: 20 },
  { header: "input_tokens", key: "input_tokens", width: 13, numFmt: FMT.int },
  { header: "output_tokens", key: "output_tokens", width: 14, numFmt: FMT.int },
  { header: "cost_usd", key: "cost_usd", numFmt: '"$"0.000000' },
  { header: "latency_ms", key: "latency_ms", width: 12, numFmt: FMT.int },
  { header: "cached", key: "cached" },
  { header: "finished_at", key: "finished_at", width: 24 },
];

/** metrics.xlsx: sheets "metrics", "paired", "skipped" (if any), "expected_score" (if any), "run", then "pred <model>" per model. */
export async function metricsWorkbook(data: RunData): Promise<ExcelJS.Workbook> {
  const wb = new (excelJS().Workbook)();
  fillWorkbook(wb, data);
  return wb;
}

/** metrics.xlsx streamed to `file` (through a temporary file beside it, renamed at the end: never half-written). */
export async function writeMetricsWorkbook(file: string, data: RunData): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    const wb = new (excelJS().stream.xlsx.WorkbookWriter)({ filename: tmp, useStyles: true, useSharedStrings: false });
    fillWorkbook(wb, data);
    await wb.commit();
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

function fillWorkbook(wb: SheetSink, data: RunData): void {
  wb.creator = "streetsafe compare";
  const used = new Set<string>();
  for (const addTo of [metricsSheet, pairedSheet, skippedSheet, expectedScoreSheet, runSheet, predictionSheets]) addTo(wb, used, data);
}

/** "metrics": metrics.csv's rows, with number formats. */
function metricsSheet(wb: SheetSink, used: Set<string>, data: RunData): void {
  addSheet(
    wb,
    sheetName("metrics", used),
    METRICS_CSV_COLUMNS.map((c) => ({ header: c, key: c, numFmt: metricsColumnFormat(c), width: c === "reason" ? 40 : c === "model" || c === "model_id" ? 22 : undefined })),
    metricsRows(data),
  );
}

/** "paired": every pair's MAE difference with its CI and the Wilcoxon test. */
function pairedSheet(wb: SheetSink, used: Set<string>, data: RunData): void {
  const pairedCols: SheetColumn[] = [
    { header: "a", key: "a", width: 18 },
    { header: "b", key: "b", width: 18 },
    { header: "n", key: "n", numFmt: FMT.int },
    { header: "mae_diff", key: "mae_diff", numFmt: FMT.error },
    { header: "mae_diff_lo", key: "mae_diff_lo", numFmt: FMT.error },
    { header: "mae_diff_hi", key: "mae_diff_hi", numFmt: FMT.error },
    { header: "p_bootstrap", key: "p_bootstrap", numFmt: FMT.p },
    { header: "wilcoxon_statistic", key: "wilcoxon_statistic", width: 19, numFmt: "0.0" },
    { header: "wilcoxon_z", key: "wilcoxon_z", numFmt: FMT.coef },
    { header: "wilcoxon_p", key: "wilcoxon_p", numFmt: FMT.p },
    { header: "wilcoxon_p_holm", key: "wilcoxon_p_holm", width: 16, numFmt: FMT.p },
    { header: "wilcoxon_method", key: "wilcoxon_method", width: 16 },
    { header: "wilcoxon_n_nonzero", key: "wilcoxon_n_nonzero", width: 19, numFmt: FMT.int },
  ];
  addSheet(
    wb,
    sheetName("paired", used),
    pairedCols,
    (data.metrics.paired ?? []).map((p) => ({
      a: p.a,
      b: p.b,
      n: p.n,
      mae_diff: p.mae_diff,
      mae_diff_lo: p.ci95?.[0] ?? null,
      mae_diff_hi: p.ci95?.[1] ?? null,
      p_bootstrap: p.p_bootstrap,
      wilcoxon_statistic: p.wilcoxon?.statistic ?? null,
      wilcoxon_z: p.wilcoxon?.z ?? null,
      wilcoxon_p: p.wilcoxon?.p_value ?? null,
      wilcoxon_p_holm: p.wilcoxon?.p_value_holm ?? null,
      wilcoxon_method: p.wilcoxon?.method ?? null,
      wilcoxon_n_nonzero: p.wilcoxon?.n_nonzero ?? null,
    })),
  );
}

/** "skipped" (when any model was): each with its reason. */
function skippedSheet(wb: SheetSink, used: Set<string>, data: RunData): void {
  const skipped = skippedModels(data);
  if (skipped.length > 0) {
    addSheet(wb, sheetName("skipped", used), [{ header: "model", key: "name", width: 20 }, { header: "reason", key: "reason", width: 80 }], skipped);
  }
}

/** "expected_score" (when any model exposes probabilities): its metrics with CIs. */
function expectedScoreSheet(wb: SheetSink, used: Set<string>, data: RunData): void {
  const es = data.metrics.expected_score ?? {};
  if (Object.keys(es).length > 0) {
    const metrics = ["mae", "rmse", "acc1", "acc2", "bias", "pearson", "spearman", "qwk"];
    addSheet(
      wb,
      sheetName("expected_score", used),
      [
        { header: "model", key: "model", width: 20 },
        { header: "n", key: "n", numFmt: FMT.int },
        ...metrics.flatMap((m) => [m, `${m}_lo`, `${m}_hi`].map((k) => ({ header: k, key: k, numFmt: metricsColumnFormat(k) }))),
        { header: "median_error", key: "median_error", numFmt: FMT.error, width: 13 },
      ],
      Object.entries(es).map(([model, m]) => {
        const row: Record<string, unknown> = { model, n: m.n, median_error: m.median_error };
        for (const k of metrics) {
          row[k] = (m as unknown as Record<string, number | null>)[k];
          row[`${k}_lo`] = m.ci95?.[k]?.[0] ?? null;
          row[`${k}_hi`] = m.ci95?.[k]?.[1] ?? null;
        }
        return row;
      }),
    );
  }
}

/** "run": what reproduces the numbers. */
function runSheet(wb: SheetSink, used: Set<string>, data: RunData): void {
  const run = data.run;
  addSheet(
    wb,
    sheetName("run", used),
    [{ header: "field", key: "field", width: 22 }, { header: "value", key: "value", width: 100 }],
    [
      ["run_id", run.run_id],
      ["created_at", run.created_at],
      ["finished_at", run.finished_at ?? "not finished"],
      ["command", run.command.join(" ")],
      ["test_set", `${displayStoredPath(run.test_set.file)}${run.test_set.sheet ? ` (sheet ${run.test_set.sheet})` : ""}`],
      ["images_dir", displayStoredPath(run.test_set.images_dir)],
      ["test_set_sha256", run.test_set.sha256],
      ["n_images", String(run.test_set.n)],
      ["scale", `${run.scale.min}-${run.scale.max}`],
      ["prompt_version", run.prompt.version],
      ["prompt_sha256", run.prompt.sha256],
      ["seed", String(run.seed)],
      ["bootstrap", `${data.metrics.bootstrap.iterations} resamples, seed ${data.metrics.bootstrap.seed}, level ${data.metrics.bootstrap.level}, ${data.metrics.bootstrap.method}`],
      ["batch", String(run.batch)],
      ["prices", PRICE_NOTE],
      ...Object.entries(run.versions).map(([k, v]) => [`version ${k}`, v]),
    ].map(([field, value]) => ({ field, value })),
  );
}

/** "pred <model>": each ran model's predictions (the last line of each image). */
function predictionSheets(wb: SheetSink, used: Set<string>, data: RunData): void {
  const latest = latestRecords(data.records);
  for (const name of ranModels(data)) {
    addSheet(wb, sheetName(`pred ${name}`, used), PREDICTION_COLUMNS, predictionRows(latest.filter((r) => r.model === name)));
  }
}
