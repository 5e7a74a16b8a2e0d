/** A comparison run's folder: its schema, its one reader and its one writer. */
export {
  PredictionLineSchema,
  RUN_FILES,
  RunInfoSchema,
  RunMetricsSchema,
  type MetricsJson,
  type MetricsJsonPoint,
  type ModelMetricsJson,
  type PairedComparisonJson,
  type PredictionRecord,
  type RetriedFailed,
  type RetryFailedMode,
  type RunInfo,
  type RunMetrics,
  type RunModelInfo,
} from "./schema";
export { isValidPrediction, itemKey, readJsonLines, latestRecords, latestRun, modelRecords, readPredictions, readRun, readRunInfo, readRunMetrics, recordModels, type RunData } from "./read";
export { newRunId, PredictionLog, writeRunInfo, writeRunMetrics } from "./write";
