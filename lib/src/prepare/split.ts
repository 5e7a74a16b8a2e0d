/**
 * Image-level, seeded, score-stratified train/val/test splits.
 * The unit of splitting is the image *content* when sha256s are known: two file names with identical
 * prepared bytes always land in the same split, so a copy of a test image can never train a model.
 */
import seedrandom from "seedrandom";
import { SPLIT_NAMES, type GroundTruthItem, type SplitName } from "../core/types";

export interface SplitOptions {
  seed?: number;
  valRatio?: number;
  testRatio?: number;
  /** image → sha256 of prepared bytes; groups identical content. */
  contentHash?: Map<string, string>;
}

export const DEFAULT_SPLIT = { seed: 42, valRatio: 0.15, testRatio: 0.15 } as const;

export type Splits = Record<SplitName, GroundTruthItem[]>;

export function splitByImage(items: GroundTruthItem[], opts: SplitOptions = {}): Splits {
  const seed = opts.seed ?? DEFAULT_SPLIT.seed;
  const valRatio = opts.valRatio ?? DEFAULT_SPLIT.valRatio;
  const testRatio = opts.testRatio ?? DEFAULT_SPLIT.testRatio;
  validateRatios(valRatio, testRatio);

  const groups = groupByContent(items, opts.contentHash);
  if (groups.length < 3 && (valRatio > 0 || testRatio > 0)) {
    throw new Error(`need at least 3 distinct images to split, got ${groups.length}`);
  }
  const rng = seedrandom(String(seed));
  // Strata: rounded mean score of each group; shuffled within each stratum by the seed.
  const strata = new Map<number, GroundTruthItem[][]>();
  for (const g of [...groups].sort((a, b) => compare(a[0].image, b[0].image))) {
    const key = Math.round(g.reduce((s, it) => s + it.score, 0) / g.length);
    (strata.get(key) ?? strata.set(key, []).get(key)!).push(g);
  }
  const keys = [...strata.keys()].sort((a, b) => a - b);
  for (const k of keys) shuffle(strata.get(k)!, rng);

  const n = groups.length;
  const targets: Record<SplitName, number> = { train: 0, val: Math.round(n * valRatio), test: Math.round(n * testRatio) };
  if (valRatio > 0) targets.val = Math.max(1, targets.val);
  if (testRatio > 0) targets.test = Math.max(1, targets.test);
  targets.train = n - targets.val - targets.test;
  if (targets.train < 1) throw new Error(`ratios leave no training images (n=${n}, val=${valRatio}, test=${testRatio})`);

  const quotas = allocate(keys.map((k) => strata.get(k)!.length), targets, rng);
  const out: Splits = { train: [], val: [], test: [] };
  keys.forEach((k, i) => {
    const list = strata.get(k)!;
    let at = 0;
    for (const name of SPLIT_NAMES) {
      for (const g of list.slice(at, at + quotas[i][name])) out[name].push(...g);
      at += quotas[i][name];
    }
  });
  for (const name of SPLIT_NAMES) out[name].sort((a, b) => compare(a.image, b.image));
  return out;
}

function validateRatios(val: number, test: number): void {
  for (const [flag, r] of [["--val-ratio", val], ["--test-ratio", test]] as const) {
    if (!Number.isFinite(r) || r < 0 || r >= 1) throw new Error(`${flag} must be in [0, 1), got ${r}`);
  }
  if (val + test >= 1) throw new Error(`--val-ratio + --test-ratio must be below 1, got ${val + test}`);
}

function groupByContent(items: GroundTruthItem[], hash?: Map<string, string>): GroundTruthItem[][] {
  const groups = new Map<string, GroundTruthItem[]>();
  for (const it of items) {
    const key = hash?.get(it.image) ?? `name:${it.image}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(it);
  }
  return [...groups.values()];
}

/**
 * Per-stratum counts for val and test: the floor of each stratum's share, then the remaining global
 * target handed out by largest fractional part (seeded tie-break), so totals hit the targets exactly.
 */
function allocate(sizes: number[], targets: Record<SplitName, number>, rng: () => number): Record<SplitName, number>[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const quotas = sizes.map(() => ({ train: 0, val: 0, test: 0 }));
  for (const name of ["test", "val"] as const) {
    const exact = sizes.map((s) => (s * targets[name]) / n);
    let left = targets[name];
    exact.forEach((e, i) => {
      const free = sizes[i] - quotas[i].test - quotas[i].val;
      quotas[i][name] = Math.min(Math.floor(e), free);
      left -= quotas[i][name];
    });
    const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e), tie: rng() })).sort((a, b) => b.frac - a.frac || a.tie - b.tie);
    while (left > 0) {
      let placed = false;
      for (const { i } of order) {
        if (left === 0) break;
        if (sizes[i] - quotas[i].test - quotas[i].val > 0) {
          quotas[i][name]++;
          left--;
          placed = true;
        }
      }
      if (!placed) break;
    }
  }
  quotas.forEach((q, i) => (q.train = sizes[i] - q.val - q.test));
  return quotas;
}

function shuffle<T>(list: T[], rng: () => number): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface LeakageReport {
  disjoint: boolean;
  /** Image names found in more than one split. */
  sharedNames: { image: string; splits: SplitName[] }[];
  /** Identical prepared content under different names in different splits. */
  sharedContent: { sha256: string; images: string[]; splits: SplitName[] }[];
}

/** Proves the splits share no image, by name and (when hashes are known) by content. */
export function checkLeakage(splits: Splits, contentHash?: Map<string, string>): LeakageReport {
  const byName = new Map<string, Set<SplitName>>();
  const byContent = new Map<string, { images: Set<string>; splits: Set<SplitName> }>();
  for (const name of SPLIT_NAMES) {
    for (const it of splits[name]) {
      (byName.get(it.image) ?? byName.set(it.image, new Set()).get(it.image)!).add(name);
      const h = contentHash?.get(it.image);
      if (h) {
        const e = byContent.get(h) ?? byContent.set(h, { images: new Set(), splits: new Set() }).get(h)!;
        e.images.add(it.image);
        e.splits.add(name);
      }
    }
  }
  const sharedNames = [...byName].filter(([, s]) => s.size > 1).map(([image, s]) => ({ image, splits: [...s] }));
  const sharedContent = [...byContent]
    .filter(([, e]) => e.splits.size > 1)
    .map(([sha256, e]) => ({ sha256, images: [...e.images], splits: [...e.splits] }));
  return { disjoint: sharedNames.length === 0 && sharedContent.length === 0, sharedNames, sharedContent };
}

export interface SplitSummaryRow {
  split: SplitName;
  images: number;
  share: number;
  meanScore: number;
  minScore: number;
  maxScore: number;
  /** Count per rounded score. */
  histogram: Record<number, number>;
}

export function summarizeSplits(splits: Splits): SplitSummaryRow[] {
  const total = SPLIT_NAMES.reduce((s, n) => s + splits[n].length, 0);
  return SPLIT_NAMES.map((split) => {
    const scores = splits[split].map((it) => it.score);
    const histogram: Record<number, number> = {};
    for (const s of scores) histogram[Math.round(s)] = (histogram[Math.round(s)] ?? 0) + 1;
    return {
      split,
      images: scores.length,
      share: total ? scores.length / total : 0,
      meanScore: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : NaN,
      minScore: scores.length ? Math.min(...scores) : NaN,
      maxScore: scores.length ? Math.max(...scores) : NaN,
      histogram,
    };
  });
}
