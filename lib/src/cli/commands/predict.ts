import type { Command } from "commander";
import { prepareImage } from "../../core/image";
import { ModelFactory, ModelUnavailableError, QWEN2VL_DTYPE_CHOICES, type FactoryOptions, type Prediction } from "../../models";
import { choiceFlag } from "../args";
import { parseScale } from "../../core/scale";

export interface PredictFlags {
  model: string;
  prompt?: string;
  dataDir: string;
  json?: boolean;
  gpt4Model?: string;
  qwen2vlDir?: string;
  qwen2vlDtype?: string;
  config: string;
  cache: boolean;
  scale: string;
  imageMaxSide: string;
}

/** Flags → factory options (pure). */
export function predictPlan(f: PredictFlags): FactoryOptions & { imageMaxSide: number } {
  const imageMaxSide = Number(f.imageMaxSide);
  if (!Number.isInteger(imageMaxSide) || imageMaxSide < 64) throw new Error(`--image-max-side must be an integer ≥ 64, got "${f.imageMaxSide}"`);
  return {
    configPath: f.config,
    dataDir: f.dataDir,
    gpt4Model: f.gpt4Model,
    qwen2vlDir: f.qwen2vlDir,
    qwen2vlDtype: f.qwen2vlDtype,
    scale: parseScale(f.scale),
    cacheDir: f.cache ? undefined : null,
    imageMaxSide,
  };
}

/** The result as the --json object: every field of a Prediction plus the model name and image. */
export function predictionJson(model: string, image: string, p: Prediction): Record<string, unknown> {
  return { model, image, ...p };
}

export function formatPrediction(model: string, image: string, p: Prediction): string {
  const lines = [`${model} (${p.modelId}) on ${image}:`];
  if (p.score === null) lines.push(`  no score — ${p.error ?? "unknown failure"}`, `  raw reply: ${JSON.stringify(p.raw)}`);
  else lines.push(`  score ${p.score}${p.expectedScore !== undefined ? ` (expected from probabilities: ${p.expectedScore.toFixed(2)})` : ""}`);
  if (p.reasons.length) lines.push(`  reasons: ${p.reasons.join("; ")}`);
  if (p.usage) lines.push(`  tokens: ${p.usage.inputTokens} in, ${p.usage.outputTokens} out`);
  lines.push(`  latency: ${Math.round(p.latencyMs)} ms${p.cached ? " (from the cache, no request made)" : ""}`);
  return lines.join("\n");
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("score one image with one model")
    .argument("<image>", "image file")
    .requiredOption("--model <name>", "a model from the config (gpt4, gpt4o-mini-ft, qwen2vl-ft, mean, image-stats, …)")
    .option("--prompt <text>", "replace the user text of the task prompt (the reply format stays)")
    .option("--data-dir <dir>", "where step 1 wrote the splits the baselines learn from", "data")
    .option("--json", "print one JSON object")
    .option("--gpt4-model <id>", "model id for gpt4 (default from the config: gpt-4o)")
    .option("--qwen2vl-dir <dir>", "ONNX export folder for qwen2vl-ft")
    .option("--qwen2vl-dtype <dtype>", `ONNX dtype for qwen2vl-ft: ${QWEN2VL_DTYPE_CHOICES.join(", ")} (default from the config: auto, what the folder has)`, choiceFlag("--qwen2vl-dtype", QWEN2VL_DTYPE_CHOICES))
    .option("--config <file>", "model config file", "models/models.json")
    .option("--no-cache", "ask the model even if the answer is cached")
    .option("--scale <min-max>", "score scale", "1-10")
    .option("--image-max-side <px>", "cap on the longest image side", "768")
    .action(async (image: string, flags: PredictFlags) => {
      const plan = predictPlan(flags);
      const factory = await ModelFactory.load(plan);
      const model = await factory.createModel(flags.model).catch((err: unknown) => {
        if (err instanceof ModelUnavailableError) throw new Error(err.message);
        throw err;
      });
      try {
        const prepared = await prepareImage(image, { maxSide: plan.imageMaxSide });
        const p = await model.predict(prepared, { prompt: flags.prompt });
        console.log(flags.json ? JSON.stringify(predictionJson(flags.model, image, p)) : formatPrediction(flags.model, image, p));
        if (p.score === null) process.exitCode = 3;
      } finally {
        await model.dispose?.();
      }
    });
}
