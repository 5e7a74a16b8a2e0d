import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { runComparison, type CompareOptions } from "../../lib/src/compare/run";
import { BATCH_DEFAULTS, batchCustomId, readBatchRecord } from "../../lib/src/compare/run/batch";
import type { PredictionRecord } from "../../lib/src/compare/run-folder/schema";
import { startTestServer, type TestServer } from "../helpers/openai-server";
import { batchSim, type BatchSim, type BatchSimOptions } from "../helpers/batch-routes";
import { tempDir } from "../helpers/tmp";

const KEY = "sk-batch-SENTINEL-0123456789abcdef";
const N = 18; // test images: 60 demo scenes, 30% test split
const root = tempDir();
const dataDir = path.join(root, "data");
const configPath = path.join(root, "models", "models.json");

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: 60, seed: 21 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.3 });
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    JSON.stringify({
      models: {
        "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 },
        "gpt-b": { type: "openai-chat", model: "gpt-4o-mini", concurrency: 4 },
        "served-llm": { type: "openai-chat", model: "served-llm" },
        mean: { type: "mean" },
        "image-stats": { type: "image-stats" },
      },
    }),
  );
});

/** A fresh loopback server with the Batch API routes. */
async function batchServer(opts: BatchSimOptions = {}): Promise<{ server: TestServer; sim: BatchSim }> {
  const sim = batchSim(opts);
  const server = await startTestServer({ apiKey: KEY, extraRoutes: sim.routes });
  return { server, sim };
}

function options(server: TestServer, name: string, extra: Partial<CompareOptions> = {}): CompareOptions {
  return {
    configPath,
    dataDir,
    outputDir: path.join(root, name),
    models: ["gpt-a", "gpt-b", "image-stats"],
    cacheDir: null,
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url },
    bootstrapIterations: 100,
    batchPolling: { pollIntervalMs: 5, maxPollIntervalMs: 20, maxBackoffMs: 20 },
    log: () => {},
    ...extra,
  };
}

const byItem = (records: PredictionRecord[]) => new Map(records.map((r) => [`${r.model}/${r.image}`, r]));
/** Chat requests the client sent itself (not the batch simulator answering its lines). */
const directChats = (server: TestServer) => server.chatRequests().filter((r) => !r.headers["x-streetsafe-batch"]);

test("BATCH_DEFAULTS: one place for the batch settings", () => {
  assert.deepEqual(
    { ...BATCH_DEFAULTS },
    {
      pollIntervalMs: 30_000,
      maxPollIntervalMs: 300_000,
      maxBackoffMs: 300_000,
      giveUpAfterMs: 1_800_000,
      requestTimeoutMs: 60_000,
      transferTimeoutMs: 900_000,
      maxRequests: 50_000,
      maxInputBytes: 200 * 1024 * 1024,
      prepareConcurrency: 4,
      createAttempts: 3,
    },
  );
});

test("a batch compare gives the direct compare's answers at half the price; local models run directly", async () => {
  const { server, sim } = await batchServer();
  try {
    const direct = await runComparison(options(server, "runs-same"));
    const directBodies = new Map(directChats(server).map((r) => [`${r.model}/${r.imageSha256}`, r.body]));
    const chatsBefore = directChats(server).length;
    const lines: string[] = [];
    const batched = await runComparison(options(server, "runs-same", { batch: true, log: (l) => lines.push(l) }));

    assert.equal(directChats(server).length, chatsBefore, "no direct chat request in batch mode");
    assert.equal(batched.complete, true);
    assert.equal(batched.run.batch, true);
    assert.equal(direct.run.batch, false);
    assert.equal(sim.batches.size, 2, "one batch per API model");
    assert.equal(sim.calls["files.create"], 2);
    assert.ok(lines.some((l) => /Batch API, half price/.test(l)), "the estimate says it uses Batch prices");
    assert.ok(lines.some((l) => /batch gpt-a batch_\d+: completed · 18\/18 done/.test(l)), lines.join("\n"));
    // The pre-run estimate is at Batch prices: half the direct run's.
    assert.ok(Math.abs(batched.run.cost_estimate_usd["gpt-a"]! - direct.run.cost_estimate_usd["gpt-a"]! / 2) < 1e-12);

    const d = byItem(direct.records);
    assert.equal(batched.records.length, 4 * N, "gpt-a, gpt-b, image-stats and mean");
    for (const r of batched.records) {
      const twin = d.get(`${r.model}/${r.image}`)!;
      assert.equal(r.predicted, twin.predicted, `${r.model}/${r.image}`);
      assert.equal(r.expected_score, twin.expected_score);
      assert.deepEqual(r.usage, twin.usage);
      assert.equal(r.image_sha256, twin.image_sha256);
      if (r.model === "gpt-a" || r.model === "gpt-b") {
        assert.ok(twin.cost_usd! > 0);
        assert.ok(Math.abs(r.cost_usd! - twin.cost_usd! / 2) < 1e-12, `half price: ${r.cost_usd} vs ${twin.cost_usd}`);
        assert.equal(r.predicted, server.scoreFor(r.image_sha256), "each answer is its own image's");
      } else {
        assert.equal(r.cost_usd, twin.cost_usd);
      }
    }
    assert.deepEqual(batched.metrics.models, direct.metrics.models);
    assert.ok(Math.abs(batched.metrics.cost["gpt-a"].usd! - direct.metrics.cost["gpt-a"].usd! / 2) < 1e-9);

    // The input file: one line per image, the exact body a direct request sends.
    const input = readFileSync(path.join(batched.runDir, "batch", "gpt-a.input.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(input.length, N);
    for (const line of input) {
      assert.equal(line.method, "POST");
      assert.equal(line.url, "/v1/chat/completions");
      const sha = String(line.custom_id).split(":")[1]!;
      assert.equal(line.custom_id, batchCustomId("gpt-a", sha));
      const twin = directBodies.get(`gpt-4o/${sha}`);
      assert.ok(twin, `a direct request for ${sha}`);
      assert.deepEqual(line.body, twin);
    }
    const rec = (await readBatchRecord(batched.runDir, "gpt-a"))!;
    assert.equal(rec.status, "collected");
    assert.match(rec.batch_id!, /^batch_/);
    assert.match(rec.input_file_id!, /^file-batch-/);
    assert.ok(existsSync(path.join(batched.runDir, "batch", "gpt-a.output.jsonl")));
    assert.ok(!readFileSync(path.join(batched.runDir, "predictions.jsonl"), "utf8").includes(KEY));
    assert.ok(!readFileSync(path.join(batched.runDir, "batch", "gpt-a.json"), "utf8").includes(KEY));
  } finally {
    await server.close();
  }
});

test("failed lines and lines of an expired batch become failed records with the provider's error", async () => {
  let failIds: Set<string> = new Set();
  const { server, sim } = await batchServer({
    failLine: ({ custom_id }) => (failIds.has(custom_id) ? { status: 400, code: "invalid_image_format", message: "You uploaded an unsupported image." } : undefined),
    // one transient error while polling: backed off, then read again
    fault: ({ route, n }) => (route === "batches.retrieve" && n === 1 ? { status: 503 } : undefined),
  });
  try {
    const first = await runComparison(options(server, "runs-fail", { models: ["gpt-a"], limit: 6 })); // learn the hashes
    failIds = new Set(first.records.filter((r) => r.model === "gpt-a").slice(0, 3).map((r) => batchCustomId("gpt-a", r.image_sha256)));
    const r = await runComparison(options(server, "runs-fail", { models: ["gpt-a"], batch: true }));
    const gpt = r.records.filter((x) => x.model === "gpt-a");
    assert.equal(gpt.length, N);
    const failed = gpt.filter((x) => x.predicted === null);
    assert.equal(failed.length, 3);
    for (const f of failed) {
      assert.match(f.error!, /batch batch_\d+: HTTP 400 invalid_image_format: You uploaded an unsupported image/);
      assert.ok(failIds.has(batchCustomId("gpt-a", f.image_sha256)));
      assert.equal(f.cost_usd, null, "no usage, no cost");
    }
    assert.equal(r.metrics.models["gpt-a"].failed, 3);
    assert.ok(sim.calls["batches.retrieve"]! >= 4, "polled past the 503");
  } finally {
    await server.close();
  }

  const expiring = await batchServer({ expire: { answered: 10 } });
  try {
    const r = await runComparison(options(expiring.server, "runs-expire", { models: ["gpt-a"], batch: true }));
    const gpt = r.records.filter((x) => x.model === "gpt-a");
    assert.equal(gpt.length, N);
    assert.equal(gpt.filter((x) => x.predicted !== null).length, 10);
    for (const f of gpt.filter((x) => x.predicted === null)) assert.match(f.error!, /batch_expired: This request could not be executed before the completion window expired/);
    assert.equal((await readBatchRecord(r.runDir, "gpt-a"))!.status, "collected");
    assert.deepEqual(r.metrics.incomplete_coverage, ["gpt-a"]);
  } finally {
    await expiring.server.close();
  }
});

test("a cancelled batch: answered lines are kept, the others are failed records", async () => {
  const { server, sim } = await batchServer({ linesPerRead: 5, script: ["validating", "in_progress", "in_progress", "in_progress", "in_progress", "in_progress", "in_progress", "completed"] });
  const client = new OpenAI({ apiKey: KEY, baseURL: server.url });
  let cancel: Promise<unknown> | null = null;
  try {
    const r = await runComparison(
      options(server, "runs-cancel", {
        models: ["gpt-a"],
        batch: true,
        batchPolling: { pollIntervalMs: 30, maxPollIntervalMs: 30 },
        log: (l) => {
          const m = /batch gpt-a (batch_\d+): in_progress · 5\/18/.exec(l);
          if (m && !cancel) cancel = client.batches.cancel(m[1]!);
        },
      }),
    );
    await cancel;
    const batch = [...sim.batches.values()][0]!;
    assert.equal(batch.status, "cancelled");
    const gpt = r.records.filter((x) => x.model === "gpt-a");
    assert.equal(gpt.length, N);
    const answered = gpt.filter((x) => x.predicted !== null).length;
    assert.equal(answered, batch.outputs.size);
    assert.ok(answered >= 5 && answered < N, `answered ${answered}`);
    for (const f of gpt.filter((x) => x.predicted === null)) assert.match(f.error!, /ended cancelled without an answer/);
  } finally {
    await server.close();
  }
});

test("an interrupted batch run resumes with --resume: the same batches polled, nothing uploaded or created again", async () => {
  const { server, sim } = await batchServer({ script: ["validating", "in_progress", "in_progress", "in_progress", "finalizing", "completed"] });
  try {
    const full = await runComparison(options(server, "runs-resume-full"));
    const stop = new AbortController();
    let created = 0;
    const partial = await runComparison(
      options(server, "runs-resume", {
        batch: true,
        signal: stop.signal,
        batchPolling: { pollIntervalMs: 20, maxPollIntervalMs: 20 },
        log: (l) => {
          if (/batch_\d+ created/.test(l) && ++created === 2) stop.abort();
        },
      }),
    );
    assert.equal(partial.complete, false);
    assert.equal(partial.stopReason, "interrupted");
    assert.equal(sim.batches.size, 2);
    const pending = (await readBatchRecord(partial.runDir, "gpt-a"))!;
    assert.notEqual(pending.status, "collected");
    assert.ok(pending.batch_id);
    assert.ok(partial.records.every((r) => r.model === "image-stats" || r.model === "mean"), "no API answer before the batch ends");
    const uploads = sim.calls["files.create"];
    const batchesBefore = [...sim.batches.keys()];
    const chatsBefore = directChats(server).length;

    // Even resumed with batch off, the recorded batches are collected, never asked again.
    const resumed = await runComparison(options(server, "runs-resume", { resume: path.basename(partial.runDir), batch: false }));
    assert.equal(resumed.complete, true);
    assert.equal(sim.calls["files.create"], uploads, "no second upload");
    assert.deepEqual([...sim.batches.keys()], batchesBefore, "no second batch");
    assert.equal(directChats(server).length, chatsBefore, "no direct request for a batched item");
    assert.equal((await readBatchRecord(partial.runDir, "gpt-a"))!.batch_id, pending.batch_id);
    assert.equal(resumed.records.length, 4 * N);
    assert.equal(new Set(resumed.records.map((r) => `${r.model}/${r.image}`)).size, 4 * N, "nothing duplicated");
    assert.deepEqual(resumed.metrics.models, full.metrics.models);
  } finally {
    await server.close();
  }
});

test("cache hits are not sent; batch answers fill the cache, so a re-run sends nothing", async () => {
  const { server, sim } = await batchServer();
  const cacheDir = path.join(root, "cache-batch");
  try {
    const warm = await runComparison(options(server, "runs-cache", { models: ["gpt-a"], cacheDir, limit: 6 }));
    const cachedShas = new Set(warm.records.filter((r) => r.model === "gpt-a").map((r) => r.image_sha256));
    assert.equal(cachedShas.size, 6);
    const chatsBefore = directChats(server).length;

    const r = await runComparison(options(server, "runs-cache", { models: ["gpt-a"], cacheDir, batch: true }));
    assert.equal(directChats(server).length, chatsBefore);
    const input = readFileSync(path.join(r.runDir, "batch", "gpt-a.input.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(input.length, N - 6);
    for (const line of input) assert.ok(!cachedShas.has(String(line.custom_id).split(":")[1]), "a cached image was sent");
    const gpt = r.records.filter((x) => x.model === "gpt-a");
    assert.equal(gpt.length, N);
    assert.equal(gpt.filter((x) => x.cached).length, 6);
    assert.ok(gpt.filter((x) => x.cached).every((x) => x.cost_usd === 0 && cachedShas.has(x.image_sha256)));

    const batches = sim.batches.size;
    const uploads = sim.calls["files.create"];
    const again = await runComparison(options(server, "runs-cache", { models: ["gpt-a"], cacheDir, batch: true }));
    assert.equal(sim.batches.size, batches, "no batch for a fully cached run");
    assert.equal(sim.calls["files.create"], uploads);
    assert.ok(again.records.filter((x) => x.model === "gpt-a").every((x) => x.cached && x.cost_usd === 0));
    assert.deepEqual(again.metrics.models["gpt-a"], r.metrics.models["gpt-a"]);
  } finally {
    await server.close();
  }
});

test("a batch creation lost to a server error is retried once it is known that no batch was made", async () => {
  const { server, sim } = await batchServer({ fault: ({ route, n }) => (route === "batches.create" && n === 0 ? { status: 500 } : undefined) });
  try {
    const lines: string[] = [];
    const r = await runComparison(options(server, "runs-create", { models: ["gpt-a"], batch: true, limit: 4, log: (l) => lines.push(l) }));
    assert.equal(r.complete, true);
    assert.equal(sim.batches.size, 1);
    assert.equal(sim.calls["batches.list"], 1, "looked for the batch before asking again");
    assert.ok(lines.some((l) => /creation failed .*no batch was made/.test(l)));
  } finally {
    await server.close();
  }
});

test("a server without the Batch API stops the run before any direct request, naming --batch", async () => {
  const server = await startTestServer({ apiKey: KEY });
  try {
    await assert.rejects(runComparison(options(server, "runs-nobatch", { models: ["gpt-a"], batch: true, limit: 4 })), /uploading .*gpt-a\.input\.jsonl.*without --batch/s);
    assert.equal(directChats(server).length, 0);
  } finally {
    await server.close();
  }
});

test("a run stopped between upload and batch creation creates the batch from the recorded file on --resume", async () => {
  const { server, sim } = await batchServer({
    fault: ({ route, n }) => (route === "batches.create" && n === 0 ? { status: 400, message: "Enqueued token limit reached for gpt-4o." } : undefined),
  });
  try {
    const runs = path.join(root, "runs-upload-only");
    await assert.rejects(runComparison(options(server, "runs-upload-only", { models: ["gpt-a"], batch: true, limit: 4 })), /refused the batch .*Enqueued token limit.*No batch was created/s);
    assert.equal(sim.calls["files.create"], 1);
    assert.equal(sim.batches.size, 0);
    const runId = readdirSync(runs)[0]!;
    const rec = (await readBatchRecord(path.join(runs, runId), "gpt-a"))!;
    assert.ok(rec.input_file_id && !rec.batch_id);

    const r = await runComparison(options(server, "runs-upload-only", { resume: runId }));
    assert.equal(r.complete, true);
    assert.equal(sim.calls["files.create"], 1, "the recorded upload is used");
    assert.equal(sim.batches.size, 1);
    assert.equal([...sim.batches.values()][0]!.input_file_id, rec.input_file_id);
    assert.equal(r.records.filter((x) => x.model === "gpt-a" && x.predicted !== null).length, 4);
  } finally {
    await server.close();
  }
});

test("an API model without an OpenAI Batch price (vLLM, Ollama) is asked directly in a --batch run", async () => {
  const { server, sim } = await batchServer();
  try {
    const lines: string[] = [];
    const r = await runComparison(options(server, "runs-mixed", { models: ["served-llm", "gpt-a"], batch: true, limit: 4, log: (l) => lines.push(l) }));
    assert.equal(r.complete, true);
    assert.ok(lines.some((l) => /--batch: served-llm: served-llm is not an OpenAI model with a Batch price; asked directly/.test(l)), lines.join("\n"));
    assert.equal(directChats(server).filter((q) => q.model === "served-llm").length, 4);
    assert.equal(directChats(server).filter((q) => q.model === "gpt-4o").length, 0);
    assert.equal(sim.batches.size, 1);
    assert.equal(r.records.filter((x) => x.predicted !== null).length, 3 * 4);
  } finally {
    await server.close();
  }
});

test("items missing after a collected batch go into a new batch; the old batch's files are kept under its id", async () => {
  const { server, sim } = await batchServer();
  try {
    const first = await runComparison(options(server, "runs-leftover", { models: ["gpt-a"], batch: true, limit: 4 }));
    const oldId = (await readBatchRecord(first.runDir, "gpt-a"))!.batch_id!;
    // Lose two gpt-a answers (as if the file had been cut), then resume.
    const file = path.join(first.runDir, "predictions.jsonl");
    const kept = readFileSync(file, "utf8").trim().split("\n").filter((l, i, all) => {
      const r = JSON.parse(l) as PredictionRecord;
      return !(r.model === "gpt-a" && all.slice(0, i).filter((x) => JSON.parse(x).model === "gpt-a").length < 2);
    });
    writeFileSync(file, kept.join("\n") + "\n");
    const r = await runComparison(options(server, "runs-leftover", { resume: path.basename(first.runDir) }));
    assert.equal(r.complete, true);
    assert.equal(sim.batches.size, 2);
    const rec = (await readBatchRecord(r.runDir, "gpt-a"))!;
    assert.notEqual(rec.batch_id, oldId);
    assert.equal(rec.requests.length, 2, "only the missing items");
    assert.ok(existsSync(path.join(r.runDir, "batch", `gpt-a.${oldId}.json`)));
    assert.ok(existsSync(path.join(r.runDir, "batch", `gpt-a.${oldId}.input.jsonl`)));
    assert.equal(r.records.filter((x) => x.model === "gpt-a" && x.predicted !== null).length, 4);
  } finally {
    await server.close();
  }
});
