/**
 * Writing a run folder, the one writer: run.json and metrics.json written atomically, predictions.jsonl
 * appended one finished item at a time (so a crash loses at most the line being written, which the
 * reader tolerates).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeJson } from "../../core/atomic-output";
import { RUN_FILES, type PredictionRecord, type RunInfo, type RunMetrics } from "./schema";

/** A sortable, filesystem-safe run id: 2026-11-25T15-45-12-345Z. */
export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, "-");
}

export async function writeRunInfo(runDir: string, run: RunInfo): Promise<void> {
  await writeJson(path.join(runDir, RUN_FILES.run), run);
}

export async function writeRunMetrics(runDir: string, metrics: RunMetrics): Promise<void> {
  await writeJson(path.join(runDir, RUN_FILES.metrics), metrics);
}

/** Appends records in order, one write at a time, each line complete before the next starts (any JSONL log of answers). */
export class PredictionLog<R = PredictionRecord> {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}

  static async open(runDir: string): Promise<PredictionLog> {
    return PredictionLog.openFile<PredictionRecord>(path.join(runDir, RUN_FILES.predictions));
  }

  /** A log at `file`, with a partial last line a crash may have left dropped, so the next append starts on a fresh line. */
  static async openFile<R>(file: string): Promise<PredictionLog<R>> {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    if (text && !text.endsWith("\n")) await fs.writeFile(file, text.slice(0, text.lastIndexOf("\n") + 1));
    return new PredictionLog<R>(file);
  }

  append(r: R): Promise<void> {
    this.chain = this.chain.then(() => fs.appendFile(this.file, JSON.stringify(r) + "\n"));
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
