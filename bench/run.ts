/**
 * `npm run bench` — a benchmark, not a test: measures what issue 6 promises and prints a table with each
 * target beside its measurement (✓ met, ✗ missed), then writes `results/bench/<date>.json`.
 *
 *   npm run bench                                  # default cases (a few minutes on 2 cores)
 *   npm run bench -- --notebooks                   # also `npm start`'s notebook run (slow)
 *   npm run bench -- --qwen2vl-dir DIR [--qwen2vl-dtype q8] [--qwen2vl-images 5]   # a real Qwen2-VL export
 *   npm run bench -- --only compare,prepare        # a subset: compare, prepare, qwen2vl, pairwise, notebooks, jupyter
 *
 * Everything runs offline: a loopback OpenAI-compatible server in a child process stands in for the API,
 * images are generated (bench/images.ts), work files live in a temp folder removed at the end (--keep).
 */
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchCompare, benchJupyterSetup, benchNotebooks, benchPrepare, benchQwen, type BenchRow } from "./cases";
import { prepare } from "../lib/src/prepare/run";
import { generateImages, writeGroundTruth } from "./images";
import { benchPairwise } from "./pairwise";

const repo = path.resolve(__dirname, "..");

interface Flags {
  notebooks: boolean;
  only: string[] | null;
  qwen2vlDir?: string;
  qwen2vlDtype?: string;
  qwen2vlImages: number;
  out: string;
  keep: boolean;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = { notebooks: false, only: null, qwen2vlImages: 5, out: path.join(repo, "results", "bench"), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--notebooks") f.notebooks = true;
    else if (a === "--keep") f.keep = true;
    else if (a === "--only") f.only = value().split(",");
    else if (a === "--qwen2vl-dir") f.qwen2vlDir = path.resolve(value());
    else if (a === "--qwen2vl-dtype") f.qwen2vlDtype = value();
    else if (a === "--qwen2vl-images") f.qwen2vlImages = Number(value());
    else if (a === "--out") f.out = path.resolve(value());
    else throw new Error(`unknown flag ${a} (see bench/run.ts)`);
  }
  return f;
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function table(rows: BenchRow[]): string {
  const mark = (ok: boolean | null) => (ok === null ? "" : ok ? "✓" : "✗");
  const lines = ["| task | measured | target | |", "|---|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.task} | ${r.measured} | ${r.target} | ${mark(r.ok)} |`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const want = (name: string) => (flags.only ? flags.only.includes(name) : name === "notebooks" ? flags.notebooks : name !== "jupyter");
  const work = mkdtempSync(path.join(os.tmpdir(), "streetsafe-bench-"));
  const started = Date.now();
  const rows: BenchRow[] = [];
  const step = async (name: string, fn: () => Promise<BenchRow[]>) => {
    process.stderr.write(`bench: ${name} …\n`);
    const t = Date.now();
    const r = await fn();
    process.stderr.write(`bench: ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    rows.push(...r);
  };
  try {
    const m = machine();
    process.stderr.write(`bench: ${m.cpus} × ${m.cpu_model}, ${m.memory_gib} GiB, Node ${m.node}; work folder ${work}\n`);
    const imagesDir = path.join(work, "images");
    let names: string[] = [];
    if (want("prepare") || want("compare") || want("qwen2vl")) {
      const t = Date.now();
      names = await generateImages(imagesDir, 1000);
      process.stderr.write(`bench: generated ${names.length} images in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    // Compare first: the prepare cases write several hundred MB, whose write-back would slow the
    // file work of a comparison running right after them.
    if (want("compare")) {
      await step("compare", async () => {
        // The always-compared mean baseline learns from a train split: a small prepared data folder.
        const dataDir = path.join(work, "compare", "data");
        await prepare({ groundTruth: await writeGroundTruth(path.join(work, "compare", "train.csv"), names, 100), images: imagesDir, dataDir });
        return benchCompare({ work, imagesDir, names, dataDir, n: 400, latencyMs: 200, concurrency: 16, sequentialN: 40 });
      });
    }
    if (want("prepare")) await step("prepare", () => benchPrepare({ work, imagesDir, names, sizes: [250, 1000] }));
    if (want("qwen2vl")) {
      await step("qwen2vl (test-sized model)", () => benchQwen({ work, imagesDir, names, count: 20 }));
      if (flags.qwen2vlDir) {
        const dtype = flags.qwen2vlDtype as "fp32" | "q8" | "q4" | "fp16" | undefined;
        await step("qwen2vl (export)", () => benchQwen({ work, imagesDir, names, count: flags.qwen2vlImages, dir: flags.qwen2vlDir, dtype }));
      }
    }
    if (want("pairwise")) await step("pairwise (100,000 votes on 10,000 images)", () => benchPairwise({ work }));
    if (want("notebooks")) await step("notebooks (npm start)", () => benchNotebooks({ repo, work }));
    if (want("jupyter")) await step("jupyter (first setup)", () => benchJupyterSetup({ repo }));

    const now = new Date();
    const report = { date: now.toISOString(), total_s: (Date.now() - started) / 1000, machine: m, rows };
    await fs.mkdir(flags.out, { recursive: true });
    const file = path.join(flags.out, `${now.toISOString().slice(0, 10)}.json`);
    await fs.writeFile(file, JSON.stringify(report, null, 2) + "\n");
    console.log(`\nMachine: ${m.cpus} × ${m.cpu_model}, ${m.memory_gib} GiB, Node ${m.node}, ${m.os}\n`);
    console.log(table(rows));
    console.log(`\n${rows.filter((r) => r.ok === false).length ? "some targets missed (✗)" : "every target met"}; total ${report.total_s.toFixed(0)} s; written ${path.relative(repo, file)}`);
  } finally {
    if (!flags.keep) rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
