import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { openAIExample, writeOpenAIJsonl, type ImageProvider } from "../../lib/src/prepare/openai-jsonl";
import { promptMessages } from "../../lib/src/prompt/messages";
import { checkFineTuneFile } from "../../lib/src/prepare/format-check";
import { assistantTarget, systemPrompt, userPrompt } from "../../lib/src/prompt/prompts";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { GroundTruthItem, PreparedImage } from "../../lib/src/core/types";

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "streetsafe-ft-"));
}

async function jpeg(width: number, height: number, shade: number): Promise<PreparedImage> {
  const buf = await sharp({ create: { width, height, channels: 3, background: { r: shade, g: 90, b: 200 - shade } } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return { jpeg: buf, sha256: createHash("sha256").update(buf).digest("hex"), width, height };
}

function items(n: number): GroundTruthItem[] {
  return Array.from({ length: n }, (_, i) => ({
    image: `secret_place_${String(i).padStart(4, "0")}.jpg`,
    score: 1 + (i % 10) + (i % 3 === 0 ? 0.5 : 0),
    reasons: i % 2 ? ["broken street lights"] : [],
    source: { file: "ground_truth.csv", row: i + 2 },
  }));
}

/** A provider that also records how many images are in flight at once. */
function provider(): { images: ImageProvider; maxInFlight: () => number; calls: () => number } {
  let inFlight = 0;
  let max = 0;
  let calls = 0;
  return {
    images: async (item) => {
      calls++;
      inFlight++;
      max = Math.max(max, inFlight);
      const n = Number(/(\d+)/.exec(item.image)![1]);
      const img = await jpeg(40 + (n % 5), 30, (n * 17) % 200);
      inFlight--;
      return img;
    },
    maxInFlight: () => max,
    calls: () => calls,
  };
}

async function readLines(file: string): Promise<any[]> {
  const text = await fs.readFile(file, "utf8");
  assert.ok(text.endsWith("\n"));
  return text.trimEnd().split("\n").map((l) => JSON.parse(l));
}

test("text-only JSONL: system, plain-string user turn, assistant target; no images", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "train_text_only.jsonl");
  const its = items(12);
  const r = await writeOpenAIJsonl(file, its, null, { withImages: false, scale: DEFAULT_SCALE });
  assert.equal(r.examples, 12);
  assert.equal(r.bytes, (await fs.stat(file)).size);
  const lines = await readLines(file);
  assert.equal(lines.length, 12);
  lines.forEach((ex, i) => {
    assert.deepEqual(Object.keys(ex), ["messages"]);
    assert.deepEqual(ex.messages, [
      { role: "system", content: systemPrompt(DEFAULT_SCALE) },
      { role: "user", content: userPrompt(DEFAULT_SCALE) },
      { role: "assistant", content: assistantTarget(its[i]) },
    ]);
  });
  const text = await fs.readFile(file, "utf8");
  assert.ok(!text.includes("image_url"));
  assert.ok(!text.includes("secret_place"), "no file names in the training text");
  const check = await checkFineTuneFile(file);
  assert.equal(check.ok, true, JSON.stringify(check.problems));
});

test("with-images JSONL: every line carries its JPEG as a data URL with detail low, one image at a time", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "train_with_images.jsonl");
  const its = items(11);
  const p = provider();
  const r = await writeOpenAIJsonl(file, its, p.images, { withImages: true, scale: DEFAULT_SCALE });
  assert.equal(r.examples, 11);
  assert.equal(p.calls(), 11);
  assert.equal(p.maxInFlight(), 1, "images are fetched one at a time (flat memory)");
  const lines = await readLines(file);
  assert.equal(lines.length, 11);
  for (const [i, ex] of lines.entries()) {
    const [sys, user, asst] = ex.messages;
    assert.equal(sys.role, "system");
    assert.equal(user.role, "user");
    assert.ok(Array.isArray(user.content), "a with-images line never has a text-only user turn");
    assert.deepEqual(user.content[0], { type: "text", text: userPrompt(DEFAULT_SCALE) });
    assert.equal(user.content[1].type, "image_url");
    assert.equal(user.content[1].image_url.detail, "low");
    const url: string = user.content[1].image_url.url;
    assert.ok(url.startsWith("data:image/jpeg;base64,"));
    const bytes = Buffer.from(url.slice("data:image/jpeg;base64,".length), "base64");
    const expected = await p.images(its[i]);
    assert.ok(bytes.equals(expected.jpeg));
    assert.equal(asst.content, assistantTarget(its[i]));
  }
  assert.ok(!(await fs.readFile(file, "utf8")).includes("secret_place"));
  const check = await checkFineTuneFile(file);
  assert.equal(check.ok, true, JSON.stringify(check.problems));
  assert.equal(check.images.total, 11);
  assert.equal(check.tokens.imageTokens, 11 * 85);
});

test("detail option is written as given", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "val.jsonl");
  await writeOpenAIJsonl(file, items(2), provider().images, { withImages: true, detail: "high", scale: DEFAULT_SCALE });
  for (const ex of await readLines(file)) assert.equal(ex.messages[1].content[1].image_url.detail, "high");
});

test("with-images without an image provider throws and writes nothing", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "x.jsonl");
  await assert.rejects(writeOpenAIJsonl(file, items(3), null, { withImages: true, scale: DEFAULT_SCALE }), /no image provider/);
  assert.equal(existsSync(file), false);
});

test("a failing or non-JPEG image aborts the file and removes the partial output", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "x.jsonl");
  let n = 0;
  const bad: ImageProvider = async () => {
    if (n++ < 2) return jpeg(8, 8, 10);
    return { jpeg: Buffer.from("not a jpeg"), sha256: "0".repeat(64), width: 1, height: 1 };
  };
  await assert.rejects(writeOpenAIJsonl(file, items(5), bad, { withImages: true, scale: DEFAULT_SCALE }), /not JPEG/);
  assert.equal(existsSync(file), false);
  const failing: ImageProvider = async () => {
    throw new Error("disk gone");
  };
  await assert.rejects(writeOpenAIJsonl(file, items(2), failing, { withImages: true, scale: DEFAULT_SCALE }), /disk gone/);
  assert.equal(existsSync(file), false);
});

test("example builder refuses a with-images example without an image and vice versa", async () => {
  const it = items(1)[0];
  assert.throws(() => openAIExample(it, null, { withImages: true, scale: DEFAULT_SCALE }), /needs its image/);
  const img = await jpeg(4, 4, 0);
  assert.throws(() => openAIExample(it, img, { withImages: false, scale: DEFAULT_SCALE }), /must not/);
  const msgs = promptMessages(DEFAULT_SCALE);
  assert.equal(msgs.length, 2);
  assert.equal(msgs[1].content, userPrompt(DEFAULT_SCALE));
});

test("an empty split writes an empty file", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "empty.jsonl");
  assert.deepEqual(await writeOpenAIJsonl(file, [], null, { withImages: false, scale: DEFAULT_SCALE }), { examples: 0, bytes: 0 });
  assert.equal(await fs.readFile(file, "utf8"), "");
});

test("many examples stream through backpressure intact", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "big.jsonl");
  const big = await jpeg(300, 200, 50); // ~ a few KB per line
  const n = 400;
  const r = await writeOpenAIJsonl(file, items(n), async () => big, { withImages: true, scale: DEFAULT_SCALE });
  assert.equal(r.examples, n);
  assert.equal(r.bytes, (await fs.stat(file)).size);
  assert.equal((await readLines(file)).length, n);
});
