/** The baseline model types, `mean` and `image-stats`: offline, no key, no weights, no settings needed. */
import { z } from "zod";
import type { ModelType } from "../model-type";
import { ImageStatsBaseline } from "./image-stats";
import { MeanBaseline } from "./mean";

export const MeanEntry = z.object({ type: z.literal("mean"), description: z.string().optional() }).strict();
export type MeanEntry = z.infer<typeof MeanEntry>;
export const ImageStatsEntry = z.object({ type: z.literal("image-stats"), lambda: z.number().positive().optional(), description: z.string().optional() }).strict();
export type ImageStatsEntry = z.infer<typeof ImageStatsEntry>;

export const MEAN_TYPE: ModelType<MeanEntry> = {
  type: "mean",
  kind: "baseline",
  schema: MeanEntry,
  defaultConcurrency: 1,
  builtin: { type: "mean", description: "constant baseline: the training mean" },
  create: (_e, ctx) => MeanBaseline.fromDataDir({ name: ctx.name, dataDir: ctx.dataDir, scale: ctx.scale }),
};

export const IMAGE_STATS_TYPE: ModelType<ImageStatsEntry> = {
  type: "image-stats",
  kind: "baseline",
  schema: ImageStatsEntry,
  defaultConcurrency: 1,
  builtin: { type: "image-stats", description: "ridge regression on image statistics" },
  create: (e, ctx) => ImageStatsBaseline.fromDataDir({ name: ctx.name, dataDir: ctx.dataDir, scale: ctx.scale, lambda: e.lambda }),
};
