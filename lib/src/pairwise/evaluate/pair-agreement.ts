/**
 * Agreement of a model's pairwise answers with the human majority per pair, independent of how the model
 * was run (score agreement: score-agreement.ts).
 *
 * Pair agreement. Votes are grouped by unordered pair (matched by image name, so the two vote sets may
 * number their images differently). The human majority of a pair is the image with more wins; equal votes
 * abstain; equal win counts (or only equal votes) make the majority "equal". The model's answer per pair
 * is its majority the same way (normally one resolved vote per pair, see order-bias.ts). Then, per pair in
 * both sets:
 * - `equalPairs: "exclude"` (default): pairs whose human majority is "equal" are left out (counted);
 * - `equalPairs: "tie"`: they stay, and count as agreement exactly when the model also says "equal";
 * - a model "equal" on a pair humans decided scores `modelEqualCredit` (default 0 — a non-answer is not
 *   agreement; 0.5 gives half credit, the expected score of a coin flip).
 * Accuracy = mean credit over the pairs kept, with a percentile bootstrap CI over pairs (compare's seeded
 * resamples and interval rule).
 */
import { bootstrapIndices, bootstrapSettings, percentileInterval, type BootstrapOptions } from "../../compare";
import { EQUAL, LEFT, type VoteSet } from "../votes/vote-set";

// outcome codes as plain module constants: the hot loops below then read no imported bindings
const O_LEFT: number = LEFT;
const O_EQUAL: number = EQUAL;

export interface PairTally {
  /** Image names, a < b (string order). */
  a: string;
  b: string;
  winsA: number;
  winsB: number;
  ties: number;
  majority: "a" | "b" | "equal";
}

/** Votes per unordered pair with their majority (see the module comment), keyed "a\u0000b". */
export function pairMajorities(votes: VoteSet): Map<string, PairTally> {
  const out = new Map<string, PairTally>();
  for (let v = 0; v < votes.count; v++) {
    const l = votes.images[votes.left[v]];
    const r = votes.images[votes.right[v]];
    const lFirst = l < r;
    const a = lFirst ? l : r;
    const b = lFirst ? r : l;
    const k = `${a}\u0000${b}`;
    let t = out.get(k);
    if (!t) {
      t = { a, b, winsA: 0, winsB: 0, ties: 0, majority: "equal" };
      out.set(k, t);
    }
    const o = votes.outcome[v];
    if (o === O_EQUAL) t.ties++;
    else if ((o === O_LEFT) === lFirst) t.winsA++;
    else t.winsB++;
  }
  for (const t of out.values()) t.majority = t.winsA > t.winsB ? "a" : t.winsB > t.winsA ? "b" : "equal";
  return out;
}

export interface AgreementOptions {
  equalPairs?: "exclude" | "tie";
  modelEqualCredit?: number;
  bootstrap?: BootstrapOptions;
}

export interface AgreementResult {
  /** Pairs scored. */
  n: number;
  /** Sum of credits (agreements). */
  agreements: number;
  /** agreements / n; null when n = 0. */
  accuracy: number | null;
  ci: [number, number] | null;
  /** Pairs with a human majority of "equal" left out (equalPairs "exclude"). */
  humanEqualExcluded: number;
  /** Model said "equal" on a pair humans decided. */
  modelEqualOnDecided: number;
  /** Pairs in only one of the two vote sets (not scored). */
  onlyHuman: number;
  onlyModel: number;
  rules: { equalPairs: "exclude" | "tie"; modelEqualCredit: number };
  bootstrap: Required<BootstrapOptions>;
}

/** Agreement of the model's per-pair answers with the human majority (see the module comment). */
export function agreementWithHumans(human: VoteSet, model: VoteSet, opts: AgreementOptions = {}): AgreementResult {
  const equalPairs = opts.equalPairs ?? "exclude";
  const credit = opts.modelEqualCredit ?? 0;
  if (!(credit >= 0 && credit <= 1)) throw new RangeError(`modelEqualCredit must be in [0, 1], got ${credit}`);
  const s = bootstrapSettings(opts.bootstrap ?? {});
  const h = pairMajorities(human);
  const m = pairMajorities(model);
  const credits: number[] = [];
  let humanEqualExcluded = 0;
  let modelEqualOnDecided = 0;
  let onlyHuman = 0;
  for (const [k, ht] of h) {
    const mt = m.get(k);
    if (!mt) {
      onlyHuman++;
      continue;
    }
    if (ht.majority === "equal") {
      if (equalPairs === "exclude") {
        humanEqualExcluded++;
        continue;
      }
      credits.push(mt.majority === "equal" ? 1 : 0);
      continue;
    }
    if (mt.majority === "equal") {
      modelEqualOnDecided++;
      credits.push(credit);
    } else credits.push(mt.majority === ht.majority ? 1 : 0);
  }
  let onlyModel = 0;
  for (const k of m.keys()) if (!h.has(k)) onlyModel++;
  const n = credits.length;
  let sum = 0;
  for (const c of credits) sum += c;
  let ci: [number, number] | null = null;
  if (n > 0) {
    const draws: number[] = [];
    for (const idx of bootstrapIndices(n, s.iterations, s.seed)) {
      let t = 0;
      for (const i of idx) t += credits[i]!;
      draws.push(t / n);
    }
    ci = percentileInterval(draws, s.level);
  }
  return {
    n,
    agreements: sum,
    accuracy: n > 0 ? sum / n : null,
    ci,
    humanEqualExcluded,
    modelEqualOnDecided,
    onlyHuman,
    onlyModel,
    rules: { equalPairs, modelEqualCredit: credit },
    bootstrap: s,
  };
}
