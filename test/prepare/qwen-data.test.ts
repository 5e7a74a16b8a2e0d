import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { ImageProvider } from "../../lib/src/prepare/openai-jsonl";
import { assistantTarget, systemPrompt, userPrompt } from "../../lib/src/prompt/prompts";
import { qwenDatasetInfo, qwenTrainConfigYaml, writeQwenDataset } from "../../lib/src/prepare/qwen-data";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { GroundTruthItem, PreparedImage } from "../../lib/src/core/types";

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "streetsafe-qwen-"));
}

const cache = new Map<string, PreparedImage>();
/** Images keyed by file name; names sharing a number share content. */
const images: ImageProvider = async (item) => {
  const n = Number(/(\d+)/.exec(item.image)![1]);
  const key = String(n);
  if (!cache.has(key)) {
    const buf = await sharp({ create: { width: 32 + n, height: 24, channels: 3, background: { r: 10 * n, g: 80, b: 120 } } })
      .jpeg()
      .toBuffer();
    cache.set(key, { jpeg: buf, sha256: createHash("sha256").update(buf).digest("hex"), width: 32 + n, height: 24 });
  }
  return cache.get(key)!;
};

const item = (image: string, score: number, reasons: string[] = []): GroundTruthItem => ({
  image,
  score,
  reasons,
  source: { file: "gt.csv" },
});

/** key: value lines of the YAML (comments and blanks skipped); fails on duplicate keys. */
function yamlKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    const m = /^([a-z0-9_]+): (.+)$/.exec(line);
    assert.ok(m, `not a flat key: value line: ${line}`);
    assert.ok(!keys.has(m[1]), `duplicate key ${m[1]}`);
    keys.set(m[1], m[2]);
  }
  return keys;
}

test("writes LLaMA-Factory sharegpt splits, hashed images, dataset_info, configs and README", async () => {
  const dir = path.join(await tmpDir(), "qwen_finetuning");
  const train = [item("private/secret_01.jpg", 3, ["litter"]), item("secret_02.png", 7.5), item("secret_03.jpg", 9)];
  const val = [item("secret_04.jpg", 2.4, ["dark", "empty"]), item("secret_05.jpg", 5)];
  const r = await writeQwenDataset(dir, { train, val }, images, { scale: DEFAULT_SCALE });
  assert.equal(r.train.examples, 3);
  assert.equal(r.val.examples, 2);
  assert.equal(r.images, 5);
  for (const f of ["streetsafe_train.json", "streetsafe_val.json", "dataset_info.json", "qwen2vl_lora_sft.yaml", "qwen2vl_lora_merge.yaml", "README.md"]) {
    assert.ok(existsSync(path.join(dir, f)), f);
    assert.ok(r.files.includes(f), f);
  }

  for (const [split, its] of [["train", train], ["val", val]] as const) {
    const text = await fs.readFile(path.join(dir, `streetsafe_${split}.json`), "utf8");
    assert.ok(!/secret_|private/.test(text), "no original file names in the training data");
    const data = JSON.parse(text);
    assert.equal(data.length, its.length);
    assert.equal(r[split].bytes, Buffer.byteLength(text));
    for (const [i, ex] of data.entries()) {
      assert.deepEqual(Object.keys(ex), ["messages", "images"]);
      assert.deepEqual(ex.messages, [
        { role: "system", content: systemPrompt(DEFAULT_SCALE) },
        { role: "user", content: "<image>" + userPrompt(DEFAULT_SCALE) },
        { role: "assistant", content: assistantTarget(its[i]) },
      ]);
      assert.equal(ex.messages[1].content.split("<image>").length - 1, 1, "one placeholder per image");
      assert.equal(ex.images.length, 1);
      const img = await images(its[i]);
      assert.equal(ex.images[0], `images/${img.sha256}.jpg`);
      assert.ok((await fs.readFile(path.join(dir, ex.images[0]))).equals(img.jpeg));
    }
  }
  assert.deepEqual((await fs.readdir(path.join(dir, "images"))).filter((f) => !/^[0-9a-f]{64}\.jpg$/.test(f)), []);

  const info = JSON.parse(await fs.readFile(path.join(dir, "dataset_info.json"), "utf8"));
  assert.deepEqual(info, qwenDatasetInfo("streetsafe"));
  for (const split of ["train", "val"]) {
    assert.deepEqual(info[`streetsafe_${split}`], {
      file_name: `streetsafe_${split}.json`,
      formatting: "sharegpt",
      columns: { messages: "messages", images: "images" },
      tags: { role_tag: "role", content_tag: "content", user_tag: "user", assistant_tag: "assistant", system_tag: "system" },
    });
  }

  const yaml = await fs.readFile(path.join(dir, "qwen2vl_lora_sft.yaml"), "utf8");
  const k = yamlKeys(yaml);
  assert.equal(k.get("model_name_or_path"), '"Qwen/Qwen2-VL-2B-Instruct"');
  assert.equal(k.get("template"), "qwen2_vl");
  assert.equal(k.get("stage"), "sft");
  assert.equal(k.get("finetuning_type"), "lora");
  assert.equal(k.get("lora_target"), "all");
  assert.equal(k.get("dataset_dir"), '"."');
  assert.equal(k.get("dataset"), "streetsafe_train");
  assert.equal(k.get("eval_dataset"), "streetsafe_val");
  assert.ok(Number(k.get("image_max_pixels")) > 0 && Number(k.get("image_max_pixels")) <= 1024 * 1024);
  for (const key of ["output_dir", "learning_rate", "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps"]) {
    assert.ok(k.has(key), key);
  }
  for (const block of yaml.split("\n").filter((l) => l.startsWith("### "))) {
    assert.match(block, /^### \w+: \S/, `block comment explains itself: ${block}`);
  }
  const merge = yamlKeys(await fs.readFile(path.join(dir, "qwen2vl_lora_merge.yaml"), "utf8"));
  assert.equal(merge.get("adapter_name_or_path"), k.get("output_dir"));
  assert.equal(merge.get("template"), "qwen2_vl");
  const readme = await fs.readFile(path.join(dir, "README.md"), "utf8");
  assert.match(readme, /llamafactory-cli train qwen2vl_lora_sft\.yaml/);
  assert.match(readme, /llamafactory-cli export qwen2vl_lora_merge\.yaml/);
  assert.match(readme, /ONNX/);
  assert.match(readme, /decoder_model_merged\.onnx/);
});

test("the same image content is written once; an empty val split gives [] and no eval_dataset", async () => {
  const dir = await tmpDir();
  const train = [item("a_1.jpg", 4), item("copy_of_a_1.jpg", 4), item("b_2.jpg", 6)];
  const r = await writeQwenDataset(dir, { train, val: [] }, images, { scale: DEFAULT_SCALE, datasetName: "demo" });
  assert.equal(r.images, 2);
  assert.equal((await fs.readdir(path.join(dir, "images"))).length, 2);
  assert.deepEqual(JSON.parse(await fs.readFile(path.join(dir, "demo_val.json"), "utf8")), []);
  assert.equal(JSON.parse(await fs.readFile(path.join(dir, "demo_train.json"), "utf8")).length, 3);
  const k = yamlKeys(await fs.readFile(path.join(dir, "qwen2vl_lora_sft.yaml"), "utf8"));
  assert.equal(k.get("dataset"), "demo_train");
  assert.equal(k.has("eval_dataset"), false);
  assert.equal(k.has("eval_strategy"), false);
  assert.deepEqual(Object.keys(JSON.parse(await fs.readFile(path.join(dir, "dataset_info.json"), "utf8"))), ["demo_train", "demo_val"]);
});

test("without the system prompt the conversation starts with the user turn; options reach the YAML", async () => {
  const dir = await tmpDir();
  await writeQwenDataset(dir, { train: [item("x_3.jpg", 5)], val: [item("y_4.jpg", 6)] }, images, {
    scale: { min: 0, max: 100 },
    includeSystemPrompt: false,
  });
  const [ex] = JSON.parse(await fs.readFile(path.join(dir, "streetsafe_train.json"), "utf8"));
  assert.deepEqual(ex.messages.map((m: { role: string }) => m.role), ["user", "assistant"]);
  assert.match(ex.messages[0].content, /0-100 scale/);
  const y = yamlKeys(qwenTrainConfigYaml({ configDatasetDir: "/data/qwen", outputDir: "out/lora", imageMaxPixels: 100352 }));
  assert.equal(y.get("dataset_dir"), '"/data/qwen"');
  assert.equal(y.get("output_dir"), '"out/lora"');
  assert.equal(y.get("image_max_pixels"), "100352");
});

test("a failing image provider removes the partial split file", async () => {
  const dir = await tmpDir();
  let n = 0;
  const flaky: ImageProvider = async (it) => {
    if (n++ === 1) throw new Error("unreadable");
    return images(it);
  };
  await assert.rejects(writeQwenDataset(dir, { train: [item("a_1.jpg", 1), item("b_2.jpg", 2)], val: [] }, flaky, { scale: DEFAULT_SCALE }), /unreadable/);
  assert.equal(existsSync(path.join(dir, "streetsafe_train.json")), false);
  await assert.rejects(writeQwenDataset(dir, { train: [], val: [] }, images, { scale: DEFAULT_SCALE, datasetName: "../evil" }), /plain name/);
});
