/**
 * Position bias of a model asked about each pair in both orders, and the votes that remain once it is
 * taken out.
 *
 * Input: one record per request — which image was shown first, which second, and the answer by position
 * ("first", "second" or "equal"). Per unordered pair and order, repeated requests are reduced to their
 * majority answer (a tie between answers → "equal"). Then, per pair asked in both orders:
 * - the same image chosen in both orders → a vote for it ("consistent");
 * - "equal" in both orders → an equal vote;
 * - the answer follows the position (first–first or second–second, i.e. a different image each time) →
 *   an equal vote: the model's preference is its position preference, not the images ("position-following");
 * - one order names an image, the other says equal → an equal vote by default (`partialEqual: "tie"`),
 *   or a vote for the named image (`"vote"`): the weak preference may itself be positional, so the
 *   conservative default counts it as no preference.
 * Pairs asked in one order only become a vote as answered (`singleOrder: "vote"`, default) or are
 * dropped (`"drop"`); they do not enter the position-bias rate.
 *
 * Rates: position-bias rate = position-following pairs / pairs asked in both orders; first-position rate =
 * requests answered "first" / requests answered "first" or "second" (0.5 = no preference for either slot).
 */
import { EQUAL, LEFT, RIGHT, VoteSetBuilder, type VoteSet } from "../votes/vote-set";

export type PositionAnswer = "first" | "second" | "equal";

export interface OrderedAnswer {
  first: string;
  second: string;
  answer: PositionAnswer;
}

export type PairResolution = "consistent" | "both-equal" | "position-following" | "partial-equal" | "single-order";

export interface ResolvedPair {
  /** The pair, `a` being the image shown first in its first request. */
  a: string;
  b: string;
  /** Majority answer with a first / with b first (undefined when not asked in that order). */
  aFirst?: PositionAnswer;
  bFirst?: PositionAnswer;
  resolution: PairResolution;
  /** The resulting vote; undefined when dropped. */
  winner?: "a" | "b" | "equal";
}

export interface OrderBiasSummary {
  requests: number;
  answers: { first: number; second: number; equal: number };
  pairs: number;
  bothOrders: number;
  singleOrder: number;
  consistent: number;
  bothEqual: number;
  positionFollowing: number;
  /** Of the position-following pairs: "first" both times / "second" both times. */
  followsFirst: number;
  followsSecond: number;
  partialEqual: number;
  /** positionFollowing / bothOrders; null without pairs asked in both orders. */
  positionBiasRate: number | null;
  /** first / (first + second) over requests; null without decisive answers. */
  firstPositionRate: number | null;
}

export interface OrderBiasOptions {
  partialEqual?: "tie" | "vote";
  singleOrder?: "vote" | "drop";
}

function majority(c: { first: number; second: number; equal: number }): PositionAnswer {
  if (c.first > c.second && c.first > c.equal) return "first";
  if (c.second > c.first && c.second > c.equal) return "second";
  if (c.equal > c.first && c.equal > c.second) return "equal";
  return "equal";
}

/** Resolve position-based answers into votes and summarise the position bias. */
export function resolveOrderedAnswers(answers: Iterable<OrderedAnswer>, opts: OrderBiasOptions = {}): { votes: VoteSet; pairs: ResolvedPair[]; summary: OrderBiasSummary } {
  const partial = opts.partialEqual ?? "tie";
  const single = opts.singleOrder ?? "vote";
  type Tally = { a: string; b: string; ab: { first: number; second: number; equal: number }; ba: { first: number; second: number; equal: number } };
  const byPair = new Map<string, Tally>();
  const summary: OrderBiasSummary = {
    requests: 0,
    answers: { first: 0, second: 0, equal: 0 },
    pairs: 0,
    bothOrders: 0,
    singleOrder: 0,
    consistent: 0,
    bothEqual: 0,
    positionFollowing: 0,
    followsFirst: 0,
    followsSecond: 0,
    partialEqual: 0,
    positionBiasRate: null,
    firstPositionRate: null,
  };
  for (const r of answers) {
    if (r.first === r.second) throw new RangeError(`a request compares "${r.first}" with itself`);
    if (r.answer !== "first" && r.answer !== "second" && r.answer !== "equal") throw new RangeError(`answer must be "first", "second" or "equal", got ${JSON.stringify(r.answer)}`);
    summary.requests++;
    summary.answers[r.answer]++;
    const k = r.first < r.second ? `${r.first}\u0000${r.second}` : `${r.second}\u0000${r.first}`;
    let t = byPair.get(k);
    if (!t) {
      t = { a: r.first, b: r.second, ab: { first: 0, second: 0, equal: 0 }, ba: { first: 0, second: 0, equal: 0 } };
      byPair.set(k, t);
    }
    (r.first === t.a ? t.ab : t.ba)[r.answer]++;
  }
  const builder = new VoteSetBuilder();
  const pairs: ResolvedPair[] = [];
  for (const t of byPair.values()) {
    summary.pairs++;
    const hasAB = t.ab.first + t.ab.second + t.ab.equal > 0;
    const hasBA = t.ba.first + t.ba.second + t.ba.equal > 0;
    const aFirst = hasAB ? majority(t.ab) : undefined;
    const bFirst = hasBA ? majority(t.ba) : undefined;
    // in image terms: which image each order chose
    const pickAB = aFirst === "first" ? "a" : aFirst === "second" ? "b" : aFirst === "equal" ? "equal" : undefined;
    const pickBA = bFirst === "first" ? "b" : bFirst === "second" ? "a" : bFirst === "equal" ? "equal" : undefined;
    let resolution: PairResolution;
    let winner: ResolvedPair["winner"];
    if (pickAB !== undefined && pickBA !== undefined) {
      summary.bothOrders++;
      if (pickAB === pickBA) {
        resolution = pickAB === "equal" ? "both-equal" : "consistent";
        winner = pickAB;
        if (pickAB === "equal") summary.bothEqual++;
        else summary.consistent++;
      } else if (pickAB === "equal" || pickBA === "equal") {
        resolution = "partial-equal";
        summary.partialEqual++;
        winner = partial === "vote" ? (pickAB === "equal" ? pickBA : pickAB) : "equal";
      } else {
        resolution = "position-following";
        summary.positionFollowing++;
        if (aFirst === "first") summary.followsFirst++;
        else summary.followsSecond++;
        winner = "equal";
      }
    } else {
      resolution = "single-order";
      summary.singleOrder++;
      winner = single === "vote" ? (pickAB ?? pickBA) : undefined;
    }
    const rp: ResolvedPair = { a: t.a, b: t.b, resolution, ...(aFirst ? { aFirst } : {}), ...(bFirst ? { bFirst } : {}), ...(winner ? { winner } : {}) };
    pairs.push(rp);
    if (winner) builder.add(t.a, t.b, winner === "a" ? LEFT : winner === "b" ? RIGHT : EQUAL);
  }
  summary.positionBiasRate = summary.bothOrders > 0 ? summary.positionFollowing / summary.bothOrders : null;
  const decisive = summary.answers.first + summary.answers.second;
  summary.firstPositionRate = decisive > 0 ? summary.answers.first / decisive : null;
  return { votes: builder.build(), pairs, summary };
}
