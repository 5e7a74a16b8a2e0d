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
import { writeFileAtomic } from "../core/atomic-output";
import type { OpenAIClientHandle } from "../openai/client";
import { abortableSleep, backoffDelay, describeApiError, isTransientApiError } from "../openai/errors";
import { redact } from "../openai/keys";
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
  known?: Partial<Pick<FineTuneRecord, "provider" | "with_images" | "training_path" | "validation_path" | "suffix">>;
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
  const d = MONITOR_DEFAULTS;
  const pollIntervalMs = opts.pollIntervalMs ?? d.pollIntervalMs;
  const maxBackoffMs = Math.max(pollIntervalMs, opts.maxBackoffMs ?? d.maxBackoffMs);
  const giveUpAfterMs = opts.giveUpAfterMs ?? d.giveUpAfterMs;
  const requestTimeoutMs = opts.requestTimeoutMs ?? d.requestTimeoutMs;
  const log = opts.log ?? ((l: string) => console.log(l));
  const signal = opts.signal;
  const resume = opts.resumeCommand ?? `npx streetsafe finetune watch ${jobId}`;
  const client = handle.client;
  // The SDK adds an abort listener to a request's signal and never removes it; on a watch of hours a
  // single signal would collect thousands. Each poll gets its own signal, linked to `signal` and unlinked after.
  let request: { maxRetries: number; timeout: number; signal?: AbortSignal } = { maxRetries: 0, timeout: requestTimeoutMs };
  const linkPoll = (): (() => void) => {
    if (!signal) return () => {};
    const poll = new AbortController();
    const forward = () => poll.abort();
    signal.addEventListener("abort", forward, { once: true });
    request = { maxRetries: 0, timeout: requestTimeoutMs, signal: poll.signal };
    return () => signal.removeEventListener("abort", forward);
  };

  const keeper = await FineTuneRecordKeeper.open(recordFile, opts.onRecord);
  let record = keeper.forJob(jobId);
  let lastEvent = record?.last_event ?? null;
  const shownIds = new Set<string>();
  const shown: FineTuningJobEvent[] = [];
  let points: TrainingMetricPoint[] = [];
  let totalSteps: number | null = record?.progress?.total_steps ?? null;
  let progressLine = "";
  let job: FineTuningJob | null = null;
  let lastStatus = record?.status ?? null;
  let troubleSince: number | null = null;
  let troubleCount = 0;
  let checkpointsSeen = -1;

  const result = (outcome: MonitorOutcome, message: string, metricsCsv: string | null = null): MonitorResult => {
    log(message);
    return { outcome, jobId, job, record: keeper.forJob(jobId), metrics: points, metricsCsv, events: shown, message };
  };
  const save = async () => {
    if (!job) return;
    const next = recordFromJob(job, keeper.forJob(jobId), opts.known ?? {});
    next.last_event = lastEvent;
    const progress = progressFromPoints(points, totalSteps);
    if (progress) next.progress = progress;
    await keeper.update(next);
    record = keeper.forJob(jobId);
  };
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (signal?.aborted) throw new Interrupted();
      throw e;
    }
  };

  /** New events since `lastEvent`, oldest first. */
  const newEvents = async (): Promise<FineTuningJobEvent[]> => {
    const fresh: FineTuningJobEvent[] = [];
    let page = await guard(client.fineTuning.jobs.listEvents(jobId, { limit: d.eventPageSize }, request));
    // Without a last event (a first watch) one page is enough: the newest 100 events.
    const maxPages = lastEvent ? d.maxEventPages : 1;
    for (let n = 1; ; n++) {
      for (const e of page.data) {
        if (lastEvent && (e.id === lastEvent.id || e.created_at < lastEvent.created_at)) return fresh.reverse();
        if (!shownIds.has(e.id)) fresh.push(e);
      }
      if (!page.hasNextPage()) break;
      if (n >= maxPages) {
        log(`(older events not shown: only the newest ${fresh.length} are listed)`);
        break;
      }
      page = await guard(page.getNextPage());
    }
    return fresh.reverse();
  };

  const show = (e: FineTuningJobEvent) => {
    const m = metricsFromEvent(e);
    if (m) {
      points = mergeMetricPoints(points, [m.point]);
      if (m.totalSteps !== null) totalSteps = m.totalSteps;
      return; // metrics events feed the progress line instead of one line each
    }
    const when = new Date(e.created_at * 1000).toISOString().replace("T", " ").slice(0, 19);
    const level = e.level && e.level !== "info" ? `${e.level.toUpperCase()} ` : "";
    log(`[${when}] ${level}${redact(e.message, [handle.apiKey])}`);
  };

  const reportProgress = () => {
    const p = progressFromPoints(points, totalSteps);
    if (!p || p.step === null) return;
    const line = formatFineTuneProgress(p);
    if (line === progressLine) return;
    progressLine = line;
    log(`  ${line}`);
    opts.onProgress?.(p, points);
  };

  /** Count a failed poll; "give_up" once failures have lasted giveUpAfterMs. */
  const trouble = (): "retry" | "give_up" => {
    const now = Date.now();
    troubleSince ??= now;
    if (now - troubleSince >= giveUpAfterMs) return "give_up";
    troubleCount++;
    return "retry";
  };

  log(`watching ${jobId} on ${handle.provider} (every ${fmtDuration(pollIntervalMs)}; Ctrl-C stops watching, not the job)`);
  try {
    for (;;) {
      if (signal?.aborted) throw new Interrupted();
      let wait = pollIntervalMs;
      const unlink = linkPoll();
      try {
        job = await guard(client.fineTuning.jobs.retrieve(jobId, request));
        if (job.status !== lastStatus) {
          log(`status: ${lastStatus ? `${lastStatus} → ` : ""}${job.status}`);
          lastStatus = job.status;
        }
        for (const e of await newEvents()) {
          shownIds.add(e.id);
          shown.push(e);
          show(e);
          opts.onEvent?.(e);
          lastEvent = { id: e.id, created_at: e.created_at };
        }
        await save();
        if (job.status === "running" || job.status === "succeeded") {
          const checkpoints = await guard(client.fineTuning.jobs.checkpoints.list(jobId, { limit: 10 }, request)).catch((e: unknown) => {
            if (e instanceof Interrupted) throw e;
            return null; // progress without checkpoints is still progress
          });
          if (checkpoints && checkpoints.data.length !== checkpointsSeen) {
            checkpointsSeen = checkpoints.data.length;
            points = mergeMetricPoints(points, checkpoints.data.map(metricsFromCheckpoint));
          }
        }
        reportProgress();
        await save();
        if (!(job.status === "succeeded" && !job.fine_tuned_model)) {
          troubleSince = null;
          troubleCount = 0;
        }

        if (job.status === "succeeded" && job.fine_tuned_model) {
          const csv = opts.downloadResults === false ? null : await downloadResults(job);
          await save();
          const lines = [
            `succeeded: ${job.fine_tuned_model}`,
            ...(job.trained_tokens ? [`trained tokens: ${job.trained_tokens}`] : []),
            `record: ${recordFile}`,
            ...(csv ? [`metrics: ${csv}`] : []),
            handle.provider === "azure"
              ? "next: deploy the fine-tuned model in Azure AI Foundry (Azure serves fine-tuned models through a deployment), then `npx streetsafe predict --model gpt4o-mini-ft`"
              : "next: `npx streetsafe predict --model gpt4o-mini-ft` uses this model",
          ];
          return result("succeeded", lines.join("\n"), csv);
        }
        if (job.status === "succeeded") {
          // Succeeded but no model named yet: never recorded as done; wait (bounded) for the name.
          if (trouble() === "give_up") {
            return result("gave_up", `gave up: ${jobId} is reported succeeded but names no fine-tuned model after ${fmtDuration(giveUpAfterMs)}. The record keeps its last honest status. Try later: ${resume}`);
          }
          log(`the job is reported succeeded but names no fine-tuned model yet; asking again in ${fmtDuration(pollIntervalMs)}`);
        } else if (job.status === "failed") {
          const e = job.error;
          const why = e?.message ? `${e.code ? `${e.code}: ` : ""}${e.message}${e.param ? ` (${e.param})` : ""}` : "the provider gave no reason";
          return result("failed", `failed: ${jobId}: ${redact(why, [handle.apiKey])}\nrecord: ${recordFile}`);
        } else if (job.status === "cancelled") {
          return result("cancelled", `cancelled: ${jobId} was cancelled; no model was made.\nrecord: ${recordFile}`);
        } else if (TERMINAL_STATUSES.includes(job.status)) {
          return result("failed", `ended with status ${job.status}`);
        }
      } catch (err) {
        if (err instanceof Interrupted || signal?.aborted) throw new Interrupted();
        if (!isTransientApiError(err)) throw new Error(`watching ${jobId} (${handle.baseURL}): ${describeApiError(err, handle)}`, { cause: err });
        const why = describeApiError(err, handle);
        if (trouble() === "give_up") {
          return result(
            "gave_up",
            `gave up watching ${jobId} after ${fmtDuration(Date.now() - troubleSince!)} of errors (last: ${why}). ` +
              `The job itself is not affected and may still be running. Resume with: ${resume}`,
          );
        }
        wait = backoffDelay(troubleCount - 1, pollIntervalMs, maxBackoffMs);
        const left = giveUpAfterMs - (Date.now() - troubleSince!);
        log(`temporary problem (${why}); trying again in ${fmtDuration(wait)} (giving up after ${fmtDuration(Math.max(0, left))} more of errors)`);
      } finally {
        unlink();
      }
      if (!(await abortableSleep(wait, signal))) throw new Interrupted();
    }
  } catch (err) {
    if (err instanceof Interrupted) {
      await save().catch(() => {});
      const status = job ? ` (last status: ${job.status})` : "";
      return result("interrupted", `stopped watching ${jobId}${status}. The job keeps running on ${handle.provider}. Resume with: ${resume}`);
    }
    throw err;
  }

  /** Save the first result file as the metrics CSV; a failure is reported, never fatal. */
  async function downloadResults(j: FineTuningJob): Promise<string | null> {
    const fileId = j.result_files?.[0];
    if (!fileId) {
      log("no result file was attached to the job; no metrics CSV saved");
      return null;
    }
    const target = path.resolve(path.dirname(recordFile), `metrics_${j.id.replace(/[^A-Za-z0-9._-]/g, "_")}.csv`);
    const existing = keeper.forJob(jobId)?.metrics_csv;
    if (existing && path.resolve(path.dirname(recordFile), existing) === target) {
      try {
        points = mergeMetricPoints(points, parseTrainingMetricsCsv(await fs.readFile(target, "utf8")));
        return target;
      } catch {
        // missing or unreadable: download again
      }
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await guard(client.files.content(fileId, request));
        const csv = decodeResultFile(await res.text());
        await writeFileAtomic(target, csv);
        points = mergeMetricPoints(points, parseTrainingMetricsCsv(csv));
        const current = keeper.forJob(jobId);
        if (current) await keeper.update({ ...current, metrics_csv: path.basename(target) });
        return target;
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        const why = describeApiError(err, handle);
        if (!isTransientApiError(err) || attempt === 2) {
          log(`could not save the metrics CSV (${why}); the model is fine. Run \`${resume}\` to try again.`);
          return null;
        }
        await abortableSleep(backoffDelay(attempt, pollIntervalMs, maxBackoffMs), signal);
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
