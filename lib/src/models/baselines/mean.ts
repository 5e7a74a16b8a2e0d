/**
 * The constant baseline `mean`: always answers the training split's mean score, rounded (the unrounded
 * mean is in `raw`). A constant predictor: its correlation with the truth is undefined by design. It sets
 * no `expectedScore`: that field means Σ p(k)·k from a model's token probabilities.
 */
import type { Scale } from "../../core/scale";
import { readPreparedSplit } from "../../prepare";
import type { Prediction, ScoreModel } from "../types";

export class MeanBaseline implements ScoreModel {
  readonly kind = "baseline";
  /** The answer is the training mean, whatever the image. */
  readonly usesImage = false;
  readonly id: string;
  private constructor(
    readonly name: string,
    readonly scale: Scale,
    readonly mean: number,
    readonly trainedOn: number,
  ) {
    this.id = `mean-baseline(${mean.toFixed(3)})`;
  }

  static async fromDataDir(opts: { name?: string; dataDir: string; scale: Scale }): Promise<MeanBaseline> {
    const name = opts.name ?? "mean";
    const train = await readPreparedSplit(name, opts.dataDir);
    const mean = train.items.reduce((s, it) => s + it.score, 0) / train.items.length;
    return new MeanBaseline(name, opts.scale, mean, train.items.length);
  }

  async predict(): Promise<Prediction> {
    const score = Math.round(this.mean);
    return { score, reasons: [`constant baseline: the training mean ${this.mean.toFixed(2)}`], raw: this.mean.toFixed(4), latencyMs: 0, modelId: this.id };
  }

  describe(): Record<string, unknown> {
    return { type: "mean", mean: this.mean, trained_on: this.trainedOn };
  }
}
