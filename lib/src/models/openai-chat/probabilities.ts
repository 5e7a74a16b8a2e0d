/**
 * Token probabilities of an OpenAI-compatible reply → p(k) for each score on the scale, read at the token
 * where the score is written (prompt/score-position.ts), renormalised, and the expected score Σ p(k)·k.
 */
import type { ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import { inScale, type Scale } from "../../core/scale";
import { scoreOffset } from "../../prompt/score-position";

/** Ambiguous score-token mass (e.g. "1" of "10" with split digits) tolerated before probabilities are dropped. */
const MAX_UNRESOLVED_MASS = 0.1;

/**
 * p(k) over the scale's integers from the top_logprobs at the token where the score is written,
 * renormalised, and Σ p(k)·k. Handles a score written as one token ("10") or as digits ("1" + "0"):
 * when the chosen token is a prefix of a longer score, the next position's alternatives split its mass.
 * A prefix alternative that was not chosen (e.g. "1" beside a chosen "7" with per-digit tokens) is
 * dropped when small, and makes the result undefined when it holds more than 10% of the mass.
 * Returns undefined when the score position cannot be found or its digits differ from `score`.
 */
export function scoreProbabilities(
  tokens: Pick<ChatCompletionTokenLogprob, "token" | "top_logprobs">[],
  score: number,
  scale: Scale,
): { probabilities: Record<number, number>; expectedScore: number } | undefined {
  const text = tokens.map((t) => t.token).join("");
  const at = scoreOffset(text);
  if (at < 0 || !text.slice(at).startsWith(String(score)) || /^\d/.test(text.slice(at + String(score).length))) {
    return undefined;
  }
  let start = 0;
  let i = 0;
  for (; i < tokens.length; i++) {
    const end = start + tokens[i]!.token.length;
    if (at < end) break;
    start = end;
  }
  const here = tokens[i];
  if (!here) return undefined;
  const prefix = here.token.slice(0, at - start);
  const digitsOf = (token: string): { digits: string; complete: boolean } | undefined => {
    const rest = (token.startsWith(prefix) ? token.slice(prefix.length) : token).trimStart();
    const m = /^(\d+)(\D?)/.exec(rest);
    return m ? { digits: m[1]!, complete: m[2] !== "" } : undefined;
  };
  const scaleStrings = [];
  for (let k = scale.min; k <= scale.max; k++) scaleStrings.push(String(k));
  const alts = here.top_logprobs.length > 0 ? here.top_logprobs : [{ token: here.token, logprob: 0, bytes: null }];
  const chosen = digitsOf(here.token);
  // Whole-number tokens seen at this position mean the tokenizer writes scores as one token.
  const wholeNumbers = alts.some((a) => (digitsOf(a.token)?.digits.length ?? 0) > 1) || (chosen?.digits.length ?? 0) > 1;

  const mass = new Map<number, number>();
  const add = (k: number, p: number) => {
    if (Number.isInteger(k) && inScale(k, scale)) mass.set(k, (mass.get(k) ?? 0) + p);
  };
  let unresolved = 0;
  // " 7" and "7" are different tokens for the same score: their masses add up.
  for (const alt of alts) {
    const d = digitsOf(alt.token);
    if (!d) continue;
    const p = Math.exp(alt.logprob);
    const longer = scaleStrings.some((s) => s.length > d.digits.length && s.startsWith(d.digits));
    if (d.complete || wholeNumbers || !longer) {
      add(Number(d.digits), p);
    } else if (chosen && d.digits === chosen.digits && tokens[i + 1]) {
      // The next position says whether the number goes on ("0" → 10) or ends.
      let continued = 0;
      for (const next of tokens[i + 1]!.top_logprobs) {
        const m = /^(\d+)/.exec(next.token);
        if (!m) continue;
        const q = Math.exp(next.logprob);
        continued += q;
        add(Number(d.digits + m[1]), p * q);
      }
      add(Number(d.digits), p * Math.max(0, 1 - continued));
    } else {
      unresolved += p;
    }
  }
  const total = [...mass.values()].reduce((a, b) => a + b, 0);
  if (total <= 0 || unresolved > MAX_UNRESOLVED_MASS * (total + unresolved)) return undefined;
  const probabilities: Record<number, number> = {};
  let expectedScore = 0;
  for (let k = scale.min; k <= scale.max; k++) {
    const p = (mass.get(k) ?? 0) / total;
    probabilities[k] = p;
    expectedScore += p * k;
  }
  return { probabilities, expectedScore };
}
