/**
 * Watching a fine-tuning job until it ends — something a researcher can leave running for hours:
 *
 * - each poll reads the job and the events that are new since the last one shown (events come newest
 *   first; paging stops at the last event shown), so no event is printed twice — also across runs: the
 *   last event shown is kept in the record, and `finetune watch JOB` continues after it;
 * - metrics events and checkpoints give progress (step/total, train and validation loss), printed as
 *   one line when it moves;
 * - transient errors (429, 5xx, timeouts, dropped connections) back off (poll interval doubling, capped)
 *   and give up with a clear message after `giveUpAfterMs` of nothing but errors; other errors (a bad
 *   key, an unknown job) stop at once;
 * - `succeeded` (with the model named), `failed` (with the provider's error) and `cancelled` end the
 *   watch; on success the result metrics CSV is saved beside the record;
 * - an abort (Ctrl-C) stops watching, never the job, and says how to resume;
 * - the record is rewritten atomically at every change of state.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { FineTuningJob, FineTuningJobEvent } from "openai/resources/fine-tuning/jobs/jobs";
import { writeFileAtomic } from "../../core/atomic-output";
import type { OpenAIClientHandle } from "../../openai/client";
import { abortableSleep, backoffDelay, describeApiError, isTransientApiError } from "../../openai/errors";
import { redact } from "../../openai/keys";
import { AZURE_VISION_SCREENING_NOTE } from "./capabilities";
import { FineTuneRecordKeeper, recordFromJob, TERMINAL_STATUSES, type FineTuneRecord } from "./record";
import {
  decodeResultFile,
  formatFineTuneProgress,
  mergeMetricPoints,
  metricsFromCheckpoint,
  metricsFromEvent,
  parseTrainingMetricsCsv,
  progressFromPoints,
  type TrainingMetricPoint,
} from "./training-metrics";

export const MONITOR_DEFAULTS = {
  pollIntervalMs: 30_000,
  /** Longest wait between two tries while the API keeps failing. */
  maxBackoffMs: 5 * 60_000,
  /** Give up after this long with nothing but errors (or a succeeded job that names no model). */
  giveUpAfterMs: 30 * 60_000,
  /** Per request (the SDK's retries are off while watching: the backoff here is the retry). */
  requestTimeoutMs: 60_000,
  /** Events per page. */
  eventPageSize: 100,
  /** Most event pages read in one poll (100 events each). */
  maxEventPages: 20,
} as const;

export type MonitorOutcome = "succeeded" | "failed" | "cancelled" | "interrupted" | "gave_up";

export interface MonitorOptions {
  pollIntervalMs?: number;
  maxBackoffMs?: number;
  giveUpAfterMs?: number;
  requestTimeoutMs?: number;
  /** Abort to stop watching (Ctrl-C in the CLI); the job keeps running. */
  signal?: AbortSignal;
  /** Where lines go; default console.log. */
  log?: (line: string) => void;
  /** Every new event once, oldest first (metrics events included). */
  onEvent?: (event: FineTuningJobEvent) => void;
  /** When progress moves: the latest values and every point seen in this watch. */
  onProgress?: (progress: NonNullable<FineTuneRecord["progress"]>, points: TrainingMetricPoint[]) => void;
  /** After every write of the record. */
  onRecord?: (record: FineTuneRecord) => void;
  /** Save the result metrics CSV on success (default true). */
  downloadResults?: boolean;
  /** The command that resumes watching, printed on interrupt and give-up. */
  resumeCommand?: string;
  /** What the record should say that the job object does not (set when the job is started from here). */
  known?: Partial<Pick<FineTuneRecord, "provider" | "with_images" | "training_path" | "validation_path" | "suffix" | "training_examples_sent" | "training_tokens_sent">>;
}

export interface MonitorResult {
  outcome: MonitorOutcome;
  jobId: string;
  /** The job as last seen (null when it could not be read at all). */
  job: FineTuningJob | null;
  record: FineTuneRecord | null;
  /** Training metrics seen while watching, merged with the result file's on success. */
  metrics: TrainingMetricPoint[];
  /** The saved metrics CSV (absolute path), on success. */
  metricsCsv: string | null;
  /** Events first shown by this watch, oldest first. */
  events: FineTuningJobEvent[];
  /** What happened, in a sentence or two (also logged). */
  message: string;
}

class Interrupted extends Error {}

/** Watch job `jobId` until it ends, is interrupted, or the API keeps failing (see the module comment). */
export async function monitorFineTuneJob(
  handle: OpenAIClientHandle,
  jobId: string,
  recordFile: string,
  opts: MonitorOptions = {},
): Promise<MonitorResult> {
  const keeper = await FineTuneRecordKeeper.open(recordFile, opts.onRecord);
  return new JobWatch(handle, jobId, recordFile, keeper, opts).run();
}

/** One watch of one job: the poll loop, and one method for each thing a poll does. */
class JobWatch {
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly giveUpAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly resume: string;
  private request: { maxRetries: number; timeout: number; signal?: AbortSignal };
  private lastEvent: FineTuneRecord["last_event"];
  private readonly shownIds = new Set<string>();
  private readonly shown: FineTuningJobEvent[] = [];
  private points: TrainingMetricPoint[] = [];
  private totalSteps: number | null;
  private progressLine = "";
  private job: FineTuningJob | null = null;
  private lastStatus: string | null;
  private troubleSince: number | null = null;
  private troubleCount = 0;
  private checkpointsSeen = -1;

  constructor(
    private readonly handle: OpenAIClientHandle,
    private readonly jobId: string,
    private readonly recordFile: string,
    private readonly keeper: FineTuneRecordKeeper,
    private readonly opts: MonitorOptions,
  ) {
    const d = MONITOR_DEFAULTS;
    this.pollIntervalMs = opts.pollIntervalMs ?? d.pollIntervalMs;
    this.maxBackoffMs = Math.max(this.pollIntervalMs, opts.maxBackoffMs ?? d.maxBackoffMs);
    this.giveUpAfterMs = opts.giveUpAfterMs ?? d.giveUpAfterMs;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? d.requestTimeoutMs;
    this.log = opts.log ?? ((l: string) => console.log(l));
    this.signal = opts.signal;
    this.resume = opts.resumeCommand ?? `npx streetsafe finetune watch ${jobId}`;
    this.request = { maxRetries: 0, timeout: this.requestTimeoutMs };
    const record = keeper.forJob(jobId);
    this.lastEvent = record?.last_event ?? null;
    this.totalSteps = record?.progress?.total_steps ?? null;
    this.lastStatus = record?.status ?? null;
  }

  async run(): Promise<MonitorResult> {
    this.log(`watching ${this.jobId} on ${this.handle.provider} (every ${fmtDuration(this.pollIntervalMs)}; Ctrl-C stops watching, not the job)`);
    const withImages = this.opts.known?.with_images ?? this.keeper.forJob(this.jobId)?.with_images;
    if (this.handle.provider === "azure" && withImages !== false) {
      this.log(`note: ${withImages ? "" : "if this job trains with images: "}${AZURE_VISION_SCREENING_NOTE}`);
    }
    try {
      for (;;) {
        if (this.signal?.aborted) throw new Interrupted();
        const unlink = this.linkPoll();
        let next: MonitorResult | number;
        try {
          next = await this.poll();
        } catch (err) {
          next = this.afterError(err);
        } finally {
          unlink();
        }
        if (typeof next !== "number") return next;
        if (!(await abortableSleep(next, this.signal))) throw new Interrupted();
      }
    } catch (err) {
      if (err instanceof Interrupted) return this.interrupted();
      throw err;
    }
  }

  /** One poll: the job, its new events and progress. The result when the job has ended, else the wait (ms) before the next poll. */
  private async poll(): Promise<MonitorResult | number> {
    const job = await this.guard(this.handle.client.fineTuning.jobs.retrieve(this.jobId, this.request));
    this.job = job;
    if (job.status !== this.lastStatus) {
      this.log(`status: ${this.lastStatus ? `${this.lastStatus} → ` : ""}${job.status}`);
      this.lastStatus = job.status;
    }
    for (const e of await this.newEvents()) {
      this.shownIds.add(e.id);
      this.shown.push(e);
      this.show(e);
      this.opts.onEvent?.(e);
      this.lastEvent = { id: e.id, created_at: e.created_at };
    }
    await this.save();
    if (job.status === "running" || job.status === "succeeded") await this.readCheckpoints();
    this.reportProgress();
    await this.save();
    if (!(job.status === "succeeded" && !job.fine_tuned_model)) {
      this.troubleSince = null;
      this.troubleCount = 0;
    }
    return this.outcome(job);
  }

  /** What the job's status means for the watch: an end (with its message), or the wait before the next poll. */
  private async outcome(job: FineTuningJob): Promise<MonitorResult | number> {
    if (job.status === "succeeded" && job.fine_tuned_model) return this.succeeded(job);
    if (job.status === "succeeded") {
      // Succeeded but no model named yet: never recorded as done; wait (bounded) for the name.
      if (this.trouble() === "give_up") {
        return this.result(
          "gave_up",
          `gave up: ${this.jobId} is reported succeeded but names no fine-tuned model after ${fmtDuration(this.giveUpAfterMs)}. The record keeps its last honest status. Try later: ${this.resume}`,
        );
      }
      this.log(`the job is reported succeeded but names no fine-tuned model yet; asking again in ${fmtDuration(this.pollIntervalMs)}`);
    } else if (job.status === "failed") {
      const e = job.error;
      const why = e?.message ? `${e.code ? `${e.code}: ` : ""}${e.message}${e.param ? ` (${e.param})` : ""}` : "the provider gave no reason";
      return this.result("failed", `failed: ${this.jobId}: ${redact(why, [this.handle.apiKey])}\nrecord: ${this.recordFile}`);
    } else if (job.status === "cancelled") {
      return this.result("cancelled", `cancelled: ${this.jobId} was cancelled; no model was made.\nrecord: ${this.recordFile}`);
    } else if (TERMINAL_STATUSES.includes(job.status)) {
      return this.result("failed", `ended with status ${job.status}`);
    }
    return this.pollIntervalMs;
  }

  private async succeeded(job: FineTuningJob): Promise<MonitorResult> {
    const csv = this.opts.downloadResults === false ? null : await this.downloadResults(job);
    await this.save();
    const lines = [
      `succeeded: ${job.fine_tuned_model}`,
      ...(job.trained_tokens ? [`trained tokens: ${job.trained_tokens}`] : []),
      ...this.examplesLine(),
      `record: ${this.recordFile}`,
      ...(csv ? [`metrics: ${csv}`] : []),
      this.handle.provider === "azure"
        ? "next: deploy the fine-tuned model in Azure AI Foundry (Azure serves fine-tuned models through a deployment), then `npx streetsafe predict --model gpt4o-mini-ft`"
        : "next: `npx streetsafe predict --model gpt4o-mini-ft` uses this model",
    ];
    return this.result("succeeded", lines.join("\n"), csv);
  }

  /** Examples sent beside what the job says it trained on (the record's counts), when they are known. */
  private examplesLine(): string[] {
    const r = this.keeper.forJob(this.jobId);
    if (!r || r.training_examples_sent === null) return [];
    const trained = r.training_examples_trained !== null ? `${r.training_examples_trained} reported trained` : "no trained count reported by the provider";
    const estimate = r.training_examples_estimate !== null ? `; ≈${r.training_examples_estimate} by trained tokens (estimate)` : "";
    return [`examples: ${r.training_examples_sent} sent, ${trained}${estimate}`];
  }

  /** A failed poll: stop on a permanent error, give up after giveUpAfterMs of errors, else back off. */
  private afterError(err: unknown): MonitorResult | number {
    if (err instanceof Interrupted || this.signal?.aborted) throw new Interrupted();
    if (!isTransientApiError(err)) {
      throw new Error(`watching ${this.jobId} (${this.handle.baseURL}): ${describeApiError(err, this.handle)}`, { cause: err });
    }
    const why = describeApiError(err, this.handle);
    if (this.trouble() === "give_up") {
      return this.result(
        "gave_up",
        `gave up watching ${this.jobId} after ${fmtDuration(Date.now() - this.troubleSince!)} of errors (last: ${why}). ` +
          `The job itself is not affected and may still be running. Resume with: ${this.resume}`,
      );
    }
    const wait = backoffDelay(this.troubleCount - 1, this.pollIntervalMs, this.maxBackoffMs);
    const left = this.giveUpAfterMs - (Date.now() - this.troubleSince!);
    this.log(`temporary problem (${why}); trying again in ${fmtDuration(wait)} (giving up after ${fmtDuration(Math.max(0, left))} more of errors)`);
    return wait;
  }

  private async interrupted(): Promise<MonitorResult> {
    await this.save().catch(() => {});
    const status = this.job ? ` (last status: ${this.job.status})` : "";
    return this.result("interrupted", `stopped watching ${this.jobId}${status}. The job keeps running on ${this.handle.provider}. Resume with: ${this.resume}`);
  }

  private result(outcome: MonitorOutcome, message: string, metricsCsv: string | null = null): MonitorResult {
    this.log(message);
    return { outcome, jobId: this.jobId, job: this.job, record: this.keeper.forJob(this.jobId), metrics: this.points, metricsCsv, events: this.shown, message };
  }

  /**
   * The SDK adds an abort listener to a request's signal and never removes it; on a watch of hours a
   * single signal would collect thousands. Each poll gets its own signal, linked to `signal` and unlinked after.
   */
  private linkPoll(): () => void {
    const signal = this.signal;
    if (!signal) return () => {};
    const poll = new AbortController();
    const forward = () => poll.abort();
    signal.addEventListener("abort", forward, { once: true });
    this.request = { maxRetries: 0, timeout: this.requestTimeoutMs, signal: poll.signal };
    return () => signal.removeEventListener("abort", forward);
  }

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (this.signal?.aborted) throw new Interrupted();
      throw e;
    }
  }

  /** Write what is known (the job, the last event shown, progress) to the record when it changed. */
  private async save(): Promise<void> {
    if (!this.job) return;
    const next = recordFromJob(this.job, this.keeper.forJob(this.jobId), this.opts.known ?? {});
    next.last_event = this.lastEvent;
    const progress = progressFromPoints(this.points, this.totalSteps);
    if (progress) next.progress = progress;
    await this.keeper.update(next);
  }

  /** New events since `lastEvent`, oldest first. */
  private async newEvents(): Promise<FineTuningJobEvent[]> {
    const d = MONITOR_DEFAULTS;
    const fresh: FineTuningJobEvent[] = [];
    let page = await this.guard(this.handle.client.fineTuning.jobs.listEvents(this.jobId, { limit: d.eventPageSize }, this.request));
    // Without a last event (a first watch) one page is enough: the newest 100 events.
    const maxPages = this.lastEvent ? d.maxEventPages : 1;
    for (let n = 1; ; n++) {
      for (const e of page.data) {
        if (this.lastEvent && (e.id === this.lastEvent.id || e.created_at < this.lastEvent.created_at)) return fresh.reverse();
        if (!this.shownIds.has(e.id)) fresh.push(e);
      }
      if (!page.hasNextPage()) break;
      if (n >= maxPages) {
        this.log(`(older events not shown: only the newest ${fresh.length} are listed)`);
        break;
      }
      page = await this.guard(page.getNextPage());
    }
    return fresh.reverse();
  }

  /** An event as one line; metrics events feed the progress line instead. */
  private show(e: FineTuningJobEvent): void {
    const m = metricsFromEvent(e);
    if (m) {
      this.points = mergeMetricPoints(this.points, [m.point]);
      if (m.totalSteps !== null) this.totalSteps = m.totalSteps;
      return;
    }
    const when = new Date(e.created_at * 1000).toISOString().replace("T", " ").slice(0, 19);
    const level = e.level && e.level !== "info" ? `${e.level.toUpperCase()} ` : "";
    this.log(`[${when}] ${level}${redact(e.message, [this.handle.apiKey])}`);
  }

  /** The checkpoints' metrics, when their number changed; progress without checkpoints is still progress. */
  private async readCheckpoints(): Promise<void> {
    const checkpoints = await this.guard(this.handle.client.fineTuning.jobs.checkpoints.list(this.jobId, { limit: 10 }, this.request)).catch((e: unknown) => {
      if (e instanceof Interrupted) throw e;
      return null;
    });
    if (checkpoints && checkpoints.data.length !== this.checkpointsSeen) {
      this.checkpointsSeen = checkpoints.data.length;
      this.points = mergeMetricPoints(this.points, checkpoints.data.map(metricsFromCheckpoint));
    }
  }

  private reportProgress(): void {
    const p = progressFromPoints(this.points, this.totalSteps);
    if (!p || p.step === null) return;
    const line = formatFineTuneProgress(p);
    if (line === this.progressLine) return;
    this.progressLine = line;
    this.log(`  ${line}`);
    this.opts.onProgress?.(p, this.points);
  }

  /** Count a failed poll; "give_up" once failures have lasted giveUpAfterMs. */
  private trouble(): "retry" | "give_up" {
    const now = Date.now();
    this.troubleSince ??= now;
    if (now - this.troubleSince >= this.giveUpAfterMs) return "give_up";
    this.troubleCount++;
    return "retry";
  }

  /** Save the first result file as the metrics CSV; a failure is reported, never fatal. */
  private async downloadResults(j: FineTuningJob): Promise<string | null> {
    const fileId = j.result_files?.[0];
    if (!fileId) {
      this.log("no result file was attached to the job; no metrics CSV saved");
      return null;
    }
    const target = path.resolve(path.dirname(this.recordFile), `metrics_${j.id.replace(/[^A-Za-z0-9._-]/g, "_")}.csv`);
    const existing = this.keeper.forJob(this.jobId)?.metrics_csv;
    if (existing && path.resolve(path.dirname(this.recordFile), existing) === target) {
      try {
        this.points = mergeMetricPoints(this.points, parseTrainingMetricsCsv(await fs.readFile(target, "utf8")));
        return target;
      } catch {
        // missing or unreadable: download again
      }
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await this.guard(this.handle.client.files.content(fileId, this.request));
        const csv = decodeResultFile(await res.text());
        await writeFileAtomic(target, csv);
        this.points = mergeMetricPoints(this.points, parseTrainingMetricsCsv(csv));
        const current = this.keeper.forJob(this.jobId);
        if (current) await this.keeper.update({ ...current, metrics_csv: path.basename(target) });
        return target;
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        const why = describeApiError(err, this.handle);
        if (!isTransientApiError(err) || attempt === 2) {
          this.log(`could not save the metrics CSV (${why}); the model is fine. Run \`${this.resume}\` to try again.`);
          return null;
        }
        await abortableSleep(backoffDelay(attempt, this.pollIntervalMs, this.maxBackoffMs), this.signal);
      }
    }
    return null;
  }
}

/** 1500 → "1.5 s", 90_000 → "1.5 min", 7_200_000 → "2 h". */
export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  return `${+(ms / 3_600_000).toFixed(1)} h`;
}
