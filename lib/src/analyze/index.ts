/**
 * Guide step 5: a comparison run's charts (standalone offline pages in plots/, PNGs where Chromium is
 * found), its reports (metrics.csv, metrics.xlsx, report.md, report.txt) and notebook 04/05's views.
 * `run` writes a run's plots/.
 */
export { analyzeRun as run, type AnalyzeOptions, type AnalyzeResult } from "./run";
export { runCharts, type RunChart } from "./run-charts";
export { chartPage, PAGE_STYLE } from "./pages";
export { ChartRenderer, DEFAULT_CHROMIUM_PATH, findChromium } from "./png";
export { BAR_METRICS, blandAltman, blandAltmanStats, confusionHeatmap, metricBars, scatterPredictedVsExpected, signedErrorHistogram, type BarMetric } from "./charts";
export {
  bestAndWorst,
  CONSTANT_BASELINE,
  formatRunReport,
  isBaseline,
  METRICS_CSV_COLUMNS,
  metricsRows,
  metricsWorkbook,
  addSheet,
  sheetName,
  withCi,
  fmtCoef,
  fmtRate,
  fmtUsd,
  type SheetColumn,
  reportWarnings,
  skippedModels,
  writeRunReports,
} from "./report";
export { focusModel, pairedRows, summaryRows, takeaways, worstImagesHtml } from "./notebook-view";
