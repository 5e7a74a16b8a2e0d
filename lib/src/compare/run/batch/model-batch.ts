/**
 * `compare --batch` and `pairwise ask --batch`: API models answer through the OpenAI Batch API at half
 * price, within 24 hours. What is asked — items, request bodies, the reply parser, the cache — comes
 * from the task (`BatchRequests`, requests.ts); this class owns the Batch API's side.
 *
 *   submit: serve cache hits without a request → write `batch/<model>.input.jsonl` (one line per request:
 *           `custom_id`, POST /v1/chat/completions, the exact body a direct request would send) → upload it
 *           (purpose batch) → create the batch (completion window 24h). `batch/<model>.json` records each
 *           step as it happens, so an interrupted compare continues the same batch and never pays twice.
 *   collect: poll with backoff until completed / failed / expired / cancelled (progress lines; Ctrl-C
 *           stops waiting, not the batch) → download the output and error files beside the input →
 *           each line through the task's own completion parser; lines with an error, and requests with
 *           no line at all, become failed answers carrying the provider's error. Answers are stored in
 *           the response cache like direct ones.
 *
 * The runner (compare/run/, pairwise/ask/) turns answers into records priced at Batch rates. Only models with a
 * Batch ability (`model.batch`: the chat models) that is available (not Azure OpenAI, whose batch
 * deployments route on their own) and whose model has an OpenAI price (base or `ft:`) take this path;
 * other servers (vLLM, Ollama: no Batch API), local models and baselines are asked directly in the same run.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { toFile } from "openai";
import type { Batch } from "openai/resources/batches";
import { writeJson } from "../../../core/atomic-output";
import { abortableSleep, backoffDelay, describeApiError, isRetryableStatus, isTransientApiError } from "../../../openai/errors";
import type { OpenAIClientHandle } from "../../../openai/client";
import { redact } from "../../../openai/keys";
import { BATCH_COMPLETION_WINDOW, BATCH_DEFAULTS, BATCH_ENDPOINT, BATCH_TERMINAL_STATUSES, batchCustomId, batchPaths, readBatchRecord, type BatchAnswer, type BatchOptions, type BatchRecord, type BatchRequestEntry } from "./record";
import type { BatchRequests, PreparedRequest } from "./requests";
import type { BatchTarget } from "./target";

export class ModelBatch<I, A> {
  private readonly log: (line: string) => void;
  private readonly paths: ReturnType<typeof batchPaths>;
  /** Status reads and small requests. */
  private readonly api: OpenAIClientHandle;
  /** Uploads and downloads. */
  private readonly transfer: OpenAIClientHandle;
  private record: BatchRecord | null = null;
  /** The items submit was asked about (still missing in the run), by item key. */
  private wanted = new Map<string, I>();
  /** Items a continued batch does not cover: sent in a new batch after it. */
  private left: I[] = [];

  private constructor(
    readonly target: BatchTarget,
    private readonly requests: BatchRequests<I, A>,
    private readonly opts: BatchOptions,
  ) {
    this.log = opts.log ?? ((l) => console.error(l));
    this.paths = batchPaths(opts.runDir, target.model.name);
    this.api = target.ability.client({ timeoutMs: BATCH_DEFAULTS.requestTimeoutMs, maxRetries: 2 });
    this.transfer = target.ability.client({ timeoutMs: BATCH_DEFAULTS.transferTimeoutMs, maxRetries: 2 });
  }

  static async open<I, A>(target: BatchTarget, requests: BatchRequests<I, A>, opts: BatchOptions): Promise<ModelBatch<I, A>> {
    const b = new ModelBatch(target, requests, opts);
    b.record = await readBatchRecord(opts.runDir, target.model.name);
    return b;
  }

  get name(): string {
    return this.target.model.name;
  }

  get batchId(): string | null {
    return this.record?.batch_id ?? null;
  }

  /**
   * Make sure a batch is running for `items` (those without an answer yet): continue the recorded one,
   * or serve cache hits (through `onAnswer`) and send the rest. False when stopped by the signal.
   * Setup failures (an upload refused, a server without the Batch API) throw, saying what was sent.
   */
  async submit(items: I[], onAnswer: (a: BatchAnswer<I, A>) => Promise<void>): Promise<boolean> {
    const key = (it: I) => this.requests.itemKey(it);
    this.wanted = new Map(items.map((it) => [key(it), it]));
    this.left = [];
    const r = this.record;
    if (r && r.status !== "collected") {
      const covered = new Set(r.requests.flatMap((q) => q.images));
      const left = items.filter((it) => !covered.has(key(it)));
      if (r.batch_id) {
        this.left = left;
        this.log(`batch ${this.name}: continuing ${r.batch_id} (${r.status}, ${r.requests.length} requests); nothing uploaded again`);
        return true;
      }
      if (r.input_file_id) {
        this.left = left;
        this.log(`batch ${this.name}: ${r.input_file_id} was uploaded before the run stopped; creating its batch`);
        return this.create();
      }
      const exists = await fs.stat(path.join(this.opts.runDir, r.input_file)).then(() => true, () => false);
      if (exists && left.length === 0) return (await this.upload()) && (await this.create());
      // Prepared, never sent, and not covering every item: build it again (nothing was paid).
    }
    if (r && r.status === "collected") await this.archive();
    if (items.length === 0) return true;
    if (!(await this.build(items, onAnswer))) return false;
    if (this.record!.requests.length === 0) {
      this.log(`batch ${this.name}: every ${this.requests.noun} was answered from the cache or could not be prepared; no batch sent`);
      this.record!.status = "collected";
      await this.save();
      return true;
    }
    return (await this.upload()) && (await this.create());
  }

  /**
   * After submit: poll until the batch ends and give an answer for every item still missing; items a
   * continued batch did not cover go into a new batch. Returns why it stopped early, or undefined.
   */
  async finish(onAnswer: (a: BatchAnswer<I, A>) => Promise<void>): Promise<string | undefined> {
    const stopped = await this.collect(onAnswer);
    if (stopped || this.left.length === 0) return stopped;
    this.log(`batch ${this.name}: ${this.left.length} ${this.requests.noun}(s) were not in ${this.batchId}; sending them in a new batch`);
    if (!(await this.submit(this.left, onAnswer))) return this.stopped("interrupted");
    return this.collect(onAnswer);
  }

  private async collect(onAnswer: (a: BatchAnswer<I, A>) => Promise<void>): Promise<string | undefined> {
    const r = this.record;
    if (!r || !r.batch_id || r.status === "collected") return undefined;
    if (!BATCH_TERMINAL_STATUSES.includes(r.status)) {
      const stopped = await this.poll();
      if (stopped) return stopped;
    }
    if (!(await this.download())) return this.stopped("interrupted while downloading the results");
    const answers = await this.answers();
    for (const q of r.requests) {
      const p = answers.get(q.custom_id)!;
      if (q.cache_key) await this.requests.store(q.cache_key, p);
      for (const name of q.images) {
        const item = this.wanted.get(name);
        if (item) await onAnswer({ item, sha256: q.image_sha256, answer: p });
      }
    }
    r.status = "collected";
    await this.save();
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------
  // Private helpers

  /** Write the input file (cache hits answered instead) and the record in state "prepared". False when stopped. */
  private async build(items: I[], onAnswer: (a: BatchAnswer<I, A>) => Promise<void>): Promise<boolean> {
    const { model } = this.target;
    const q = this.requests;
    const d = BATCH_DEFAULTS;
    await fs.mkdir(path.dirname(this.paths.input), { recursive: true });
    const out = await fs.open(this.paths.input, "w");
    const requests = new Map<string, BatchRequestEntry>();
    let bytes = 0;
    let hits = 0;
    const limit = pLimit(d.prepareConcurrency);
    try {
      // Chunks keep at most a few prepared requests in memory; lines keep the items' order.
      const chunk = d.prepareConcurrency * 4;
      for (let start = 0; start < items.length; start += chunk) {
        if (this.opts.signal?.aborted) return false;
        const part = items.slice(start, start + chunk);
        const prepared = await Promise.all(part.map((it) => limit((): Promise<PreparedRequest | Error> => q.prepare(it).catch((e: Error) => e))));
        for (let i = 0; i < part.length; i++) {
          const item = part[i]!;
          const req = prepared[i]!;
          if (req instanceof Error) {
            await onAnswer({ item, sha256: "", answer: q.failure(redact(`image could not be prepared: ${req.message}`, [this.api.apiKey]), false) });
            continue;
          }
          const known = requests.get(req.id);
          if (known) {
            known.images.push(q.itemKey(item));
            continue;
          }
          const hit = req.cacheKey ? await q.cached(req.cacheKey) : undefined;
          if (hit) {
            hits++;
            await onAnswer({ item, sha256: req.id, answer: hit });
            continue;
          }
          const custom_id = batchCustomId(this.name, req.id);
          const line = JSON.stringify({ custom_id, method: "POST", url: BATCH_ENDPOINT, body: req.body }) + "\n";
          bytes += Buffer.byteLength(line);
          if (requests.size + 1 > d.maxRequests || bytes > d.maxInputBytes) {
            throw new Error(`batch ${this.name}: more than ${d.maxRequests} requests or ${d.maxInputBytes / 2 ** 20} MB in one batch input file; ${q.fewer}`);
          }
          await out.write(line);
          requests.set(req.id, { custom_id, image_sha256: req.id, images: [q.itemKey(item)], cache_key: req.cacheKey });
        }
      }
    } finally {
      await out.close();
    }
    const now = new Date().toISOString();
    this.record = {
      model: this.name,
      model_id: model.id,
      status: "prepared",
      endpoint: BATCH_ENDPOINT,
      completion_window: BATCH_COMPLETION_WINDOW,
      input_file: path.relative(this.opts.runDir, this.paths.input),
      input_bytes: bytes,
      input_file_id: null,
      batch_id: null,
      request_counts: null,
      output_file_id: null,
      error_file_id: null,
      errors: [],
      created_at: now,
      updated_at: now,
      requests: [...requests.values()],
    };
    await this.save();
    if (hits) this.log(`batch ${this.name}: ${hits} ${q.noun}(s) answered from the cache, not sent`);
    return true;
  }

  /** Upload the input file (purpose batch) and record its id. False when stopped. */
  private async upload(): Promise<boolean> {
    const r = this.record!;
    const file = path.join(this.opts.runDir, r.input_file);
    let id: string;
    try {
      const upload = await toFile(await fs.readFile(file), path.basename(file), { type: "application/jsonl" });
      const f = await this.transfer.client.files.create({ file: upload, purpose: "batch" }, this.opts.signal ? { signal: this.opts.signal } : {});
      id = f.id;
    } catch (err) {
      if (this.opts.signal?.aborted) return false;
      throw new Error(
        `batch ${this.name}: uploading ${r.input_file} (${this.api.baseURL}) failed: ${describeApiError(err, this.api)}. Nothing was sent for this model; ` +
          `run again, or without --batch if this server has no Batch API`,
        { cause: err },
      );
    }
    r.input_file_id = id;
    await this.save();
    this.log(`batch ${this.name}: uploaded ${r.requests.length} requests (${(r.input_bytes / 2 ** 20).toFixed(1)} MB) → ${id}`);
    return true;
  }

  /**
   * Create the batch for the uploaded file and record it. Creation is sent once: after a transient
   * failure the provider's recent batches are searched for one on this file before asking again.
   */
  private async create(): Promise<boolean> {
    const r = this.record!;
    const inputFileId = r.input_file_id!;
    const body = {
      input_file_id: inputFileId,
      endpoint: BATCH_ENDPOINT,
      completion_window: BATCH_COMPLETION_WINDOW,
      metadata: { streetsafe_run: path.basename(this.opts.runDir), streetsafe_model: this.name.slice(0, 512) },
    } as const;
    let batch: Batch | null = null;
    for (let attempt = 0; !batch; attempt++) {
      try {
        batch = await this.api.client.batches.create(body, { maxRetries: 0 });
      } catch (err) {
        if (!isTransientApiError(err)) {
          throw new Error(
            `batch ${this.name}: the provider refused the batch for ${inputFileId}: ${describeApiError(err, this.api)}. ` +
              `No batch was created; the uploaded file ${inputFileId} is recorded in ${path.relative(this.opts.runDir, this.paths.record)}`,
            { cause: err },
          );
        }
        const why = describeApiError(err, this.api);
        batch = await this.findBatchFor(inputFileId).catch(() => null);
        if (batch) {
          this.log(`batch ${this.name}: creation answered with an error (${why}), but ${batch.id} exists for ${inputFileId}; using it`);
          break;
        }
        if (attempt + 1 >= BATCH_DEFAULTS.createAttempts) throw new Error(`batch ${this.name}: could not create the batch after ${attempt + 1} tries: ${why}`);
        const wait = backoffDelay(attempt, 1000, 30_000);
        this.log(`batch ${this.name}: creation failed (${why}); no batch was made; trying again in ${Math.round(wait / 1000)} s`);
        if (!(await abortableSleep(wait, this.opts.signal))) return false;
      }
    }
    this.apply(batch);
    await this.save();
    this.log(`batch ${this.name}: ${batch.id} created (${r.requests.length} requests, ${batch.status}); answers within ${BATCH_COMPLETION_WINDOW}`);
    return true;
  }

  private async findBatchFor(inputFileId: string): Promise<Batch | null> {
    const page = await this.api.client.batches.list({ limit: 20 }, { maxRetries: 0 });
    return page.data.find((b) => b.input_file_id === inputFileId) ?? null;
  }

  /** Poll until a terminal status; returns why it stopped early, or undefined. */
  private async poll(): Promise<string | undefined> {
    const d = BATCH_DEFAULTS;
    const o = this.opts;
    const base = o.pollIntervalMs ?? d.pollIntervalMs;
    const maxInterval = Math.max(base, o.maxPollIntervalMs ?? d.maxPollIntervalMs);
    const maxBackoff = Math.max(base, o.maxBackoffMs ?? d.maxBackoffMs);
    const giveUpAfter = o.giveUpAfterMs ?? d.giveUpAfterMs;
    const id = this.record!.batch_id!;
    let interval = base;
    let troubleSince: number | null = null;
    let troubles = 0;
    let shown = this.progressLine();
    this.log(shown);
    // A record last updated long ago (a resumed run) is read at once.
    let stale = Date.now() - Date.parse(this.record!.updated_at) >= base;
    for (;;) {
      const wait = stale ? 0 : troubleSince === null ? interval : backoffDelay(troubles - 1, base, maxBackoff);
      stale = false;
      if (!(await abortableSleep(wait, o.signal))) return this.stopped("interrupted");
      // A signal per read: the SDK never removes its listener from a request's signal.
      const read = new AbortController();
      const forward = () => read.abort();
      o.signal?.addEventListener("abort", forward, { once: true });
      let batch: Batch;
      try {
        batch = await this.api.client.batches.retrieve(id, { maxRetries: 0, timeout: d.requestTimeoutMs, signal: read.signal });
      } catch (err) {
        if (o.signal?.aborted) return this.stopped("interrupted");
        const why = describeApiError(err, this.api);
        if (!isTransientApiError(err)) return this.stopped(`reading ${id} failed: ${why}`);
        troubleSince ??= Date.now();
        troubles++;
        if (Date.now() - troubleSince > giveUpAfter) return this.stopped(`gave up reading ${id} after ${Math.round(giveUpAfter / 60_000)} min of errors (last: ${why})`);
        this.log(`batch ${this.name}: reading ${id} failed (${why}); trying again in ${Math.round(backoffDelay(troubles - 1, base, maxBackoff) / 1000)} s`);
        continue;
      } finally {
        o.signal?.removeEventListener("abort", forward);
      }
      troubleSince = null;
      troubles = 0;
      this.apply(batch);
      const line = this.progressLine();
      if (line !== shown) {
        await this.save();
        this.log(line);
        shown = line;
        interval = base;
      } else {
        interval = Math.min(maxInterval, Math.round(interval * 1.5));
      }
      if (BATCH_TERMINAL_STATUSES.includes(batch.status)) return undefined;
    }
  }

  /** Download the output and error files beside the input (once; a resume reuses them). False when stopped. */
  private async download(): Promise<boolean> {
    const r = this.record!;
    for (const [id, file] of [
      [r.output_file_id, this.paths.output],
      [r.error_file_id, this.paths.errors],
    ] as const) {
      if (!id) continue;
      if (await fs.stat(file).then(() => true, () => false)) continue;
      try {
        const res = await this.transfer.client.files.content(id, this.opts.signal ? { signal: this.opts.signal } : {});
        const text = await res.text();
        const tmp = `${file}.part`;
        await fs.writeFile(tmp, text);
        await fs.rename(tmp, file);
      } catch (err) {
        if (this.opts.signal?.aborted) return false;
        throw new Error(`batch ${this.name}: downloading ${id} of ${r.batch_id} failed: ${describeApiError(err, this.api)}; --resume downloads it again`, { cause: err });
      }
    }
    return true;
  }

  /** custom_id → the answer: parsed output lines, error lines, and a failure for each request without a line. */
  private async answers(): Promise<Map<string, A>> {
    const r = this.record!;
    const ids = new Set(r.requests.map((q) => q.custom_id));
    const out = new Map<string, A>();
    for (const file of [this.paths.output, this.paths.errors]) {
      const text = await fs.readFile(file, "utf8").catch(() => "");
      for (const raw of text.split("\n")) {
        if (!raw.trim()) continue;
        let line: BatchOutputLine;
        try {
          line = JSON.parse(raw) as BatchOutputLine;
        } catch {
          continue; // a garbled line: its request gets the "no answer" failure below
        }
        if (!line.custom_id || !ids.has(line.custom_id) || out.has(line.custom_id)) continue;
        out.set(line.custom_id, this.answerOf(line));
      }
    }
    const why = this.noAnswerReason();
    // A batch that expired or was cancelled left its requests unasked: asking again can answer them.
    for (const q of r.requests) if (!out.has(q.custom_id)) out.set(q.custom_id, this.failure(why, r.status !== "failed"));
    return out;
  }

  private answerOf(line: BatchOutputLine): A {
    const status = line.response?.status_code;
    if (status !== undefined && status >= 200 && status < 300 && line.response?.body) {
      return this.requests.answer(line.response.body);
    }
    const e = line.error ?? line.response?.body?.error;
    const code = e?.code ? `${e.code}: ` : "";
    const http = status !== undefined ? `HTTP ${status} ` : "";
    const text = e?.message ?? (line.response?.body ? JSON.stringify(line.response.body).slice(0, 300) : "no response");
    return this.failure(`batch ${this.record!.batch_id}: ${http}${code}${text}`, isRetryableStatus(status));
  }

  private failure(error: string, transient: boolean): A {
    return this.requests.failure(redact(error, [this.api.apiKey]), transient);
  }

  private noAnswerReason(): string {
    const r = this.record!;
    const errors = r.errors.length ? `: ${r.errors.slice(0, 3).join("; ")}` : "";
    return `batch ${r.batch_id} ended ${r.status} without an answer for this ${this.requests.noun}${errors}`;
  }

  private apply(batch: Batch): void {
    const r = this.record!;
    r.batch_id = batch.id;
    r.status = batch.status;
    r.request_counts = batch.request_counts ? { total: batch.request_counts.total, completed: batch.request_counts.completed, failed: batch.request_counts.failed } : r.request_counts;
    r.output_file_id = batch.output_file_id ?? r.output_file_id;
    r.error_file_id = batch.error_file_id ?? r.error_file_id;
    const errors = (batch.errors?.data ?? []).map((e) => `${e.code ? `${e.code}: ` : ""}${e.message ?? ""}${e.line != null ? ` (line ${e.line})` : ""}`);
    if (errors.length) r.errors = errors.map((e) => redact(e, [this.api.apiKey]));
  }

  private progressLine(): string {
    const r = this.record!;
    const c = r.request_counts;
    const counts = c && c.total > 0 ? ` · ${c.completed + c.failed}/${c.total} done${c.failed ? ` (${c.failed} failed)` : ""}` : "";
    return `batch ${this.name} ${r.batch_id}: ${r.status}${counts}`;
  }

  private stopped(why: string): string {
    const resume = this.opts.resumeCommand ? `; the batch goes on at the provider: ${this.opts.resumeCommand} collects it` : "; the batch goes on at the provider";
    const msg = `batch ${this.name} ${this.record?.batch_id ?? ""}: stopped waiting (${why})${resume}`;
    this.log(msg);
    return msg;
  }

  private async save(): Promise<void> {
    const r = this.record!;
    r.updated_at = new Date().toISOString();
    await writeJson(this.paths.record, r);
  }

  /** Keep a collected batch's files under its id before a new batch takes the model's names. */
  private async archive(): Promise<void> {
    const tag = this.record?.batch_id ?? `prepared-${Date.now()}`;
    for (const file of Object.values(this.paths)) {
      const to = file.replace(/(\.[a-z]+\.jsonl|\.json)$/, `.${tag}$1`);
      await fs.rename(file, to).catch(() => {});
    }
    this.record = null;
  }
}

/** One line of a batch output or error file. */
interface BatchOutputLine {
  id?: string;
  custom_id?: string;
  response?: { status_code?: number; request_id?: string; body?: (Record<string, unknown> & { error?: { code?: string | null; message?: string } }) | null } | null;
  error?: { code?: string | null; message?: string } | null;
}
