/**
 * Seeded randomness of the pairwise step. `makeRng` is the project's generator (`seedrandom(String(seed))`,
 * as compare/statistics.ts). `makeFastRng` (seedrandom's Alea, ~10 ns a draw against ~50 ns) serves the one
 * place that draws votes × iterations numbers — the Q-score bootstrap over votes; same seed → same numbers,
 * but not the numbers `makeRng` gives.
 */
import seedrandom from "seedrandom";

export function makeRng(seed: number | string): () => number {
  return seedrandom(String(seed));
}

export function makeFastRng(seed: number | string): () => number {
  return seedrandom.alea(String(seed));
}
