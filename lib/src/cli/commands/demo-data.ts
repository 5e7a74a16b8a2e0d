import type { Command } from "commander";
import path from "node:path";
import { generateDemoData } from "../../prepare";
import { intFlag } from "../args";
import { progressCallback } from "../../core/progress";

export const DEFAULT_DEMO_DIR = path.join("data", "demo");

export function register(program: Command): void {
  program
    .command("demo-data")
    .description("write the synthetic demo dataset (rendered street scenes + XLSX ground truth)")
    .option("--out <dir>", "output folder", DEFAULT_DEMO_DIR)
    .option("--count <n>", "number of scenes", intFlag("--count", 12), 150)
    .option("--seed <n>", "random seed", intFlag("--seed"), 42)
    .action(async (o: { out: string; count: number; seed: number }) => {
      const r = await generateDemoData({ outDir: o.out, count: o.count, seed: o.seed, onProgress: progressCallback("rendering scenes", true) });
      console.log(`wrote ${r.count} synthetic scenes to ${r.imagesDir}\nground truth: ${r.groundTruthPath}\npairwise votes: ${r.votesPath}`);
    });
}
