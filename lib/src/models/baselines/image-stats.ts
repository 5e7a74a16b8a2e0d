/**
 * The `image-stats` baseline: ridge regression from simple image statistics (image-features.ts) to the
 * score, fitted on the training split; its output is rounded and kept inside the scale (unrounded in
 * `raw`). Runs offline, with no key and no weights: what a model must beat before its numbers mean anything.
 */
import path from "node:path";
import pLimit from "p-limit";
import { prepareImage } from "../../core/image";
import type { Scale } from "../../core/scale";
import type { PreparedImage } from "../../core/types";
import { readPreparedSplit } from "../../prepare";
import type { Prediction, ScoreModel } from "../types";
import { IMAGE_FEATURES, imageFeatures } from "./image-features";
import { fitRidge, predictRidge, type RidgeModel } from "./ridge";

export class ImageStatsBaseline implements ScoreModel {
  static readonly ID = "image-stats-ridge";
  readonly kind = "baseline";
  readonly id = ImageStatsBaseline.ID;
  private constructor(
    readonly name: string,
    readonly scale: Scale,
    readonly ridge: RidgeModel,
    readonly trainedOn: number,
  ) {}

  static async fromDataDir(opts: { name?: string; dataDir: string; scale: Scale; lambda?: number; imageMaxSide?: number }): Promise<ImageStatsBaseline> {
    const name = opts.name ?? "image-stats";
    const train = await readPreparedSplit(name, opts.dataDir);
    const limit = pLimit(4);
    const rows = await Promise.all(
      train.items.map((it) =>
        limit(async () => {
          const img = await prepareImage(path.join(train.imagesDir, it.image), { maxSide: opts.imageMaxSide });
          return featureVector(await imageFeatures(img.jpeg));
        }),
      ),
    );
    const ridge = fitRidge(rows, train.items.map((it) => it.score), [...IMAGE_FEATURES], opts.lambda ?? 1);
    return new ImageStatsBaseline(name, opts.scale, ridge, train.items.length);
  }

  async predict(image: PreparedImage): Promise<Prediction> {
    const started = performance.now();
    try {
      const features = await imageFeatures(image.jpeg);
      const raw = predictRidge(this.ridge, featureVector(features));
      const expected = Math.min(this.scale.max, Math.max(this.scale.min, raw));
      const top = IMAGE_FEATURES.map((f, j) => ({ f, w: this.ridge.weights[j] * ((features[f] - this.ridge.means[j]) / this.ridge.scales[j]) }))
        .sort((a, b) => Math.abs(b.w) - Math.abs(a.w))
        .slice(0, 2)
        .map(({ f, w }) => `${f.replace("_", " ")} ${w >= 0 ? "raises" : "lowers"} the score`);
      return { score: Math.round(expected), reasons: top, raw: raw.toFixed(3), latencyMs: performance.now() - started, modelId: this.id };
    } catch (err) {
      return { score: null, reasons: [], raw: "", error: `image statistics failed: ${(err as Error).message}`, latencyMs: performance.now() - started, modelId: this.id };
    }
  }

  describe(): Record<string, unknown> {
    const r = this.ridge;
    return { type: "image-stats", features: r.features, weights: r.weights, intercept: r.intercept, lambda: r.lambda, trained_on: this.trainedOn };
  }
}

function featureVector(f: Record<string, number>): number[] {
  return IMAGE_FEATURES.map((k) => f[k]);
}
