/**
 * The pairwise prompt: "which of these two street views looks safer?" with both images in one request,
 * its strict reply format `{"safer": "A" | "B" | "equal"}`, the parser, and where the answer is written
 * (for the answer token's probabilities). As with the score prompt, no image name ever enters a prompt:
 * the two images are "A" (shown first) and "B" (shown second).
 */
import { createHash } from "node:crypto";
import type { ImageDetail, OpenAIChatMessage } from "./messages";

/** Bump when the wording or the reply format changes (caches key on it). */
export const PAIRWISE_PROMPT_VERSION = "streetsafe-pairwise-v1";
/** The structured-outputs schema name. */
export const PAIR_SCHEMA_NAME = "safer_image";
export const PAIR_ANSWERS = ["A", "B", "equal"] as const;
export type PairAnswer = (typeof PAIR_ANSWERS)[number];

export function pairwiseSystemPrompt(): string {
  return [
    "You compare two street-view photographs for perceived safety.",
    "Imagine you are a pedestrian standing where each photo was taken and judge where you would feel safer walking.",
    "Judge only what is visible, for example lighting, upkeep and cleanliness, signs of neglect or vandalism, " +
      "sidewalks and traffic, people and activity, openness and lines of sight, greenery.",
    'Image A is the first image, image B the second. Answer "equal" only when neither looks safer.',
    "Reply with exactly one JSON object and nothing else, in this form:",
    '{"safer": "A"} or {"safer": "B"} or {"safer": "equal"}',
  ].join("\n");
}

export function pairwiseUserPrompt(): string {
  return "Which of these two street views looks safer? Image A comes first, image B second. Reply with the JSON object only.";
}

/** sha256 of the system and user prompts; with PAIRWISE_PROMPT_VERSION it keys caches. */
export function pairwisePromptHash(): string {
  return createHash("sha256").update(pairwiseSystemPrompt()).update("\u0000").update(pairwiseUserPrompt()).digest("hex");
}

/** The user turn's parts in order — the question, then "Image A:" and image A, "Image B:" and image B — for every model's request format. */
export function pairwiseUserParts(): ({ type: "text"; text: string } | { type: "image"; which: "A" | "B" })[] {
  return [
    { type: "text", text: pairwiseUserPrompt() },
    { type: "text", text: "Image A:" },
    { type: "image", which: "A" },
    { type: "text", text: "Image B:" },
    { type: "image", which: "B" },
  ];
}

/** System + user turn with image A then image B (data URLs), as OpenAI-compatible chat messages. */
export function pairwiseMessages(first: string, second: string, detail: ImageDetail = "low"): OpenAIChatMessage[] {
  return [
    { role: "system", content: pairwiseSystemPrompt() },
    {
      role: "user",
      content: pairwiseUserParts().map((p) => (p.type === "text" ? p : { type: "image_url" as const, image_url: { url: p.which === "A" ? first : second, detail } })),
    },
  ];
}

/** The strict structured-outputs schema of the reply. */
export function pairSchema(): Record<string, unknown> {
  return {
    type: "object",
    properties: { safer: { type: "string", enum: [...PAIR_ANSWERS] } },
    required: ["safer"],
    additionalProperties: false,
  };
}

export type PairAnswerResult = { ok: true; answer: PairAnswer } | { ok: false; reason: string };

function answerWord(v: unknown): PairAnswer | undefined {
  if (typeof v !== "string") return undefined;
  const w = v.trim().replace(/^image\s+/i, "").toLowerCase();
  return w === "a" ? "A" : w === "b" ? "B" : w === "equal" ? "equal" : undefined;
}

/**
 * The answer in a reply, strictly: one JSON object (optionally in a ```json fence) whose only key is
 * "safer" with "A", "B" or "equal" (case and a leading "Image " ignored), or a reply that is only that
 * word. Anything else — prose, two answers, another key — is a failure with the reason, never a guess.
 */
export function parsePairAnswer(text: string): PairAnswerResult {
  const t = text.trim();
  if (!t) return { ok: false, reason: "the reply is empty" };
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(t);
  const body = fenced ? fenced[1]! : t;
  if (body.startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return { ok: false, reason: "the reply is not valid JSON" };
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) return { ok: false, reason: "the reply is not a JSON object" };
    const keys = Object.keys(data);
    if (keys.length !== 1 || keys[0] !== "safer") return { ok: false, reason: `the reply's keys are ${JSON.stringify(keys)}, not ["safer"]` };
    const a = answerWord((data as Record<string, unknown>)["safer"]);
    return a ? { ok: true, answer: a } : { ok: false, reason: `"safer" is ${JSON.stringify((data as Record<string, unknown>)["safer"])}, not "A", "B" or "equal"` };
  }
  const a = answerWord(body.replace(/[."']/g, ""));
  return a ? { ok: true, answer: a } : { ok: false, reason: 'no {"safer": …} object in the reply' };
}

/** Char offset where the answer's value starts in a reply (after `"safer": "`), or -1. */
export function pairAnswerOffset(text: string): number {
  const m = /"safer"\s*:\s*"/.exec(text);
  if (m) return m.index + m[0].length;
  const bare = /^\s*(?=[AaBbEe])/.exec(text);
  return bare ? bare[0].length : -1;
}

/** Which answer a token at the answer position starts: "A", "B", or "equal" (any prefix of it). */
export function answerOfToken(token: string): PairAnswer | undefined {
  const t = token.trim();
  if (t === "A" || t === "a") return "A";
  if (t === "B" || t === "b") return "B";
  if (t.length > 0 && "equal".startsWith(t.toLowerCase())) return "equal";
  return undefined;
}
