/** Step 2 on OpenAI / Azure OpenAI: capabilities, the dry run, jobs, watching, the fine_tune_info.json record. */
export {
  FineTuneRefusedError,
  FINE_TUNE_DEFAULTS,
  GPT4oMiniFineTuner,
  hasFineTuneKey,
  MAX_SUFFIX_LENGTH,
  OpenAIFineTuner,
  type FineTunerOptions,
  type JobStatusReport,
  type StartOptions,
  type StartResult,
} from "./tuner";
export { MONITOR_DEFAULTS, monitorFineTuneJob, type MonitorOptions, type MonitorOutcome, type MonitorResult } from "./monitor";
export {
  assertUploadable,
  checkFineTuneRun,
  costComparison,
  costComparisonFigure,
  fineTuneCheckRows,
  formatFineTuneCheck,
  type CostComparisonRow,
  type FineTuneCheck,
  type FineTuneCheckOptions,
} from "./dry-run";
export {
  AZURE_VISION_SCREENING_NOTE,
  capabilityRows,
  chooseTrainingData,
  DEFAULT_BASE_MODEL,
  FINE_TUNE_CAPABILITIES_AS_OF,
  FINE_TUNE_PROVIDERS,
  FINE_TUNE_WIND_DOWN,
  fineTuneLifecycleWarnings,
  imageFineTuningModels,
  imageFineTuningSupport,
  resolveBaseModel,
  type FineTuneProvider,
  type ImageFineTuningSupport,
  type TrainingDataChoice,
  type TrainingDataRequest,
} from "./capabilities";
export {
  DEFAULT_MODELS_DIR,
  fineTuneDir,
  fineTunedModelFromRecord,
  fineTuneRecordPath,
  fineTuneRecordRows,
  loadFineTunedModelId,
  readFineTuneRecord,
  type FineTuneHyperparameters,
  type FineTuneJobStatus,
  type FineTuneProgress,
  type FineTuneRecord,
  type HyperparameterValue,
} from "./record";
export {
  formatFineTuneProgress,
  loadSavedTrainingMetrics,
  lossCurveFigure,
  readTrainingMetricsCsv,
  throttledLossChart,
  type TrainingMetricPoint,
} from "./training-metrics";
