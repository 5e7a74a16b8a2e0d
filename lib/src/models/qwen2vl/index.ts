/** Local Qwen2-VL (base or fine-tuned, exported to ONNX) on CPU through transformers.js. */
export { LocalQwen2VLModel, type Generation, type GenerateRequest } from "./model";
export { QWEN2VL_DEFAULTS, QWEN2VL_DIR_FLAG, QWEN2VL_DTYPE_CHOICES, type LocalQwen2VLOptions, type Qwen2VLDtype } from "./options";
export { AUTO_DTYPE_ORDER, EXPORT_MANIFEST, missingQwen2VLFiles, QWEN2VL_SESSIONS, readExportManifest, resolveDtype, type DtypeChoice, type ExportManifest } from "./files";
export { qwen2vlImageSize } from "./image-size";
export { digitTreeProbabilities } from "./probabilities";
export type { ChatMessage, ChatPart } from "./inputs";
export {
  availableDtypes,
  CHECK_TOLERANCE,
  checkImagesFromData,
  checkQwen2VLExport,
  defaultCheckFile,
  formatCheckResult,
  qwen2vlExportChecker,
  type CheckCase,
  type CheckExportOptions,
  type CheckExportResult,
  type DtypeSummary,
} from "./check";
