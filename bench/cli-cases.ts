/**
 * `npm run bench` rows for the command a user runs (issue 11, items 5 and 6): `streetsafe compare` spawned
 * as a process against the loopback server in its own process, timed from the spawn to the exit; the
 * first request and the last answer come from the server's clock. Statistics, reports and charts are
 * inside the measured time.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findChromium } from "../lib/src/analyze";
import { startServerProcess, type ServerProcess } from "../test/helpers/server-process";
import type { BenchRow } from "./cases";
import { generateImages, writeGroundTruth } from "./images";

const repo = path.resolve(__dirname, "..");
const KEY = "sk-bench-cli-0123456789abcdef";
/** API model ids of the benchmark's models (priced in the table, so the run computes costs as a real one does). */
const MODEL_IDS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"];

export interface CliRun {
  wall_s: number;
  first_request_s: number;
  last_answer_s: number;
  after_last_answer_s: number;
  peak_rss_mb: number;
  cpu_s: number;
  requests: number;
}

export interface CliCompareOptions {
  work: string;
  imagesDir: string;
  /** A prepared data folder (the mean baseline learns from its train split). */
  dataDir: string;
  names: string[];
  n: number;
  /** API models (plus the mean baseline). */
  models: number;
  plots: boolean;
  concurrency: number;
  server: ServerProcess;
  label: string;
  /** Extra environment (STREETSAFE_TRACE=1 to see the phases). */
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Keep the run folder (for a look at it). */
  keep?: boolean;
}

/** One `streetsafe compare` process: N images, `models` API models (+ mean), plots or not. */
export async function cliCompare(o: CliCompareOptions): Promise<CliRun> {
  const root = path.join(o.work, "cli", o.label);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, "models"), { recursive: true });
  const testSet = await writeGroundTruth(path.join(root, "test.csv"), o.names, o.n);
  const cfg = path.join(root, "models", "models.json");
  const names = Array.from({ length: o.models }, (_, i) => `api${i + 1}`);
  writeFileSync(cfg, JSON.stringify({ models: { ...Object.fromEntries(names.map((m, i) => [m, { type: "openai-chat", model: MODEL_IDS[i % MODEL_IDS.length] }])), mean: { type: "mean" } } }));
  const rssFile = path.join(root, "rss.json");
  const before = (await o.server.stats()).requests.length;
  const args = [
    ...(o.nodeArgs ?? []),
    "--require", path.join(__dirname, "rss-at-exit.cjs"), path.join(repo, "lib", "bin", "streetsafe.js"), "compare",
    "--test-set", testSet, "--images", o.imagesDir, "--models", ...names, "--concurrency", String(o.concurrency),
    "--config", cfg, "--data-dir", o.dataDir, "--output-dir", path.join(root, "runs"), ...(o.plots ? [] : ["--no-plots"]),
  ];
  const env = { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: o.server.url, STREETSAFE_BENCH_RSS: rssFile, ...o.env };
  const t0 = Date.now();
  const { code, err } = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
    let e = "";
    c.stderr.on("data", (d: Buffer) => {
      e += d.toString();
      if (o.env?.["STREETSAFE_TRACE"]) process.stderr.write(d);
    });
    c.once("exit", (code) => resolve({ code, err: e }));
  });
  const end = Date.now();
  if (code !== 0) throw new Error(`streetsafe compare exited ${code}: ${err.slice(-2000)}`);
  const reqs = (await o.server.stats()).requests.slice(before);
  let first = Infinity;
  let last = 0;
  for (const q of reqs) {
    first = Math.min(first, q.receivedAt);
    last = Math.max(last, q.answeredAt ?? q.receivedAt);
  }
  const usage = JSON.parse(readFileSync(rssFile, "utf8")) as { maxRssKiB: number; cpuMs: number };
  if (!o.keep) rmSync(root, { recursive: true, force: true });
  return { wall_s: (end - t0) / 1000, first_request_s: (first - t0) / 1000, last_answer_s: (last - t0) / 1000, after_last_answer_s: (end - last) / 1000, peak_rss_mb: usage.maxRssKiB / 1024, cpu_s: usage.cpuMs / 1000, requests: reqs.length };
}

const s = (x: number) => `${x.toFixed(2)} s`;

/** The best (shortest) of `runs` runs. */
async function best(runs: number, one: (i: number) => Promise<CliRun>): Promise<CliRun> {
  let b: CliRun | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await one(i);
    if (!b || r.wall_s < b.wall_s) b = r;
  }
  return b!;
}

/**
 * The whole command against its bound (N = 400, 200 ms latency, concurrency 16), its first request, and
 * the charts of a 3-model run (the same compare with and without plots).
 */
export async function benchCli(o: { work: string; imagesDir: string; dataDir: string; names: string[]; runs?: number }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const server = await startServerProcess({ apiKey: KEY, latencyMs: 200 });
  const runs = o.runs ?? 2;
  try {
    const n = 400;
    const c = 16;
    const bound = (n * 0.2) / c;
    const run = (models: number, plots: boolean) => best(runs, (i) => cliCompare({ ...o, n, models, plots, concurrency: c, server, label: `n${n}-m${models}-${plots ? "plots" : "noplots"}-${i}` }));
    const plain = await run(1, false);
    rows.push({
      id: "compare_cli",
      task: `\`streetsafe compare\` as a process: N = ${n}, one API model, 200 ms latency, --concurrency ${c}, --no-plots (best of ${runs})`,
      measured: `${s(plain.wall_s)} = first request at ${s(plain.first_request_s)} + requests ${s(plain.last_answer_s - plain.first_request_s)} + after the last answer ${s(plain.after_last_answer_s)}; bound ${s(bound)}: ×${(plain.wall_s / bound).toFixed(2)}`,
      target: "≤ 1.15 × bound",
      ok: plain.wall_s <= 1.15 * bound,
      values: { ...plain, bound_s: bound, ratio: plain.wall_s / bound },
    });
    rows.push({
      id: "compare_cli_first_request",
      task: "the same process: its first request after the spawn",
      measured: s(plain.first_request_s),
      target: "≤ 0.5 s",
      ok: plain.first_request_s <= 0.5,
      values: { first_request_s: plain.first_request_s },
    });
    if (findChromium().path) {
      const three = await run(3, false);
      const threePlots = await run(3, true);
      const charts = threePlots.wall_s - three.wall_s;
      rows.push({
        id: "compare_cli_charts",
        task: `charts of a 3-model run (HTML pages + PNGs): the same compare with plots minus without (best of ${runs})`,
        measured: `${s(charts)} (${s(threePlots.wall_s)} vs ${s(three.wall_s)})`,
        target: "≤ 2 s",
        ok: charts <= 2,
        values: { charts_s: charts, with_plots_s: threePlots.wall_s, without_plots_s: three.wall_s },
      });
    }
  } finally {
    await server.close();
  }
  return rows;
}

/** Scale: N = 1,000 and 10,000 against a zero-latency server — wall time, peak RSS, and their growth. */
export async function benchScale(o: { work: string; imagesDir: string; dataDir: string; sizes: [number, number] }): Promise<BenchRow[]> {
  const names = await generateImages(o.imagesDir, o.sizes[1]);
  const server = await startServerProcess({ apiKey: KEY, latencyMs: 0 });
  try {
    const one = (n: number) => cliCompare({ ...o, names, n, models: 1, plots: false, concurrency: 16, server, label: `scale-${n}` });
    const a = await one(o.sizes[0]);
    const b = await one(o.sizes[1]);
    const wall = b.wall_s / a.wall_s;
    const rss = b.peak_rss_mb / a.peak_rss_mb;
    return [
      {
        id: "compare_scale",
        task: `\`streetsafe compare\` as a process, N = ${o.sizes[0].toLocaleString("en")} → ${o.sizes[1].toLocaleString("en")}, zero latency, one API model + mean, --no-plots`,
        measured: `wall ${s(a.wall_s)} → ${s(b.wall_s)} (×${wall.toFixed(1)}); peak RSS ${a.peak_rss_mb.toFixed(0)} → ${b.peak_rss_mb.toFixed(0)} MB (×${rss.toFixed(2)}); CPU ${s(a.cpu_s)} → ${s(b.cpu_s)}`,
        target: "wall ≤ 12×, RSS ≤ 2×",
        ok: wall <= 12 && rss <= 2,
        values: { [`wall_s_${o.sizes[0]}`]: a.wall_s, [`wall_s_${o.sizes[1]}`]: b.wall_s, wall_growth: wall, [`rss_mb_${o.sizes[0]}`]: a.peak_rss_mb, [`rss_mb_${o.sizes[1]}`]: b.peak_rss_mb, rss_growth: rss, [`cpu_s_${o.sizes[0]}`]: a.cpu_s, [`cpu_s_${o.sizes[1]}`]: b.cpu_s },
      },
    ];
  } finally {
    await server.close();
  }
}
