/** Running a comparison: every model on the same test images, directly or through the Batch API, into a run folder. */
export { runComparison } from "./comparison";
export { ALWAYS_COMPARED, CostLimitError, DEFAULT_COMPARE_MODELS, type CompareOptions, type CompareProgress, type CompareResult } from "./options";
export { DEFAULT_RETRY_FAILED, isRetriedFailure, RETRY_FAILED_MODES } from "./retry-failed";
