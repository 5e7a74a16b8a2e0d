import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { prepareImage } from "../../lib/src/core/image";
import { demoRatings } from "../../lib/src/prepare/demo/dataset";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { runPairPlan } from "../../lib/src/pairwise/plan/run";
import { runPairwiseAsk, type PairwiseAskOptions } from "../../lib/src/pairwise/ask/run";
import { readAnswers } from "../../lib/src/pairwise/ask/run-folder";
import { answerProbabilities } from "../../lib/src/pairwise/ask/openai-judge";
import { parsePairAnswer } from "../../lib/src/prompt/pairwise";
import { flipPairs, startTestServer, type TestServer } from "../helpers/openai-server";
import { tempDir } from "../helpers/tmp";

const KEY = "sk-pairwise-SENTINEL-0123456789abcdef";
const root = tempDir();
const dataDir = path.join(root, "data");
const configPath = path.join(root, "models", "models.json");
const COUNT = 24;
const SEED = 5;
let server: TestServer;
let imagesDir = "";
let votesPath = "";
/** sha256 of each prepared image → the demo rule's score (what the server judges by). */
const ruleBySha = new Map<string, number>();
/** Pairs (sorted sha256s) the server answers by position ("A" both ways): injected order flips. */
const flipped = new Set<string>();
let failing = false;

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: COUNT, seed: SEED });
  imagesDir = demo.imagesDir;
  votesPath = demo.votesPath;
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.3 });
  for (const r of demoRatings(COUNT, SEED)) ruleBySha.set((await prepareImage(path.join(imagesDir, r.image))).sha256, r.ruleScore);
  const rule = (sha: string) => ruleBySha.get(sha) ?? 0;
  server = await startTestServer({
    apiKey: KEY,
    scoreFor: (sha) => Math.round(rule(sha)),
    pairAnswerFor: flipPairs(rule, (a, b) => flipped.has(`${a}+${b}`)),
    // while `failing`, gpt-flaky (no retries) answers every request with a 500
    behaviour: (ctx) => (failing && ctx.body.model === "gpt-flaky" ? { kind: "status", status: 500 } : undefined),
  });
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    JSON.stringify({
      models: {
        "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 },
        "gpt-flaky": { type: "openai-chat", model: "gpt-flaky", concurrency: 2, max_retries: 0 },
        "gpt-text": { type: "openai-chat", model: "gpt-text", structured_outputs: false, logprobs: false },
        mean: { type: "mean" },
        "image-stats": { type: "image-stats" },
        "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/absent" },
      },
    }),
  );
});
after(() => server?.close());

const options = (extra: Partial<PairwiseAskOptions> = {}): PairwiseAskOptions => ({
  configPath,
  dataDir,
  outputDir: path.join(root, "runs"),
  models: ["gpt-a", "image-stats", "qwen2vl-ft"],
  cacheDir: path.join(root, "cache"),
  env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url },
  log: () => {},
  ...extra,
});

test("the strict pairwise parser: JSON, a fence, a bare word; never a guess", () => {
  assert.deepEqual(parsePairAnswer('{"safer": "A"}'), { ok: true, answer: "A" });
  assert.deepEqual(parsePairAnswer('```json\n{"safer":"equal"}\n```'), { ok: true, answer: "equal" });
  assert.deepEqual(parsePairAnswer(" b. "), { ok: true, answer: "B" });
  assert.deepEqual(parsePairAnswer('{"safer": "Image B"}'), { ok: true, answer: "B" });
  for (const bad of ["", "A or B", '{"safer": "C"}', '{"safer": "A", "why": "x"}', "Image A looks safer than B", '{"safer": "A"']) assert.equal(parsePairAnswer(bad).ok, false, bad);
});

test("P(A safer) from the answer token's top logprobs, renormalised over A, B, equal", () => {
  const tok = (token: string, p = 1, alts?: [string, number][]) => ({ token, logprob: Math.log(p), top_logprobs: (alts ?? [[token, p]]).map(([t, q]) => ({ token: t, logprob: Math.log(q), bytes: null })) });
  const p = answerProbabilities([tok('{"'), tok("safer"), tok('": "'), tok("A", 0.6, [["A", 0.6], ["B", 0.2], ["equal", 0.1], ["x", 0.1]]), tok('"}')], "first")!;
  assert.ok(Math.abs(p.first - 0.6 / 0.9) < 1e-12 && Math.abs(p.second - 0.2 / 0.9) < 1e-12 && Math.abs(p.equal - 0.1 / 0.9) < 1e-12);
  assert.equal(answerProbabilities([tok('{"safer": "'), tok("B")], "first"), undefined, "the chosen token must be the parsed answer");
  assert.equal(answerProbabilities([], "first"), undefined);
});

test("pairwise ask: every pair in both orders, one request with both images, flips become ties, failures counted, resume and cache", async () => {
  const plan = await runPairPlan({ method: "voted", votes: votesPath, images: imagesDir, budget: 30, outputDir: path.join(root, "plans") });
  // inject order flips on the first 5 planned pairs
  const sha = async (name: string) => (await prepareImage(path.join(imagesDir, name))).sha256;
  for (let k = 0; k < 5; k++) {
    const [a, b] = [await sha(plan.plan.images[plan.plan.left[k]!]!), await sha(plan.plan.images[plan.plan.right[k]!]!)].sort();
    flipped.add(`${a}+${b}`);
  }
  const logs: string[] = [];
  const r = await runPairwiseAsk(options({ plan: plan.planDir, cacheDir: null, log: (l) => logs.push(l) }));
  assert.match(logs.join("\n"), /cost estimate before the first request \(30 pairs × 2 orders/);
  assert.match(logs.join("\n"), /gpt-a\s+60 requests\s+~\$0\.0\d+/);
  assert.deepEqual(r.run.models.map((m) => [m.name, m.status, m.method ?? null]), [["gpt-a", "ran", "two-images"], ["image-stats", "ran", "scores"], ["qwen2vl-ft", "skipped", null], ["mean", "ran", "scores"]]);
  assert.equal(r.records.filter((x) => x.model === "gpt-a").length, 60);
  const chats = server.chatRequests().filter((q) => q.model === "gpt-4o");
  assert.equal(chats.length, 60);
  assert.ok(chats.every((q) => q.imageSha256s.length === 2), "both images in one request");
  assert.ok(chats.every((q) => JSON.stringify((q.body as { response_format?: unknown }).response_format).includes("safer_image")), "structured output");
  const bias = r.bias["gpt-a"]!;
  assert.equal(bias.bothOrders, 30);
  assert.equal(bias.positionFollowing, 5, "the injected flips");
  assert.equal(bias.positionBiasRate, 5 / 30);
  assert.equal(bias.followsFirst, 5);
  // answers follow the demo rule where not flipped; P(A safer) recorded
  const gpt = r.records.filter((x) => x.model === "gpt-a");
  assert.ok(gpt.every((x) => x.p_first !== null && x.p_first + x.p_second! + x.p_equal! > 0.999));
  const right = gpt.filter((x) => x.answer === (ruleBySha.get(x.first_sha256)! > ruleBySha.get(x.second_sha256)! ? "first" : "second")).length;
  assert.ok(right >= 50, `${right} of 60 follow the rule`);
  assert.ok(r.records.filter((x) => x.model === "mean").every((x) => x.answer === "equal"), "the constant baseline ties every pair");
  assert.ok(!readFileSync(path.join(r.runDir, "answers.jsonl"), "utf8").includes(KEY));
  assert.ok(!readFileSync(path.join(r.runDir, "run.json"), "utf8").includes(KEY));
  assert.ok(!r.run.plan.dir.startsWith("/") && !r.run.images_dir.startsWith("/"), "paths as results show them (relative)");

  // failures: gpt-flaky without retries fails while the server fails it; resume asks them again
  failing = true;
  const f = await runPairwiseAsk(options({ plan: plan.planDir, models: ["gpt-flaky", "gpt-text"] }));
  assert.equal(f.records.filter((x) => x.model === "gpt-flaky" && x.answer === null).length, 60);
  assert.match(f.records.find((x) => x.model === "gpt-flaky")!.error!, /500/);
  assert.equal(f.complete, true, "every request has a line (failures included)");
  assert.equal(f.records.filter((x) => x.model === "gpt-text" && x.answer !== null).length, 60, "plain-text replies parsed strictly");
  assert.ok(f.records.filter((x) => x.model === "gpt-text").every((x) => x.p_first === null), "no logprobs asked, none recorded");
  failing = false;
  const again = await runPairwiseAsk(options({ resume: f.runDir, models: ["ignored"] }));
  assert.equal(again.asked, 60, "only the failed requests were asked again");
  assert.equal(again.records.filter((x) => x.model === "gpt-flaky" && x.answer !== null).length, 60);
  assert.equal((await readAnswers(f.runDir)).length, 60 * 3 + 60 + 60 - 60, "failed lines stay; the last line per request wins");
  // the cache: the same plan again costs no request
  const before = server.chatRequests().length;
  const cached = await runPairwiseAsk(options({ plan: plan.planDir, models: ["gpt-text"] }));
  assert.equal(server.chatRequests().length, before);
  assert.ok(cached.records.filter((x) => x.model === "gpt-text").every((x) => x.cached && x.cost_usd === 0));
});

test("pairwise ask: --max-cost refuses before the first request; a plan is made from --per-image", async () => {
  const before = server.chatRequests().length;
  await assert.rejects(runPairwiseAsk(options({ images: imagesDir, perImage: 4, maxCost: 0.000001, outputDir: path.join(root, "capped") })), /exceeds --max-cost/);
  assert.equal(server.chatRequests().length, before);
  await assert.rejects(runPairwiseAsk(options({})), /which pairs\?/);
});
