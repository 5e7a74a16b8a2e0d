/** Shared parts below the steps: errors, the score scale, common types, images, atomic output, progress, display. */
export { countByKind, formatLocation, formatProblem, InputError, ModelUnavailableError, type Problem, type ProblemKind, type ProblemLocation } from "./errors";
export { DEFAULT_SCALE, inScale, parseScale, type Scale } from "./scale";
export { SPLIT_NAMES, type GroundTruthItem, type PreparedImage, type SplitName } from "./types";
export { DEFAULT_IMAGE_MAX_SIDE, DEFAULT_JPEG_QUALITY, locateImage, prepareImage, resolveImagePath, sha256Hex, toDataUrl, type ImageOptions } from "./image";
export { readTextIfExists, StagedOutput, writeCsv, writeFileAtomic, writeJson } from "./atomic-output";
export { openLineWriter, type LineWriter } from "./line-writer";
export { createProgress, progressCallback, type Progress } from "./progress";
export { plotHtml, plotlyScriptTag, show, tableHtml, thumbnailsHtml } from "./display";
export { escapeHtml } from "./html";
export type { Figure } from "./figure";
