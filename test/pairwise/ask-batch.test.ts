/**
 * `pairwise ask --batch` over real HTTP: the loopback server's Batch API (test/helpers/batch-routes.ts)
 * answers every line through its own pairwise chat route, so order flips injected there show in the
 * batch output, and `failLine` puts a failure in it. Cached judgments are served first; the other
 * judges are asked directly in the same run; a batch in flight is collected on --resume.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { prepareImage } from "../../lib/src/core/image";
import { demoRatings } from "../../lib/src/prepare/demo/dataset";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { readBatchRecord } from "../../lib/src/compare/run/batch";
import { answerCost } from "../../lib/src/openai/prices";
import { runPairPlan } from "../../lib/src/pairwise/plan/run";
import { runPairwiseAsk, type PairwiseAskOptions } from "../../lib/src/pairwise/ask/run";
import { readAnswers } from "../../lib/src/pairwise/ask/run-folder";
import { flipPairs, startTestServer, type TestServer } from "../helpers/openai-server";
import { batchSim, type BatchSim, type BatchSimOptions } from "../helpers/batch-routes";
import { tempDir } from "../helpers/tmp";

const KEY = "sk-pairbatch-SENTINEL-0123456789abcdef";
const root = tempDir();
const configPath = path.join(root, "models", "models.json");
const dataDir = path.join(root, "data");
const COUNT = 20;
const SEED = 8;
const PAIRS = 20;
let imagesDir = "";
let planDir = "";
const ruleBySha = new Map<string, number>();
const flipped = new Set<string>();
/** The pair request (sha A + sha B) whose batch line fails. */
let failing = "";

before(async () => {
  const demo = await generateDemoData({ outDir: path.join(root, "demo"), count: COUNT, seed: SEED });
  imagesDir = demo.imagesDir;
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir, testRatio: 0.3 });
  for (const r of demoRatings(COUNT, SEED)) ruleBySha.set((await prepareImage(path.join(imagesDir, r.image))).sha256, r.ruleScore);
  const plan = await runPairPlan({ method: "voted", votes: demo.votesPath, images: imagesDir, budget: PAIRS, outputDir: path.join(root, "plans") });
  planDir = plan.planDir;
  const sha = async (name: string) => (await prepareImage(path.join(imagesDir, name))).sha256;
  // order flips on the first 3 planned pairs; the A-B order of pair 10 fails in the batch output
  for (let k = 0; k < 3; k++) flipped.add([await sha(plan.plan.images[plan.plan.left[k]!]!), await sha(plan.plan.images[plan.plan.right[k]!]!)].sort().join("+"));
  failing = `${await sha(plan.plan.images[plan.plan.left[10]!]!)}+${await sha(plan.plan.images[plan.plan.right[10]!]!)}`;
  mkdirSync(path.dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    JSON.stringify({
      models: {
        "gpt-a": { type: "openai-chat", model: "gpt-4o", concurrency: 4 },
        "served-llm": { type: "openai-chat", model: "served-llm", concurrency: 4 },
        mean: { type: "mean" },
      },
    }),
  );
});

async function batchServer(opts: BatchSimOptions = {}): Promise<{ server: TestServer; sim: BatchSim }> {
  const sim = batchSim(opts);
  const rule = (sha: string) => ruleBySha.get(sha) ?? 0;
  const server = await startTestServer({ apiKey: KEY, extraRoutes: sim.routes, pairAnswerFor: flipPairs(rule, (a, b) => flipped.has(`${a}+${b}`)) });
  return { server, sim };
}

const options = (server: TestServer, extra: Partial<PairwiseAskOptions> = {}): PairwiseAskOptions => ({
  configPath,
  dataDir,
  plan: planDir,
  outputDir: path.join(root, "runs"),
  models: ["gpt-a", "served-llm"],
  cacheDir: null,
  env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url },
  batch: true,
  batchPolling: { pollIntervalMs: 5, maxPollIntervalMs: 20, maxBackoffMs: 20 },
  log: () => {},
  ...extra,
});

const directChats = (server: TestServer) => server.chatRequests().filter((r) => !r.headers["x-streetsafe-batch"]);

test("pairwise ask --batch: both orders in one batch, flips and a failed line in its output, half price; others asked directly; --resume asks the failure in a new batch", async () => {
  let fails = 1; // the line fails in the first batch only
  const { server, sim } = await batchServer({ failLine: ({ custom_id }) => (custom_id === `gpt-a:${failing}` && fails-- > 0 ? { status: 400, code: "invalid_image_format", message: "You uploaded an unsupported image." } : undefined) });
  try {
    const logs: string[] = [];
    const r = await runPairwiseAsk(options(server, { log: (l) => logs.push(l) }));
    const text = logs.join("\n");
    assert.match(text, /gpt-a\s+40 requests\s+~\$0\.\d+ \(Batch API, half price\)/);
    assert.match(text, /--batch: served-llm: served-llm is not an OpenAI model with a Batch price; asked directly/);
    assert.equal(sim.batches.size, 1, "one batch for the one OpenAI judge");
    const batch = [...sim.batches.values()][0]!;
    assert.equal(batch.lines.length, 2 * PAIRS, "every pair in both orders");
    assert.ok(batch.lines.every((l) => l.body["model"] === "gpt-4o" && JSON.stringify(l.body["response_format"]).includes("safer_image")));
    const viaBatch = server.chatRequests().filter((q) => q.headers["x-streetsafe-batch"]);
    assert.ok(viaBatch.length === 2 * PAIRS - 1 && viaBatch.every((q) => q.imageSha256s.length === 2), "both images in each batch request (the failed line never reached the chat route)");
    assert.equal(directChats(server).filter((q) => q.model === "gpt-4o").length, 0, "nothing of gpt-a asked directly");
    assert.equal(directChats(server).filter((q) => q.model === "served-llm").length, 2 * PAIRS, "the non-OpenAI server asked directly in the same run");
    const rec = (await readBatchRecord(r.runDir, "gpt-a"))!;
    assert.equal(rec.status, "collected");
    assert.equal(rec.requests.length, 2 * PAIRS);
    assert.ok(rec.requests.every((q) => q.images.length === 1 && /^\d+:(ab|ba)$/.test(q.images[0]!)));

    const gpt = r.records.filter((x) => x.model === "gpt-a");
    assert.equal(gpt.length, 2 * PAIRS);
    const failed = gpt.filter((x) => x.answer === null);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.pair, 11, "the plan's 11th pair (pairs count from 1)");
    assert.equal(failed[0]!.order, "ab");
    assert.match(failed[0]!.error!, /^batch batch_\d+: HTTP 400 invalid_image_format: You uploaded an unsupported image\.$/);
    assert.equal(`${failed[0]!.first_sha256}+${failed[0]!.second_sha256}`, failing);
    const bias = r.bias["gpt-a"]!;
    assert.equal(bias.bothOrders, PAIRS - 1, "the pair with a failed order is not resolved over both");
    assert.equal(bias.positionFollowing, 3, "the injected flips, through the batch output");
    const answered = gpt.filter((x) => x.answer !== null);
    assert.ok(answered.every((x) => x.usage && x.cost_usd === answerCost("gpt-4o", { inputTokens: x.usage.input_tokens, outputTokens: x.usage.output_tokens }, true)), "priced at Batch rates");
    assert.ok(answered.every((x) => x.cost_usd! < answerCost("gpt-4o", { inputTokens: x.usage!.input_tokens, outputTokens: x.usage!.output_tokens })!));
    assert.ok(answered.every((x) => x.p_first !== null), "P(A safer) from the batch output's logprobs");
    assert.equal(r.records.filter((x) => x.model === "served-llm" && x.answer !== null).length, 2 * PAIRS);
    assert.ok(r.records.filter((x) => x.model === "mean").length === 2 * PAIRS && r.records.every((x) => x.model !== "mean" || x.answer === "equal"), "the baseline asked directly");
    assert.equal(r.run.batch, true);
    for (const f of ["answers.jsonl", "run.json", "batch/gpt-a.json", "batch/gpt-a.input.jsonl"]) assert.ok(!readFileSync(path.join(r.runDir, f), "utf8").includes(KEY), f);

    // --resume (batch kept from run.json): only the failed request, in a new batch; the old batch's files kept
    const again = await runPairwiseAsk(options(server, { plan: undefined, resume: r.runDir, batch: undefined, models: undefined }));
    assert.equal(again.asked, 1);
    assert.equal(sim.batches.size, 2);
    assert.equal([...sim.batches.values()][1]!.lines.length, 1);
    assert.equal(again.complete, true);
    assert.ok(again.records.filter((x) => x.model === "gpt-a").every((x) => x.answer !== null));
    assert.equal(again.bias["gpt-a"]!.bothOrders, PAIRS);
    assert.equal((await readAnswers(r.runDir)).filter((x) => x.model === "gpt-a").length, 2 * PAIRS + 1, "the failed line stays; the last line wins");
  } finally {
    await server.close();
  }
});

test("pairwise ask --batch: cached judgments are served first and not sent; batch answers fill the cache", async () => {
  const { server, sim } = await batchServer();
  const cacheDir = path.join(root, "cache");
  try {
    // the direct run fills the cache for one order of each pair
    const direct = await runPairwiseAsk(options(server, { batch: false, models: ["gpt-a"], cacheDir }));
    assert.equal(sim.batches.size, 0);
    assert.equal(direct.records.filter((x) => x.model === "gpt-a" && x.answer !== null).length, 2 * PAIRS);
    const logs: string[] = [];
    const r = await runPairwiseAsk(options(server, { models: ["gpt-a"], cacheDir, log: (l) => logs.push(l) }));
    assert.match(logs.join("\n"), /every pair request was answered from the cache or could not be prepared; no batch sent/);
    assert.equal(sim.batches.size, 0, "nothing sent");
    assert.ok(r.records.filter((x) => x.model === "gpt-a").every((x) => x.cached && x.cost_usd === 0));
    assert.deepEqual(r.bias["gpt-a"], direct.bias["gpt-a"]);
    // a batch run's answers go into the cache: the same plan again sends nothing
    const fresh = path.join(root, "cache-from-batch");
    await runPairwiseAsk(options(server, { models: ["gpt-a"], cacheDir: fresh }));
    assert.equal(sim.batches.size, 1);
    const repeat = await runPairwiseAsk(options(server, { models: ["gpt-a"], cacheDir: fresh }));
    assert.equal(sim.batches.size, 1, "nothing sent the second time");
    assert.ok(repeat.records.filter((x) => x.model === "gpt-a").every((x) => x.cached && x.answer !== null));
  } finally {
    await server.close();
  }
});

test("pairwise ask --batch: an interrupted run leaves its batch in flight; --resume (even without --batch) collects it, nothing sent again", async () => {
  const { server, sim } = await batchServer({ script: ["validating", "in_progress", "in_progress", "finalizing", "completed"] });
  try {
    const stop = new AbortController();
    const partial = await runPairwiseAsk(
      options(server, {
        models: ["gpt-a"],
        signal: stop.signal,
        log: (l) => {
          if (/batch_\d+ created/.test(l)) stop.abort();
        },
      }),
    );
    assert.equal(partial.complete, false);
    const pending = (await readBatchRecord(partial.runDir, "gpt-a"))!;
    assert.notEqual(pending.status, "collected");
    assert.ok(pending.batch_id);
    assert.equal(partial.records.filter((x) => x.model === "gpt-a").length, 0, "no answer before the batch ends");
    const uploads = sim.calls["files.create"];
    const resumed = await runPairwiseAsk(options(server, { plan: undefined, resume: partial.runDir, batch: false, models: undefined }));
    assert.equal(resumed.complete, true);
    assert.equal(sim.calls["files.create"], uploads, "no second upload");
    assert.equal(sim.batches.size, 1, "no second batch");
    assert.equal(directChats(server).filter((q) => q.model === "gpt-4o").length, 0);
    assert.equal(resumed.records.filter((x) => x.model === "gpt-a" && x.answer !== null).length, 2 * PAIRS);
    assert.equal(resumed.bias["gpt-a"]!.positionFollowing, 3);
  } finally {
    await server.close();
  }
});
