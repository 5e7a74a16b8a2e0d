/**
 * Guide step 1: ground truth → validated items → prepared images → image-level splits → OpenAI JSONL and
 * Qwen2-VL (LLaMA-Factory) fine-tuning data → format checks and a training-cost estimate. `run` does it
 * all; the parts below are for notebooks and later steps (which read step 1's outputs through `outputs`).
 */
export { prepare as run, ensurePrepared, DEFAULT_COST_MODELS, type PrepareOptions, type PrepareResult } from "./run";
export { CONFLICT_POLICIES, loadGroundTruth, loadGroundTruthOrThrow, type ConflictPolicy, type LoadOptions, type LoadResult } from "./ground-truth";
export { checkImages, SUPPORTED_IMAGE_EXTENSIONS, type ImageRecord } from "./images";
export { checkLeakage, DEFAULT_SPLIT, splitByImage, summarizeSplits, type LeakageReport, type SplitOptions, type Splits, type SplitSummaryRow } from "./split";
export { writeOpenAIJsonl, type ImageProvider, type OpenAIWriteOptions } from "./openai-jsonl";
export { DEFAULT_IMAGE_MAX_PIXELS, QWEN_BASE_MODEL, writeQwenDataset, type QwenWriteOptions, type QwenWriteResult } from "./qwen-data";
export { checkFineTuneFile, FORMAT_PROBLEMS, formatCheckSummary, type FormatCheckResult, type FormatProblemName } from "./format-check";
export { defaultEpochs, estimateTrainingCost, formatTrainingCost, totalTrainingCost, TRAINING_COST_NOTES, type TrainingCostRow } from "./cost";
export { costRows, formatCheckRows, formatPrepareSummary, groundTruthRows, leakageText, problemSummaryRows, splitSummaryRows, splitThumbnails } from "./report";
export { scoreHistogram } from "./charts";
export {
  fineTuneFilePaths,
  fineTuneFilesExist,
  PREPARE_OUTPUTS,
  PREPARE_SUMMARY_FILE,
  QWEN_FINETUNING_README,
  QWEN_FINETUNING_SUBDIR,
  readPreparedSplit,
  splitCsvPath,
  type FineTuneFilePaths,
  type PreparedSplit,
} from "./outputs";
export { DEMO_RULE_DESCRIPTION, DEMO_VOTES_DESCRIPTION, demoScoreRule, demoVotes, ensureDemoData, generateDemoData, type DemoOptions, type DemoResult, type DemoVote, type SceneCues } from "./demo";
