/**
 * Guide step 3: every model behind one interface (`ScoreModel`: `predict(image)` → one Prediction shape),
 * made by name from the config file through the model registry, API and local models behind the response
 * cache. Notebook 03's views are here too.
 */
export { ModelUnavailableError } from "../core/errors";
export { MODEL_KINDS, type BatchAbility, type ModelKind, type Prediction, type PredictOptions, type ScoreModel, type TokenUsage } from "./types";
export { FLAG_MODELS, ModelFactory, type FactoryOptions } from "./factory";
export { BUILTIN_MODELS, DEFAULT_MODEL_CONFIG, loadModelConfig, type ModelConfig, type ModelEntry } from "./config";
export { kindOfType, MODEL_TYPES, modelType } from "./registry";
export type { ModelContext, ModelOverride, ModelType } from "./model-type";
export { CachedModel, ResponseCache, responseCacheOf, withCache } from "./cache";
export { OPENAI_CHAT_DEFAULTS, OpenAIChatModel, type OpenAIChatOptions } from "./openai-chat";
export { checkQwen2VLExport, defaultCheckFile, formatCheckResult, qwen2vlExportChecker, type CheckExportOptions, type CheckExportResult } from "./qwen2vl";
export { LocalQwen2VLModel, missingQwen2VLFiles, QWEN2VL_DEFAULTS, QWEN2VL_DTYPE_CHOICES, resolveDtype, type ChatMessage, type Generation, type GenerateRequest, type LocalQwen2VLOptions } from "./qwen2vl";
export { ImageStatsBaseline, MeanBaseline } from "./baselines";
export { modelAvailability, predictSideBySide, sideBySideThumbnails, type Availability, type SideBySideRow } from "./notebook-view";
