import type { Command } from "commander";
import path from "node:path";
import { PROJECT_ROOT } from "../../core/project-path";
import { runNotebooks } from "../../jupyter";

export function register(program: Command): void {
  program
    .command("notebooks")
    .description("execute the notebooks headless (what `npm start` runs) and export them to results/reports/")
    .option("--ground-truth <file>", "ground truth for the notebooks instead of the demo dataset")
    .option("--images <dir>", "images folder for --ground-truth")
    .option("--only <notebook...>", "run only these notebooks (file names)")
    .action((o: { groundTruth?: string; images?: string; only?: string[] }) => {
      if (!!o.groundTruth !== !!o.images) throw new Error("--ground-truth and --images go together");
      const env: Record<string, string> = {};
      // Notebooks run with notebooks/ as their working folder: hand them absolute paths.
      if (o.groundTruth && o.images) {
        env.STREETSAFE_GROUND_TRUTH = path.resolve(o.groundTruth);
        env.STREETSAFE_IMAGES = path.resolve(o.images);
      }
      const runs = runNotebooks({ root: PROJECT_ROOT, only: o.only, env });
      console.log(`executed ${runs.length} notebook(s); reports in ${path.join("results", "reports")}/`);
    });
}
