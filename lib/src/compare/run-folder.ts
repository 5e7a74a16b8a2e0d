/**
 * A run folder on disk: run.json written atomically, predictions.jsonl appended one finished item at a
 * time (so a crash loses at most the line being written, which reading tolerates).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeJson } from "../core/atomic-output";
import { RUN_FILES, type PredictionRecord, type RunInfo } from "./types";

/** A sortable, filesystem-safe run id: 2026-11-25T15-45-12-345Z. */
export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, "-");
}

export async function writeRunInfo(runDir: string, run: RunInfo): Promise<void> {
  await writeJson(path.join(runDir, RUN_FILES.run), run);
}

export async function readRunInfo(runDir: string): Promise<RunInfo> {
  const file = path.join(runDir, RUN_FILES.run);
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as RunInfo;
  } catch (e) {
    throw new Error(`${file}: cannot read the run (${(e as Error).message})`);
  }
}

/**
 * Every complete line; a last line cut off by a crash is ignored (its item is asked again). Any other
 * unreadable line means a damaged run folder and is an error naming the line.
 */
export async function readPredictions(runDir: string): Promise<PredictionRecord[]> {
  const file = path.join(runDir, RUN_FILES.predictions);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return [];
  }
  const out: PredictionRecord[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: Partial<PredictionRecord>;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      if (lines.slice(i + 1).every((l) => !l.trim())) return;
      throw new Error(`${file} line ${i + 1} is not valid JSON (${(e as Error).message}); the run folder is damaged — re-run the comparison`);
    }
    if (typeof rec.model !== "string" || typeof rec.image !== "string" || typeof rec.expected !== "number") {
      throw new Error(`${file} line ${i + 1} is not a prediction record (needs model, image and expected)`);
    }
    out.push(rec as PredictionRecord);
  });
  return out;
}

/** Appends records in order, one write at a time, each line complete before the next starts. */
export class PredictionLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}

  static async open(runDir: string): Promise<PredictionLog> {
    const file = path.join(runDir, RUN_FILES.predictions);
    // Drop a partial last line a crash may have left, so the next append starts on a fresh line.
    const text = await fs.readFile(file, "utf8").catch(() => "");
    if (text && !text.endsWith("\n")) await fs.writeFile(file, text.slice(0, text.lastIndexOf("\n") + 1));
    return new PredictionLog(file);
  }

  append(r: PredictionRecord): Promise<void> {
    this.chain = this.chain.then(() => fs.appendFile(this.file, JSON.stringify(r) + "\n"));
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }
}

export const itemKey = (model: string, image: string) => `${model}\u0000${image}`;
