/** `compare --batch` and `pairwise ask --batch`: API models answer through the OpenAI Batch API at half price, within 24 hours. */
export { BATCH_DEFAULTS, BATCH_DIR, batchCustomId, batchPaths, batchPending, readBatchRecord, type BatchAnswer, type BatchOptions, type BatchRecord, type BatchRequestEntry } from "./record";
export { batchTarget, NOT_AN_API_MODEL, type BatchTarget } from "./target";
export { ModelBatch } from "./model-batch";
export { scoreRequests, type BatchRequests, type PreparedRequest } from "./requests";
export { batchTargets, collectBatches, submitBatches, type BatchJob, type BatchWork, type SentBatch } from "./send";
