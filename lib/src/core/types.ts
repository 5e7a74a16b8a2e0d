import type { ProblemLocation } from "./errors";

/** One image's human rating, after loading and validation. */
export interface GroundTruthItem {
  /** Image file name relative to the images folder (Windows-style paths reduced to the name). */
  image: string;
  /** Score on the configured scale (may be fractional after `--on-conflict mean`). */
  score: number;
  /** Free-text reasons the rater gave; may be empty. */
  reasons: string[];
  /** Where the row came from, for error messages. */
  source: ProblemLocation;
}

/** An image after the shared sharp preparation (see image.ts). */
export interface PreparedImage {
  /** JPEG bytes: EXIF-rotated, RGB, longest side capped, quality 85. */
  jpeg: Buffer;
  /** sha256 hex of `jpeg`; caches are keyed on it. */
  sha256: string;
  width: number;
  height: number;
}

export type SplitName = "train" | "val" | "test";
export const SPLIT_NAMES: readonly SplitName[] = ["train", "val", "test"];
