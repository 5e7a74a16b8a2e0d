/** Step 2's local route: LoRA fine-tuning of Qwen2-VL, merge, ONNX export and its check, as a job with a record. */
export {
  INTERRUPTED_EXIT,
  LocalQwen2VLFineTuner,
  type ExportChecker,
  type ExportCheckOutcome,
  type ExportCheckRequest,
  type LocalOutcome,
  type LocalRunOptions,
  type LocalRunResult,
  type LocalTunerOptions,
} from "./tuner";
export { formatLocalPlan, planLocalFineTune, type LocalPlan } from "./plan";
export { ESTIMATE_BASIS, estimateTraining, formatBytes, formatDuration, type EstimateInput, type TrainingEstimate } from "./estimate";
export {
  EXPORT_DTYPES,
  exportDtypeList,
  LOCAL_BACKENDS,
  LOCAL_DEVICES,
  LOCAL_FINETUNE_DEFAULTS,
  type LocalBackend,
  type LocalDevice,
  type LocalHyperparameters,
  type LocalRunRequest,
} from "./options";
export { LOCAL_FINETUNE_SUBDIR, localFineTuneLayout, type LocalFineTuneLayout } from "./layout";
export { LOCAL_STAGES, localRecordRows, readLocalRecord, type LocalFineTuneRecord, type LocalFineTuneStatus, type LocalStage } from "./record";
