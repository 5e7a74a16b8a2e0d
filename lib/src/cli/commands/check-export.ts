import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../core/python";
import { parseScale } from "../../core/scale";
import { checkQwen2VLExport, defaultCheckFile, formatCheckResult, type CheckExportOptions } from "../../models";
import { intFlag } from "../args";

export interface CheckExportFlags {
  torchModel?: string;
  image?: string[];
  dataDir: string;
  dtypes?: string;
  out?: string;
  maxNewTokens: number;
  threads?: number;
  pair: boolean;
  scale: string;
}

/**
 * The PyTorch model of an export: the flag, else what streetsafe's exporter recorded as its source (a path the
 * exporter was given from the repository root, or a hub id).
 */
export function torchModelFor(dir: string, flag: string | undefined, root = PROJECT_ROOT): string {
  if (flag) return flag;
  const manifest = path.join(dir, "streetsafe_export.json");
  if (existsSync(manifest)) {
    const source = (JSON.parse(readFileSync(manifest, "utf8")) as { source?: string }).source;
    if (source) return existsSync(path.resolve(root, source)) ? path.resolve(root, source) : source;
  }
  throw new Error(`--torch-model is needed: ${dir} was not exported by streetsafe, so its PyTorch model is not known (a Hugging Face folder or hub id, e.g. Qwen/Qwen2-VL-2B-Instruct)`);
}

/** Flags → check options (pure apart from reading the folder's streetsafe_export.json). */
export function checkExportPlan(dir: string, f: CheckExportFlags): CheckExportOptions {
  return {
    exportDir: dir,
    torchModel: torchModelFor(dir, f.torchModel),
    out: f.out ?? defaultCheckFile(dir),
    ...(f.image?.length ? { images: f.image } : {}),
    dataDir: f.dataDir,
    ...(f.dtypes ? { dtypes: f.dtypes.split(",").map((d) => d.trim()).filter(Boolean) } : {}),
    maxNewTokens: f.maxNewTokens,
    ...(f.threads !== undefined ? { threads: f.threads } : {}),
    pair: f.pair,
    scale: parseScale(f.scale),
  };
}

export function register(program: Command): void {
  program
    .command("check-export")
    .description("parity of a Qwen2-VL ONNX folder: streetsafe's Node model against its PyTorch model, on the same images and prompts")
    .argument("<dir>", "the ONNX folder (e.g. models/fine_tuned_qwen2vl/export)")
    .option("--torch-model <dir|id>", "the PyTorch model it came from (default: the source streetsafe's exporter recorded)")
    .option("--image <file...>", "test images (default: the first three of step 1's validation split)")
    .option("--data-dir <dir>", "where step 1 wrote its data", "data")
    .option("--dtypes <list>", "dtypes to run (default: those the folder has among fp32, q8, fp16)")
    .option("--out <file>", "result file (default: export_check.json beside the fine-tune's record, else streetsafe_check.json in the folder)")
    .option("--max-new-tokens <n>", "greedy reply length compared", intFlag("--max-new-tokens", 1, 1024), 32)
    .option("--threads <n>", "torch CPU threads on the PyTorch side", intFlag("--threads", 1, 512))
    .option("--no-pair", "skip the two-images-in-one-prompt case")
    .option("--scale <min-max>", "score scale", "1-10")
    .action(async (dir: string, flags: CheckExportFlags) => {
      const r = await checkQwen2VLExport({ ...checkExportPlan(dir, flags), log: (l) => console.log(l) });
      console.log(formatCheckResult(r));
      if (!r.passed) process.exitCode = 1;
    });
}
