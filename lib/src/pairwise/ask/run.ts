/**
 * `pairwise ask`: every model judges every planned pair in both orders — "which of these two street
 * views looks safer?" — into a run folder `results/pairwise/ask-<id>/` (run-folder.ts). The machinery is
 * compare's: the model factory and config, the response cache, per-model concurrency (p-limit), the
 * shared image pool, the run budget (progress, --max-cost), the appending log and --resume (asks only
 * what is missing or failed), a cost estimate before the first request (pairs × 2 orders), and
 * `--batch`: the OpenAI judges' requests through the Batch API at half price (batch.ts; compare's
 * machinery), sent before any direct request, while the other judges are asked directly.
 * The constant baseline `mean` is always asked: it says "equal" to every pair, the level of an answer
 * that knows nothing.
 */
import { setMaxListeners } from "node:events";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { ALWAYS_COMPARED, collectBatches, CostLimitError, estimateChatCost, estimateRunCost, ImagePool, newRunId, packageVersions, RunBudget, submitBatches, type BatchOptions, type CompareProgress } from "../../compare";
import { shownPath } from "../../core/paths";
import { displayPath, resolveProjectPath } from "../../core/project-path";
import { DEFAULT_SCALE } from "../../core/scale";
import { kindOfType, ModelFactory, type FactoryOptions, type ScoreModel } from "../../models";
import { answerCost } from "../../openai/prices";
import { PAIRWISE_PROMPT_VERSION, pairwisePromptHash, pairwiseSystemPrompt, pairwiseUserPrompt } from "../../prompt/pairwise";
import { resolveOrderedAnswers, type OrderBiasSummary } from "../evaluate/order-bias";
import { DEFAULT_PAIRWISE_DIR } from "../outputs";
import { readPlanFolder, runPairPlan, type PlanFolder } from "../plan/run";
import { pairBatchTargets, pairRequests, shasOfRequestId, type PairRequest } from "./batch";
import type { PairJudge, PairJudgment } from "./judge";
import { judgeFor } from "./judges";
import { answerKey, latestAnswers, openAnswerLog, readAnswers, readAskRun, writeAskRun, type AnswerRecord, type AskModelInfo, type AskRunInfo, type PairOrder } from "./run-folder";

/** Asked when no --model is given (`mean` is always added). */
export const DEFAULT_PAIRWISE_MODELS = ["gpt4"];
/** A typical reply, `{"safer": "A"}`, in tokens. */
const PAIR_OUTPUT_TOKENS = 8;

export interface PairwiseAskOptions extends FactoryOptions {
  /** A plan folder (`pairwise plan`). Without it, `perImage` (random) or `budget` (adaptive) makes one. */
  plan?: string;
  /** The images folder; default the plan's. Needed to make a plan. */
  images?: string;
  perImage?: number;
  budget?: number;
  seed?: number;
  models?: string[];
  /** Where run folders are made (default results/pairwise). */
  outputDir?: string;
  /** An ask run id (folder name under outputDir) or folder to continue. */
  resume?: string;
  /** Overrides every model's configured concurrency. */
  concurrency?: number;
  maxCost?: number;
  imageMaxSide?: number;
  /**
   * Ask the OpenAI judges through the OpenAI Batch API (half price, answers within 24 h; `--batch`).
   * Default: what the resumed run used, else false. A judge whose batch was sent and not yet collected
   * is always collected, never asked again.
   */
  batch?: boolean;
  /** Polling of batches (tests shorten it); see compare's BATCH_DEFAULTS. */
  batchPolling?: Pick<BatchOptions, "pollIntervalMs" | "maxPollIntervalMs" | "maxBackoffMs" | "giveUpAfterMs">;
  command?: string[];
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: CompareProgress) => void;
}

export interface PairwiseAskResult {
  runDir: string;
  run: AskRunInfo;
  /** The latest answer per model, pair and order. */
  records: AnswerRecord[];
  /** Requests answered in this invocation (cached ones too). */
  asked: number;
  complete: boolean;
  stopReason?: string;
  /** Per model that ran: the answers resolved over both orders, with the position-bias rate. */
  bias: Record<string, OrderBiasSummary>;
}

type Request = PairRequest;

function requestsOf(plan: PlanFolder): Request[] {
  return plan.pairs.flatMap((p) => [
    { pair: p.pair, order: "ab" as const, first: p.left, second: p.right },
    { pair: p.pair, order: "ba" as const, first: p.right, second: p.left },
  ]);
}

async function planFor(o: PairwiseAskOptions, previous: AskRunInfo | null, log: (l: string) => void): Promise<PlanFolder> {
  if (previous) {
    const plan = await readPlanFolder(resolveProjectPath(previous.plan.dir));
    if (plan.sha256 !== previous.plan.sha256) throw new Error(`the plan ${previous.plan.dir} changed since run ${previous.run_id} started; start a new run instead of --resume`);
    return plan;
  }
  if (o.plan) {
    if (o.perImage !== undefined || o.budget !== undefined) throw new Error("give either a plan folder (--plan) or --per-image/--budget to make one, not both");
    return readPlanFolder(path.resolve(o.plan));
  }
  if (o.perImage === undefined && o.budget === undefined) throw new Error("which pairs? give a plan folder (--plan DIR, from `streetsafe pairwise plan`) or --per-image K (random) or --budget N (adaptive)");
  if (!o.images) throw new Error("making a plan needs the images folder (--images DIR)");
  const made = await runPairPlan({
    method: o.perImage !== undefined ? "random" : "adaptive",
    images: o.images,
    ...(o.perImage !== undefined ? { perImage: o.perImage } : { budget: o.budget! }),
    seed: o.seed ?? 42,
    outputDir: o.outputDir ?? DEFAULT_PAIRWISE_DIR,
    command: o.command ?? [],
  });
  log(`made plan ${shownPath(made.planDir)}: ${made.plan.size} pairs`);
  return readPlanFolder(made.planDir);
}

/** USD for one model's requests still to go, before the first one; null when unpriced or local. */
function estimate(judge: PairJudge, requests: number, batch: boolean): number | null {
  if (judge.kind !== "api") return null;
  if (judge.method === "scores") return estimateRunCost(judge.id, 2 * requests, DEFAULT_SCALE);
  return estimateChatCost(judge.id, requests, { texts: [pairwiseSystemPrompt(), pairwiseUserPrompt(), "Image A:", "Image B:"], messages: 2, images: 2, outputTokens: PAIR_OUTPUT_TOKENS, batch });
}

/** `batch`: priced at Batch API rates. */
function record(judge: PairJudge, r: Request, sha: [string, string], j: PairJudgment, batch = false): AnswerRecord {
  return {
    model: judge.name,
    model_id: j.modelId,
    pair: r.pair,
    order: r.order,
    first: r.first,
    second: r.second,
    first_sha256: sha[0],
    second_sha256: sha[1],
    answer: j.answer,
    p_first: j.probabilities?.first ?? null,
    p_second: j.probabilities?.second ?? null,
    p_equal: j.probabilities?.equal ?? null,
    raw: j.raw,
    error: j.error ?? null,
    usage: j.usage ? { input_tokens: j.usage.inputTokens, output_tokens: j.usage.outputTokens } : null,
    cost_usd: j.cached ? 0 : answerCost(j.modelId, j.usage, batch),
    latency_ms: Math.round(j.latencyMs),
    cached: !!j.cached,
    finished_at: new Date().toISOString(),
  };
}

/** Position bias per model from its latest answers (both orders resolved; evaluate/order-bias.ts). */
export function biasByModel(records: readonly AnswerRecord[]): Record<string, OrderBiasSummary> {
  const out: Record<string, OrderBiasSummary> = {};
  const models = [...new Set(records.map((r) => r.model))];
  for (const m of models) {
    const answers = records.filter((r) => r.model === m && r.answer !== null).map((r) => ({ first: r.first, second: r.second, answer: r.answer! }));
    out[m] = resolveOrderedAnswers(answers).summary;
  }
  return out;
}

export async function runPairwiseAsk(o: PairwiseAskOptions): Promise<PairwiseAskResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const outputDir = path.resolve(o.outputDir ?? DEFAULT_PAIRWISE_DIR);
  const resumeDir = o.resume ? (o.resume.includes("/") || o.resume.includes(path.sep) ? path.resolve(o.resume) : path.join(outputDir, o.resume)) : null;
  const previous = resumeDir ? await readAskRun(resumeDir) : null;
  const plan = await planFor(o, previous, log);
  const imagesDir = previous ? resolveProjectPath(previous.images_dir) : o.images ? path.resolve(o.images) : plan.imagesDir;
  if (!imagesDir) throw new Error(`the plan ${shownPath(plan.planDir)} names no images folder; give --images DIR`);
  const requests = requestsOf(plan);
  const names = previous ? previous.models.map((m) => m.name) : [...new Set([...(o.models ?? DEFAULT_PAIRWISE_MODELS), ...ALWAYS_COMPARED])];

  const factory = await ModelFactory.load(o);
  const judges: PairJudge[] = [];
  const models: { judge: PairJudge; model: ScoreModel }[] = [];
  const infos: AskModelInfo[] = [];
  for (const name of names) {
    const r = await factory.tryCreate(name);
    if ("skipped" in r) {
      infos.push({ name, status: "skipped", kind: kindOfType(factory.entry(name).type) ?? "unknown", reason: r.skipped });
      log(`skipped ${name}: ${r.skipped}`);
      continue;
    }
    const judge = judgeFor(r.model);
    judges.push(judge);
    models.push({ judge, model: r.model });
    infos.push({ name, status: "ran", kind: judge.kind, model_id: judge.id, method: judge.method, settings: judge.describe(), concurrency: o.concurrency ?? factory.concurrency(name) });
  }
  try {
    const runDir = resumeDir ?? path.join(outputDir, `ask-${newRunId()}`);
    await mkdir(runDir, { recursive: true });
    const before = latestAnswers(await readAnswers(runDir));
    const done = new Set(before.filter((r) => r.answer !== null).map((r) => answerKey(r.model, r.pair, r.order)));
    const todo = judges.map((j) => ({ judge: j, items: requests.filter((r) => !done.has(answerKey(j.name, r.pair, r.order))) }));
    const spentBefore = before.reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    const batched = await pairBatchTargets(models, runDir, o.batch ?? previous?.batch ?? false, log);
    const costs = Object.fromEntries(infos.map((i) => [i.name, null as number | null]));
    for (const t of todo) costs[t.judge.name] = estimate(t.judge, t.items.length, batched.has(t.judge.name));
    const total = Object.values(costs).reduce<number>((s, v) => s + (v ?? 0), 0);
    log(
      [
        `cost estimate before the first request (${plan.pairs.length} pairs × 2 orders; dated price table; check current prices):`,
        ...todo.map((t) => `  ${t.judge.name.padEnd(16)} ${String(t.items.length).padStart(6)} requests  ${costs[t.judge.name] === null ? "no price (local, baseline or unpriced model)" : `~$${costs[t.judge.name]!.toFixed(4)}`}${batched.has(t.judge.name) ? " (Batch API, half price)" : ""}`),
        ...(spentBefore > 0 ? [`  already spent in this run: $${spentBefore.toFixed(4)}`] : []),
      ].join("\n"),
    );
    if (o.maxCost !== undefined && spentBefore + total > o.maxCost) {
      throw new CostLimitError(`the estimated cost $${(spentBefore + total).toFixed(2)} exceeds --max-cost $${o.maxCost.toFixed(2)}; nothing was asked (plan fewer pairs or raise --max-cost)`);
    }
    const run: AskRunInfo = previous
      ? { ...previous, command: o.command ?? previous.command, finished_at: null, models: infos, batch: !!previous.batch || batched.size > 0, cost_estimate_usd: costs, max_cost_usd: o.maxCost ?? previous.max_cost_usd }
      : {
          schema: "streetsafe.pairwise.ask/1",
          run_id: path.basename(runDir),
          created_at: new Date().toISOString(),
          finished_at: null,
          command: o.command ?? [],
          plan: { dir: displayPath(plan.planDir), sha256: plan.sha256, pairs: plan.pairs.length, ...(typeof plan.document["method"] === "string" ? { method: plan.document["method"] } : {}) },
          images_dir: displayPath(imagesDir),
          orders_per_pair: 2,
          requests_per_model: requests.length,
          models: infos,
          batch: batched.size > 0,
          prompt: { version: PAIRWISE_PROMPT_VERSION, sha256: pairwisePromptHash() },
          cost_estimate_usd: costs,
          max_cost_usd: o.maxCost ?? null,
          versions: packageVersions(),
        };
    await writeAskRun(runDir, run);

    const answers = await openAnswerLog(runDir);
    const stop = new AbortController();
    setMaxListeners(0, stop.signal);
    const onAbort = () => stop.abort();
    o.signal?.addEventListener("abort", onAbort);
    const all = todo.reduce((s, t) => s + t.items.length, 0);
    const budget = new RunBudget(all, spentBefore, o.maxCost, stop, o.onProgress);
    const pool = new ImagePool(imagesDir, o.imageMaxSide);
    let asked = 0;
    budget.report();
    const askOne = async (judge: PairJudge, r: Request) => {
      if (stop.signal.aborted) return;
      const sha: [string, string] = ["", ""];
      let j: PairJudgment;
      // Each request holds its two images; the pool shares an image between the requests in flight.
      const holder = `request ${asked++}`;
      const images = [{ image: r.first }, { image: r.second }];
      try {
        const [a, b] = await Promise.all([pool.acquire(holder, images, 0, 0), pool.acquire(holder, images, 1, 0)]);
        sha[0] = a.sha256;
        sha[1] = b.sha256;
        j = await judge.judge(a, b, { signal: stop.signal });
      } catch (e) {
        if (stop.signal.aborted) return; // stays missing: --resume asks it again
        j = { answer: null, raw: "", error: sha[0] ? (e as Error).message : `image could not be prepared: ${(e as Error).message}`, latencyMs: 0, modelId: judge.id };
      } finally {
        for (const image of images) pool.release(holder, image);
      }
      const rec = record(judge, r, sha, j);
      await answers.append(rec);
      budget.countAnswer(rec.answer === null, rec.cost_usd);
    };
    /** A batch answer: appended and counted like a direct one, priced at Batch rates. */
    const fromBatch = (judge: PairJudge) => async (a: { item: Request; sha256: string; answer: PairJudgment }) => {
      const rec = record(judge, a.item, shasOfRequestId(a.sha256), a.answer, true);
      const written = answers.append(rec);
      budget.countAnswer(rec.answer === null, rec.cost_usd);
      await written;
    };
    try {
      // Batches first: a refused upload stops the run before money is spent elsewhere. They follow the
      // caller's signal, not --max-cost: a sent batch is paid for whether or not it is collected.
      const sent = await submitBatches<Request, PairJudgment>(
        todo.filter((t) => batched.has(t.judge.name)).map((t) => ({ target: batched.get(t.judge.name)!, requests: pairRequests(t.judge, { imagesDir, ...(o.imageMaxSide !== undefined ? { imageMaxSide: o.imageMaxSide } : {}) }), items: t.items, answer: fromBatch(t.judge) })),
        { runDir, ...(o.signal ? { signal: o.signal } : {}), log, resumeCommand: `npx streetsafe pairwise ask --resume ${shownPath(runDir)}`, ...o.batchPolling },
      );
      await Promise.all([
        ...todo
          .filter((t) => !batched.has(t.judge.name))
          .flatMap((t) => {
            const limit = pLimit(infos.find((i) => i.name === t.judge.name)!.concurrency ?? 1);
            return t.items.map((r) => limit(() => askOne(t.judge, r)));
          }),
        collectBatches(sent, (why) => (budget.stopReason ??= why), log, o.signal),
      ]);
    } finally {
      await answers.close();
    }
    o.signal?.removeEventListener("abort", onAbort);
    if (o.signal?.aborted && !budget.stopReason) budget.stopReason = "interrupted";
    const records = latestAnswers(await readAnswers(runDir));
    const complete = judges.every((j) => requests.every((r) => records.some((x) => x.model === j.name && x.pair === r.pair && x.order === r.order)));
    if (complete) run.finished_at = new Date().toISOString();
    await writeAskRun(runDir, run);
    return { runDir, run, records, asked: budget.done, complete, ...(budget.stopReason ? { stopReason: budget.stopReason } : {}), bias: biasByModel(records) };
  } finally {
    await Promise.all(judges.map((j) => j.dispose?.()));
  }
}

/** The run in a few lines: per model answered / failed, position-bias rate, where it was written. */
export function formatAskSummary(r: PairwiseAskResult): string {
  const lines = [`ask run ${r.run.run_id}: ${r.run.plan.pairs} pairs × 2 orders${r.complete ? "" : ` — INCOMPLETE (${r.stopReason ?? "failures or stopped"}; continue with --resume ${shownPath(r.runDir)})`}`];
  for (const m of r.run.models) {
    if (m.status === "skipped") {
      lines.push(`  ${m.name.padEnd(16)} skipped: ${m.reason}`);
      continue;
    }
    const mine = r.records.filter((x) => x.model === m.name);
    const failed = mine.filter((x) => x.answer === null).length;
    const b = r.bias[m.name];
    const rate = b?.positionBiasRate;
    const probs = mine.filter((x) => x.p_first !== null).length;
    lines.push(
      `  ${m.name.padEnd(16)} ${mine.length - failed}/${r.run.requests_per_model} answered, ${failed} failed · ${b ? `${b.consistent} consistent, ${b.positionFollowing} flipped with the order (ties), ${b.bothEqual} equal` : ""} · position-bias rate ${rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`}${probs ? ` · P(A safer) on ${probs}` : ""} · ${m.method}`,
    );
  }
  lines.push(`run folder: ${shownPath(r.runDir)}`);
  return lines.join("\n");
}
