/**
 * A Qwen2-VL ONNX folder streetsafe never saw — fp32 graphs only, a model that answers with a bare number —
 * through `predict` and `compare` as a user runs them (the compiled CLI, the repository's own
 * models/models.json, no config edits): dtype "auto" picks fp32 and says so, the bare reply is scored with its
 * probabilities, and `--qwen2vl-dtype q8` asks for the quantized files by name.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { buildTinyQwen2VL } from "../helpers/tiny-qwen2vl";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const bin = path.join(root, "lib", "bin", "streetsafe.js");
const work = tempDir("streetsafe-foreign-");
const folder = path.join(work, "someone-elses-qwen2vl-onnx");
const dataDir = path.join(work, "data");
let image = "";

function cli(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME } });
}

before(async () => {
  await buildTinyQwen2VL(folder, { bare: true });
  const demo = await generateDemoData({ outDir: path.join(work, "demo"), count: 24, seed: 5 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.3 });
  image = path.join(demo.imagesDir, readdirSync(demo.imagesDir).sort()[0]!);
});

test("the folder has fp32 graphs only and the repository's config is untouched", () => {
  assert.deepEqual(readdirSync(path.join(folder, "onnx")).sort(), ["decoder_model_merged.onnx", "embed_tokens.onnx", "vision_encoder.onnx"]);
  const config = JSON.parse(readFileSync(path.join(root, "models", "models.json"), "utf8"));
  assert.equal(config.models["qwen2vl-ft"].dtype, "auto");
});

test("predict --model qwen2vl-ft --qwen2vl-dir DIR: auto picks fp32, the bare number is the score, with probabilities", () => {
  const r = cli(["predict", "--model", "qwen2vl-ft", "--qwen2vl-dir", folder, "--json", "--no-cache", image]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /qwen2vl-ft: dtype auto → "fp32" \(the folder has no complete q8 set/);
  const p = JSON.parse(r.stdout);
  assert.match(p.raw, /^\d+$/, `a bare number: ${p.raw}`);
  assert.equal(p.score, Number(p.raw));
  assert.equal(p.error, undefined);
  const probs = Object.values(p.probabilities as Record<string, number>);
  assert.equal(probs.length, 10);
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(p.expectedScore >= 1 && p.expectedScore <= 10);
  assert.equal(p.modelId, "qwen2vl-local:someone-elses-qwen2vl-onnx");
});

test("--qwen2vl-dtype q8 asks for the _quantized files and names them", () => {
  const r = cli(["predict", "--model", "qwen2vl-ft", "--qwen2vl-dir", folder, "--qwen2vl-dtype", "q8", "--no-cache", image]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /lacks 3 files for dtype "q8": onnx\/embed_tokens_quantized\.onnx, onnx\/vision_encoder_quantized\.onnx, onnx\/decoder_model_merged_quantized\.onnx/);
  const bad = cli(["predict", "--model", "qwen2vl-ft", "--qwen2vl-dtype", "q9", image]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--qwen2vl-dtype must be one of auto, fp32/);
});

test("compare --models qwen2vl-ft --qwen2vl-dir DIR scores every test image beside the baselines", () => {
  const out = path.join(work, "runs");
  const r = cli(["compare", "--models", "qwen2vl-ft", "image-stats", "--qwen2vl-dir", folder, "--data-dir", dataDir, "--output-dir", out, "--no-cache", "--no-plots"]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const run = path.join(out, readdirSync(out)[0]!);
  const metrics = JSON.parse(readFileSync(path.join(run, "metrics.json"), "utf8"));
  const q = metrics.models["qwen2vl-ft"];
  assert.ok(q, `qwen2vl-ft in ${Object.keys(metrics.models)}`);
  assert.equal(q.valid, metrics.n_images, "every bare answer was scored");
  assert.equal(q.failed, 0);
  assert.ok(metrics.models.mean && metrics.models["image-stats"], "the baselines sit beside it");
  const info = JSON.parse(readFileSync(path.join(run, "run.json"), "utf8"));
  const m = info.models.find((x: { name: string }) => x.name === "qwen2vl-ft");
  assert.equal(m.settings.dtype, "fp32");
});
