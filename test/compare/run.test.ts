import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { runComparison, type CompareOptions } from "../../lib/src/compare/run";
import { readPredictions } from "../../lib/src/compare/run-folder/read";
import { startTestServer, type TestServer } from "../helpers/openai-server";
import { tempDir } from "../helpers/tmp";

const KEY = "sk-compare-SENTINEL-0123456789abcdef";
const root = tempDir();
const dataDir = path.join(root, "data");
const configPath = path.join(root, "models", "models.json");
let server: TestServer;
let failing = new Set<string>();

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: 60, seed: 21 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.3 });
  // gpt-b gives no score for some images: failures must be counted, not dropped.
  server = await startTestServer({
    apiKey: KEY,
    behaviour: ({ body, request }) => (body.model === "gpt-b" && failing.has(request.imageSha256 ?? "") ? { kind: "no-score" } : undefined),
  });
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    JSON.stringify({
      models: {
        "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 },
        "gpt-b": { type: "openai-chat", model: "gpt-b", concurrency: 4 },
        mean: { type: "mean" },
        "image-stats": { type: "image-stats" },
        "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/absent" },
      },
    }),
  );
});
after(() => server?.close());

const options = (extra: Partial<CompareOptions> = {}): CompareOptions => ({
  configPath,
  dataDir,
  outputDir: path.join(root, "runs"),
  models: ["gpt-a", "gpt-b", "image-stats", "qwen2vl-ft"],
  cacheDir: path.join(root, "cache"),
  env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url },
  bootstrapIterations: 200,
  log: () => {},
  ...extra,
});

test("a comparison asks every runnable model about the same images, counts failures, skips with reasons", async () => {
  const r0 = await runComparison(options({ cacheDir: null, limit: 4 })); // learn the image hashes
  failing = new Set(r0.records.filter((r) => r.model === "gpt-a").slice(0, 2).map((r) => r.image_sha256));
  const r = await runComparison(options({ cacheDir: null }));
  const n = r.run.test_set.n;
  assert.equal(n, 18);
  assert.deepEqual(r.run.models.map((m) => [m.name, m.status]), [["gpt-a", "ran"], ["gpt-b", "ran"], ["image-stats", "ran"], ["qwen2vl-ft", "skipped"], ["mean", "ran"]]);
  assert.match(r.metrics.skipped[0].reason, /--qwen2vl-dir/);
  for (const m of ["gpt-a", "gpt-b", "image-stats", "mean"]) {
    assert.equal(r.records.filter((x) => x.model === m).length, n, `${m} was asked about every image`);
    assert.equal(r.metrics.models[m].n, n);
  }
  assert.equal(r.metrics.models["gpt-b"].failed, 2);
  assert.equal(r.metrics.models["gpt-b"].valid, n - 2);
  assert.equal(r.metrics.common.n, n - 2, "metrics on the images every model answered");
  assert.deepEqual(r.metrics.incomplete_coverage, ["gpt-b"]);
  const failed = r.records.find((x) => x.model === "gpt-b" && x.predicted === null)!;
  assert.match(failed.error!, /no clear score|score/);
  assert.ok(failed.raw.length > 0, "the raw reply is kept");
  // The server scores by image bytes: each record must carry its own image's answer.
  for (const rec of r.records.filter((x) => x.model === "gpt-a")) assert.equal(rec.predicted, server.scoreFor(rec.image_sha256));
  assert.ok(r.metrics.expected_score["gpt-a"], "metrics of the probability-based expected score");
  assert.ok(r.metrics.cost["gpt-a"].usd! > 0 && r.metrics.cost["mean"].usd === null);
  assert.ok(!readFileSync(path.join(r.runDir, "predictions.jsonl"), "utf8").includes(KEY));
  assert.ok(!readFileSync(path.join(r.runDir, "run.json"), "utf8").includes(KEY));
});

test("an interrupted run resumes with only the missing items and ends with the same metrics", async () => {
  failing = new Set();
  const full = await runComparison(options({ cacheDir: null, models: ["gpt-a", "gpt-b"] }));
  const stop = new AbortController();
  let seen = 0;
  const before = server.chatRequests().length;
  const partial = await runComparison(
    options({ cacheDir: null, models: ["gpt-a", "gpt-b"], concurrency: 2, signal: stop.signal, onProgress: (p) => { if (++seen === 10) stop.abort(); } }),
  );
  assert.equal(partial.complete, false);
  const kept = await readPredictions(partial.runDir);
  const total = 3 * 18; // gpt-a, gpt-b and the always-added mean baseline
  assert.ok(kept.length >= 9 && kept.length < total, `kept ${kept.length}`);
  const askedFirst = server.chatRequests().length - before;
  const resumed = await runComparison(options({ cacheDir: null, resume: path.basename(partial.runDir) }));
  assert.equal(resumed.complete, true);
  assert.equal(resumed.asked, total - kept.length, "only the missing items are asked");
  // At most the items in flight when it stopped (2 per API model) are asked twice.
  assert.ok(server.chatRequests().length - before <= 36 + 2 * 2, `total requests ${server.chatRequests().length - before} after ${askedFirst}`);
  const all = await readPredictions(partial.runDir);
  assert.equal(all.length, total);
  assert.equal(new Set(all.map((r) => `${r.model}/${r.image}`)).size, total, "nothing duplicated");
  assert.deepEqual(resumed.metrics.models, full.metrics.models);
  assert.deepEqual(resumed.metrics.paired, full.metrics.paired);
});

test("re-running an identical comparison makes no API request", async () => {
  failing = new Set();
  await runComparison(options({ models: ["gpt-a"] }));
  const before = server.chatRequests().length;
  const again = await runComparison(options({ models: ["gpt-a"] }));
  assert.equal(server.chatRequests().length, before);
  assert.ok(again.records.filter((r) => r.model === "gpt-a").every((r) => r.cached && r.cost_usd === 0));
});

test("--max-cost refuses a run whose estimate exceeds it, before any request", async () => {
  const before = server.chatRequests().length;
  await assert.rejects(runComparison(options({ cacheDir: null, maxCost: 0.000001 })), /exceeds --max-cost/);
  assert.equal(server.chatRequests().length, before);
});

test("compare warns before the first request about a model near its shutdown (gpt-4o: 2027-01-14), naming how to switch", async () => {
  const lines: string[] = [];
  await runComparison(options({ models: ["gpt-a", "gpt-b"], limit: 2, cacheDir: null, log: (l) => lines.push(l) }));
  const warned = lines.filter((l) => l.startsWith("warning: "));
  assert.equal(warned.length, 1, lines.join("\n"));
  assert.match(warned[0]!, /^warning: gpt-a \(gpt-4o\) (shuts down on|was shut down on) 2027-01-14.*the "model" of "gpt-a" in models\/models\.json/);
  assert.ok(lines.indexOf(warned[0]!) < lines.findIndex((l) => l.startsWith("cost estimate")), "before the estimate and the first request");
});
