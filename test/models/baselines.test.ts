import { test, before } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import sharp from "sharp";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { prepareImage } from "../../lib/src/core/image";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import { ImageStatsBaseline, MeanBaseline } from "../../lib/src/models/baselines";
import { imageFeatures } from "../../lib/src/models/baselines/image-features";
import { fitRidge, predictRidge } from "../../lib/src/models/baselines/ridge";
import { ModelUnavailableError } from "../../lib/src/core/errors";
import { tempDir } from "../helpers/tmp";

const root = tempDir();
const dataDir = path.join(root, "data");
let testSet: { image: string; score: number }[] = [];
let imagesDir = "";

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: 120, seed: 11 });
  imagesDir = demo.imagesDir;
  const r = await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir });
  testSet = r.splits.test;
});

test("ridge recovers a linear rule", () => {
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 50; i++) {
    const a = (i % 7) / 7, b = (i % 5) / 5;
    rows.push([a, b, 0.5]); // the constant third feature must not break the solve
    y.push(2 + 3 * a - 4 * b);
  }
  const m = fitRidge(rows, y, ["a", "b", "c"], 1e-9);
  assert.ok(Math.abs(predictRidge(m, [0.3, 0.6, 0.5]) - (2 + 0.9 - 2.4)) < 1e-6);
  assert.equal(m.weights[2], 0);
});

test("image features read what they say", async () => {
  const solid = (r: number, g: number, b: number) => sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } }).jpeg().toBuffer();
  const black = await imageFeatures(await solid(0, 0, 0));
  assert.ok(black.brightness < 0.02 && black.dark_fraction > 0.99 && black.edge_density === 0);
  const green = await imageFeatures(await solid(30, 160, 40));
  assert.ok(green.green_fraction > 0.99);
  const sky = await imageFeatures(await solid(120, 170, 235));
  assert.ok(sky.sky_fraction > 0.99 && sky.green_fraction === 0);
});

test("mean baseline answers the training mean for every image", async () => {
  const m = await MeanBaseline.fromDataDir({ dataDir, scale: DEFAULT_SCALE });
  const img = await prepareImage(path.join(imagesDir, testSet[0].image));
  const p = await m.predict();
  assert.equal(p.score, Math.round(m.mean));
  assert.equal(p.raw, m.mean.toFixed(4));
  assert.equal(p.expectedScore, undefined, "no token probabilities, so no expected score");
  assert.deepEqual((await m.predict()).score, p.score);
  assert.ok(img.sha256);
});

test("image-stats baseline learns from the train split and beats the constant baseline on the demo test split", async () => {
  const mean = await MeanBaseline.fromDataDir({ dataDir, scale: DEFAULT_SCALE });
  const stats = await ImageStatsBaseline.fromDataDir({ dataDir, scale: DEFAULT_SCALE });
  let maeMean = 0, maeStats = 0;
  for (const it of testSet) {
    const img = await prepareImage(path.join(imagesDir, it.image));
    const p = await stats.predict(img);
    assert.ok(p.score !== null && p.score >= 1 && p.score <= 10);
    assert.equal(p.reasons.length, 2);
    maeStats += Math.abs(p.score - it.score) / testSet.length;
    maeMean += Math.abs((await mean.predict()).score! - it.score) / testSet.length;
  }
  // The demo's rule depends on light, greenery and clutter that these statistics see.
  assert.ok(maeStats < maeMean, `image-stats MAE ${maeStats.toFixed(2)} vs mean ${maeMean.toFixed(2)}`);
  assert.equal(stats.describe().trained_on, 84);
});

test("baselines without a prepared data folder say how to fix it", async () => {
  await assert.rejects(MeanBaseline.fromDataDir({ dataDir: tempDir(), scale: DEFAULT_SCALE }), (e: unknown) => {
    assert.ok(e instanceof ModelUnavailableError);
    assert.match(e.message, /npx streetsafe prepare/);
    return true;
  });
});
