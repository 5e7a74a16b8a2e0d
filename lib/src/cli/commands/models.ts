import type { Command } from "commander";
import { formatModelRows, ModelFactory, modelInventory, type FactoryOptions } from "../../models";

export interface ModelsFlags {
  config: string;
  dataDir: string;
  gpt4Model?: string;
  qwen2vlDir?: string;
  /** false (`--no-list`): do not ask the API which models it lists. */
  list: boolean;
  json?: boolean;
}

/** Flags → factory options (pure). */
export function modelsPlan(f: ModelsFlags): FactoryOptions {
  return { configPath: f.config, dataDir: f.dataDir, gpt4Model: f.gpt4Model, qwen2vlDir: f.qwen2vlDir, cacheDir: null };
}

export function register(program: Command): void {
  program
    .command("models")
    .description("every configured model: can it run here (and why not), its lifecycle, its price, and with a key whether the API lists it")
    .option("--config <file>", "model config file", "models/models.json")
    .option("--data-dir <dir>", "where step 1 wrote its splits (the baselines learn from the train split)", "data")
    .option("--gpt4-model <id>", "model id for gpt4 (default from the config: gpt-4o)")
    .option("--qwen2vl-dir <dir>", "ONNX export folder for qwen2vl-ft")
    .option("--no-list", "do not ask the API which models it lists")
    .option("--json", "print the rows as JSON")
    .action(async (flags: ModelsFlags) => {
      const rows = await modelInventory(await ModelFactory.load(modelsPlan(flags)), { list: flags.list });
      console.log(flags.json ? JSON.stringify(rows, null, 2) : formatModelRows(rows));
    });
}
