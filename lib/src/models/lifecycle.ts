/**
 * The lifecycle table (openai/lifecycle.ts) applied to the models a step is about to use: a warning for
 * each OpenAI model (or fine-tune of one) within 60 days of its shutdown or past it, naming the date and
 * how to switch. `predict`, `compare` and notebooks 03–04 print these; `finetune` adds its own for the
 * base model it trains.
 */
import { lifecycleWarning } from "../openai/lifecycle";
import type { ScoreModel } from "./types";

/** The warning for one model, or null (not an API model, not in the table, or far from its shutdown). */
export function modelLifecycleWarning(model: ScoreModel, today?: string): string | null {
  if (model.kind !== "api") return null;
  const provider = model.describe().provider === "azure" ? "azure" : "openai";
  return lifecycleWarning(model.id, { configName: model.name, provider, ...(today ? { today } : {}) });
}

/** Every warning for `models`, one line each (notebooks print them). */
export function lifecycleWarnings(models: readonly ScoreModel[], today?: string): string[] {
  return models.map((m) => modelLifecycleWarning(m, today)).filter((w): w is string => w !== null);
}
