/**
 * Guide step 4: every runnable model scores the same test images. Items run concurrently (p-limit per
 * model), each finished item is appended to predictions.jsonl at once, a resumed run asks only for
 * what is missing, and the response cache makes a repeated comparison free. Failures are results:
 * they are recorded and counted, never dropped.
 */
import { setMaxListeners } from "node:events";
import { promises as fs } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { prepareImage } from "../core/image";
import { compareModels, errorMetrics, metricCIs } from "./statistics";
import { kindOfType, ModelFactory, type FactoryOptions, type Prediction, type ScoreModel } from "../models";
import type { PreparedImage } from "../core/types";
import { promptHash, PROMPT_VERSION } from "../prompt/prompts";
import { DEFAULT_SCALE } from "../core/scale";
import { batchPending, batchTarget, ModelBatch, NOT_AN_API_MODEL, readBatchRecord, type BatchAnswer, type BatchOptions, type BatchTarget } from "./batch";
import { answerCost } from "../openai/prices";
import { estimateRunCost } from "./cost";
import { itemKey, readPredictions, readRunInfo } from "./run-folder/read";
import { newRunId, PredictionLog, writeRunInfo, writeRunMetrics } from "./run-folder/write";
import { loadTestSet, type TestItem, type TestSet } from "./test-set";
import type { PredictionRecord, RunInfo, RunMetrics, RunModelInfo } from "./run-folder/schema";
import { packageVersions } from "./versions";

export const DEFAULT_COMPARE_MODELS = ["gpt4", "gpt4o-mini-ft", "qwen2vl-ft"];
/** Always compared: a model must beat the constant baseline for its numbers to mean anything. */
export const ALWAYS_COMPARED = ["mean"];

export interface CompareOptions extends FactoryOptions {
  models?: string[];
  outputDir?: string;
  testSet?: string;
  images?: string;
  limit?: number;
  /** Overrides every model's configured concurrency. */
  concurrency?: number;
  /** A run id (folder name under outputDir) or a run folder path to continue. */
  resume?: string;
  maxCost?: number;
  /**
   * Ask API models through the OpenAI Batch API (half price, answers within 24 h; `--batch`). Default:
   * what the resumed run used, else false. A model whose batch was sent and not yet collected is always
   * collected, never asked again.
   */
  batch?: boolean;
  /** Polling of batches (tests shorten it); see BATCH_DEFAULTS. */
  batchPolling?: Pick<BatchOptions, "pollIntervalMs" | "maxPollIntervalMs" | "maxBackoffMs" | "giveUpAfterMs">;
  seed?: number;
  bootstrapIterations?: number;
  prompt?: string;
  imageMaxSide?: number;
  command?: string[];
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: CompareProgress) => void;
}

export interface CompareProgress {
  done: number;
  failed: number;
  total: number;
  costUsd: number;
  ratePerSecond: number;
}

export interface CompareResult {
  runDir: string;
  run: RunInfo;
  metrics: RunMetrics;
  records: PredictionRecord[];
  /** Items asked in this invocation (not from the log); cached answers count here too. */
  asked: number;
  complete: boolean;
  stopReason?: string;
}

export class CostLimitError extends Error {}

export async function runComparison(opts: CompareOptions): Promise<CompareResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const scale = opts.scale ?? DEFAULT_SCALE;
  const outputDir = path.resolve(opts.outputDir ?? path.join("results", "model_comparison"));
  const resumeDir = opts.resume ? (opts.resume.includes(path.sep) || opts.resume.includes("/") ? path.resolve(opts.resume) : path.join(outputDir, opts.resume)) : null;
  const previous = resumeDir ? await readRunInfo(resumeDir) : null;

  const testSet = previous
    ? await loadTestSet({ testSet: previous.test_set.file, images: previous.test_set.images_dir, scale, limit: previous.test_set.limit ?? undefined, dataDir: opts.dataDir }).then((t) => {
        if (t.sha256 !== previous.test_set.sha256) throw new Error(`the test set ${t.file} changed since run ${previous.run_id} started; start a new run instead of --resume`);
        return t;
      })
    : await loadTestSet({ testSet: opts.testSet, images: opts.images, dataDir: opts.dataDir, scale, limit: opts.limit });

  const requested = previous ? previous.models.map((m) => m.name) : unique([...(opts.models ?? DEFAULT_COMPARE_MODELS), ...ALWAYS_COMPARED]);
  const factory = await ModelFactory.load(opts);
  const models: ScoreModel[] = [];
  const infos: RunModelInfo[] = [];
  for (const name of requested) {
    const r = await factory.tryCreate(name);
    if ("skipped" in r) {
      infos.push({ name, status: "skipped", kind: kindOfType(factory.entry(name).type), reason: r.skipped });
      log(`skipped ${name}: ${r.skipped}`);
    } else {
      models.push(r.model);
      infos.push({ name, status: "ran", kind: r.model.kind, model_id: r.model.id, settings: r.model.describe(), concurrency: opts.concurrency ?? factory.concurrency(name) });
    }
  }
  try {
    const runDir = resumeDir ?? path.join(outputDir, newRunId());
    await fs.mkdir(runDir, { recursive: true });
    const done = new Map((await readPredictions(runDir)).map((r) => [itemKey(r.model, r.image), r]));
    const todo = models.map((m) => ({
      model: m,
      concurrency: opts.concurrency ?? factory.concurrency(m.name),
      items: testSet.items.filter((it) => !done.has(itemKey(m.name, it.image))),
    }));
    const batchOn = opts.batch ?? previous?.batch ?? false;
    const batched = await batchTargets(models, runDir, batchOn, log);

    const estimate = Object.fromEntries(
      infos.map((i) => [i.name, i.model_id ? estimateRunCost(i.model_id, todo.find((t) => t.model.name === i.name)!.items.length, scale, { batch: batched.has(i.name) }) : null]),
    );
    const spentBefore = [...done.values()].reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    const estimatedTotal = Object.values(estimate).reduce<number>((s, v) => s + (v ?? 0), 0);
    log(formatEstimate(estimate, todo.map((t) => [t.model.name, t.items.length] as const), spentBefore, [...batched.keys()]));
    if (opts.maxCost !== undefined && spentBefore + estimatedTotal > opts.maxCost) {
      throw new CostLimitError(`the estimated cost $${(spentBefore + estimatedTotal).toFixed(2)} exceeds --max-cost $${opts.maxCost.toFixed(2)}; nothing was asked (use --limit or raise --max-cost)`);
    }

    const run: RunInfo = previous
      ? { ...previous, command: opts.command ?? previous.command, finished_at: null, models: infos, batch: previous.batch || batched.size > 0, cost_estimate_usd: estimate, max_cost_usd: opts.maxCost ?? previous.max_cost_usd }
      : {
          run_id: path.basename(runDir),
          created_at: new Date().toISOString(),
          finished_at: null,
          command: opts.command ?? [],
          test_set: { file: testSet.file, sheet: testSet.sheet, images_dir: testSet.imagesDir, sha256: testSet.sha256, n: testSet.items.length, limit: opts.limit ?? null },
          scale,
          models: infos,
          prompt: { version: PROMPT_VERSION, sha256: promptHash(scale), user_override: opts.prompt ?? null },
          seed: opts.seed ?? 42,
          batch: batched.size > 0,
          cost_estimate_usd: estimate,
          max_cost_usd: opts.maxCost ?? null,
          versions: packageVersions(),
        };
    await writeRunInfo(runDir, run);

    const direct = todo.filter((t) => !batched.has(t.model.name));
    const viaBatch = todo.filter((t) => batched.has(t.model.name)).map((t) => ({ model: t.model, target: batched.get(t.model.name)!, items: t.items }));
    const outcome = await askAll(direct, testSet, runDir, { ...opts, spentBefore, log }, viaBatch);
    const records = await readPredictions(runDir);
    const metrics = computeRunMetrics(testSet.items, records, run, opts.bootstrapIterations);
    await writeRunMetrics(runDir, metrics);
    if (outcome.complete) run.finished_at = new Date().toISOString();
    await writeRunInfo(runDir, run);
    return { runDir, run, metrics, records, asked: outcome.asked, complete: outcome.complete, stopReason: outcome.stopReason };
  } finally {
    await Promise.all(models.map((m) => m.dispose?.()));
  }
}

/**
 * Which models go through the Batch API: with `--batch` every model it can ask, and in any case a model
 * whose batch was sent in this run folder and not yet collected.
 */
async function batchTargets(models: ScoreModel[], runDir: string, batchOn: boolean, log: (l: string) => void): Promise<Map<string, BatchTarget>> {
  const out = new Map<string, BatchTarget>();
  for (const m of models) {
    const t = batchTarget(m);
    if ("reason" in t) {
      if (batchOn && t.reason !== NOT_AN_API_MODEL) log(`--batch: ${m.name}: ${t.reason}`);
      continue;
    }
    if (batchOn || batchPending(await readBatchRecord(runDir, m.name))) out.set(m.name, t);
  }
  return out;
}

async function askAll(
  todo: { model: ScoreModel; concurrency: number; items: TestItem[] }[],
  testSet: TestSet,
  runDir: string,
  opts: CompareOptions & { spentBefore: number; log: (l: string) => void },
  viaBatch: { model: ScoreModel; target: BatchTarget; items: TestItem[] }[] = [],
): Promise<{ asked: number; complete: boolean; stopReason?: string }> {
  const logFile = await PredictionLog.open(runDir);
  const total = [...todo, ...viaBatch].reduce((s, t) => s + t.items.length, 0);
  const started = Date.now();
  let done = 0, failed = 0, spent = opts.spentBefore;
  let stopReason: string | undefined;
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every request in flight listens for the stop
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort);

  // Each model runs at its own pace under its own limit. A prepared image is shared by the models
  // that need it and released when the last of them has answered.
  const limits = new Map(todo.map((t) => [t.model.name, pLimit(t.concurrency)]));
  const images = new Map<string, { prepared: Promise<PreparedImage>; users: number }>();
  for (const t of todo) {
    for (const it of t.items) {
      const e = images.get(it.image);
      if (e) e.users++;
      else images.set(it.image, { prepared: undefined as unknown as Promise<PreparedImage>, users: 1 });
    }
  }
  const acquire = (it: TestItem): Promise<PreparedImage> => {
    const e = images.get(it.image)!;
    e.prepared ??= prepareImage(path.join(testSet.imagesDir, it.image), { maxSide: opts.imageMaxSide });
    return e.prepared;
  };
  const release = (it: TestItem) => {
    const e = images.get(it.image)!;
    if (--e.users === 0) images.delete(it.image);
  };

  const report = () => opts.onProgress?.({ done, failed, total, costUsd: spent, ratePerSecond: done / Math.max((Date.now() - started) / 1000, 1e-3) });
  report();
  /** Append one answer, count it, and stop at --max-cost. */
  const finish = async (m: ScoreModel, item: TestItem, sha: string, p: Prediction, batch = false) => {
    const r = record(m, item, sha, p, batch);
    await logFile.append(r);
    done++;
    if (r.predicted === null) failed++;
    spent += r.cost_usd ?? 0;
    report();
    if (opts.maxCost !== undefined && spent >= opts.maxCost && !stop.signal.aborted) {
      stopReason = `--max-cost $${opts.maxCost.toFixed(2)} reached ($${spent.toFixed(4)} spent)`;
      stop.abort();
    }
  };
  const askOne = async (m: ScoreModel, item: TestItem) => {
    if (stop.signal.aborted) return;
    let sha = "";
    let p: Prediction;
    try {
      const img = await acquire(item);
      sha = img.sha256;
      p = await m.predict(img, { prompt: opts.prompt, signal: stop.signal });
    } catch (e) {
      if (stop.signal.aborted) return; // stopped: the item stays missing and a resume asks it again
      const why = sha ? (e as Error).message : `image could not be prepared: ${(e as Error).message}`;
      p = { score: null, reasons: [], raw: "", error: why, latencyMs: 0, modelId: m.id };
    } finally {
      release(item);
    }
    await finish(m, item, sha, p);
  };

  // Batches are sent before any direct request (a refused upload stops the run before money is spent
  // elsewhere), then collected while the direct models answer. They follow the caller's signal, not
  // --max-cost: a sent batch is paid for whether or not it is collected.
  const batches: { job: ModelBatch; answer: (a: BatchAnswer) => Promise<void> }[] = [];
  try {
    const batchOptions: BatchOptions = {
      runDir,
      imagesDir: testSet.imagesDir,
      ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
      ...(opts.imageMaxSide !== undefined ? { imageMaxSide: opts.imageMaxSide } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      log: opts.log,
      resumeCommand: `npx streetsafe compare --resume ${shownPath(runDir)}`,
      ...opts.batchPolling,
    };
    for (const b of viaBatch) {
      const job = await ModelBatch.open(b.target, batchOptions);
      const answer = (a: BatchAnswer) => finish(b.model, a.item, a.sha256, a.prediction, true);
      if (!(await job.submit(b.items, answer))) break; // stopped: the signal also stops the direct models
      batches.push({ job, answer });
    }
  } catch (e) {
    await logFile.flush();
    opts.signal?.removeEventListener("abort", onAbort);
    throw e;
  }
  await Promise.all([
    ...todo.flatMap((t) => t.items.map((it) => limits.get(t.model.name)!(() => askOne(t.model, it)))),
    ...batches.map(async ({ job, answer }) => {
      let why: string | undefined;
      try {
        why = await job.finish(answer);
      } catch (e) {
        // A failed download or a refused follow-up batch: the items stay missing and --resume tries again.
        why = (e as Error).message;
        opts.log(why);
      }
      if (why && !opts.signal?.aborted) stopReason ??= why;
    }),
  ]);
  await logFile.flush();
  opts.signal?.removeEventListener("abort", onAbort);
  if (opts.signal?.aborted && !stopReason) stopReason = "interrupted";
  return { asked: done, complete: done === total, stopReason };
}

/** One line of predictions.jsonl; `batch`: priced at Batch API rates. */
function record(m: ScoreModel, item: TestItem, sha: string, p: Prediction, batch = false): PredictionRecord {
  const usage = p.usage ? { input_tokens: p.usage.inputTokens, output_tokens: p.usage.outputTokens, ...(p.usage.cachedInputTokens !== undefined ? { cached_input_tokens: p.usage.cachedInputTokens } : {}) } : null;
  return {
    model: m.name,
    model_id: p.modelId,
    image: item.image,
    image_sha256: sha,
    expected: item.score,
    predicted: p.score,
    expected_score: p.expectedScore ?? null,
    probabilities: p.probabilities ? Object.fromEntries(Object.entries(p.probabilities).map(([k, v]) => [String(k), v])) : null,
    reasons: p.reasons,
    raw: p.raw,
    error: p.error ?? null,
    usage,
    // A cached answer costs nothing in this run.
    cost_usd: p.cached ? 0 : answerCost(p.modelId, p.usage, batch),
    latency_ms: Math.round(p.latencyMs),
    cached: !!p.cached,
    finished_at: new Date().toISOString(),
  };
}

/** metrics.json from the records: every ran model on the same test images, in the run's model order. */
export function computeRunMetrics(items: TestItem[], records: PredictionRecord[], run: RunInfo, iterations?: number): RunMetrics {
  const ran = run.models.filter((m) => m.status === "ran").map((m) => m.name);
  const byKey = new Map(records.map((r) => [itemKey(r.model, r.image), r]));
  const expected = items.map((it) => it.score);
  const predictions = Object.fromEntries(ran.map((name) => [name, items.map((it) => byKey.get(itemKey(name, it.image))?.predicted ?? null)]));
  const base = compareModels(expected, predictions, run.scale, { seed: run.seed, iterations });
  const common = items.map((_, i) => ran.every((n) => predictions[n][i] !== null));

  const expectedScore: RunMetrics["expected_score"] = {};
  for (const name of ran) {
    const idx = items.map((it, i) => i).filter((i) => common[i] && byKey.get(itemKey(name, items[i].image))?.expected_score != null);
    if (!idx.length) continue;
    const e = idx.map((i) => expected[i]);
    const p = idx.map((i) => byKey.get(itemKey(name, items[i].image))!.expected_score!);
    const m = errorMetrics(e, p, run.scale);
    expectedScore[name] = {
      n: m.n, mae: m.mae, rmse: m.rmse, acc1: m.acc1, acc2: m.acc2, median_error: m.medianError, bias: m.bias, pearson: m.pearson, spearman: m.spearman, qwk: m.qwk,
      ci95: metricCIs(e, p, run.scale, { seed: run.seed, iterations }) as Record<string, [number, number] | null>,
    };
  }
  const cost: RunMetrics["cost"] = {};
  for (const name of ran) {
    const rs = records.filter((r) => r.model === name);
    const priced = rs.filter((r) => r.cost_usd !== null);
    cost[name] = {
      usd: priced.length ? priced.reduce((s, r) => s + r.cost_usd!, 0) : null,
      requests: rs.filter((r) => !r.cached).length,
      cached: rs.filter((r) => r.cached).length,
      input_tokens: rs.reduce((s, r) => s + (r.usage?.input_tokens ?? 0), 0),
      output_tokens: rs.reduce((s, r) => s + (r.usage?.output_tokens ?? 0), 0),
    };
  }
  return {
    ...base,
    expected_score: expectedScore,
    cost,
    skipped: run.models.filter((m) => m.status === "skipped").map((m) => ({ name: m.name, reason: m.reason ?? "" })),
    incomplete_coverage: ran.filter((n) => base.models[n] && base.models[n].coverage < 1),
  };
}

function formatEstimate(estimate: Record<string, number | null>, todo: readonly (readonly [string, number])[], spentBefore: number, batched: string[] = []): string {
  const lines = ["cost estimate before the first request (dated price table; check current prices):"];
  for (const [name, n] of todo) {
    const usd = estimate[name];
    const via = batched.includes(name) ? " (Batch API, half price)" : "";
    lines.push(`  ${name.padEnd(16)} ${String(n).padStart(5)} requests  ${usd === null ? "no price (local or unpriced model)" : `~$${usd.toFixed(4)}${via}`}`);
  }
  if (spentBefore > 0) lines.push(`  already spent in this run: $${spentBefore.toFixed(4)}`);
  return lines.join("\n");
}

/** A run folder as the user would type it: relative when under the working directory. */
function shownPath(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) && rel.includes(path.sep) ? rel : dir;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
