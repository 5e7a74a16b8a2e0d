/**
 * Crash test (issue 6, item 3): `streetsafe compare` is SIGKILLed halfway through, then continued with
 * `--resume RUN`. Nothing may be lost or duplicated, the server may see at most N + concurrency requests
 * for the API model over both invocations (only the items in flight at the kill are asked twice), and
 * the final metrics must equal an uninterrupted run's.
 *
 * The loopback server runs in a child process and so does the CLI: this process only spawns, polls the
 * run folder and kills, so it never holds up the server.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { readPredictions } from "../../lib/src/compare/run-folder/read";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
const KEY = "sk-crash-0123456789abcdef";
const CONCURRENCY = 4;
const LATENCY_MS = 150;
const root = tempDir("streetsafe-crash-");
const dataDir = path.join(root, "data");
const configPath = path.join(root, "models.json");
let server: ServerProcess;
let n = 0;

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: 64, seed: 8 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.5 });
  n = readFileSync(path.join(dataDir, "splits", "test.csv"), "utf8").trim().split("\n").length - 1;
  // No "mean" entry: the always-compared baseline comes from the built-in entries.
  writeFileSync(configPath, JSON.stringify({ models: { "gpt-a": { type: "openai-chat", model: "gpt-4o" } } }));
  server = await startServerProcess({ apiKey: KEY, latencyMs: LATENCY_MS });
});
after(() => server?.close());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `streetsafe compare` as a child process; `whileRunning` may kill it. */
function compare(args: string[], whileRunning?: (kill: () => void, exited: () => boolean) => Promise<void>): Promise<Run> {
  const child = spawn(
    process.execPath,
    [cli, "compare", "--config", configPath, "--data-dir", dataDir, "--no-cache", "--no-plots", "--concurrency", String(CONCURRENCY), ...args],
    { cwd: root, env: { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url, OPENAI_API_KEY_FILE: "" } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  let done = false;
  const exit = new Promise<Run>((resolve) =>
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal, stdout, stderr });
    }),
  );
  void whileRunning?.(() => child.kill("SIGKILL"), () => done);
  return exit;
}

/** Lines of the API model in a run's predictions.jsonl (complete lines only). */
function apiLines(runDir: string): number {
  const file = path.join(runDir, "predictions.jsonl");
  if (!existsSync(file)) return 0;
  return readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}") && l.includes('"model":"gpt-a"')).length;
}

const runsOf = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(path.join(dir, d, "run.json"))) : []);

test("a compare killed halfway and resumed loses nothing, duplicates nothing, and asks at most N + concurrency", { timeout: 120_000 }, async (t) => {
  const outDir = path.join(root, "crashed");
  const before = (await server.stats()).chat;
  let atKill = -1;
  const killed = await compare(["--models", "gpt-a", "--output-dir", outDir], async (kill, exited) => {
    while (!exited()) {
      const run = runsOf(outDir)[0];
      if (run && apiLines(path.join(outDir, run)) >= n / 2) {
        atKill = apiLines(path.join(outDir, run));
        kill();
        return;
      }
      await sleep(10);
    }
  });
  assert.equal(killed.signal, "SIGKILL", `the run was killed, not finished (exit ${killed.code}): ${killed.stderr}`);
  const [runId] = runsOf(outDir);
  assert.ok(runId, "the killed run left its folder");
  const runDir = path.join(outDir, runId!);
  const kept = (await readPredictions(runDir)).filter((r) => r.model === "gpt-a");
  assert.ok(kept.length >= atKill && kept.length < n, `killed halfway: ${kept.length} of ${n} answers kept`);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, "run.json"), "utf8")).finished_at, null, "run.json says it did not finish");

  const resumed = await compare(["--resume", runId!, "--output-dir", outDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /every model answered every image/);
  const asked = (await server.stats()).chat - before;
  t.diagnostic(`n ${n} · killed at ${atKill} · kept ${kept.length} · asked ${asked}`);
  assert.ok(asked <= n + CONCURRENCY, `${asked} requests for ${n} items at concurrency ${CONCURRENCY}`);

  const all = await readPredictions(runDir);
  assert.equal(all.length, 2 * n, "every image once for gpt-a and once for the mean baseline");
  assert.equal(new Set(all.map((r) => `${r.model}\u0000${r.image}`)).size, 2 * n, "nothing duplicated");
  const lines = readFileSync(path.join(runDir, "predictions.jsonl"), "utf8");
  assert.ok(lines.endsWith("\n") && lines.trim().split("\n").every((l) => JSON.parse(l)), "every line is whole JSON");
  for (const k of kept) assert.deepEqual(all.find((r) => r.model === "gpt-a" && r.image === k.image), k, "answers from before the kill are kept as they were");
  for (const r of all.filter((x) => x.model === "gpt-a")) {
    assert.equal(r.error, null);
    // The loopback server's score: 1 + (first 32 bits of the image sha256 mod 10).
    assert.equal(r.predicted, 1 + (parseInt(r.image_sha256.slice(0, 8), 16) % 10), `${r.image}: its own answer`);
  }
  const info = JSON.parse(readFileSync(path.join(runDir, "run.json"), "utf8"));
  assert.ok(info.finished_at, "the resumed run is marked finished");

  // The same comparison without an interruption gives the same metrics.
  const cleanDir = path.join(root, "clean");
  const clean = await compare(["--models", "gpt-a", "--output-dir", cleanDir]);
  assert.equal(clean.code, 0, clean.stderr);
  const metrics = (dir: string) => JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
  const a = metrics(runDir);
  const b = metrics(path.join(cleanDir, runsOf(cleanDir)[0]!));
  for (const key of ["n_images", "models", "paired", "common", "incomplete_coverage"]) assert.deepEqual(a[key], b[key], key);
});
