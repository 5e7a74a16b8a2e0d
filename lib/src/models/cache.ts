/**
 * The response cache under the model layer: a prediction already paid for is never asked again.
 *
 * Entries are content-addressed JSON files, `<dir>/<first 2 hex of key>/<key>.json`, written atomically.
 * A key is the sha256 of the JSON of its fields with object keys sorted at every depth, so the same
 * request always gets the same key. Keys never hold secrets (fields named like one are refused), and
 * failures are never stored: a prediction with an `error` (service failure or unparseable reply) is
 * asked again next time.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { sha256Hex } from "../core/image";
import type { BatchAbility, ModelKind, Prediction, PredictOptions, ScoreModel } from "./types";
import { writeFileAtomic } from "../core/atomic-output";
import { PROMPT_VERSION, promptHash } from "../prompt/prompts";
import type { Scale } from "../core/scale";
import type { PreparedImage } from "../core/types";

/** Bump when the stored format changes; older entries then miss. */
export const CACHE_FORMAT = 1;

/** Field names that must never reach a cache key (compared without case and punctuation). */
const SECRET_FIELD_RE = /^(?:.*apikey|.*secret|.*password|authorization|bearer|token|accesstoken|credentials?)$/;

const predictionSchema = z
  .object({
    score: z.number().nullable(),
    reasons: z.array(z.string()),
    raw: z.string(),
    error: z.string().optional(),
    usage: z
      .object({ inputTokens: z.number(), outputTokens: z.number(), cachedInputTokens: z.number().optional() })
      .optional(),
    latencyMs: z.number(),
    cached: z.boolean().optional(),
    probabilities: z.record(z.number()).optional(),
    expectedScore: z.number().optional(),
    modelId: z.string(),
  })
  .passthrough();

const entrySchema = z.object({ format: z.literal(CACHE_FORMAT), key: z.string(), storedAt: z.string(), prediction: z.unknown() });

/** JSON with object keys sorted at every depth; undefined fields dropped (as JSON.stringify does). */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value, "$"));
}

function sortKeys(value: unknown, at: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => sortKeys(v, `${at}[${i}]`));
  if (value && typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (SECRET_FIELD_RE.test(k.toLowerCase().replace(/[^a-z]/g, ""))) {
        throw new Error(`cache key field ${at}.${k} looks like a secret; secrets never go into cache keys`);
      }
      out[k] = sortKeys((value as Record<string, unknown>)[k], `${at}.${k}`);
    }
    return out;
  }
  if (Buffer.isBuffer(value)) return { sha256: sha256Hex(value) };
  return value;
}

export class ResponseCache {
  /** Entry folders known to exist: one mkdir per folder, not one per entry. */
  private readonly made = new Set<string>();
  constructor(readonly dir: string) {}

  /** sha256 (hex) of the fields' JSON with sorted keys. Throws on a field named like a secret. */
  key(fields: Record<string, unknown>): string {
    return sha256Hex(stableStringify(fields));
  }

  /** Where an entry lives. */
  pathFor(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The stored prediction, or undefined on a miss (also for an unreadable or foreign entry). */
  async get(key: string): Promise<Prediction | undefined> {
    const p = await this.getValue(key, predictionSchema);
    return p && p.error === undefined ? (p as Prediction) : undefined;
  }

  /** Store a prediction; one with an error or no score is not stored. */
  async set(key: string, p: Prediction): Promise<void> {
    if (p.error !== undefined || p.score === null) return;
    const { cached: _cached, ...prediction } = p;
    await this.setValue(key, prediction);
  }

  /**
   * A stored answer of any shape (other tasks asked of a model, such as pairwise judgments), checked
   * against `schema`; undefined on a miss, or for an unreadable, foreign or non-matching entry.
   */
  async getValue<T>(key: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.pathFor(key), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return undefined;
    }
    const entry = entrySchema.safeParse(data);
    if (!entry.success || entry.data.key !== key) return undefined;
    const value = schema.safeParse(entry.data.prediction);
    return value.success ? value.data : undefined;
  }

  /** Store an answer under `key` (the caller decides what is worth storing: never failures). */
  async setValue(key: string, value: unknown): Promise<void> {
    const entry = { format: CACHE_FORMAT, key, storedAt: new Date().toISOString(), prediction: value };
    const file = this.pathFor(key);
    const dir = path.dirname(file);
    await writeFileAtomic(file, JSON.stringify(entry, null, 1) + "\n", { dirExists: this.made.has(dir) });
    this.made.add(dir);
  }
}

/** The settings a model's answers depend on: its own `cacheKeyFields()`, else its run settings. */
export function cacheKeySettings(model: ScoreModel): Record<string, unknown> {
  return model.cacheKeyFields ? model.cacheKeyFields() : model.describe();
}

/** The fields one prediction's cache key is made from. */
export function predictionKeyFields(
  model: ScoreModel,
  image: PreparedImage,
  opts: PredictOptions = {},
  extraKeyFields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    modelId: model.id,
    settings: cacheKeySettings(model),
    promptVersion: PROMPT_VERSION,
    promptHash: promptHash(model.scale),
    prompt: opts.prompt ?? null,
    image: image.sha256,
    extra: extraKeyFields,
  };
}

/**
 * A model behind the response cache: a hit returns the stored prediction with `cached: true` and makes
 * no request; a miss asks `inner` and stores a successful answer. What it wraps is open (`inner`,
 * `cache`, `keyFor`), for callers that ask the inner model another way (the Batch API) and still serve
 * and store answers through the cache.
 */
export class CachedModel implements ScoreModel {
  readonly name: string;
  readonly id: string;
  readonly scale: Scale;
  readonly kind: ModelKind;

  constructor(
    readonly inner: ScoreModel,
    readonly cache: ResponseCache,
    private readonly extraKeyFields: Record<string, unknown> = {},
  ) {
    this.name = inner.name;
    this.id = inner.id;
    this.scale = inner.scale;
    this.kind = inner.kind;
  }

  /** The inner model's Batch ability, if it has one. */
  get batch(): BatchAbility | undefined {
    return this.inner.batch;
  }

  get usesImage(): boolean | undefined {
    return this.inner.usesImage;
  }

  describe(): Record<string, unknown> {
    return this.inner.describe();
  }

  cacheKeyFields(): Record<string, unknown> {
    return cacheKeySettings(this.inner);
  }

  /** The key `predict(image, opts)` stores its answer under. */
  keyFor(image: PreparedImage, opts: PredictOptions = {}): string {
    return this.cache.key(predictionKeyFields(this.inner, image, opts, this.extraKeyFields));
  }

  async predict(image: PreparedImage, opts: PredictOptions = {}): Promise<Prediction> {
    const { prediction, store } = await this.answer(image, opts);
    await store?.();
    return prediction;
  }

  /**
   * The answer, from the cache or from `inner`, with the write that stores a new one (null for a hit or
   * a failure) left to the caller: a comparison stores it after the request slot is free.
   */
  async answer(image: PreparedImage, opts: PredictOptions = {}): Promise<{ prediction: Prediction; store: (() => Promise<void>) | null }> {
    const key = this.keyFor(image, opts);
    const hit = await this.cache.get(key);
    if (hit) return { prediction: { ...hit, cached: true }, store: null };
    const p = await this.inner.predict(image, opts);
    return { prediction: p, store: p.error === undefined && p.score !== null ? () => this.cache.set(key, p) : null };
  }

  async dispose(): Promise<void> {
    await this.inner.dispose?.();
  }
}

/** `model` behind the cache (see CachedModel); `cache` null: the model itself. */
export function withCache(model: ScoreModel, cache: ResponseCache | null, extraKeyFields: Record<string, unknown> = {}): ScoreModel {
  return cache ? new CachedModel(model, cache, extraKeyFields) : model;
}

/** The cache in front of a model made by withCache, or undefined for a model without one. */
export function responseCacheOf(model: ScoreModel): CachedModel | undefined {
  return model instanceof CachedModel ? model : undefined;
}
