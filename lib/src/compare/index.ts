/**
 * Guide step 4: every model on the same test images → a run folder (run.json, predictions.jsonl,
 * metrics.json) that step 5 reads back through `readRun`. `run` runs (or resumes) a comparison.
 */
export {
  runComparison as run,
  ALWAYS_COMPARED,
  CostLimitError,
  DEFAULT_COMPARE_MODELS,
  DEFAULT_RETRY_FAILED,
  isRetriedFailure,
  RETRY_FAILED_MODES,
  type CompareOptions,
  type CompareProgress,
  type CompareResult,
} from "./run";
export { loadTestSet, type TestItem, type TestSet } from "./test-set";
export {
  isValidPrediction,
  latestRecords,
  latestRun,
  modelRecords,
  recordModels,
  readPredictions,
  readRun,
  readRunInfo,
  readRunMetrics,
  RUN_FILES,
  type MetricsJson,
  type MetricsJsonPoint,
  type ModelMetricsJson,
  type PairedComparisonJson,
  type PredictionRecord,
  type RetriedFailed,
  type RetryFailedMode,
  type RunData,
  type RunInfo,
  type RunMetrics,
  type RunModelInfo,
} from "./run-folder";
export { computeRunMetrics } from "./run-metrics";
export { estimateChatCost, estimateRunCost } from "./cost";
export { RunBudget } from "./run/budget";
export { ImagePool } from "./run/image-pool";
export { newRunId, PredictionLog, readJsonLines } from "./run-folder";
export { packageVersions } from "./versions";
export {
  averageRanks,
  bootstrapCI,
  bootstrapIndices,
  bootstrapSettings,
  CI_METRICS,
  compareModels,
  DEFAULT_BOOTSTRAP,
  errorMetrics,
  holmAdjust,
  metricCIs,
  pairedBootstrapDiff,
  pearson,
  percentileInterval,
  quadraticWeightedKappa,
  quantile,
  quantileSorted,
  spearman,
  wilcoxonSignedRank,
  type BootstrapOptions,
  type CIMetricName,
  type ErrorMetrics,
  type MetricCIs,
} from "./statistics";
export { batchTargets, collectBatches, readBatchRecord, submitBatches, type BatchOptions, type BatchRecord, type BatchRequests, type BatchTarget, type PreparedRequest } from "./run/batch";
export { notebookProgress } from "./notebook-view";
