/** Local Qwen2-VL (base or fine-tuned, exported to ONNX) on CPU through transformers.js. */
export { LocalQwen2VLModel } from "./model";
export { QWEN2VL_DEFAULTS, QWEN2VL_DIR_FLAG, type LocalQwen2VLOptions, type Qwen2VLDtype } from "./options";
export { missingQwen2VLFiles, QWEN2VL_SESSIONS } from "./files";
export { qwen2vlImageSize } from "./image-size";
export { digitTreeProbabilities } from "./probabilities";
