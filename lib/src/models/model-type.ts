/**
 * What a model type is, for the registry (registry.ts): its config entry's schema, how to create it, its
 * kind, and how many requests it takes at once. Each type defines itself in its own folder (`entry.ts`).
 */
import type { z } from "zod";
import type { Scale } from "../core/scale";
import type { ModelKind, ScoreModel } from "./types";

/** What creating one configured model may use besides its entry. */
export interface ModelContext {
  /** The config name (e.g. "gpt4"), recorded in every result and named in errors. */
  name: string;
  scale: Scale;
  /** Where step 1 wrote its splits (the baselines learn from the train split). */
  dataDir: string;
  /** A path written in the config file, resolved against the project root. */
  resolve(p: string): string;
  /** What the command line sets for this model, winning over its entry (`--gpt4-model`, `--qwen2vl-dir`). */
  override: ModelOverride;
  /** Environment to read keys and settings from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A model id or a model folder given for one model on the command line. */
export interface ModelOverride {
  /** Replaces the entry's model id (API models). */
  model?: string;
  /** Replaces the entry's folder (local models); an absolute path. */
  dir?: string;
  /** Replaces the entry's ONNX dtype (local models, `--qwen2vl-dtype`). */
  dtype?: string;
}

export interface ModelType<E extends { type: string; concurrency?: number } = { type: string; concurrency?: number }> {
  /** The `type` of its config entries. */
  readonly type: E["type"];
  readonly kind: ModelKind;
  /** The config entry, validated (strict: a typo names the model and the field). */
  readonly schema: z.ZodType<E, z.ZodTypeDef, unknown>;
  /** Requests in flight at once during a comparison, unless the entry sets `concurrency`. */
  readonly defaultConcurrency: number;
  /** Offline models that need no settings: available under their type name even when the config lacks them. */
  readonly builtin?: E;
  /** Throws ModelUnavailableError (the reason it cannot run here) for setup problems. */
  create(entry: E, ctx: ModelContext): Promise<ScoreModel>;
  /**
   * An older way of writing an entry of this type that is now another type's entry: the entry it is
   * read as, and a note saying what to write instead. Undefined for an entry that is fine as it is.
   */
  migrate?(entry: E): { entry: { type: string }; note: string } | undefined;
}
