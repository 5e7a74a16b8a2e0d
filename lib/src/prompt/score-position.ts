/**
 * Where a score is written in a reply: the one rule the reply parser (score-text.ts), the API models'
 * token probabilities (openai-chat) and the local model's digit logits (qwen2vl) share.
 *
 * A score's digits follow a label: "score", "rating", "safety score" or "safety rating" (space, "_" or
 * "-" between the words; a whole word, so "Overall score" matches at "score"), optionally closed by a
 * quote (a JSON key), then ":" or "=", with markdown bold allowed on either side. A reply that is only
 * a number starts with its score.
 */

/** The label a score follows, up to where its digits start (a RegExp source, for building patterns). */
export const SCORE_LABEL = String.raw`\b(?:safety[\s_-]*score|safety[\s_-]*rating|score|rating)\b["']?\s*(?:\*\*|__)?\s*[:=]\s*(?:\*\*|__)?\s*`;

/** Tried in order: a JSON "score" key, then any labelled score, then a reply that starts with a number. */
const SCORE_START_RES = [/"score"\s*:\s*"?(?=\d)/i, new RegExp(SCORE_LABEL + String.raw`"?(?=\d)`, "i"), /^\s*(?=\d)/];

/** Text that ends exactly where a score's digits would start (`… "score": `, `Score: `, `"rating":"`). */
const ENDS_AT_SCORE_RE = new RegExp(SCORE_LABEL + `["']?$`, "i");

/** Char offset of the first digit of the written score, or -1 when the text has no score position. */
export function scoreOffset(text: string): number {
  for (const re of SCORE_START_RES) {
    const m = re.exec(text);
    if (m) return m.index + m[0].length;
  }
  return -1;
}

/** Whether the next character after `text` would be a score's first digit (generation, token by token). */
export function endsAtScorePosition(text: string): boolean {
  return ENDS_AT_SCORE_RE.test(text);
}
