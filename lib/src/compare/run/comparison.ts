/**
 * Guide step 4: every runnable model scores the same test images. Items run concurrently (per-model
 * limits), each finished item is appended to predictions.jsonl at once, a resumed run asks only for
 * what is missing, and the response cache makes a repeated comparison free. Failures are results:
 * they are recorded and counted, never dropped.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { DEFAULT_SCALE, type Scale } from "../../core/scale";
import { kindOfType, ModelFactory, type ScoreModel } from "../../models";
import { promptHash, PROMPT_VERSION } from "../../prompt/prompts";
import { estimateRunCost } from "../cost";
import { itemKey, newRunId, readPredictions, readRunInfo, writeRunInfo, writeRunMetrics, type RunInfo, type RunModelInfo } from "../run-folder";
import { computeRunMetrics } from "../run-metrics";
import { loadTestSet, type TestSet } from "../test-set";
import { packageVersions } from "../versions";
import { askEveryModel } from "./ask";
import { batchTargets, type BatchWork } from "./batch/send";
import { displayPath, resolveProjectPath } from "../../core/project-path";
import type { BatchTarget } from "./batch/target";
import type { DirectWork } from "./direct";
import { ALWAYS_COMPARED, CostLimitError, DEFAULT_COMPARE_MODELS, type CompareOptions, type CompareResult } from "./options";

export async function runComparison(opts: CompareOptions): Promise<CompareResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const scale = opts.scale ?? DEFAULT_SCALE;
  const outputDir = path.resolve(opts.outputDir ?? path.join("results", "model_comparison"));
  const resumeDir = opts.resume ? (opts.resume.includes(path.sep) || opts.resume.includes("/") ? path.resolve(opts.resume) : path.join(outputDir, opts.resume)) : null;
  const previous = resumeDir ? await readRunInfo(resumeDir) : null;
  const testSet = await testSetFor(opts, previous, scale);
  const requested = previous ? previous.models.map((m) => m.name) : unique([...(opts.models ?? DEFAULT_COMPARE_MODELS), ...ALWAYS_COMPARED]);
  const factory = await ModelFactory.load(opts);
  const { models, infos } = await createModels(factory, requested, opts, log);
  try {
    const runDir = resumeDir ?? path.join(outputDir, newRunId());
    await fs.mkdir(runDir, { recursive: true });
    const done = new Map((await readPredictions(runDir)).map((r) => [itemKey(r.model, r.image), r]));
    const todo: DirectWork[] = models.map((m) => ({
      model: m,
      concurrency: opts.concurrency ?? factory.concurrency(m.name),
      items: testSet.items.filter((it) => !done.has(itemKey(m.name, it.image))),
    }));
    const batched = await batchTargets(models, runDir, opts.batch ?? previous?.batch ?? false, log);
    const spentBefore = [...done.values()].reduce((s, r) => s + (r.cost_usd ?? 0), 0);
    const estimate = estimateBeforeAsking(infos, todo, batched, scale, spentBefore, opts.maxCost, log);

    const run = runInfo(previous, { runDir, testSet, scale, infos, batched, estimate, opts });
    await writeRunInfo(runDir, run);

    const direct = todo.filter((t) => !batched.has(t.model.name));
    const viaBatch: BatchWork[] = todo.filter((t) => batched.has(t.model.name)).map((t) => ({ model: t.model, target: batched.get(t.model.name)!, items: t.items }));
    const outcome = await askEveryModel(direct, viaBatch, testSet, runDir, { ...opts, spentBefore, log, resumeCommand: `npx streetsafe compare --resume ${shownPath(runDir)}` });
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

/** The test images: a resumed run's own (refused when the file changed since), else the options'. */
async function testSetFor(opts: CompareOptions, previous: RunInfo | null, scale: Scale): Promise<TestSet> {
  if (!previous) return loadTestSet({ testSet: opts.testSet, images: opts.images, dataDir: opts.dataDir, scale, limit: opts.limit });
  const t = await loadTestSet({ testSet: resolveProjectPath(previous.test_set.file), images: resolveProjectPath(previous.test_set.images_dir), scale, limit: previous.test_set.limit ?? undefined, dataDir: opts.dataDir });
  if (t.sha256 !== previous.test_set.sha256) throw new Error(`the test set ${displayPath(t.file)} changed since run ${previous.run_id} started; start a new run instead of --resume`);
  return t;
}

/** Every requested model that can run here, and a run.json entry for each (skipped ones with the reason). */
async function createModels(factory: ModelFactory, requested: string[], opts: CompareOptions, log: (l: string) => void): Promise<{ models: ScoreModel[]; infos: RunModelInfo[] }> {
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
  return { models, infos };
}

/** The cost estimate per model, printed before the first request; refused (CostLimitError) above --max-cost. */
function estimateBeforeAsking(
  infos: RunModelInfo[],
  todo: DirectWork[],
  batched: Map<string, BatchTarget>,
  scale: Scale,
  spentBefore: number,
  maxCost: number | undefined,
  log: (l: string) => void,
): Record<string, number | null> {
  const estimate = Object.fromEntries(
    infos.map((i) => [i.name, i.model_id ? estimateRunCost(i.model_id, todo.find((t) => t.model.name === i.name)!.items.length, scale, { batch: batched.has(i.name) }) : null]),
  );
  const estimatedTotal = Object.values(estimate).reduce<number>((s, v) => s + (v ?? 0), 0);
  log(formatEstimate(estimate, todo.map((t) => [t.model.name, t.items.length] as const), spentBefore, [...batched.keys()]));
  if (maxCost !== undefined && spentBefore + estimatedTotal > maxCost) {
    throw new CostLimitError(`the estimated cost $${(spentBefore + estimatedTotal).toFixed(2)} exceeds --max-cost $${maxCost.toFixed(2)}; nothing was asked (use --limit or raise --max-cost)`);
  }
  return estimate;
}

/** run.json for this invocation: a resumed run's, brought up to date, or a new one. */
function runInfo(
  previous: RunInfo | null,
  r: { runDir: string; testSet: TestSet; scale: Scale; infos: RunModelInfo[]; batched: Map<string, BatchTarget>; estimate: Record<string, number | null>; opts: CompareOptions },
): RunInfo {
  const { opts, testSet, scale } = r;
  if (previous) {
    return { ...previous, command: opts.command ?? previous.command, finished_at: null, models: r.infos, batch: previous.batch || r.batched.size > 0, cost_estimate_usd: r.estimate, max_cost_usd: opts.maxCost ?? previous.max_cost_usd };
  }
  return {
    run_id: path.basename(r.runDir),
    created_at: new Date().toISOString(),
    finished_at: null,
    command: opts.command ?? [],
    test_set: { file: displayPath(testSet.file), sheet: testSet.sheet, images_dir: displayPath(testSet.imagesDir), sha256: testSet.sha256, n: testSet.items.length, limit: opts.limit ?? null },
    scale,
    models: r.infos,
    prompt: { version: PROMPT_VERSION, sha256: promptHash(scale), user_override: opts.prompt ?? null },
    seed: opts.seed ?? 42,
    batch: r.batched.size > 0,
    cost_estimate_usd: r.estimate,
    max_cost_usd: opts.maxCost ?? null,
    versions: packageVersions(),
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
