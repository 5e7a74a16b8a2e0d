/**
 * The benchmark cases of `npm run bench` (issue 6, item 1). Each returns table rows: what was measured,
 * the target beside it, and whether it was met (null where a row is a reference without a target).
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import sharp from "sharp";
import { runComparison, type CompareOptions } from "../lib/src/compare/run";
import { writeOpenAIJsonl } from "../lib/src/prepare/openai-jsonl";
import { checkImages, storedImageProvider } from "../lib/src/prepare/images";
import { DEFAULT_IMAGE_MAX_SIDE, DEFAULT_JPEG_QUALITY, prepareImage } from "../lib/src/core/image";
import { LocalQwen2VLModel, type LocalQwen2VLOptions } from "../lib/src/models/qwen2vl";
import { DEFAULT_SCALE } from "../lib/src/core/scale";
import type { GroundTruthItem } from "../lib/src/core/types";
import { buildTinyQwen2VL } from "../test/helpers/tiny-qwen2vl";
import { startServerProcess } from "../test/helpers/server-process";
import { writeGroundTruth } from "./images";

export interface BenchRow {
  id: string;
  task: string;
  measured: string;
  target: string;
  /** Met the target; null for a reference row without one. */
  ok: boolean | null;
  values: Record<string, number | string | boolean | null>;
}

const s = (x: number, digits = 1) => `${x.toFixed(digits)} s`;
const since = (t: number) => (performance.now() - t) / 1000;

// ---------------------------------------------------------------------------------------------------
// Compare: throughput against the bound, a sequential reference, and a cached re-run

export interface CompareBenchOptions {
  work: string;
  imagesDir: string;
  names: string[];
  /** A prepared data folder: the always-compared mean baseline learns from its train split. */
  dataDir: string;
  n: number;
  latencyMs: number;
  concurrency: number;
  /** Items for the sequential reference (scaled to n). */
  sequentialN: number;
}

export async function benchCompare(o: CompareBenchOptions): Promise<BenchRow[]> {
  const key = "sk-bench-0123456789abcdef";
  const dir = path.join(o.work, "compare");
  const testSet = await writeGroundTruth(path.join(dir, "test.csv"), o.names, o.n);
  const configPath = path.join(dir, "models", "models.json");
  await fs.mkdir(path.dirname(configPath), { recursive: true });
  await fs.writeFile(configPath, JSON.stringify({ models: { api: { type: "openai-chat", model: "gpt-4o-mini" }, mean: { type: "mean" } } }));
  // The server in its own process, as a remote API would be: it does not share this event loop.
  const server = await startServerProcess({ apiKey: key, latencyMs: o.latencyMs });
  try {
    const base: CompareOptions = {
      configPath,
      dataDir: o.dataDir,
      testSet,
      images: o.imagesDir,
      models: ["api"],
      outputDir: path.join(dir, "runs"),
      cacheDir: path.join(dir, "cache"),
      env: { OPENAI_API_KEY: key, OPENAI_BASE_URL: server.url },
      log: () => {},
    };
    const timed = async (opts: CompareOptions) => {
      const before = (await server.stats()).chat;
      let lastAnswer = 0;
      const t = performance.now();
      const r = await runComparison({ ...opts, onProgress: (p) => { if (p.done === p.total) lastAnswer = since(t); } });
      const wall = since(t);
      if (!r.complete || r.records.some((x) => x.predicted === null)) throw new Error(`the benchmark comparison did not complete cleanly (${r.stopReason ?? "failures"})`);
      return { wall, asking: lastAnswer, requests: (await server.stats()).chat - before };
    };

    const run = await timed({ ...base, concurrency: o.concurrency });
    const bound = (o.n * o.latencyMs) / 1000 / o.concurrency; // max(N·latency/concurrency, N/rate-limit); no rate limit here
    const ratio = run.wall / bound;
    const cached = await timed({ ...base, concurrency: o.concurrency });
    const seq = await timed({ ...base, cacheDir: null, concurrency: 1, limit: o.sequentialN });
    const seqBound = (o.sequentialN * o.latencyMs) / 1000;
    return [
      {
        id: "compare_throughput",
        task: `compare, N = ${o.n}, ${o.latencyMs} ms latency, concurrency ${o.concurrency}`,
        measured: `${s(run.wall)} = requests ${s(run.asking)} (×${(run.asking / bound).toFixed(2)}) + statistics ${s(run.wall - run.asking)}; bound ${s(bound)}; ×${ratio.toFixed(2)}`,
        target: "≤ 1.15 × bound",
        ok: ratio <= 1.15,
        values: { n: o.n, latency_ms: o.latencyMs, concurrency: o.concurrency, rate_limit: "none", wall_s: run.wall, last_answer_s: run.asking, statistics_s: run.wall - run.asking, bound_s: bound, ratio, requests_ratio: run.asking / bound, requests: run.requests },
      },
      {
        id: "compare_sequential",
        task: `compare, sequential reference (N = ${o.sequentialN}, concurrency 1)`,
        measured: `${s(seq.wall)} (bound ${s(seqBound)}; ×${(seq.wall / seqBound).toFixed(2)}) → ${s((seq.wall * o.n) / o.sequentialN, 0)} for N = ${o.n}`,
        target: "reference",
        ok: null,
        values: { n: o.sequentialN, wall_s: seq.wall, bound_s: seqBound, ratio: seq.wall / seqBound, scaled_wall_s: (seq.wall * o.n) / o.sequentialN },
      },
      {
        id: "compare_cached",
        task: `compare re-run, answers cached (N = ${o.n})`,
        measured: `${cached.requests} requests, ${s(cached.wall)}`,
        target: "0 requests, ≤ 3 s",
        ok: cached.requests === 0 && cached.wall <= 3,
        values: { requests: cached.requests, wall_s: cached.wall },
      },
    ];
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Prepare: images/s against a bare sharp loop, and peak RSS by N in a child process

interface ChildResult {
  seconds: number;
  maxRssMB: number;
  images?: number;
  withImagesMB?: number;
  withImagesExamples?: number;
  check_images_s?: number;
  openai_jsonl_s?: number;
  qwen_checks_commit_s?: number;
}

function prepareChild(args: Record<string, unknown>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "prepare-child.ts"), JSON.stringify(args)], {
      cwd: path.resolve(__dirname, ".."),
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!) as ChildResult) : reject(new Error(`prepare child exited ${code}`))));
  });
}

/** The decode → resize → encode prepare does per image, and nothing else, at prepare's concurrency (4). */
async function bareSharpLoop(files: string[]): Promise<number> {
  const limit = pLimit(4);
  const t = performance.now();
  await Promise.all(
    files.map((f) =>
      limit(() =>
        sharp(f)
          .rotate()
          .resize({ width: DEFAULT_IMAGE_MAX_SIDE, height: DEFAULT_IMAGE_MAX_SIDE, fit: "inside", withoutEnlargement: true })
          .flatten({ background: "#ffffff" })
          .jpeg({ quality: DEFAULT_JPEG_QUALITY })
          .toBuffer(),
      ),
    ),
  );
  return since(t);
}

/** The writer path alone: every image checked and prepared (stored as JPEG), then one with-images JSONL of all of them. */
async function writerPath(dir: string, imagesDir: string, names: string[]): Promise<{ seconds: number; mb: number }> {
  const items: GroundTruthItem[] = names.map((image, i) => ({ image, score: 1 + ((i * 7) % 10), reasons: ["synthetic"], source: { file: "bench.csv", row: i + 2, column: "image" } }));
  const file = path.join(dir, "all_with_images.jsonl");
  const t = performance.now();
  const checked = await checkImages(items, imagesDir, { storeDir: path.join(dir, "prepared") });
  if (checked.problems.length) throw new Error(`bench images failed the check: ${checked.problems[0]!.message}`);
  const { bytes } = await writeOpenAIJsonl(file, items, storedImageProvider(checked.records), { withImages: true, scale: DEFAULT_SCALE });
  return { seconds: since(t), mb: bytes / 1e6 };
}

export async function benchPrepare(o: { work: string; imagesDir: string; names: string[]; sizes: number[] }): Promise<BenchRow[]> {
  const dir = path.join(o.work, "prepare");
  const nMax = Math.max(...o.sizes);
  const files = o.names.slice(0, nMax);
  // Alternate the two, twice, and keep each one's best: this machine's speed drifts by ±20% over a minute.
  const bareRuns: number[] = [];
  const writerRuns: { seconds: number; mb: number }[] = [];
  for (let i = 0; i < 2; i++) {
    bareRuns.push(await bareSharpLoop(files.map((n) => path.join(o.imagesDir, n))));
    writerRuns.push(await writerPath(path.join(dir, `writer_${i}`), o.imagesDir, files));
  }
  const bare = Math.min(...bareRuns);
  const writer = writerRuns.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const baseline = await prepareChild({ baseline: true });
  const runs: Record<number, ChildResult> = {};
  for (const n of o.sizes) {
    const gt = await writeGroundTruth(path.join(dir, `gt_${n}.csv`), o.names, n);
    runs[n] = await prepareChild({ groundTruth: gt, images: o.imagesDir, dataDir: path.join(dir, `data_${n}`) });
  }
  const big = runs[nMax]!;
  const barePerS = nMax / bare;
  const writerPerS = nMax / writer.seconds;
  const ratio = writerPerS / barePerS;
  const [small, large] = [runs[Math.min(...o.sizes)]!, big];
  const growth = large.maxRssMB / small.maxRssMB;
  const rows: BenchRow[] = [
    {
      id: "prepare_writer_throughput",
      task: `${nMax} images 400×400 → checked, prepared, one with-images JSONL (${writer.mb.toFixed(0)} MB)`,
      measured: `${s(writer.seconds)}: ${writerPerS.toFixed(0)} images/s vs bare sharp decode–resize–encode ${barePerS.toFixed(0)} images/s (${s(bare)}); ×${ratio.toFixed(2)}`,
      target: "≥ 0.8 × bare sharp",
      ok: ratio >= 0.8,
      values: { n: nMax, writer_s: writer.seconds, writer_images_per_s: writerPerS, bare_s: bare, bare_images_per_s: barePerS, ratio, jsonl_mb: writer.mb, bare_runs_s: bareRuns.join(" "), writer_runs_s: writerRuns.map((w) => w.seconds).join(" ") },
    },
    {
      id: "prepare_full",
      task: `\`prepare\`, ${nMax} images: splits, 4 OpenAI JSONL (with images ${big.withImagesMB!.toFixed(0)} MB), Qwen data, format checks`,
      measured: `${s(big.seconds)} = images ${s(big.check_images_s!)} + JSONL ${s(big.openai_jsonl_s!)} + Qwen data, checks, commit ${s(big.qwen_checks_commit_s!)}; ${(nMax / big.seconds).toFixed(0)} images/s (×${(nMax / big.seconds / barePerS).toFixed(2)} bare)`,
      target: "reference",
      ok: null,
      values: { n: nMax, seconds: big.seconds, images_per_s: nMax / big.seconds, ratio_to_bare: nMax / big.seconds / barePerS, check_images_s: big.check_images_s!, openai_jsonl_s: big.openai_jsonl_s!, qwen_checks_commit_s: big.qwen_checks_commit_s!, with_images_mb: big.withImagesMB ?? null },
    },
    {
      id: "prepare_rss",
      task: `\`prepare\`, peak RSS (child process; library loaded alone: ${baseline.maxRssMB.toFixed(0)} MB)`,
      measured: o.sizes.map((n) => `N = ${n}: ${runs[n]!.maxRssMB.toFixed(0)} MB`).join(", ") + ` (×${growth.toFixed(2)})`,
      target: "< 400 MB, not growing with N (≤ 1.2×)",
      ok: large.maxRssMB < 400 && growth <= 1.2,
      values: { baseline_mb: baseline.maxRssMB, ...Object.fromEntries(o.sizes.map((n) => [`rss_mb_${n}`, runs[n]!.maxRssMB])), growth },
    },
  ];
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Local Qwen2-VL: seconds per image

export async function benchQwen(o: {
  work: string;
  imagesDir: string;
  names: string[];
  count: number;
  /** A real export to measure instead of the test-sized model. */
  dir?: string;
  dtype?: LocalQwen2VLOptions["dtype"];
}): Promise<BenchRow[]> {
  const tiny = !o.dir;
  const dir = o.dir ?? path.join(o.work, "tiny-qwen2vl");
  if (tiny) await buildTinyQwen2VL(dir);
  let t = performance.now();
  const model = await LocalQwen2VLModel.load({ dir, scale: DEFAULT_SCALE, ...(o.dtype ? { dtype: o.dtype } : {}) });
  const load = since(t);
  try {
    const images = await Promise.all(o.names.slice(0, o.count).map((n) => prepareImage(path.join(o.imagesDir, n))));
    await model.predict(images[0]!); // warm-up (first-run graph optimisation)
    const per: number[] = [];
    let failed = 0;
    for (const img of images) {
      t = performance.now();
      const p = await model.predict(img);
      per.push(since(t));
      if (p.score === null) failed++;
    }
    const mean = per.reduce((a, b) => a + b, 0) / per.length;
    const sorted = [...per].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return [
      {
        id: tiny ? "qwen2vl_tiny" : "qwen2vl_export",
        task: tiny ? `local Qwen2-VL, test-sized model (pipeline overhead), ${per.length} images` : `local Qwen2-VL export ${path.basename(dir)}${o.dtype ? ` (${JSON.stringify(o.dtype)})` : ""}, ${per.length} images`,
        measured: `${mean.toFixed(3)} s/image (median ${median.toFixed(3)}); load ${s(load)}${failed ? `; ${failed} without a score` : ""}`,
        target: tiny ? "overhead only" : "reference",
        ok: null,
        values: { images: per.length, mean_s: mean, median_s: median, load_s: load, failed, dir: tiny ? "tiny (test/helpers/tiny-qwen2vl.ts)" : dir },
      },
    ];
  } finally {
    await model.dispose?.();
  }
}

// ---------------------------------------------------------------------------------------------------
// npm start: the notebooks end to end on the demo data

export async function benchNotebooks(o: { repo: string; work: string }): Promise<BenchRow[]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // A fresh data folder (the demo is generated, as on a fresh clone) and no API keys: the offline path,
    // and never a paid request from a benchmark.
    STREETSAFE_DATA_DIR: path.join(o.work, "notebooks", "data"),
    STREETSAFE_RESULTS_DIR: path.join(o.work, "notebooks", "results", "model_comparison"),
  };
  for (const k of Object.keys(env)) if (/^(OPENAI_|AZURE_OPENAI_)/.test(k)) delete env[k];
  const t = performance.now();
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(o.repo, "lib", "bin", "streetsafe.js"), "notebooks"], { cwd: o.repo, env });
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c.toString()));
    child.stderr.on("data", (c: Buffer) => (text += c.toString()));
    child.once("exit", (c) => resolve({ code: c, out: text }));
  });
  const wall = since(t);
  if (code !== 0) throw new Error(`streetsafe notebooks failed (exit ${code}):\n${out.slice(-3000)}`);
  const per = [...out.matchAll(/executing notebooks\/(\S+) …\s+done in ([\d.]+)s/g)].map((m) => `${m[1]!.replace(/\.ipynb$/, "").slice(0, 2)}: ${Number(m[2]).toFixed(0)} s`);
  return [
    {
      id: "npm_start",
      task: "`npm start` on the demo data: every notebook headless (`streetsafe notebooks`, fresh data folder)",
      measured: `${s(wall, 0)} (${per.join(", ")})`,
      target: "≤ 180 s on 2 cores",
      ok: wall <= 180,
      values: { wall_s: wall, notebooks: per.join(", ") },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// The first run's Jupyter setup (.venv/: venv, pinned requirements by its pip, tslab kernelspec, smoke test)

export async function benchJupyterSetup(o: { repo: string }): Promise<BenchRow[]> {
  // A scratch project inside the repository (the venv's tslab must be this repository's), built from nothing.
  await fs.mkdir(path.join(o.repo, ".cache"), { recursive: true });
  const project = await fs.mkdtemp(path.join(o.repo, ".cache", "bench-jupyter-"));
  try {
    await fs.mkdir(path.join(project, "python"));
    await fs.copyFile(path.join(o.repo, "python", "requirements-jupyter.txt"), path.join(project, "python", "requirements-jupyter.txt"));
    await fs.symlink(path.join(o.repo, "node_modules"), path.join(project, "node_modules"), "dir");
    // The setup in its own process, as `npm start` runs it (ensureJupyter is what the CLI calls first).
    const script = `const j = require(${JSON.stringify(path.join(o.repo, "lib", "src", "jupyter", "ensure.ts"))}).ensureJupyter(${JSON.stringify(project)}, { log: () => {} });
const s = JSON.parse(require("node:fs").readFileSync(${JSON.stringify(path.join(project, ".venv", ".streetsafe-jupyter.json"))}, "utf8"));
console.log(JSON.stringify({ installed: j.installed, installSeconds: s.installSeconds, smoke: Number(s.extra.smokeSeconds), packages: s.pipFreeze.length }));`;
    const t = performance.now();
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: o.repo });
      let text = "";
      child.stdout.on("data", (c: Buffer) => (text += c.toString()));
      child.stderr.on("data", (c: Buffer) => (text += c.toString()));
      child.once("exit", (c) => resolve({ code: c, out: text }));
    });
    const wall = since(t);
    if (code !== 0) throw new Error(`the Jupyter setup failed (exit ${code}):\n${out.slice(-3000)}`);
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as { installSeconds: number; smoke: number; packages: number };
    return [
      {
        id: "jupyter_setup",
        task: "first setup of the project's Jupyter (`.venv/`: venv, pip from the configured index, kernelspec, smoke test)",
        measured: `${s(wall, 0)} (setup ${r.installSeconds.toFixed(0)} s, of which the smoke test ${r.smoke.toFixed(0)} s; ${r.packages} packages)`,
        target: "once; ≤ 120 s on 2 cores",
        ok: wall <= 120,
        values: { wall_s: wall, setup_s: r.installSeconds, smoke_s: r.smoke, packages: r.packages },
      },
    ];
  } finally {
    await fs.rm(project, { recursive: true, force: true });
  }
}
