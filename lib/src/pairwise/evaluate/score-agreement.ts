/**
 * Agreement of model-derived scores with human-derived scores of the same images: Pearson, Spearman and
 * Kendall τ-b, each with a percentile bootstrap CI over images. The three statistics share one set of
 * resamples (compare's seeded `bootstrapIndices`), and Pearson and Spearman are compare's own, so the
 * conventions are the project's: average ranks for ties, `null` for a constant side, an interval only
 * when at least half of the resamples gave a value.
 */
import { bootstrapIndices, bootstrapSettings, pearson, percentileInterval, spearman, type BootstrapOptions } from "../../compare";
import { kendallTauB } from "./kendall";

/** A statistic with its percentile bootstrap interval. */
export interface Estimate {
  value: number | null;
  ci: [number, number] | null;
}

export interface CorrelationSummary {
  n: number;
  pearson: Estimate;
  spearman: Estimate;
  kendallTauB: Estimate;
  bootstrap: Required<BootstrapOptions>;
}

/** Scores of the images present (with finite scores) in both lists, in the order of the first. */
export function alignScores(
  aImages: readonly string[],
  aScores: ArrayLike<number>,
  bImages: readonly string[],
  bScores: ArrayLike<number>,
): { images: string[]; a: Float64Array; b: Float64Array } {
  const idx = new Map<string, number>();
  bImages.forEach((name, i) => idx.set(name, i));
  const images: string[] = [];
  const a: number[] = [];
  const b: number[] = [];
  aImages.forEach((name, i) => {
    const j = idx.get(name);
    if (j === undefined) return;
    if (!Number.isFinite(aScores[i]) || !Number.isFinite(bScores[j])) return;
    images.push(name);
    a.push(aScores[i]);
    b.push(bScores[j]);
  });
  return { images, a: Float64Array.from(a), b: Float64Array.from(b) };
}

/** Pearson, Spearman, Kendall τ-b between model and human scores (same images, same order), with CIs. */
export function scoreAgreement(model: ArrayLike<number>, human: ArrayLike<number>, opts: BootstrapOptions = {}): CorrelationSummary {
  const x = Array.from(model);
  const y = Array.from(human);
  const s = bootstrapSettings(opts);
  const stats = { pearson, spearman, kendallTauB } as const;
  const names = Object.keys(stats) as (keyof typeof stats)[];
  const out: CorrelationSummary = {
    n: x.length,
    pearson: { value: pearson(x, y), ci: null },
    spearman: { value: spearman(x, y), ci: null },
    kendallTauB: { value: kendallTauB(x, y), ci: null },
    bootstrap: s,
  };
  if (x.length < 2) return out;
  const draws = { pearson: [] as (number | null)[], spearman: [] as (number | null)[], kendallTauB: [] as (number | null)[] };
  for (const idx of bootstrapIndices(x.length, s.iterations, s.seed)) {
    const bx = idx.map((i) => x[i]!);
    const by = idx.map((i) => y[i]!);
    for (const name of names) draws[name].push(stats[name](bx, by));
  }
  for (const name of names) if (out[name].value !== null) out[name].ci = percentileInterval(draws[name], s.level);
  return out;
}
