/**
 * From model scores to the project's 1–10 safety scale, by a stated rule that travels with the output.
 *
 * Defaults, and why:
 * - Q-score: already 0–10 → the fixed linear map s = 1 + 9·Q/10 (rule "linear" from [0, 10]): no data-
 *   dependent step, so Q-scores of different studies stay comparable.
 * - Bradley–Terry: "win-probability" — s = 1 + 9·P(image beats an image of average strength)
 *   = 1 + 9·σ(θ_i − mean θ), σ the logistic function. Reads as "5.5 = as safe-looking as the average
 *   image; 10 = would win every comparison". It is monotone, bounded, uses the model's own probability
 *   scale (no arbitrary stretch), and — unlike a min–max map — does not hang on the two most extreme
 *   images, which are the least certain ones (always-winners have the largest standard errors).
 * - TrueSkill: the same rule on TrueSkill's probit scale: s = 1 + 9·Φ((μ_i − mean μ)/(√2·β)), the
 *   probability that the image's performance beats that of an average image (skills taken as known).
 * Alternatives, selectable: "range" (observed min–max → 1–10; easy to read, outlier-driven), "quantile"
 * (average rank → evenly spread over 1–10; uniform by construction, discards the distances between
 * images), "reference" (quantile matching to absolute 1–10 scores of a reference set, e.g. human ratings
 * of the same or similar images: the image at empirical quantile u gets the reference's u-quantile —
 * the right choice when absolute scores exist, since pairwise votes alone cannot say whether a city's
 * images are mostly safe or mostly unsafe), and "linear" with a fixed source range.
 *
 * Every rule is monotone non-decreasing, so interval end points (θ ± z·se, μ ± z·σ, bootstrap limits)
 * are mapped by the same function.
 */
import { quantileSorted } from "../../compare";
import type { Scale } from "../../core/scale";
import { DEFAULT_SCALE } from "../../core/scale";
import { normalCdf, normalPpf } from "../math/gaussian";
import type { BradleyTerryResult } from "./bradley-terry";
import type { QScoreResult } from "./q-score";
import type { TrueSkillResult } from "./trueskill";

export type ScaleRule =
  | { kind: "linear"; from: readonly [number, number] }
  | { kind: "range" }
  | { kind: "win-probability"; link: "logistic" | "normal"; spread: number; center?: number }
  | { kind: "quantile" }
  | { kind: "reference"; reference: readonly number[] };

export interface RuleDescription {
  kind: ScaleRule["kind"];
  /** The map in words and symbols, with its parameters filled in. */
  formula: string;
  params: Record<string, number | string>;
}

export interface MappedScores {
  scale: Scale;
  rule: RuleDescription;
  /** Mapped scores; NaN where the input was not finite. */
  scores: Float64Array;
  lower?: Float64Array;
  upper?: Float64Array;
}

function finiteSorted(values: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push(values[i]);
  return Float64Array.from(out).sort();
}

/** Piecewise-linear interpolation of y over increasing x (clamped at the ends). */
function interpolate(xs: Float64Array, ys: Float64Array, x: number): number {
  const n = xs.length;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[n - 1]) return ys[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  return ys[lo] + ((x - xs[lo]) / (xs[hi] - xs[lo])) * (ys[hi] - ys[lo]);
}

/** Distinct sorted values and their average-rank quantile u = (rank − 1)/(n − 1) ∈ [0, 1]. */
function empiricalQuantiles(sorted: Float64Array): { xs: Float64Array; us: Float64Array } {
  const n = sorted.length;
  const xs: number[] = [];
  const us: number[] = [];
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++;
    xs.push(sorted[i]);
    us.push(n === 1 ? 0.5 : (i + j) / 2 / (n - 1));
    i = j + 1;
  }
  return { xs: Float64Array.from(xs), us: Float64Array.from(us) };
}

/** Build the monotone map of a rule for these values. */
function buildMap(values: ArrayLike<number>, rule: ScaleRule, scale: Scale): { f: (x: number) => number; rule: RuleDescription } {
  const { min, max } = scale;
  const width = max - min;
  const clip = (s: number) => Math.min(max, Math.max(min, s));
  const fmt = (x: number) => (Math.abs(x) < 1e-9 ? "0" : Number(x.toPrecision(6)).toString());
  const sorted = finiteSorted(values);
  switch (rule.kind) {
    case "linear": {
      const [lo, hi] = rule.from;
      if (!(hi > lo)) throw new RangeError(`linear rule needs from[0] < from[1], got ${lo}, ${hi}`);
      return {
        f: (x) => clip(min + (width * (x - lo)) / (hi - lo)),
        rule: { kind: "linear", formula: `s = ${min} + ${width}·(x − ${fmt(lo)})/${fmt(hi - lo)}, clipped to ${min}–${max}`, params: { from: `${lo}–${hi}` } },
      };
    }
    case "range": {
      if (sorted.length === 0) throw new RangeError("range rule: no finite scores");
      const lo = sorted[0];
      const hi = sorted[sorted.length - 1];
      const span = hi - lo;
      return {
        f: (x) => (span === 0 ? (min + max) / 2 : clip(min + (width * (x - lo)) / span)),
        rule: { kind: "range", formula: `s = ${min} + ${width}·(x − min)/(max − min) over the observed scores (min = ${fmt(lo)}, max = ${fmt(hi)})`, params: { observedMin: lo, observedMax: hi } },
      };
    }
    case "win-probability": {
      if (!(rule.spread > 0)) throw new RangeError(`win-probability rule needs spread > 0, got ${rule.spread}`);
      let center = rule.center;
      if (center === undefined) {
        let s = 0;
        for (const v of sorted) s += v;
        center = sorted.length ? s / sorted.length : 0;
      }
      const c = center;
      const F = rule.link === "logistic" ? (z: number) => 1 / (1 + Math.exp(-z)) : normalCdf;
      const name = rule.link === "logistic" ? "σ" : "Φ";
      return {
        f: (x) => min + width * F((x - c) / rule.spread),
        rule: {
          kind: "win-probability",
          formula: `s = ${min} + ${width}·${name}((x − ${fmt(c)})/${fmt(rule.spread)}): ${min} plus ${width} × the probability of beating an image of average score`,
          params: { link: rule.link, center: c, spread: rule.spread },
        },
      };
    }
    case "quantile": {
      if (sorted.length === 0) throw new RangeError("quantile rule: no finite scores");
      const { xs, us } = empiricalQuantiles(sorted);
      return {
        f: (x) => min + width * interpolate(xs, us, x),
        rule: { kind: "quantile", formula: `s = ${min} + ${width}·(rank − 1)/(n − 1), average ranks among the ${sorted.length} scored images`, params: { n: sorted.length } },
      };
    }
    case "reference": {
      const ref = finiteSorted(rule.reference);
      if (ref.length === 0) throw new RangeError("reference rule: the reference has no finite scores");
      if (sorted.length === 0) throw new RangeError("reference rule: no finite scores");
      const { xs, us } = empiricalQuantiles(sorted);
      return {
        f: (x) => clip(quantileSorted(ref, interpolate(xs, us, x))),
        rule: {
          kind: "reference",
          formula: `s = Q_ref(u), u = (rank − 1)/(n − 1) of the image among the ${sorted.length} scored images, Q_ref the quantile function (type 7) of ${ref.length} reference scores`,
          params: { n: sorted.length, referenceN: ref.length, referenceMedian: quantileSorted(ref, 0.5) },
        },
      };
    }
  }
}

/** Map values (and optional interval end points) to the scale by a rule. */
export function mapToScale(
  values: ArrayLike<number>,
  rule: ScaleRule,
  scale: Scale = DEFAULT_SCALE,
  interval?: { lower: ArrayLike<number>; upper: ArrayLike<number> },
): MappedScores {
  if (!(scale.max > scale.min)) throw new RangeError(`scale needs min < max, got ${scale.min}–${scale.max}`);
  const { f, rule: desc } = buildMap(values, rule, scale);
  const apply = (xs: ArrayLike<number>) => {
    const out = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) out[i] = Number.isFinite(xs[i]) ? f(xs[i]) : NaN;
    return out;
  };
  const out: MappedScores = { scale, rule: desc, scores: apply(values) };
  if (interval) {
    out.lower = apply(interval.lower);
    out.upper = apply(interval.upper);
  }
  return out;
}

export interface MapOptions {
  rule?: ScaleRule;
  scale?: Scale;
  /** Level of the mapped intervals (default 0.95). */
  level?: number;
}

/** Q-scores (0–10) → scale by the fixed linear rule; bootstrap limits mapped alike when present. */
export function mapQScores(result: QScoreResult, opts: Omit<MapOptions, "level"> = {}): MappedScores {
  const rule = opts.rule ?? { kind: "linear", from: [0, 10] as const };
  return mapToScale(result.q, rule, opts.scale, result.ci ? { lower: result.ci.lower, upper: result.ci.upper } : undefined);
}

function pmInterval(center: ArrayLike<number>, sd: ArrayLike<number>, level: number) {
  const z = normalPpf((1 + level) / 2);
  const lower = new Float64Array(center.length);
  const upper = new Float64Array(center.length);
  for (let i = 0; i < center.length; i++) {
    lower[i] = center[i] - z * sd[i];
    upper[i] = center[i] + z * sd[i];
  }
  return { lower, upper };
}

/** Bradley–Terry θ → scale; default rule s = 1 + 9·σ(θ − mean θ); interval θ ± z·se. */
export function mapBradleyTerry(result: BradleyTerryResult, opts: MapOptions = {}): MappedScores {
  const rule = opts.rule ?? { kind: "win-probability", link: "logistic", spread: 1 };
  return mapToScale(result.scores, rule, opts.scale, pmInterval(result.scores, result.se, opts.level ?? 0.95));
}

/** TrueSkill μ → scale; default rule s = 1 + 9·Φ((μ − mean μ)/(√2·β)); interval μ ± z·σ. */
export function mapTrueSkill(result: TrueSkillResult, opts: MapOptions = {}): MappedScores {
  const rule = opts.rule ?? { kind: "win-probability", link: "normal", spread: Math.SQRT2 * result.params.beta };
  return mapToScale(result.mu, rule, opts.scale, pmInterval(result.mu, result.sigma, opts.level ?? 0.95));
}
