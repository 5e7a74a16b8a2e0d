/**
 * Shared parts below the steps, as the notebooks see them: errors, the score scale, common types, the image
 * preparation and notebook display. (Atomic output, the line writer, progress and HTML escaping are in this
 * folder too, for the steps' own use.)
 */
export { formatProblem, InputError, ModelUnavailableError, type Problem, type ProblemKind, type ProblemLocation } from "./errors";
export { DEFAULT_SCALE, inScale, parseScale, type Scale } from "./scale";
export { SPLIT_NAMES, type GroundTruthItem, type PreparedImage, type SplitName } from "./types";
export { DEFAULT_IMAGE_MAX_SIDE, prepareImage, sha256Hex, toDataUrl, type ImageOptions } from "./image";
export { plotHtml, show, tableHtml, thumbnailsHtml } from "./display";
export { displayPath } from "./project-path";
export type { Figure } from "./figure";
