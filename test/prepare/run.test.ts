import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import path from "node:path";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { PREPARE_OUTPUTS } from "../../lib/src/prepare/outputs";
import { InputError } from "../../lib/src/core/errors";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const cli = path.join(root, "lib", "bin", "streetsafe.js");
const demoRoot = tempDir();
let demo: { groundTruthPath: string; imagesDir: string };

before(async () => {
  demo = await generateDemoData({ outDir: path.join(demoRoot, "demo"), count: 40, seed: 3 });
});

function jsonl(file: string): { messages: { role: string; content: unknown }[] }[] {
  return readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

function imageHashes(file: string): Set<string> {
  const out = new Set<string>();
  for (const ex of jsonl(file)) {
    for (const m of ex.messages) {
      if (!Array.isArray(m.content)) continue;
      for (const part of m.content as { type: string; image_url?: { url: string } }[]) {
        if (part.type === "image_url") out.add(createHash("sha256").update(Buffer.from(part.image_url!.url.split(",")[1], "base64")).digest("hex"));
      }
    }
  }
  return out;
}

test("prepare writes disjoint splits and training files that never contain a test image", async () => {
  const dataDir = tempDir();
  const r = await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir });
  assert.ok(r.leakage.disjoint);
  const csv = (n: string) => readFileSync(path.join(dataDir, "splits", `${n}.csv`), "utf8").trim().split("\n").slice(1).map((l) => l.split(",")[0]);
  const [train, val, test] = ["train", "val", "test"].map(csv);
  assert.equal(train.length + val.length + test.length, 40);
  assert.equal(new Set([...train, ...val, ...test]).size, 40);
  assert.deepEqual(readFileSync(path.join(dataDir, "splits", "test.csv"), "utf8").split("\n")[0], "image,score,reasons");

  const prepared = readFileSync(path.join(dataDir, "prepared_images.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const testHashes = new Set(prepared.filter((p) => p[4] === "test").map((p) => p[1]));
  assert.equal(testHashes.size, test.length);
  const trainImages = imageHashes(path.join(dataDir, "openai_finetuning", "train_with_images.jsonl"));
  const valImages = imageHashes(path.join(dataDir, "openai_finetuning", "val_with_images.jsonl"));
  assert.equal(trainImages.size, train.length, "every training example carries its own image");
  assert.equal(valImages.size, val.length);
  for (const h of testHashes) assert.ok(!trainImages.has(h) && !valImages.has(h), "a test image is in a training file");
  const qwenImages = readdirSync(path.join(dataDir, "qwen_finetuning", "images")).map((f) => f.replace(".jpg", ""));
  for (const h of qwenImages) assert.ok(!testHashes.has(h), "a test image is in the Qwen data");
});

test("no prompt names an image file, and with-images lines carry JPEG data URLs with the detail setting", async () => {
  const dataDir = tempDir();
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, detail: "high" });
  for (const f of readdirSync(path.join(dataDir, "openai_finetuning"))) {
    const text = readFileSync(path.join(dataDir, "openai_finetuning", f), "utf8");
    assert.doesNotMatch(text.replace(/data:image\/jpeg;base64,[A-Za-z0-9+/=]+/g, ""), /scene_\d+|\.jpg/, f);
  }
  const ex = jsonl(path.join(dataDir, "openai_finetuning", "train_with_images.jsonl"))[0];
  const user = ex.messages.find((m) => m.role === "user")!.content as { type: string; image_url?: { url: string; detail: string } }[];
  const img = user.find((p) => p.type === "image_url")!.image_url!;
  assert.match(img.url, /^data:image\/jpeg;base64,\/9j\//);
  assert.equal(img.detail, "high");
  const assistant = JSON.parse(ex.messages.at(-1)!.content as string);
  assert.ok(Number.isInteger(assistant.score) && Array.isArray(assistant.reasons));
  const summary = JSON.parse(readFileSync(path.join(dataDir, "prepare_summary.json"), "utf8"));
  assert.equal(summary.options.seed, 42);
  assert.ok(summary.ground_truth.sha256.match(/^[0-9a-f]{64}$/));
});

test("the same seed gives the same split; a re-run replaces the outputs whole", async () => {
  const dataDir = tempDir();
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, seed: 9 });
  const first = readFileSync(path.join(dataDir, "splits", "test.csv"), "utf8");
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, seed: 9 });
  assert.equal(readFileSync(path.join(dataDir, "splits", "test.csv"), "utf8"), first);
  assert.deepEqual(readdirSync(dataDir).sort(), [...PREPARE_OUTPUTS].sort());
});

test("a broken ground truth raises every problem and writes nothing", async () => {
  const dir = tempDir();
  const gt = path.join(dir, "gt.csv");
  writeFileSync(gt, "image,score\nscene_001.jpg,7\nscene_002.jpg,eleven\nscene_003.jpg,14\n,5\nnope.jpg,3\n");
  const dataDir = path.join(dir, "out");
  await assert.rejects(prepare({ groundTruth: gt, images: demo.imagesDir, dataDir }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.deepEqual(e.problems.map((p) => [p.row, p.column, p.kind]), [
      [3, "score", "non-numeric-score"],
      [4, "score", "out-of-range-score"],
      [5, "image", "empty-image"],
    ]);
    return true;
  });
  assert.equal(existsSync(dataDir), false);
});

test("images that are missing or not images are all reported, and nothing is left behind", async () => {
  const dir = tempDir();
  const images = path.join(dir, "images");
  mkdirSync(images);
  copyFileSync(path.join(demo.imagesDir, "scene_001.jpg"), path.join(images, "a.jpg"));
  writeFileSync(path.join(images, "b.jpg"), "not a jpeg");
  const gt = path.join(dir, "gt.csv");
  writeFileSync(gt, "\uFEFFfile;rating\na.jpg;7\nb.jpg;5\nc.jpg;3\n");
  const dataDir = path.join(dir, "out");
  await assert.rejects(prepare({ groundTruth: gt, images, dataDir }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.deepEqual(e.problems.map((p) => [p.row, p.column, p.kind]), [
      [3, "file", "undecodable-image"],
      [4, "file", "missing-image"],
    ]);
    return true;
  });
  assert.equal(existsSync(dataDir), false, "no outputs, no staging folder, no empty data folder");
});

function runCli(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
}

test("CLI: prepare on a broken file exits non-zero naming file, row and column", () => {
  const dir = tempDir();
  const gt = path.join(dir, "broken.csv");
  writeFileSync(gt, "image,score\nscene_001.jpg,\n");
  const r = runCli(["prepare", "--ground-truth", gt, "--images", demo.imagesDir, "--data-dir", path.join(dir, "out")]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /broken\.csv, row 2, column "score": .*\[empty-score\]/);
  assert.match(r.stderr, /nothing was written/);
  assert.equal(existsSync(path.join(dir, "out")), false);
});

test("CLI: prepare succeeds and prints the split summary, leakage proof and cost", () => {
  const dir = tempDir();
  const r = runCli(["prepare", "--ground-truth", demo.groundTruthPath, "--images", demo.imagesDir, "--data-dir", dir, "--seed", "5", "--test-ratio", "0.2"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /leakage check: passed/);
  assert.match(r.stdout, /test\s+8\s/);
  assert.match(r.stdout, /gpt-4o-mini-2024-07-18/);
});

const badFlags: [string[], RegExp][] = [
  [["--seed", "x"], /--seed must be an integer/],
  [["--val-ratio", "1.5"], /--val-ratio must be a number in \[0, 1\)/],
  [["--val-ratio", "0.5", "--test-ratio", "0.5"], /--val-ratio \+ --test-ratio must be below 1/],
  [["--on-conflict", "max"], /--on-conflict must be one of error, mean, first/],
  [["--scale", "10-1"], /--scale minimum must be below its maximum/],
  [["--image-max-side", "10"], /--image-max-side must be an integer in 64\.\.4096/],
];
for (const [flags, message] of badFlags) {
  test(`CLI: prepare ${flags.join(" ")} is refused`, () => {
    const r = runCli(["prepare", "--ground-truth", "x.csv", "--images", ".", "--data-dir", tempDir(), ...flags]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, message);
  });
}

test("CLI: missing required flags and unknown commands exit non-zero with help", () => {
  const r = runCli(["prepare"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--ground-truth/);
  assert.notEqual(runCli(["no-such-command"]).status, 0);
  assert.equal(runCli(["--help"]).status, 0);
});
