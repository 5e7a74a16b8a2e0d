/**
 * `npx streetsafe pairwise ask --batch` from the command line against the loopback server's Batch API:
 * the OpenAI judge's pair requests (both orders) in one batch at half price, the baseline asked directly,
 * and the batch record a --resume would pick up. The batch completes on its first status read (after the
 * default 30 s poll interval: the CLI has no test hook for it).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "../helpers/openai-server";
import { batchSim, type BatchSim } from "../helpers/batch-routes";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
const KEY = "sk-cli-pairbatch-SENTINEL-0123456789";
const dir = tempDir();
let server: TestServer;
let sim: BatchSim;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  sim = batchSim({ script: ["validating", "completed"] });
  server = await startTestServer({ apiKey: KEY, extraRoutes: sim.routes });
  mkdirSync(path.join(dir, "models"));
  writeFileSync(path.join(dir, "models", "models.json"), JSON.stringify({ models: { "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 }, mean: { type: "mean" } } }));
});
after(() => server?.close());

test("pairwise ask --batch from the command line: both orders in one batch at half price, the baseline directly", { timeout: 5 * 60_000 }, async () => {
  assert.equal((await run(["demo-data", "--out", "demo", "--count", "12", "--seed", "4"])).code, 0);
  const prep = await run(["prepare", "--ground-truth", "demo/ground_truth.xlsx", "--images", "demo/images", "--test-ratio", "0.5"]);
  assert.equal(prep.code, 0, prep.stderr);
  const ask = await run(["pairwise", "ask", "--batch", "--images", "demo/images", "--per-image", "2", "--models", "gpt-a"]);
  assert.equal(ask.code, 0, ask.stderr);
  assert.match(ask.stderr, /gpt-a\s+(\d+) requests\s+~\$0\.\d+ \(Batch API, half price\)/);
  assert.match(ask.stderr, /batch gpt-a: batch_1 created/);
  const pairs = Number(/ask run \S+: (\d+) pairs × 2 orders/.exec(ask.stdout)![1]);
  assert.ok(pairs >= 12);
  assert.match(ask.stdout, new RegExp(`gpt-a\\s+${2 * pairs}/${2 * pairs} answered, 0 failed`));
  assert.match(ask.stdout, new RegExp(`mean\\s+${2 * pairs}/${2 * pairs} answered`));
  assert.equal(sim.batches.get("batch_1")!.lines.length, 2 * pairs);
  assert.equal(server.chatRequests().filter((q) => !q.headers["x-streetsafe-batch"]).length, 0, "no direct request");
  const runDir = path.join(dir, /run folder: (\S+)/.exec(ask.stdout)![1]!);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, "run.json"), "utf8")).batch, true);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, "batch", "gpt-a.json"), "utf8")).status, "collected");
  assert.ok(!readFileSync(path.join(runDir, "answers.jsonl"), "utf8").includes(KEY));
});
