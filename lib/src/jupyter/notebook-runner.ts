/**
 * `npm start`: the project's Jupyter (ensure.ts: `.venv/` on first use), then every notebook executed headless
 * in order, each written with its standalone HTML export to results/reports/.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { ensureJupyter, type EnsureJupyterOptions } from "./ensure";
import { executeNotebook, type NotebookRun } from "./execute";

export interface RunNotebooksOptions {
  root: string;
  /** Notebook file names to run (default: every notebooks/*.ipynb, in name order). */
  only?: string[];
  outDir?: string;
  /** Per-cell timeout, seconds. */
  cellTimeout?: number;
  /** Extra environment for the kernels (e.g. STREETSAFE_GROUND_TRUTH). */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** How the Jupyter is found or set up (tests: another starting environment). */
  jupyter?: Omit<EnsureJupyterOptions, "log">;
}

export function listNotebooks(root: string): string[] {
  return readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();
}

export function runNotebooks(opts: RunNotebooksOptions): NotebookRun[] {
  const log = opts.log ?? console.log;
  const j = ensureJupyter(opts.root, { ...opts.jupyter, log });
  log(`Jupyter: ${j.describe}`);
  const outDir = opts.outDir ?? path.join(opts.root, "results", "reports");
  const runs: NotebookRun[] = [];
  for (const nb of opts.only ?? listNotebooks(opts.root)) {
    log(`executing notebooks/${nb} …`);
    const r = executeNotebook(j, path.join(opts.root, "notebooks", nb), { outDir, cellTimeout: opts.cellTimeout, env: opts.env });
    log(`  done in ${r.seconds.toFixed(1)}s → ${path.relative(opts.root, r.executed)}, ${path.relative(opts.root, r.html)}`);
    runs.push(r);
  }
  return runs;
}
