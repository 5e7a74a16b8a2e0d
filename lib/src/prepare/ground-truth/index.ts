/** Ground truth: CSV/TSV/TXT, XLSX and JSON manifests → one validated score per image, every problem listed. */
export { loadGroundTruth, loadGroundTruthOrThrow } from "./load";
export { CONFLICT_POLICIES, type ConflictPolicy, type LoadOptions, type LoadResult } from "./types";
export { normaliseHeader } from "../../core/table/headers";
export { normaliseImagePath } from "../../core/image";
export { detectDelimiter } from "../../core/table/csv";
