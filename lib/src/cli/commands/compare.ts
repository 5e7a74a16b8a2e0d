import type { Command } from "commander";
import path from "node:path";
import { choiceFlag, intFlag } from "../args";
import { QWEN2VL_DTYPE_CHOICES } from "../../models";
import { run as analyzeRun, formatRunReport, writeRunReports } from "../../analyze";
import { DEFAULT_COMPARE_MODELS, run as runComparison, type CompareOptions } from "../../compare";
import { createProgress, type Progress } from "../../core/progress";
import { parseScale } from "../../core/scale";

export interface CompareFlags {
  models: string[];
  outputDir: string;
  gpt4Model?: string;
  testSet?: string;
  images?: string;
  concurrency?: number;
  limit?: number;
  cache: boolean;
  resume?: string;
  dataDir: string;
  maxCost?: string;
  /** Through the OpenAI Batch API; undefined: what a resumed run used. */
  batch?: boolean;
  qwen2vlDir?: string;
  qwen2vlDtype?: string;
  config: string;
  seed: number;
  scale: string;
  plots: boolean;
}

/** Flags → runner options (pure; tested table-style). */
export function comparePlan(f: CompareFlags): CompareOptions {
  if (!!f.testSet !== !!f.images) throw new Error("--test-set and --images go together");
  let maxCost: number | undefined;
  if (f.maxCost !== undefined) {
    maxCost = Number(f.maxCost);
    if (!Number.isFinite(maxCost) || maxCost < 0) throw new Error(`--max-cost must be a number of US dollars ≥ 0, got "${f.maxCost}"`);
  }
  return {
    models: f.models,
    outputDir: f.outputDir,
    gpt4Model: f.gpt4Model,
    testSet: f.testSet,
    images: f.images,
    concurrency: f.concurrency,
    limit: f.limit,
    cacheDir: f.cache ? undefined : null,
    resume: f.resume,
    dataDir: f.dataDir,
    maxCost,
    batch: f.batch,
    qwen2vlDir: f.qwen2vlDir,
    qwen2vlDtype: f.qwen2vlDtype,
    configPath: f.config,
    seed: f.seed,
    scale: parseScale(f.scale),
  };
}

export function register(program: Command): void {
  program
    .command("compare")
    .description("score the test images with every model and compare them against the ground truth")
    .option("--models <names...>", "models to compare (the mean baseline is always added)", DEFAULT_COMPARE_MODELS)
    .option("--output-dir <dir>", "where run folders are made", path.join("results", "model_comparison"))
    .option("--gpt4-model <id>", "model id for gpt4 (default from the config: gpt-4o)")
    .option("--test-set <file>", "ground truth to test on instead of step 1's test split (any format prepare accepts)")
    .option("--images <dir>", "images folder for --test-set")
    .option("--concurrency <n>", "requests in flight per model (default: per model from the config; API 8, local 1)", intFlag("--concurrency", 1, 256))
    .option("--limit <n>", "only the first N test images", intFlag("--limit", 1))
    .option("--no-cache", "ask every model again instead of using cached answers")
    .option("--resume <run>", "continue an interrupted run (its folder name under --output-dir, or a path)")
    .option("--data-dir <dir>", "where step 1 wrote its splits", "data")
    .option("--max-cost <usd>", "refuse to start above this estimate, and stop once this much was spent")
    .option("--batch", "ask OpenAI models through the Batch API: half price, answers within 24 h (Ctrl-C stops waiting, not the batch; --resume collects it)")
    .option("--qwen2vl-dir <dir>", "ONNX export folder for qwen2vl-ft")
    .option("--qwen2vl-dtype <dtype>", `ONNX dtype for qwen2vl-ft: ${QWEN2VL_DTYPE_CHOICES.join(", ")} (default from the config: auto, what the folder has)`, choiceFlag("--qwen2vl-dtype", QWEN2VL_DTYPE_CHOICES))
    .option("--config <file>", "model config file", "models/models.json")
    .option("--seed <n>", "bootstrap seed", intFlag("--seed"), 42)
    .option("--scale <min-max>", "score scale", "1-10")
    .option("--no-plots", "skip the plots (run `streetsafe analyze` later)")
    .action(async (flags: CompareFlags) => {
      const stop = new AbortController();
      const onSigint = () => {
        console.error(
          `\nstopping: finished items are saved; in-flight ones will be asked again on --resume${flags.batch ? "; a sent batch goes on at OpenAI and --resume collects it" : ""}`,
        );
        stop.abort();
      };
      process.once("SIGINT", onSigint);
      let bar: Progress | undefined;
      try {
        const result = await runComparison({
          ...comparePlan(flags),
          command: ["streetsafe", "compare", ...process.argv.slice(3)],
          signal: stop.signal,
          onProgress: (p) => {
            bar ??= createProgress("comparing", p.total);
            bar.update(p.done, `failed ${p.failed} · left ${p.total - p.done} · ${p.ratePerSecond.toFixed(1)}/s · $${p.costUsd.toFixed(4)}`);
          },
        });
        bar?.stop();
        await writeRunReports(result.runDir, result);
        if (flags.plots) await analyzeRun(result.runDir, { png: "auto", log: (l) => console.error(l) });
        // The overview (table, warnings, paired tests); the per-model detail is in report.txt.
        console.log(formatRunReport(result, "txt").split("\nPER MODEL")[0].trimEnd());
        console.log(`\nrun folder: ${result.runDir}`);
        console.log(result.metrics.incomplete_coverage.length ? `coverage below 100% for: ${result.metrics.incomplete_coverage.join(", ")} (see report.txt)` : "every model answered every image");
        if (!result.complete) {
          process.exitCode = 4;
          console.error(`the run is incomplete (${result.stopReason ?? "stopped"}); continue with: npx streetsafe compare --resume ${result.run.run_id} --output-dir ${flags.outputDir}`);
        }
      } finally {
        bar?.stop();
        process.removeListener("SIGINT", onSigint);
      }
    });
}
