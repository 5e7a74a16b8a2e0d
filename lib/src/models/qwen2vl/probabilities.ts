/**
 * Score probabilities over the digit tree. Qwen2's tokenizer writes numbers digit by digit ("10" is "1"
 * then "0"), so the scale's integers form a trie of digit prefixes: at each node the allowed next digits and
 * (when the digits so far already are a score) "the number ends here" are renormalised among themselves,
 * and p(k) is the product along k's path. Also the logits helpers that read one step's row.
 */
import type { Scale } from "../../core/scale";
import type { TfTensor } from "./runtime";

/** Most extra one-token passes a scale's trie may need (a larger scale gets no probabilities). */
const MAX_PROBABILITY_PASSES = 32;

export interface StepLogits {
  /** Logits of the tokens "0".."9". */
  digits: number[];
  /** log Σ exp(logit) over the whole vocabulary. */
  lse: number;
}

/** Digit-string trie of the scale's integers: which prefixes need a next-token distribution. */
export function scoreTrie(scale: Scale): { nodes: string[]; children: (p: string) => number[]; terminal: (p: string) => boolean } | null {
  if (scale.min < 0 || !Number.isInteger(scale.min) || !Number.isInteger(scale.max)) return null;
  const words = new Set<string>();
  for (let k = scale.min; k <= scale.max; k++) words.add(String(k));
  const children = (p: string) => {
    const out: number[] = [];
    for (let d = 0; d <= 9; d++) {
      const q = p + d;
      for (const w of words) {
        if (w.startsWith(q)) {
          out.push(d);
          break;
        }
      }
    }
    return out;
  };
  const nodes: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    for (let i = 0; i < w.length; i++) {
      const p = w.slice(0, i);
      if (!seen.has(p)) {
        seen.add(p);
        nodes.push(p);
      }
    }
  }
  if (nodes.length - 1 > MAX_PROBABILITY_PASSES) return null;
  return { nodes, children, terminal: (p) => words.has(p) };
}

/** p(k) for each integer on the scale from the next-token distributions at the trie's nodes. */
export function digitTreeProbabilities(
  scale: Scale,
  at: (prefix: string) => StepLogits,
): { probabilities: Record<number, number>; expectedScore: number } | null {
  const trie = scoreTrie(scale);
  if (!trie) return null;
  const probabilities: Record<number, number> = {};
  const walk = (p: string, mass: number) => {
    const kids = trie.children(p);
    const isEnd = p !== "" && trie.terminal(p);
    if (kids.length === 0) {
      probabilities[Number(p)] = mass;
      return;
    }
    const step = at(p);
    const pd = step.digits.map((l) => Math.exp(l - step.lse));
    const endMass = isEnd ? Math.max(0, 1 - pd.reduce((a, b) => a + b, 0)) : 0;
    const total = kids.reduce((a, d) => a + pd[d]!, 0) + endMass;
    // Nothing representable (all mass underflowed): share evenly rather than divide by zero.
    const share = (x: number) => (total > 0 ? x / total : 1 / (kids.length + (isEnd ? 1 : 0)));
    if (isEnd) probabilities[Number(p)] = mass * share(endMass);
    for (const d of kids) walk(p + d, mass * share(pd[d]!));
  };
  walk("", 1);
  let sum = 0;
  let expected = 0;
  for (let k = scale.min; k <= scale.max; k++) {
    const v = probabilities[k] ?? 0;
    probabilities[k] = v;
    sum += v;
  }
  if (!(sum > 0)) return null;
  for (let k = scale.min; k <= scale.max; k++) {
    probabilities[k] = probabilities[k]! / sum;
    expected += probabilities[k]! * k;
  }
  return { probabilities, expectedScore: expected };
}

/** IEEE half → number (Node 20 has no Float16Array; transformers.js then keeps float16 data as raw Uint16Array). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function logitsRow(t: TfTensor, row: number, vocab: number): ArrayLike<number> {
  if (t.type === "float16" && t.data instanceof Uint16Array) {
    return Float64Array.from(t.data.subarray(row * vocab, (row + 1) * vocab), halfToNumber);
  }
  const tt = t.type === "float32" || t.type === "float64" || t.type === "float16" ? t : t.to("float32");
  const data = tt.data as Float32Array | Float64Array;
  return data.subarray(row * vocab, (row + 1) * vocab);
}

export function stepLogits(row: ArrayLike<number>, digitIds: number[]): StepLogits {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - max);
  return { digits: digitIds.map((id) => row[id]!), lse: max + Math.log(s) };
}
