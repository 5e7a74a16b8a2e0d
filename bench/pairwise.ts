/**
 * Pairwise scale (issue #13, item 7): `npx streetsafe pairwise fit` on 10,000 images with 10,000 and
 * 100,000 votes, one rating model at a time, in a fresh CLI process each (so each peak RSS is the
 * command's own). Targets: each model fits 100,000 votes in seconds, and peak memory stays flat in the
 * number of votes (100k-vote RSS ≤ 1.25 × the 10k-vote RSS of the same model).
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { simulateVotes } from "../lib/src/pairwise/simulate";
import type { BenchRow } from "./cases";

const IMAGES = 10_000;
const SIZES = [10_000, 100_000];
const MODELS = ["bt", "trueskill", "qscore"] as const;
const TIME_TARGET_S = 30;
const RSS_GROWTH_TARGET = 1.25;

interface CliRun {
  seconds: number;
  maxRssMB: number;
  code: number;
}

/** The CLI's own entry point in a fresh Node process; reports its peak RSS when the command is done. */
function cliChild(args: string[]): Promise<CliRun> {
  const main = path.resolve(__dirname, "..", "lib", "dist", "cli", "main.js");
  const code = `const { main } = require(${JSON.stringify(main)});
main(${JSON.stringify(args)}).then(() => process.stderr.write("BENCH " + JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, code: process.exitCode ?? 0 }) + "\\n"));`;
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, ["-e", code], { cwd: path.resolve(__dirname, ".."), stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.once("exit", () => {
      const line = err.split("\n").find((l) => l.startsWith("BENCH "));
      if (!line) return reject(new Error(`pairwise CLI child failed:\n${err}`));
      const r = JSON.parse(line.slice(6)) as { maxRssMB: number; code: number };
      if (r.code !== 0) return reject(new Error(`pairwise CLI exited ${r.code}:\n${err}`));
      resolve({ seconds: (performance.now() - t) / 1000, maxRssMB: r.maxRssMB, code: r.code });
    });
  });
}

async function writeVotes(file: string, names: string[], votes: number): Promise<void> {
  const latent = names.map((_, i) => 1.5 * Math.sin(i * 12.9898) + 0.5 * Math.cos(i * 78.233));
  const v = simulateVotes(names, latent, { comparisonsPerImage: Math.round((2 * votes) / names.length), equalBand: 0.1, seed: 1 });
  const word = ["left", "right", "equal"];
  const lines = ["left,right,winner,question"];
  for (let k = 0; k < v.count; k++) lines.push(`${v.images[v.left[k]!]},${v.images[v.right[k]!]},${word[v.outcome[k]!]},safer`);
  await fs.writeFile(file, lines.join("\n") + "\n");
}

export async function benchPairwise(o: { work: string }): Promise<BenchRow[]> {
  const dir = path.join(o.work, "pairwise");
  const images = path.join(dir, "images");
  await fs.mkdir(images, { recursive: true });
  // The fit looks every image up but never decodes it: empty files with image names suffice.
  const names = Array.from({ length: IMAGES }, (_, i) => `img_${String(i).padStart(5, "0")}.jpg`);
  await Promise.all(names.map((n) => fs.writeFile(path.join(images, n), "")));
  const files: Record<number, string> = {};
  for (const n of SIZES) {
    files[n] = path.join(dir, `votes_${n}.csv`);
    await writeVotes(files[n]!, names, n);
  }
  const loaded = await cliChild(["pairwise", "fit", "--help"]).catch(() => null);
  const runs: Record<string, CliRun> = {};
  for (const n of SIZES) {
    for (const m of MODELS) {
      runs[`${m}_${n}`] = await cliChild(["pairwise", "fit", "--votes", files[n]!, "--images", images, "--question", "safer", "--model", m, "--output-dir", path.join(dir, "out")]);
    }
  }
  const [small, large] = SIZES as [number, number];
  const rows: BenchRow[] = [];
  for (const m of MODELS) {
    const a = runs[`${m}_${small}`]!;
    const b = runs[`${m}_${large}`]!;
    const growth = b.maxRssMB / a.maxRssMB;
    const what = m === "bt" ? "Bradley–Terry with standard errors" : m === "trueskill" ? "TrueSkill" : "Q-score with a 1000-resample bootstrap";
    rows.push({
      id: `pairwise_fit_${m}`,
      task: `\`pairwise fit --model ${m}\` (${what}), ${IMAGES.toLocaleString("en")} images: read, check, fit, write (CLI process${loaded ? `; library loaded alone ${loaded.maxRssMB.toFixed(0)} MB` : ""})`,
      measured: `${small.toLocaleString("en")} votes ${a.seconds.toFixed(1)} s, ${a.maxRssMB.toFixed(0)} MB; ${large.toLocaleString("en")} votes ${b.seconds.toFixed(1)} s, ${b.maxRssMB.toFixed(0)} MB (RSS ×${growth.toFixed(2)})`,
      target: `≤ ${TIME_TARGET_S} s at ${large.toLocaleString("en")} votes; RSS ≤ ${RSS_GROWTH_TARGET}× from ${small.toLocaleString("en")} to ${large.toLocaleString("en")} votes`,
      ok: b.seconds <= TIME_TARGET_S && growth <= RSS_GROWTH_TARGET,
      values: { images: IMAGES, [`seconds_${small}`]: a.seconds, [`seconds_${large}`]: b.seconds, [`rss_mb_${small}`]: a.maxRssMB, [`rss_mb_${large}`]: b.maxRssMB, rss_growth: growth, baseline_rss_mb: loaded?.maxRssMB ?? null },
    });
  }
  return rows;
}
