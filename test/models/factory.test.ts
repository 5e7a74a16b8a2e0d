import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { prepareImage } from "../../lib/src/core/image";
import { ModelFactory } from "../../lib/src/models/factory";
import { loadModelConfig } from "../../lib/src/models/config";
import { startTestServer, type TestServer } from "../helpers/openai-server";
import { buildTinyQwen2VL } from "../helpers/tiny-qwen2vl";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
const KEY = "sk-factory-SENTINEL-123456789";
const root = tempDir();
const dataDir = path.join(root, "data");
const configPath = path.join(root, "models", "models.json");
let server: TestServer;
let imagePath = "";

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: 24, seed: 5 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir });
  imagePath = path.join(demo.imagesDir, "scene_001.jpg");
  server = await startTestServer({ apiKey: KEY });
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    JSON.stringify({
      models: {
        gpt4: { type: "openai-chat", model: "gpt-4o" },
        "gpt4o-mini-ft": { type: "openai-chat", fine_tune_info: "models/gpt4o_mini_finetuned/fine_tune_info.json" },
        "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/fine_tuned_qwen2vl" },
        "qwen-vllm": { type: "qwen2vl-local", dir: "unused", base_url: server.url, served_model: "streetsafe-lora", api_key_env: "STREETSAFE_TEST_KEY" },
        mean: { type: "mean" },
      },
    }),
  );
});
after(() => server?.close());

const env = () => ({ STREETSAFE_TEST_KEY: KEY, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url });
const factory = (extra: Record<string, unknown> = {}) => ModelFactory.load({ configPath, dataDir, cacheDir: path.join(root, "cache"), env: env(), ...extra });

test("config errors name the model and the field", async () => {
  const bad = path.join(tempDir(), "models.json");
  writeFileSync(bad, JSON.stringify({ models: { x: { type: "openai-chat", model: "m", detial: "low" } } }));
  await assert.rejects(loadModelConfig(bad), /models\.x.*detial|Unrecognized key.*detial/s);
  writeFileSync(bad, JSON.stringify({ models: { y: { type: "openai-chat" } } }));
  await assert.rejects(loadModelConfig(bad), /models\.y.*exactly one of model or fine_tune_info/s);
});

test("the project's own models.json is valid and names the guide's three models", async () => {
  const cfg = await loadModelConfig(path.join(repo, "models", "models.json"));
  for (const name of ["gpt4", "gpt4o-mini-ft", "qwen2vl-ft", "mean", "image-stats"]) assert.ok(cfg.models[name], name);
});

test("unknown model names list the configured ones", async () => {
  await assert.rejects((await factory()).createModel("gpt5"), /unknown model "gpt5"; configured: gpt4, gpt4o-mini-ft/);
});

test("models that cannot run are skipped with the reason", async () => {
  const f = await ModelFactory.load({ configPath, dataDir: tempDir(), cacheDir: null, env: {} });
  const reasons = Object.fromEntries(
    await Promise.all(["gpt4", "gpt4o-mini-ft", "qwen2vl-ft", "mean"].map(async (n) => [n, "skipped" in (await f.tryCreate(n)) ? ((await f.tryCreate(n)) as { skipped: string }).skipped : "ran"])),
  );
  assert.match(reasons.gpt4, /OPENAI_API_KEY/);
  assert.match(reasons["gpt4o-mini-ft"], /no fine-tuning record.*streetsafe finetune/);
  assert.match(reasons["qwen2vl-ft"], /--qwen2vl-dir/);
  assert.match(reasons.mean, /streetsafe prepare/);
});

test("gpt4 talks to the server at OPENAI_BASE_URL, honours --gpt4-model, and a repeat comes from the cache", async () => {
  const f = await factory({ gpt4Model: "gpt-4.1-2025-04-14" });
  const model = await f.createModel("gpt4");
  const img = await prepareImage(imagePath);
  const before = server.chatRequests().length;
  const p1 = await model.predict(img);
  assert.equal(p1.error, undefined);
  assert.equal(p1.score, server.scoreFor(img.sha256));
  assert.equal(server.chatRequests().at(-1)!.model, "gpt-4.1-2025-04-14");
  const p2 = await model.predict(img);
  assert.equal(p2.cached, true);
  assert.equal(p2.score, p1.score);
  assert.equal(server.chatRequests().length, before + 1);
});

test("the fine-tuned GPT is read from fine_tune_info.json (also the older model_name field)", async () => {
  const info = path.join(root, "models", "gpt4o_mini_finetuned", "fine_tune_info.json");
  mkdirSync(path.dirname(info), { recursive: true });
  writeFileSync(info, JSON.stringify({ job_id: "ftjob-1", status: "running", fine_tuned_model: null }));
  const running = await (await factory()).tryCreate("gpt4o-mini-ft");
  assert.ok("skipped" in running && /status "running".*finetune watch ftjob-1/.test(running.skipped));
  writeFileSync(info, JSON.stringify({ job_id: "ftjob-1", status: "succeeded", model_name: "ft:gpt-4o-mini-2024-07-18:lab::abc" }));
  const model = await (await factory({ cacheDir: null })).createModel("gpt4o-mini-ft");
  assert.equal(model.id, "ft:gpt-4o-mini-2024-07-18:lab::abc");
  const p = await model.predict(await prepareImage(imagePath));
  assert.equal(p.modelId, "ft:gpt-4o-mini-2024-07-18:lab::abc");
  assert.equal(server.chatRequests().at(-1)!.model, "ft:gpt-4o-mini-2024-07-18:lab::abc");
});

test("qwen2vl-ft runs locally from --qwen2vl-dir, or through a vLLM-style server when configured with base_url", async () => {
  const dir = path.join(tempDir(), "tiny");
  await buildTinyQwen2VL(dir);
  const local = await (await factory({ qwen2vlDir: dir, cacheDir: null })).createModel("qwen2vl-ft");
  try {
    const bright = await prepareImage(await sharp({ create: { width: 64, height: 64, channels: 3, background: "#f0f0f0" } }).jpeg().toBuffer());
    const p = await local.predict(bright);
    assert.equal(p.error, undefined);
    assert.ok(p.score !== null && p.score >= 8, `bright image → high score, got ${p.score}`);
  } finally {
    await local.dispose?.();
  }
  const served = await (await factory({ cacheDir: null })).createModel("qwen-vllm");
  const img = await prepareImage(imagePath);
  assert.equal((await served.predict(img)).score, server.scoreFor(img.sha256));
  assert.equal(server.chatRequests().at(-1)!.model, "streetsafe-lora");
});

// The loopback server lives in this process: the CLI must run asynchronously (spawnSync would block it).
const execFileAsync = promisify(execFile);

test("CLI predict --json against OPENAI_BASE_URL; a second call is served from the cache", async () => {
  const cacheRoot = tempDir();
  const cfg = path.join(cacheRoot, "models", "models.json");
  mkdirSync(path.dirname(cfg), { recursive: true });
  writeFileSync(cfg, JSON.stringify({ models: { gpt4: { type: "openai-chat", model: "gpt-4o" } } }));
  const run = () =>
    execFileAsync(process.execPath, [cli, "predict", "--model", "gpt4", "--json", "--config", cfg, imagePath], {
      encoding: "utf8",
      env: { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url },
    });
  const before = server.chatRequests().length;
  const r1 = await run();
  const out = JSON.parse(r1.stdout);
  assert.equal(out.model, "gpt4");
  assert.ok(Number.isInteger(out.score) && Array.isArray(out.reasons) && out.usage.inputTokens > 0);
  assert.ok(typeof out.expectedScore === "number");
  assert.match(r1.stderr, /^warning: gpt4 \(gpt-4o\) (shuts down on|was shut down on) 2027-01-14 .*--gpt4-model <id>.*models\/models\.json/m, "the lifecycle warning");
  const r2 = await run();
  assert.equal(JSON.parse(r2.stdout).cached, true);
  assert.equal(server.chatRequests().length, before + 1);
  assert.ok(!r1.stdout.includes(KEY) && !r2.stdout.includes(KEY));
});

test("CLI predict with the mean baseline works offline with no key; a model without a key exits non-zero naming the variable", () => {
  const r = spawnSync(process.execPath, [cli, "predict", "--model", "mean", "--data-dir", dataDir, "--config", configPath, imagePath], { encoding: "utf8", env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /mean .* score \d+/s);
  const r2 = spawnSync(process.execPath, [cli, "predict", "--model", "gpt4", "--config", configPath, imagePath], { encoding: "utf8", env: { PATH: process.env.PATH } });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /OPENAI_API_KEY/);
});
