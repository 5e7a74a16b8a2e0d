import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { checkFineTuneFile, DEFAULT_FORMAT_LIMITS, FORMAT_PROBLEMS, formatCheckSummary, imageInfoFromBytes, stats } from "../../lib/src/prepare/format-check";
import { countTextTokens, GPT4O_MINI_IMAGE_TOKENS, imageTokens } from "../../lib/src/openai/tokens";

async function tmpFile(name: string, lines: unknown[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "streetsafe-check-"));
  const file = path.join(dir, name);
  await fs.writeFile(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return file;
}

const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 40, g: 120, b: 90 } } });

/** The tiny conversation whose tokens are known by hand (o200k_base). */
const TINY = {
  messages: [
    { role: "system", content: "You are helpful." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello" },
  ],
};

test("image tokens follow the GPT-4o tile rule on known values", () => {
  assert.equal(imageTokens(1024, 1024, "high"), 765); // → 768×768, 2×2 tiles: 85 + 4×170
  assert.equal(imageTokens(2048, 4096, "high"), 1105); // → 1024×2048 → 768×1536, 2×3 tiles
  assert.equal(imageTokens(4096, 8192, "low"), 85);
  assert.equal(imageTokens(400, 400, "high"), 255); // never enlarged: one tile
  assert.equal(imageTokens(512, 512, "high"), 255);
  assert.equal(imageTokens(513, 512, "high"), 425);
  assert.equal(imageTokens(4096, 1024, "high"), 765); // → 2048×512, short side 512 ≤ 768: 4×1 tiles
  assert.equal(imageTokens(1024, 1024, "auto"), 765, "auto counted as high");
  assert.equal(imageTokens(768, 768, "low", GPT4O_MINI_IMAGE_TOKENS), 2833);
  assert.equal(imageTokens(1024, 1024, "high", GPT4O_MINI_IMAGE_TOKENS), 2833 + 4 * 5667);
  assert.throws(() => imageTokens(0, 10, "high"));
});

test("image size is read from JPEG, PNG and WebP headers", async () => {
  assert.deepEqual(imageInfoFromBytes(await solid(123, 45).jpeg().toBuffer()), { format: "jpeg", width: 123, height: 45 });
  const exif = await solid(64, 32).withMetadata({ orientation: 1 }).jpeg().toBuffer();
  assert.deepEqual(imageInfoFromBytes(exif), { format: "jpeg", width: 64, height: 32 });
  assert.deepEqual(imageInfoFromBytes(await solid(7, 300).png().toBuffer()), { format: "png", width: 7, height: 300 });
  assert.deepEqual(imageInfoFromBytes(await solid(99, 51).webp().toBuffer()), { format: "webp", width: 99, height: 51 });
  assert.deepEqual(imageInfoFromBytes(await solid(99, 51).webp({ lossless: true }).toBuffer()), { format: "webp", width: 99, height: 51 });
  const gif = Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 10, 0, 20, 0, 0, 0, 0]);
  assert.deepEqual(imageInfoFromBytes(gif), { format: "gif", width: 10, height: 20 });
  assert.equal(imageInfoFromBytes(Buffer.from("hello world")), null);
});

test("tokens of a tiny conversation match hand-counted o200k values", async () => {
  // o200k_base: "system", "user", "assistant", "Hi", "Hello" are 1 token each; "You are helpful." is 4.
  assert.equal(countTextTokens("You are helpful."), 4);
  for (const s of ["system", "user", "assistant", "Hi", "Hello"]) assert.equal(countTextTokens(s), 1, s);
  // 3 per message × 3 + roles 3 + contents (4 + 1 + 1) + 3 reply priming = 21
  const file = await tmpFile("tiny.jsonl", Array(10).fill(TINY));
  const r = await checkFineTuneFile(file);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.examples, 10);
  assert.equal(r.tokens.total, 210);
  assert.equal(r.tokens.billable, 210);
  assert.deepEqual(r.tokens.perExample, { min: 21, max: 21, mean: 21, p50: 21, p95: 21 });
  assert.equal(r.tokens.imageTokens, 0);
  assert.deepEqual(r.images, { total: 0, maxPerExample: 0 });
  assert.match(formatCheckSummary(r), /no problems/);
});

test("an image part adds its tile tokens (low 85, high by size read from the data URL)", async () => {
  const url = "data:image/jpeg;base64," + (await solid(1024, 1024).jpeg().toBuffer()).toString("base64");
  const withImage = (detail: string) => ({
    messages: [
      { role: "system", content: "You are helpful." },
      { role: "user", content: [{ type: "text", text: "Hi" }, { type: "image_url", image_url: { url, detail } }] },
      { role: "assistant", content: "Hello" },
    ],
  });
  const file = await tmpFile("img.jsonl", [...Array(9).fill(withImage("low")), withImage("high")]);
  const r = await checkFineTuneFile(file);
  assert.equal(r.ok, true, JSON.stringify(r.firstExample));
  assert.equal(r.tokens.imageTokens, 9 * 85 + 765);
  assert.equal(r.tokens.total, 10 * 21 + 9 * 85 + 765);
  assert.deepEqual(r.images, { total: 10, maxPerExample: 1 });
  assert.equal(r.tokens.perExample.max, 21 + 765);
});

test("every named problem is counted with its first real line, without stopping", async () => {
  const jpg = "data:image/jpeg;base64," + (await solid(16, 16).jpeg().toBuffer()).toString("base64");
  const noise = randomBytes(128 * 128 * 3); // incompressible: the PNG stays large
  const bigPng = await sharp(noise, { raw: { width: 128, height: 128, channels: 3 } }).png().toBuffer();
  const png = "data:image/png;base64," + bigPng.toString("base64");
  const gif = "data:image/gif;base64," + Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0, 0]).toString("base64");
  const user = (content: unknown) => ({ messages: [{ role: "user", content }, { role: "assistant", content: "ok" }] });
  const img = (url: string, detail = "low") => ({ type: "image_url", image_url: { url, detail } });
  const lines: Array<[string, unknown]> = [
    ["invalid_json", '{"messages": [ {"role": "user"'],
    ["missing_messages", { messages: [] }],
    ["invalid_role", { messages: [{ role: "robot", content: "hi" }, { role: "assistant", content: "ok" }] }],
    ["missing_content", { messages: [{ role: "user" }, { role: "assistant", content: "ok" }] }],
    ["unrecognized_key", { messages: [{ role: "user", content: "hi", mood: "happy" }, { role: "assistant", content: "ok" }] }],
    ["no_assistant_message", { messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }] }],
    ["too_many_images", user([{ type: "text", text: "rate" }, ...Array(11).fill(img(jpg))])],
    ["image_not_data_url", user([img("https://example.org/photo")])],
    ["unsupported_image_type", user([img(gif)])],
    ["image_too_large", user([img(png)])],
    ["example_too_long", user("word ".repeat(1200))],
    ["file_name_in_prompt", user([{ type: "text", text: "Rate the scene in IMG_0042.JPG please" }, img(jpg)])],
    ["file_name_in_prompt", { messages: [{ role: "system", content: "photo street_7.png" }, { role: "user", content: "x" }, { role: "assistant", content: "ok" }] }],
    ["invalid_content_part", user([{ type: "audio", data: "x" }])],
    ["image_outside_user_message", { messages: [{ role: "user", content: "hi" }, { role: "assistant", content: [img(jpg)] }] }],
    ["invalid_image_detail", user([img(jpg, "medium")])],
    ["image_unreadable", user([img("data:image/jpeg;base64,aGVsbG8gd29ybGQ=")])],
  ];
  const file = await tmpFile("bad.jsonl", ["", ...lines.map(([, l]) => l), "   "]);
  const r = await checkFineTuneFile(file, { maxImageBytes: 10_000, maxTokensPerExample: 1000 });
  assert.ok(bigPng.length > 10_000 && Buffer.from(jpg.split(",")[1], "base64").length < 10_000);
  assert.equal(r.ok, false);
  assert.equal(r.examples, lines.length, "blank lines are not examples");

  const expected: Record<string, number> = {};
  for (const [name] of lines) expected[name] = (expected[name] ?? 0) + 1;
  // 17 examples ≥ 10, so no too_few_examples here
  assert.deepEqual(r.problems, expected, JSON.stringify(r.firstExample, null, 1));
  lines.forEach(([name], i) => {
    const first = lines.findIndex(([n]) => n === name);
    if (first === i) assert.equal(r.firstExample[name as keyof typeof r.firstExample]!.line, i + 2, name);
  });
  assert.match(r.firstExample.file_name_in_prompt!.detail, /IMG_0042\.JPG/);
  assert.match(r.firstExample.unsupported_image_type!.detail, /image\/gif/);
  assert.match(r.firstExample.too_many_images!.detail, /11 images/);
  assert.match(formatCheckSummary(r), /invalid_json: 1 \(first: line 2/);
  // every problem name the check knows was exercised above or in the next test
  for (const name of FORMAT_PROBLEMS) assert.ok(name === "too_few_examples" || name in expected, name);
});

test("too few examples is a whole-file problem; limits default to OpenAI's", async () => {
  const r = await checkFineTuneFile(await tmpFile("few.jsonl", Array(3).fill(TINY)));
  assert.deepEqual(r.problems, { too_few_examples: 1 });
  assert.deepEqual(r.firstExample.too_few_examples, { line: 0, detail: "3 examples; at least 10 needed" });
  assert.equal(r.ok, false);
  assert.deepEqual(r.limits, { minExamples: 10, maxTokensPerExample: 65_536, maxImagesPerExample: 10, maxImageBytes: 10 * 1024 * 1024 });
  assert.equal(DEFAULT_FORMAT_LIMITS.maxImageBytes, 10_485_760);
  const ok = await checkFineTuneFile(await tmpFile("few.jsonl", Array(3).fill(TINY)), { minExamples: 1 });
  assert.equal(ok.ok, true);
});

test("examples over the token limit are capped in the billable count", async () => {
  const long = { messages: [{ role: "user", content: "word ".repeat(100) }, { role: "assistant", content: "ok" }] };
  const r = await checkFineTuneFile(await tmpFile("long.jsonl", [long, TINY]), { minExamples: 1, maxTokensPerExample: 50 });
  assert.equal(r.problems.example_too_long, 1);
  assert.equal(r.tokens.billable, 50 + 21);
  assert.ok(r.tokens.total > r.tokens.billable);
});

test("percentiles interpolate like numpy (median of an even count is the mean of the middle two)", () => {
  const s = stats([4, 1, 3, 2]);
  assert.deepEqual({ ...s, p95: Math.round(s.p95 * 1e9) / 1e9 }, { min: 1, max: 4, mean: 2.5, p50: 2.5, p95: 3.85 });
  assert.equal(stats([5, 1, 3]).p50, 3);
  assert.deepEqual(stats([]), { min: 0, max: 0, mean: 0, p50: 0, p95: 0 });
});
