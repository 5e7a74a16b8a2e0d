/**
 * `npx streetsafe pairwise plan → ask → evaluate` end to end on the demo votes, against the loopback
 * server (real HTTP, the real SDK) answering pairwise requests from the demo's rule, with order flips
 * and failures injected; a compare run's absolute scores judged on the same pairs.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import { prepareImage } from "../../lib/src/core/image";
import { demoRatings } from "../../lib/src/prepare/demo/dataset";
import { flipPairs, startTestServer, type TestServer } from "../helpers/openai-server";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
const KEY = "sk-cli-pairwise-SENTINEL-0123456789";
const COUNT = 30;
const SEED = 3;
const dir = tempDir();
let server: TestServer;
const flipped = new Set<string>();
const ruleBySha = new Map<string, number>();
let failing = true;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  const rule = (sha: string) => ruleBySha.get(sha) ?? 0;
  server = await startTestServer({
    apiKey: KEY,
    scoreFor: (sha) => Math.max(1, Math.min(10, Math.round(rule(sha)))),
    pairAnswerFor: flipPairs(rule, (a, b) => flipped.has(`${a}+${b}`)),
    behaviour: ({ body }) => (failing && body.model === "gpt-flaky" ? { kind: "status", status: 503 } : undefined),
  });
  mkdirSync(path.join(dir, "models"));
  writeFileSync(
    path.join(dir, "models", "models.json"),
    JSON.stringify({ models: { "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 }, "gpt-flaky": { type: "openai-chat", model: "gpt-flaky", max_retries: 0 }, mean: { type: "mean" }, "image-stats": { type: "image-stats" } } }),
  );
});
after(() => server?.close());

test("pairwise plan → ask (flips, failures, resume) → evaluate with a compare run, from the command line", { timeout: 10 * 60_000 }, async () => {
  const demo = await run(["demo-data", "--out", "demo", "--count", String(COUNT), "--seed", String(SEED)]);
  assert.equal(demo.code, 0, demo.stderr);
  const images = path.join(dir, "demo", "images");
  for (const r of demoRatings(COUNT, SEED)) ruleBySha.set((await prepareImage(path.join(images, r.image))).sha256, r.ruleScore);
  const prep = await run(["prepare", "--ground-truth", "demo/ground_truth.xlsx", "--images", "demo/images", "--test-ratio", "0.5"]);
  assert.equal(prep.code, 0, prep.stderr);

  const plan = await run(["pairwise", "plan", "--method", "voted", "--votes", "demo/votes.csv", "--images", "demo/images", "--budget", "25"]);
  assert.equal(plan.code, 0, plan.stderr);
  const planDir = path.join("results", "pairwise", readdirSync(path.join(dir, "results", "pairwise")).find((f) => f.startsWith("plan-"))!);
  const pairs = readFileSync(path.join(dir, planDir, "plan.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  for (const [, left, right] of pairs.slice(0, 4)) {
    const [a, b] = [(await prepareImage(path.join(images, left!))).sha256, (await prepareImage(path.join(images, right!))).sha256].sort();
    flipped.add(`${a}+${b}`);
  }

  const ask = await run(["pairwise", "ask", "--plan", planDir, "--models", "gpt-a", "gpt-flaky", "image-stats"]);
  assert.equal(ask.code, 4, "failures leave the run to be resumed: " + ask.stderr);
  assert.match(ask.stderr, /cost estimate before the first request \(25 pairs × 2 orders/);
  assert.match(ask.stderr, /50 requests failed.*--resume results\/pairwise\/ask-/);
  assert.match(ask.stdout, /gpt-a\s+50\/50 answered, 0 failed · \d+ consistent, 4 flipped with the order \(ties\).*position-bias rate 16\.0% · P\(A safer\) on 50 · two-images/);
  assert.match(ask.stdout, /gpt-flaky\s+0\/50 answered, 50 failed/);
  const askDir = /run folder: (\S+)/.exec(ask.stdout)![1]!;
  failing = false;
  const resumed = await run(["pairwise", "ask", "--resume", askDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /gpt-flaky\s+50\/50 answered, 0 failed/);

  const compare = await run(["compare", "--models", "gpt-a", "image-stats", "--no-plots"]);
  assert.equal(compare.code, 0, compare.stderr);
  const compareDir = path.join("results", "model_comparison", readdirSync(path.join(dir, "results", "model_comparison"))[0]!);

  const ev = await run(["pairwise", "evaluate", "--votes", "demo/votes.csv", "--images", "demo/images", "--ask", askDir, "--compare-run", compareDir, "--bootstrap", "200"]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /gpt-a \[pairwise\] agreement \d+\.\d% \[\d+\.\d%, \d+\.\d%\] on \d+ pairs; on common pairs .*; soft .*; position bias 16\.0%; bradley-terry Spearman/);
  assert.match(ev.stdout, /mean \[pairwise-from-scores\] agreement 50\.0%/, "the constant baseline sits at chance");
  assert.match(ev.stdout, /gpt-a \(absolute\) \[absolute\] agreement/);
  const evDir = path.join(dir, /evaluation folder: (\S+)/.exec(ev.stdout)![1]!);
  const files = readdirSync(evDir).sort();
  assert.deepEqual(files, ["evaluation.csv", "evaluation.json", "evaluation.xlsx", "plots", "report.md", "report.txt"]);
  assert.ok(readdirSync(path.join(evDir, "plots")).includes("agreement.html"));
  assert.match(readFileSync(path.join(evDir, "plots", "agreement.html"), "utf8"), /plotly\.js v\d/);
  const doc = JSON.parse(readFileSync(path.join(evDir, "evaluation.json"), "utf8"));
  const gpt = doc.models.find((m: { model: string }) => m.model === "gpt-a");
  assert.equal(gpt.positionBias.positionFollowing, 4);
  assert.ok(gpt.agreement.accuracy > 0.6, `gpt-a follows the rule: ${gpt.agreement.accuracy}`);
  assert.ok(gpt.scores["bradley-terry"].spearman.ci, "a CI beside the correlation");
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path.join(evDir, "evaluation.xlsx"));
  assert.deepEqual(wb.worksheets.map((w) => w.name), ["evaluation", "position bias", "scores", "notes"]);
  for (const f of ["evaluation.json", "report.md", "evaluation.csv"]) assert.ok(!readFileSync(path.join(evDir, f), "utf8").includes(KEY));
  assert.ok(!readFileSync(path.join(dir, askDir, "answers.jsonl"), "utf8").includes(KEY));
});
