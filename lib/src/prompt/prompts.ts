/**
 * The task prompt: one wording shared by the fine-tuning files (OpenAI JSONL, Qwen2-VL sharegpt) and,
 * later, by model inference, so a fine-tuned model is asked exactly what it was trained on.
 *
 * Rule: no prompt ever carries an image's file name, path or id. The image is the only
 * per-example input; everything else in a prompt depends on the scale alone.
 */
import { createHash } from "node:crypto";
import { DEFAULT_SCALE, type Scale } from "../core/scale";
import type { GroundTruthItem } from "../core/types";

/** Bump when the wording of the prompts or the target format changes (caches key on it). */
export const PROMPT_VERSION = "streetsafe-prompt-v1";

/** The reply every model is asked for and every training target has. */
export interface ScoreReply {
  score: number;
  reasons: string[];
}

/** The system turn: the task, the scale and what its ends mean, and the exact reply format. */
export function systemPrompt(scale: Scale = DEFAULT_SCALE): string {
  const { min, max } = scale;
  return [
    "You rate street-view photographs for perceived safety.",
    "Imagine you are a pedestrian standing where the photo was taken and judge how safe you would feel walking there.",
    `Use a whole-number scale from ${min} to ${max}: ${min} means very unsafe (you would avoid walking here), ` +
      `${max} means very safe (you would walk here comfortably at any time); values in between are graded steps.`,
    "Judge only what is visible in the image, for example lighting, upkeep and cleanliness, signs of neglect or " +
      "vandalism, sidewalks and traffic, people and activity, openness and lines of sight, greenery.",
    "Reply with exactly one JSON object and nothing else, in this form:",
    `{"score": <integer from ${min} to ${max}>, "reasons": ["<short reason>", ...]}`,
    `"score" must be a whole number between ${min} and ${max} inclusive. ` +
      `"reasons" is a list of short phrases naming what in the image drove the score; it may be empty.`,
  ].join("\n");
}

/** The user's text turn (sent together with the image, or alone in a text-only file). */
export function userPrompt(scale: Scale = DEFAULT_SCALE): string {
  return (
    `Rate the perceived safety of this street scene on the ${scale.min}-${scale.max} scale. ` +
    "Reply with the JSON object only."
  );
}

/**
 * Ground truth may be fractional (duplicates averaged with `--on-conflict mean`); targets are integers.
 * Rounding is half up, towards +infinity (6.5 → 7, 6.49 → 6, -1.5 → -1), the same for every item.
 */
export function roundScore(score: number): number {
  if (!Number.isFinite(score)) throw new Error(`score must be a finite number, got ${score}`);
  const r = Math.floor(score + 0.5);
  return r === 0 ? 0 : r; // no -0 in JSON targets
}

/**
 * The assistant turn a fine-tuned model learns: `JSON.stringify({score, reasons})`, score rounded with
 * `roundScore`, reasons trimmed with empty ones dropped. Always this one format.
 */
export function assistantTarget(item: Pick<GroundTruthItem, "score" | "reasons">): string {
  const reply: ScoreReply = {
    score: roundScore(item.score),
    reasons: item.reasons.map((r) => r.trim()).filter((r) => r.length > 0),
  };
  return JSON.stringify(reply);
}

const promptHashes = new Map<string, string>();

/** sha256 (hex) of the system and user prompts for this scale; with PROMPT_VERSION it keys caches. */
export function promptHash(scale: Scale = DEFAULT_SCALE): string {
  // Asked for every cache key: computed once per scale.
  const memo = `${scale.min}:${scale.max}`;
  let h = promptHashes.get(memo);
  if (h === undefined) {
    h = createHash("sha256").update(systemPrompt(scale)).update("\u0000").update(userPrompt(scale)).digest("hex");
    promptHashes.set(memo, h);
  }
  return h;
}

/** Looks like an image file name (`street_01.jpg`, `a.PNG`, `x.tiff`); used to keep names out of prompts. */
export const IMAGE_FILE_NAME_PATTERN = /\w+\.(?:jpe?g|png|webp|gif|bmp|tiff?)\b/i;
