/** What notebook 04 shows while a comparison runs: progress lines. */
import type { CompareProgress } from "./run";

/** Progress for a notebook cell: one stdout line per tenth of the work. */
export function notebookProgress(label = "comparing"): (p: CompareProgress) => void {
  let last = -1;
  return (p) => {
    const tenth = p.total ? Math.floor((p.done / p.total) * 10) : 10;
    if (tenth === last) return;
    last = tenth;
    console.log(`${label}: ${p.done}/${p.total} done, ${p.failed} failed, ${p.total - p.done} left · ${p.ratePerSecond.toFixed(1)}/s · $${p.costUsd.toFixed(4)}`);
  };
}
