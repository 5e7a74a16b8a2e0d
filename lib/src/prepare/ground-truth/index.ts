/** Ground truth: CSV/TSV/TXT, XLSX and JSON manifests → one validated score per image, every problem listed. */
export { loadGroundTruth, loadGroundTruthOrThrow } from "./load";
export { CONFLICT_POLICIES, type ConflictPolicy, type LoadOptions, type LoadResult } from "./types";
export { normaliseHeader } from "./columns";
export { normaliseImagePath } from "./cells";
export { detectDelimiter } from "./csv";
