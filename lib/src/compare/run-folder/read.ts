/**
 * Reading a run folder back, the one reader: run.json and metrics.json checked against schema.ts,
 * predictions.jsonl line by line. A model and image may have more than one line (a resumed run retrying
 * a failure): the last line wins, everywhere that reads a run.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { PredictionLineSchema, RUN_FILES, RunInfoSchema, RunMetricsSchema, type PredictionRecord, type RunInfo, type RunMetrics } from "./schema";

/** Everything a run folder holds that the reports are made from. */
export interface RunData {
  run: RunInfo;
  metrics: RunMetrics;
  records: PredictionRecord[];
}

/** The key of one model's answer for one image, in maps over records. */
export const itemKey = (model: string, image: string) => `${model}\u0000${image}`;

/**
 * Every complete line; a last line cut off by a crash is ignored (its item is asked again). Any other
 * unreadable line means a damaged run folder and is an error naming the line.
 */
export async function readPredictions(runDir: string): Promise<PredictionRecord[]> {
  const file = path.join(runDir, RUN_FILES.predictions);
  return readJsonLines(file, (rec) => (PredictionLineSchema.safeParse(rec).success ? (rec as PredictionRecord) : "is not a prediction record (needs model, image and expected)"), "re-run the comparison");
}

/**
 * Every complete line of a JSONL log of answers (none when the file is missing): `check` returns the
 * record or why it is not one. A last line cut off by a crash is ignored (its item is asked again); any
 * other unreadable line means a damaged run folder and is an error naming the line and `fix`.
 */
export async function readJsonLines<T>(file: string, check: (rec: unknown) => T | string, fix: string): Promise<T[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return [];
  }
  const out: T[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      if (lines.slice(i + 1).every((l) => !l.trim())) return;
      throw new Error(`${file} line ${i + 1} is not valid JSON (${(e as Error).message}); the run folder is damaged — ${fix}`);
    }
    const r = check(rec);
    if (typeof r === "string") throw new Error(`${file} line ${i + 1} ${r}`);
    out.push(r);
  });
  return out;
}

/** Each (model, image)'s last record: the one that counts when a resumed run retried an item. */
export function latestRecords(records: readonly PredictionRecord[]): PredictionRecord[] {
  const byKey = new Map<string, PredictionRecord>();
  for (const r of records) {
    const key = `${r.model}\u0000${r.image}`;
    byKey.delete(key); // re-insert so the order follows the last occurrence
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

export function isValidPrediction(r: PredictionRecord): r is PredictionRecord & { predicted: number } {
  return typeof r.predicted === "number" && Number.isFinite(r.predicted) && Number.isFinite(r.expected);
}

/** One model's valid records (deduplicated), and how many images it was asked about. */
export function modelRecords(records: readonly PredictionRecord[], model: string): { all: PredictionRecord[]; valid: (PredictionRecord & { predicted: number })[] } {
  const all = latestRecords(records).filter((r) => r.model === model);
  return { all, valid: all.filter(isValidPrediction) };
}

/** Models in the order they first appear in the records. */
export function recordModels(records: readonly PredictionRecord[]): string[] {
  return [...new Set(records.map((r) => r.model))];
}

async function listing(dir: string): Promise<string> {
  const entries = await fs.readdir(dir).catch(() => null);
  if (entries === null) return "(the folder cannot be read)";
  return entries.length === 0 ? "(the folder is empty)" : `(it holds: ${entries.sort().join(", ")})`;
}

async function readRunFile(runDir: string, file: string): Promise<string> {
  const p = path.join(runDir, file);
  try {
    return await fs.readFile(p, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") {
      const st = await fs.stat(runDir).catch(() => null);
      if (!st) throw new Error(`run folder ${runDir} does not exist`);
      if (!st.isDirectory()) throw new Error(`${runDir} is not a folder`);
      throw new Error(`${p} is missing ${await listing(runDir)}: is ${runDir} a finished comparison run? Run \`npx streetsafe compare\` (or \`--resume\` it) to make one.`);
    }
    throw new Error(`cannot read ${p}: ${err.message}`);
  }
}

function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); the run folder is damaged — re-run or resume the comparison.`);
  }
}

/** The value as the schema reads it; an error naming every field that is missing or of the wrong type. */
function checked<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, file: string): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${file} must hold a JSON object`);
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields = new Map<string, string>();
  for (const i of r.error.issues) {
    const at = i.path.join(".") || "(top level)";
    const wanted = i.code === "invalid_type" ? i.expected : i.code === "invalid_enum_value" ? i.options.join(" | ") : i.code === "invalid_literal" ? JSON.stringify(i.expected) : i.message;
    if (!fields.has(at)) fields.set(at, wanted);
  }
  throw new Error(`${file} lacks or has the wrong type for: ${[...fields].map(([k, t]) => `${k} (${t})`).join(", ")}`);
}

/** A run folder's run.json, checked against the schema (errors name the file and each bad field). */
export async function readRunInfo(runDir: string): Promise<RunInfo> {
  const file = path.join(runDir, RUN_FILES.run);
  return checked(RunInfoSchema, parseJsonFile(await readRunFile(runDir, RUN_FILES.run), file), file);
}

/** A run folder's metrics.json, checked; the run-level additions an older or partial file lacks read as empty. */
export async function readRunMetrics(runDir: string): Promise<RunMetrics> {
  const file = path.join(runDir, RUN_FILES.metrics);
  return checked(RunMetricsSchema, parseJsonFile(await readRunFile(runDir, RUN_FILES.metrics), file), file);
}

/** Read a run folder's run.json, metrics.json and predictions.jsonl, with errors that name the file and line. */
export async function readRun(runDir: string): Promise<RunData> {
  const run = await readRunInfo(runDir);
  await readRunFile(runDir, RUN_FILES.predictions); // must exist, even if empty
  const metrics = await readRunMetrics(runDir);
  const records = await readPredictions(runDir);
  return { run, metrics, records };
}

/** The newest run folder under `resultsDir` (folder names are sortable timestamps) that holds run.json. */
export async function latestRun(resultsDir: string): Promise<string> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(resultsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`results folder ${resultsDir} does not exist: run \`npx streetsafe compare\` first, or pass --results-dir.`);
    throw e;
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort();
  for (let i = dirs.length - 1; i >= 0; i--) {
    const st = await fs.stat(path.join(resultsDir, dirs[i], RUN_FILES.run)).catch(() => null);
    if (st?.isFile()) return path.join(resultsDir, dirs[i]);
  }
  const what = entries.length === 0 ? "it is empty" : `it holds ${entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort().join(", ")}`;
  throw new Error(`no comparison run in ${resultsDir} (no folder with ${RUN_FILES.run}; ${what}): run \`npx streetsafe compare\` first, or pass --run.`);
}
