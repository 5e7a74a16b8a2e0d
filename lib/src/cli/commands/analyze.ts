import { existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { run as analyzeRun } from "../../analyze";
import { latestRun } from "../../compare";

export interface AnalyzeFlags {
  resultsDir: string;
  run?: string;
  /** commander's `--no-png`: false when given. */
  png: boolean;
}

export interface AnalyzePlan {
  resultsDir: string;
  /** A run folder (name under resultsDir, or a path); null = the latest run. */
  run: string | null;
  png: "auto" | false;
}

/** Flags → plan (pure; tested table-style). */
export function analyzePlan(f: AnalyzeFlags): AnalyzePlan {
  const run = f.run?.trim() ? f.run.trim() : null;
  return { resultsDir: f.resultsDir, run, png: f.png ? "auto" : false };
}

/** The run folder a plan names: `--run` as a path when it is one, else a folder under `--results-dir`; default the latest. */
export async function resolveRunDir(plan: AnalyzePlan): Promise<string> {
  if (plan.run === null) return latestRun(plan.resultsDir);
  const under = path.join(plan.resultsDir, plan.run);
  if (existsSync(under)) return under;
  if (existsSync(plan.run)) return plan.run;
  throw new Error(`--run ${plan.run}: no such run folder (looked for ${under} and ${plan.run})`);
}

export function register(program: Command): void {
  program
    .command("analyze")
    .description("charts of a comparison run: standalone HTML pages (open offline) and PNGs in <run>/plots/")
    .option("--results-dir <dir>", "folder holding the comparison runs", "results/model_comparison")
    .option("--run <run>", "run folder name under --results-dir, or a path (default: the latest run)")
    .option("--no-png", "skip the PNGs (which need a headless Chromium: /usr/bin/chromium or CHROMIUM_PATH)")
    .action(async (flags: AnalyzeFlags) => {
      const plan = analyzePlan(flags);
      const runDir = await resolveRunDir(plan);
      console.log(`run: ${runDir}`);
      const result = await analyzeRun(runDir, { png: plan.png, log: (line) => console.log(line) });
      const pngs = result.charts.filter((c) => c.png).length;
      console.log(`${result.charts.length} charts (${pngs} PNGs) in ${result.plotsDir}`);
      console.log(`open ${result.index}`);
    });
}
