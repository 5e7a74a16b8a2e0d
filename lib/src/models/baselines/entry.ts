/** The baseline model types, `mean` and `image-stats`: offline, no key, no weights, no settings needed. */
import { z } from "zod";
import { readPreparedSplit } from "../../prepare";
import type { ModelContext, ModelType } from "../model-type";
import type { ScoreModel } from "../types";
import { ImageStatsBaseline } from "./image-stats";
import { MeanBaseline } from "./mean";

export const MeanEntry = z.object({ type: z.literal("mean"), description: z.string().optional() }).strict();
export type MeanEntry = z.infer<typeof MeanEntry>;
export const ImageStatsEntry = z.object({ type: z.literal("image-stats"), lambda: z.number().positive().optional(), description: z.string().optional() }).strict();
export type ImageStatsEntry = z.infer<typeof ImageStatsEntry>;

/** A baseline type: one request at a time, and built in (a config that does not list it still has it). */
function baselineType<E extends { type: string; description?: string }>(
  schema: z.ZodType<E, z.ZodTypeDef, unknown>,
  builtin: E,
  create: (entry: E, ctx: ModelContext) => Promise<ScoreModel>,
  modelId?: string,
): ModelType<E> {
  const t: ModelType<E> = { type: builtin.type, kind: "baseline", schema, defaultConcurrency: 1, builtin, create };
  // A baseline that trains on images is checked by its training split alone (no images prepared).
  if (modelId) t.check = async (_e, ctx) => (await readPreparedSplit(ctx.name, ctx.dataDir), { modelId });
  return t;
}

export const MEAN_TYPE = baselineType(MeanEntry, { type: "mean", description: "constant baseline: the training mean" }, (_e, ctx) =>
  MeanBaseline.fromDataDir({ name: ctx.name, dataDir: ctx.dataDir, scale: ctx.scale }),
);

export const IMAGE_STATS_TYPE = baselineType(
  ImageStatsEntry,
  { type: "image-stats", description: "ridge regression on image statistics" },
  (e, ctx) => ImageStatsBaseline.fromDataDir({ name: ctx.name, dataDir: ctx.dataDir, scale: ctx.scale, lambda: e.lambda }),
  ImageStatsBaseline.ID,
);
