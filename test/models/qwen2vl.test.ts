import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { prepareImage } from "../../lib/src/core/image";
import { displayPath } from "../../lib/src/core/project-path";
import { LocalQwen2VLModel, digitTreeProbabilities, missingQwen2VLFiles, qwen2vlImageSize, resolveDtype } from "../../lib/src/models/qwen2vl";
import { ModelUnavailableError } from "../../lib/src/core/errors";
import { type Prediction } from "../../lib/src/models/types";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { PreparedImage } from "../../lib/src/core/types";
import { TINY_QWEN2VL, buildTinyQwen2VL } from "../helpers/tiny-qwen2vl";
import { tempDir } from "../helpers/tmp";

const root = tempDir("streetsafe-qwen2vl-");
const dir = path.join(root, "tiny");
const dir10 = path.join(root, "tiny-ten");
let model: LocalQwen2VLModel;
let dark: PreparedImage;
let bright: PreparedImage;

async function solid(grey: number, width = 400, height = 300): Promise<PreparedImage> {
  const jpeg = await sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } }).jpeg().toBuffer();
  return prepareImage(jpeg);
}

function assertProbabilities(p: Prediction): void {
  assert.ok(p.probabilities, "probabilities are reported");
  const keys = Object.keys(p.probabilities!).map(Number).sort((a, b) => a - b);
  assert.deepEqual(keys, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const sum = Object.values(p.probabilities!).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `probabilities sum to 1 (got ${sum})`);
  assert.ok(p.expectedScore !== undefined && p.expectedScore >= 1 && p.expectedScore <= 10, `expectedScore ${p.expectedScore} in 1..10`);
}

before(async () => {
  await buildTinyQwen2VL(dir);
  model = await LocalQwen2VLModel.load({ dir, scale: DEFAULT_SCALE, maxNewTokens: 32, log: () => undefined });
  dark = await solid(40);
  bright = await solid(220);
});
after(async () => {
  await model?.dispose();
});

test("a dark and a bright street give deterministic, parseable, different scores", async () => {
  const d1 = await model.predict(dark);
  const b1 = await model.predict(bright);
  const d2 = await model.predict(dark);
  for (const p of [d1, b1, d2]) {
    assert.equal(p.error, undefined, p.error);
    assert.match(p.raw, /^\{"score":\d+,"reasons":\[\]\}$/);
    assert.deepEqual(p.reasons, []);
    assert.equal(p.modelId, "qwen2vl-local:tiny");
    assert.ok(p.latencyMs > 0);
    assertProbabilities(p);
  }
  // The fixture's preferred score is 1 + 9·brightness: the image reached the decoder through the cache.
  assert.equal(d1.score, Math.round(TINY_QWEN2VL.peakScore(40 / 255)));
  assert.equal(b1.score, Math.round(TINY_QWEN2VL.peakScore(220 / 255)));
  assert.notEqual(d1.score, b1.score);
  assert.deepEqual(d2, { ...d1, latencyMs: d2.latencyMs }, "same image, same prediction");
  assert.ok(Math.abs(d1.expectedScore! - TINY_QWEN2VL.peakScore(40 / 255)) < 0.5, `dark expected ${d1.expectedScore}`);
  assert.ok(Math.abs(b1.expectedScore! - TINY_QWEN2VL.peakScore(220 / 255)) < 0.5, `bright expected ${b1.expectedScore}`);
  // The argmax digit is the most probable score.
  const argmax = Object.entries(b1.probabilities!).sort((a, b) => b[1] - a[1])[0]![0];
  assert.equal(Number(argmax), b1.score);
  // Usage: the prompt holds the image tokens (112×112 max → 16 merged tokens at most), the reply 8 tokens.
  assert.ok(d1.usage!.inputTokens > 100, `input tokens ${d1.usage!.inputTokens}`);
  assert.equal(d1.usage!.outputTokens, 8); // {" score ": 2 ," reasons ":[]} <|im_end|>
});

test("score 10 is written as two tokens and its probability comes from the step after '1'", async () => {
  await buildTinyQwen2VL(dir10, { scoreBias: [0, 0, 0, 0, 0, 0, 0, 0, 0, 40] });
  const ten = await LocalQwen2VLModel.load({ dir: dir10, scale: DEFAULT_SCALE });
  try {
    const p = await ten.predict(dark);
    assert.equal(p.error, undefined, p.error);
    assert.equal(p.raw, '{"score":10,"reasons":[]}');
    assert.equal(p.score, 10);
    assertProbabilities(p);
    assert.ok(p.probabilities![10]! > 0.99, `p(10) = ${p.probabilities![10]}`);
    assert.ok(p.expectedScore! > 9.9);
  } finally {
    await ten.dispose();
  }
});

test("p(1) and p(10) come from an extra pass when the model wrote another digit; all p(k) match the fixture", async () => {
  // Fixture: z(k) = −0.5·(k − peak)², p(k) = softmax(z), peak = 1 + 9·b. The bright image puts real mass on
  // 10 while writing "9", so p(10) against p(1) needs the one-token pass with "1" on the cache.
  for (const img of [dark, bright]) {
    const p = await model.predict(img);
    const { data } = await sharp(img.jpeg).raw().toBuffer({ resolveWithObject: true });
    // A flat image keeps its mean through resizing, so the JPEG's mean is the model's b.
    let s = 0;
    for (const v of data) s += v;
    const peak = TINY_QWEN2VL.peakScore(s / data.length / 255);
    const z = Array.from({ length: 10 }, (_, i) => -0.5 * (i + 1 - peak) ** 2);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const tot = e.reduce((a, b) => a + b, 0);
    for (let k = 1; k <= 10; k++) {
      assert.ok(Math.abs(p.probabilities![k]! - e[k - 1]! / tot) < 1e-3, `p(${k}) = ${p.probabilities![k]} vs ${e[k - 1]! / tot}`);
    }
  }
  assert.ok((await model.predict(bright)).probabilities![10]! > 0.05);
});

test("images are resized with Qwen's smart_resize, keeping orientation; odd sizes work", async () => {
  const cap = { minPixels: 56 * 56, maxPixels: 112 * 112 };
  assert.deepEqual(qwen2vlImageSize(400, 300, cap), { width: 112, height: 84 });
  assert.deepEqual(qwen2vlImageSize(300, 400, cap), { width: 84, height: 112 });
  assert.deepEqual(qwen2vlImageSize(56, 56, cap), { width: 56, height: 56 });
  assert.deepEqual(qwen2vlImageSize(30, 30, cap), { width: 56, height: 56 }, "raised to min_pixels");
  assert.deepEqual(qwen2vlImageSize(768, 512, { minPixels: 3136, maxPixels: 262_144 }), { width: 616, height: 392 });
  assert.throws(() => qwen2vlImageSize(1, 500, cap), /aspect ratio/);
  for (const [w, h] of [
    [20, 700],
    [1000, 37],
  ] as const) {
    const p = await model.predict(await solid(128, w, h));
    assert.equal(p.error, undefined, `${w}×${h}: ${p.error}`);
    assert.equal(p.score, 6);
  }
});

test("the model is loaded once and reused", async () => {
  const sessions = model.sessions;
  assert.deepEqual(Object.keys(sessions).sort(), ["decoder_model_merged", "embed_tokens", "vision_encoder"]);
  await model.predict(bright);
  assert.equal(model.sessions, sessions);
  for (const [k, v] of Object.entries(sessions)) assert.equal(model.sessions[k], v);
  // Concurrent calls are serialised and still deterministic.
  const [a, b] = await Promise.all([model.predict(bright), model.predict(bright)]);
  assert.equal(a.raw, b.raw);
  assert.equal(a.score, b.score);
});

test("an aborted signal gives an error prediction without running the model", async () => {
  const ctl = new AbortController();
  ctl.abort();
  const p = await model.predict(dark, { signal: ctl.signal });
  assert.equal(p.score, null);
  assert.match(p.error!, /aborted/);
});

test("describe() records the settings, with the folder written relative (no absolute path in run folders)", () => {
  const d = model.describe();
  assert.equal(d.dir, displayPath(dir));
  assert.ok(!path.isAbsolute(String(d.dir)));
  assert.equal(d.dtype, "fp32");
  assert.equal(d.device, "cpu");
  assert.equal(d.maxPixels, TINY_QWEN2VL.maxPixels);
  assert.equal(d.minPixels, TINY_QWEN2VL.minPixels);
  assert.equal(d.maxNewTokens, 32);
});

test("a missing folder and missing files are ModelUnavailableError naming --qwen2vl-dir and every missing file", async () => {
  await assert.rejects(
    LocalQwen2VLModel.load({ dir: path.join(root, "nope"), scale: DEFAULT_SCALE }),
    (e: unknown) => e instanceof ModelUnavailableError && /not found/.test(e.reason) && /--qwen2vl-dir/.test(e.reason),
  );
  const partial = path.join(root, "partial");
  await buildTinyQwen2VL(partial);
  const gone = ["tokenizer.json", "preprocessor_config.json", "onnx/vision_encoder.onnx", "onnx/decoder_model_merged.onnx"];
  for (const f of gone) await fs.rm(path.join(partial, f));
  assert.deepEqual((await missingQwen2VLFiles(partial)).sort(), [...gone].sort());
  await assert.rejects(LocalQwen2VLModel.load({ dir: partial, scale: DEFAULT_SCALE }), (e: unknown) => {
    assert.ok(e instanceof ModelUnavailableError);
    for (const f of gone) assert.ok(e.reason.includes(f), `${f} named in: ${e.reason}`);
    assert.match(e.reason, /lacks 4 files/);
    assert.match(e.reason, /--qwen2vl-dir/);
    return true;
  });
  // A quantised dtype asks for the suffixed files.
  assert.deepEqual(await missingQwen2VLFiles(dir, "q8"), [
    "onnx/embed_tokens_quantized.onnx",
    "onnx/vision_encoder_quantized.onnx",
    "onnx/decoder_model_merged_quantized.onnx",
  ]);
  assert.deepEqual(await missingQwen2VLFiles(dir, { decoder_model_merged: "q4" }), ["onnx/decoder_model_merged_q4.onnx"]);
});

test("a runtime failure is an error prediction that names each input's type and shape", async () => {
  const broken = path.join(root, "broken");
  await buildTinyQwen2VL(broken);
  // 16-pixel patches: the processor builds 3·2·16·16 = 1536 values per patch, the vision graph takes 1176.
  const cfgPath = path.join(broken, "preprocessor_config.json");
  const cfg = JSON.parse(await fs.readFile(cfgPath, "utf8"));
  await fs.writeFile(cfgPath, JSON.stringify({ ...cfg, patch_size: 16 }));
  const m = await LocalQwen2VLModel.load({ dir: broken, scale: DEFAULT_SCALE });
  const errors = console.error;
  console.error = () => undefined; // transformers.js prints the inputs itself
  try {
    const p = await m.predict(dark);
    assert.equal(p.score, null);
    assert.ok(p.error, "an error is reported");
    assert.match(p.error!, /input_ids: int64\[1, \d+\]/);
    assert.match(p.error!, /pixel_values: float32\[\d+, 1536\]/);
    assert.match(p.error!, /image_grid_thw: int64\[1, 3\]/);
    assert.match(p.error!, /Expected: 1176/, "the runtime's own detail is kept");
  } finally {
    console.error = errors;
    await m.dispose();
  }
});

test("dispose releases the sessions; later predictions fail as values", async () => {
  const m = await LocalQwen2VLModel.load({ dir, scale: DEFAULT_SCALE });
  assert.equal((await m.predict(dark)).error, undefined);
  await m.dispose();
  const p = await m.predict(dark);
  assert.equal(p.score, null);
  assert.match(p.error!, /disposed/);
  await m.dispose(); // twice is fine
});

test("digit-tree probabilities on other scales", () => {
  const flat = { digits: new Array(10).fill(0), lse: Math.log(20) }; // each digit 1/20, non-digits 1/2
  const r = digitTreeProbabilities({ min: 0, max: 5 }, () => flat)!;
  for (let k = 0; k <= 5; k++) assert.ok(Math.abs(r.probabilities[k]! - 1 / 6) < 1e-12);
  assert.ok(Math.abs(r.expectedScore - 2.5) < 1e-12);
  // 1..10 with "1" then: p("0") = 1/20 against non-digit mass 1/2 → p(10 | "1") = 1/11.
  const t = digitTreeProbabilities({ min: 1, max: 10 }, () => flat)!;
  assert.ok(Math.abs(t.probabilities[10]! - (1 / 9) * (1 / 11)) < 1e-12);
  assert.ok(Math.abs(t.probabilities[1]! - (1 / 9) * (10 / 11)) < 1e-12);
  assert.equal(digitTreeProbabilities({ min: -5, max: 5 }, () => flat), null);
  assert.equal(digitTreeProbabilities({ min: 0, max: 1000 }, () => flat), null, "too many passes");
});

test("a reply that is only the number is scored, with its probabilities (no empty token list to decode)", async () => {
  const bare = path.join(root, "bare");
  await buildTinyQwen2VL(bare, { bare: true });
  const m = await LocalQwen2VLModel.load({ dir: bare, scale: DEFAULT_SCALE, log: () => undefined });
  try {
    const p = await m.predict(bright);
    assert.equal(p.error, undefined, p.error);
    assert.equal(p.raw, String(Math.round(TINY_QWEN2VL.peakScore(220 / 255))));
    assert.equal(p.score, Number(p.raw));
    assertProbabilities(p);
    const argmax = Object.entries(p.probabilities!).sort((a, b) => b[1] - a[1])[0]![0];
    assert.equal(Number(argmax), p.score);
  } finally {
    await m.dispose();
  }
});

test('dtype "auto" picks what the folder has and says so; a configured dtype is taken as given', async () => {
  const both = path.join(root, "both");
  await buildTinyQwen2VL(both);
  const notes: string[] = [];
  const fp32 = await LocalQwen2VLModel.load({ dir: both, scale: DEFAULT_SCALE, log: (l) => notes.push(l) });
  assert.equal(fp32.describe().dtype, "fp32");
  assert.equal(fp32.id, "qwen2vl-local:both");
  await fp32.dispose();
  assert.match(notes.join("\n"), /dtype auto → "fp32" \(the folder has no complete q8 set/);
  // q8 files present (here: copies of the fp32 graphs, which are valid graphs under the q8 names) → q8.
  for (const s of ["embed_tokens", "vision_encoder", "decoder_model_merged"]) await fs.copyFile(path.join(both, "onnx", `${s}.onnx`), path.join(both, "onnx", `${s}_quantized.onnx`));
  assert.deepEqual(await resolveDtype(both, "auto"), { dtype: "q8", reason: "the folder has the q8 graphs (onnx/*_quantized.onnx)" });
  assert.deepEqual(await resolveDtype(both, undefined), await resolveDtype(both, "auto"), "auto is the default");
  const q8 = await LocalQwen2VLModel.load({ dir: both, scale: DEFAULT_SCALE, log: () => undefined });
  assert.equal(q8.describe().dtype, "q8");
  assert.equal(q8.id, "qwen2vl-local:both@q8");
  assert.equal((await q8.predict(dark)).error, undefined);
  await q8.dispose();
  // The folder's own declaration wins when its files are there.
  const cfgPath = path.join(both, "config.json");
  const cfg = JSON.parse(await fs.readFile(cfgPath, "utf8"));
  await fs.writeFile(cfgPath, JSON.stringify({ ...cfg, "transformers.js_config": { dtype: "fp32" } }));
  assert.deepEqual(await resolveDtype(both, "auto"), { dtype: "fp32", reason: "config.json transformers.js_config.dtype" });
  assert.deepEqual(await resolveDtype(both, "q8"), { dtype: "q8", reason: "as configured" });
  // Nothing complete: the fp32 files are listed.
  await assert.rejects(LocalQwen2VLModel.load({ dir: path.join(root, "partial"), scale: DEFAULT_SCALE, log: () => undefined }), /for any dtype/);
});

test("generate: two images in one prompt, custom messages, every step's logits", async () => {
  const small = await solid(200, 200, 100);
  const messages = [
    { role: "system" as const, content: "You compare street photos." },
    { role: "user" as const, content: [{ type: "text" as const, text: "A:" }, { type: "image" as const }, { type: "text" as const, text: "B:" }, { type: "image" as const }, { type: "text" as const, text: "Which looks safer?" }] },
  ];
  const rows: { step: number; argmax: number; n: number }[] = [];
  const g = await model.generate({
    images: [dark, small],
    messages,
    onStepLogits: (step, logits) => {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      rows.push({ step, argmax: best, n: logits.length });
    },
  });
  // 400×300 → 112×84 (grid 1×6×8, 12 tokens); 200×100 → 140×56 (grid 1×4×10, 10 tokens).
  assert.deepEqual(g.imageGridThw, [[1, 6, 8], [1, 4, 10]]);
  assert.deepEqual(g.imageSizes, [{ width: 112, height: 84 }, { width: 140, height: 56 }]);
  const tok = JSON.parse(await fs.readFile(path.join(dir, "tokenizer.json"), "utf8"));
  const pad = tok.added_tokens.find((t: { content: string }) => t.content === "<|image_pad|>").id;
  const pads = g.promptIds.map((id, i) => (id === pad ? i : -1)).filter((i) => i >= 0);
  assert.equal(pads.length, 12 + 10, "each <|image_pad|> expanded to its own image's tokens");
  assert.ok(pads[12]! - pads[11]! > 1, "the two images' pads are apart (text between them)");
  assert.equal(g.usage.inputTokens, g.promptIds.length);
  assert.deepEqual(rows.map((r) => r.step), g.generatedIds.map((_, i) => i), "one row per generated token");
  assert.deepEqual(rows.map((r) => r.argmax), g.generatedIds, "greedy: each token is its step's argmax");
  assert.ok(rows.every((r) => r.n === tok.added_tokens.at(-1).id + 1));
  await assert.rejects(model.generate({ images: [dark], messages }), /2 image parts for 1 image/);
  await assert.rejects(model.generate({ images: [dark, small] }), /messages are needed for 2 images/);
  // One image through generate is exactly predict's prompt and reply.
  const one = await model.generate({ images: [bright] });
  assert.equal(one.reply, (await model.predict(bright)).raw);
});

test("chat templates in chat_template.json or chat_template.jinja keep working", async () => {
  for (const file of ["chat_template.json", "chat_template.jinja"]) {
    const d = path.join(root, `tpl-${file}`);
    await buildTinyQwen2VL(d);
    const tcPath = path.join(d, "tokenizer_config.json");
    const tc = JSON.parse(await fs.readFile(tcPath, "utf8"));
    const template = tc.chat_template as string;
    delete tc.chat_template;
    await fs.writeFile(tcPath, JSON.stringify(tc));
    await fs.writeFile(path.join(d, file), file.endsWith(".json") ? JSON.stringify({ chat_template: template }) : template);
    const m = await LocalQwen2VLModel.load({ dir: d, scale: DEFAULT_SCALE, log: () => undefined });
    const p = await m.predict(dark);
    await m.dispose();
    assert.equal(p.error, undefined, `${file}: ${p.error}`);
    assert.equal(p.score, Math.round(TINY_QWEN2VL.peakScore(40 / 255)));
  }
});

test("the folder's max_pixels is trusted as it is when streetsafe's exporter recorded it as the training cap", async () => {
  const d = path.join(root, "trained-cap");
  await buildTinyQwen2VL(d);
  const ppPath = path.join(d, "preprocessor_config.json");
  const pp = JSON.parse(await fs.readFile(ppPath, "utf8"));
  await fs.writeFile(ppPath, JSON.stringify({ ...pp, max_pixels: 401_408 }));
  const capped = await LocalQwen2VLModel.load({ dir: d, scale: DEFAULT_SCALE, log: () => undefined });
  assert.equal(capped.describe().maxPixels, 262_144, "a folder's own cap above 262,144 is capped");
  await capped.dispose();
  await fs.writeFile(path.join(d, "streetsafe_export.json"), JSON.stringify({ source: "merged", max_pixels: 401_408, max_pixels_from_training: true }));
  const trusted = await LocalQwen2VLModel.load({ dir: d, scale: DEFAULT_SCALE, log: () => undefined });
  assert.equal(trusted.describe().maxPixels, 401_408);
  assert.deepEqual(trusted.describe().export, { source: "merged", exporter: undefined, dtypes: undefined });
  await trusted.dispose();
});
