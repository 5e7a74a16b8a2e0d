/**
 * Writing a run folder, the one writer: run.json and metrics.json written atomically, predictions.jsonl
 * appended as items finish, complete lines only (a crash loses at most the lines being written, which the
 * reader tolerates and a resume asks again).
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
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

/**
 * Appends records to predictions.jsonl in order through one open file: the lines that arrive while a
 * write is under way go out together in the next one (one write per burst of answers, not an open,
 * write and close per answer). Each `append` resolves once its line is written. Any JSONL log of answers
 * (`R`: compare's predictions, the pairwise answers).
 */
export class PredictionLog<R = PredictionRecord> {
  private queue: string[] = [];
  private waiting: (() => void)[] = [];
  private writing: Promise<void> | null = null;
  private failed: Error | null = null;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(runDir: string): Promise<PredictionLog> {
    return PredictionLog.openFile<PredictionRecord>(path.join(runDir, RUN_FILES.predictions));
  }

  /** A log at `file`, with a partial last line a crash may have left dropped, so the next append starts on a fresh line. */
  static async openFile<R>(file: string): Promise<PredictionLog<R>> {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    if (text && !text.endsWith("\n")) await fs.writeFile(file, text.slice(0, text.lastIndexOf("\n") + 1));
    return new PredictionLog<R>(file, await fs.open(file, "a"));
  }

  append(r: R): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.queue.push(JSON.stringify(r) + "\n");
    const done = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.writing ??= this.drain();
    return done.then(() => {
      if (this.failed) throw this.failed;
    });
  }

  /** Every line appended so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failed) throw this.failed;
  }

  /** Flush, then close the file. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close().catch(() => {});
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const lines = this.queue.join("");
      const waiting = this.waiting;
      this.queue = [];
      this.waiting = [];
      try {
        if (!this.failed) await this.handle.appendFile(lines);
      } catch (e) {
        this.failed = e as Error;
      }
      for (const resolve of waiting) resolve();
    }
    this.writing = null;
  }
}
