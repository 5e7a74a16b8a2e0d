/**
 * `OpenAIFineTuner`: OpenAI fine-tuning jobs for any fine-tunable GPT base model, over the official SDK,
 * on OpenAI or Azure OpenAI. `GPT4oMiniFineTuner` is the same class under the guide's name.
 *
 *   start(): check the files → upload (purpose fine-tune, wait until processed) → create the job
 *            (method supervised) → write the record
 *   monitorFineTuneJob(id): watch to the end (monitor.ts)
 *   listFineTuneJobs(limit), checkJobStatus(id), cancel(id)
 *
 * Job creation is sent once (the SDK does not make it idempotent): after a transient failure the recent
 * jobs are searched for one using the just-uploaded training file before asking again, so a retry never
 * starts (and bills) a second job. A refusal (e.g. the organisation may no longer create jobs: OpenAI
 * is winding self-serve fine-tuning down) raises FineTuneRefusedError with the provider's message and
 * the alternatives.
 */
import { createReadStream } from "node:fs";
import path from "node:path";
import { APIError } from "openai";
import type { FileObject } from "openai/resources/files";
import type { FineTuningJob, FineTuningJobEvent, JobCreateParams } from "openai/resources/fine-tuning/jobs/jobs";
import { createOpenAIClient, type OpenAIClientHandle } from "../../openai/client";
import { abortableSleep, backoffDelay, describeApiError, isTransientApiError } from "../../openai/errors";
import { redact } from "../../openai/keys";
import { ModelUnavailableError } from "../../core/errors";
import { DEFAULT_BASE_MODEL, FINE_TUNE_WIND_DOWN, resolveBaseModel, type FineTuneProvider } from "./capabilities";
import { assertUploadable, checkFineTuneRun, type FineTuneCheck } from "./dry-run";
import { QWEN_FINETUNING_README } from "../../prepare";
import { monitorFineTuneJob, type MonitorOptions, type MonitorResult } from "./monitor";
import {
  DEFAULT_MODELS_DIR,
  FineTuneRecordKeeper,
  fineTuneRecordPath,
  recordFromJob,
  type FineTuneHyperparameters,
  type FineTuneProgress,
  type FineTuneRecord,
} from "./record";
import { metricsFromEvent, progressFromPoints } from "./training-metrics";

// ---------------------------------------------------------------------------------------------------
// Constants

/** Defaults for every option not given (one place; covered by a test). */
export const FINE_TUNE_DEFAULTS = {
  provider: "openai",
  baseModel: DEFAULT_BASE_MODEL,
  suffix: "streetsafe",
  seed: 42,
  hyperparameters: { n_epochs: "auto", batch_size: "auto", learning_rate_multiplier: "auto" },
  dataDir: "data",
  modelsDir: DEFAULT_MODELS_DIR,
  /** Per request, except uploads. */
  timeoutMs: 60_000,
  /** Per upload attempt (files with images can be hundreds of MB). */
  uploadTimeoutMs: 15 * 60_000,
  /** SDK retries for single requests (status, list, cancel, uploads). */
  maxRetries: 2,
  maxRetryAfterMs: 60_000,
  /** How often an uploaded file's status is read, and how long it may take to be processed. */
  filePollIntervalMs: 2_000,
  fileProcessingMaxWaitMs: 30 * 60_000,
  /** Tries of job creation after transient failures (each first checks whether the job exists). */
  createAttempts: 3,
} as const;

/** OpenAI allows up to 64 characters; the model name carries it. */
export const MAX_SUFFIX_LENGTH = 64;

// ---------------------------------------------------------------------------------------------------
// Types

export interface FineTunerOptions {
  provider?: FineTuneProvider;
  /** The key itself (programmatic use); default from OPENAI_API_KEY / AZURE_OPENAI_API_KEY or their _FILE variables. */
  apiKey?: string;
  /** Default `OPENAI_BASE_URL` (OpenAI); for Azure, replaces the endpoint. */
  baseURL?: string;
  /** Azure: endpoint and API version, default AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION. */
  azure?: { endpoint?: string; apiVersion?: string };
  /** Environment for keys and settings (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The record goes to `<modelsDir>/gpt4o_mini_finetuned/fine_tune_info.json`; default "models". */
  modelsDir?: string;
  /** Where progress lines go; default console.log. */
  log?: (line: string) => void;
  timeoutMs?: number;
  uploadTimeoutMs?: number;
  maxRetries?: number;
  filePollIntervalMs?: number;
  fileProcessingMaxWaitMs?: number;
}

export interface StartOptions {
  dataDir?: string;
  baseModel?: string;
  /** true: with images; false: text-only; undefined: what the base model supports. */
  withImages?: boolean;
  /** Send images to a base model without documented image fine-tuning. */
  force?: boolean;
  hyperparameters?: FineTuneHyperparameters;
  suffix?: string;
  /** null: let the provider choose. */
  seed?: number | null;
  /** Stops uploads (nothing is created); job creation itself is never interrupted half-way. */
  signal?: AbortSignal;
}

export interface StartResult {
  job: FineTuningJob;
  record: FineTuneRecord;
  check: FineTuneCheck;
  files: { training: FileObject; validation: FileObject | null };
}

export interface CreateJobParams {
  trainingFile: string;
  validationFile?: string | null;
  baseModel?: string;
  hyperparameters?: FineTuneHyperparameters;
  suffix?: string | null;
  seed?: number | null;
}

export interface JobStatusReport {
  job: FineTuningJob;
  progress: FineTuneProgress | null;
  /** The most recent events, oldest first. */
  recentEvents: FineTuningJobEvent[];
}

/** Job creation refused by the provider: its message, and what to do instead. */
export class FineTuneRefusedError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly providerMessage: string,
    readonly alternatives: string[],
    readonly cleanup: string,
  ) {
    super(
      [
        `the provider refused to create the fine-tuning job: ${status ? `HTTP ${status}: ` : ""}${providerMessage}`,
        ...(alternatives.length ? ["", ...alternatives] : []),
        ...(cleanup ? ["", cleanup] : []),
      ].join("\n"),
    );
    this.name = "FineTuneRefusedError";
  }
}

// ---------------------------------------------------------------------------------------------------
// The class

export class OpenAIFineTuner {
  readonly provider: FineTuneProvider;
  readonly modelsDir: string;
  readonly recordFile: string;
  private readonly handle: OpenAIClientHandle;
  private readonly uploadHandle: OpenAIClientHandle;
  private readonly log: (line: string) => void;
  private readonly settings: { filePollIntervalMs: number; fileProcessingMaxWaitMs: number };

  /** Throws ModelUnavailableError naming the variable to set when there is no key (or no Azure endpoint/version). */
  constructor(opts: FineTunerOptions = {}) {
    const d = FINE_TUNE_DEFAULTS;
    this.provider = opts.provider ?? d.provider;
    this.modelsDir = opts.modelsDir ?? d.modelsDir;
    this.recordFile = fineTuneRecordPath(this.modelsDir);
    this.log = opts.log ?? ((l) => console.log(l));
    const common = {
      name: "finetune",
      provider: this.provider,
      ...(opts.baseURL !== undefined ? { baseURL: opts.baseURL } : {}),
      ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}),
      ...(opts.azure ? { azure: opts.azure } : {}),
      maxRetries: opts.maxRetries ?? d.maxRetries,
      maxRetryAfterMs: d.maxRetryAfterMs,
      ...(opts.env ? { env: opts.env } : {}),
    };
    try {
      this.handle = createOpenAIClient({ ...common, timeoutMs: opts.timeoutMs ?? d.timeoutMs });
      this.uploadHandle = createOpenAIClient({ ...common, timeoutMs: opts.uploadTimeoutMs ?? d.uploadTimeoutMs });
    } catch (e) {
      if (!(e instanceof ModelUnavailableError)) throw e;
      throw new ModelUnavailableError("finetune", `${e.reason} (a dry run, --dry-run, needs no key)`);
    }
    this.settings = {
      filePollIntervalMs: opts.filePollIntervalMs ?? d.filePollIntervalMs,
      fileProcessingMaxWaitMs: opts.fileProcessingMaxWaitMs ?? d.fileProcessingMaxWaitMs,
    };
  }

  /** Where requests go (no secrets). */
  describe(): Record<string, unknown> {
    return { provider: this.provider, baseURL: this.handle.baseURL, ...(this.handle.apiVersion ? { apiVersion: this.handle.apiVersion } : {}), record: this.recordFile };
  }

  /** Upload a JSONL file with purpose `fine-tune` and wait until the provider has processed it. */
  async uploadFile(file: string, opts: { signal?: AbortSignal } = {}): Promise<FileObject> {
    const uploaded = await this.call(`uploading ${file}`, () =>
      this.uploadHandle.client.files.create({ file: createReadStream(file), purpose: "fine-tune" }, opts.signal ? { signal: opts.signal } : {}),
    );
    this.log(`uploaded ${path.basename(file)} → ${uploaded.id} (${uploaded.bytes} bytes)`);
    return this.waitForFile(uploaded, opts.signal);
  }

  /**
   * Create a supervised fine-tuning job. Hyperparameters are each "auto" or a number. Throws
   * FineTuneRefusedError when the provider refuses (anything but a transient failure).
   */
  async createJob(params: CreateJobParams): Promise<FineTuningJob> {
    const hyper = { ...FINE_TUNE_DEFAULTS.hyperparameters, ...params.hyperparameters };
    const body: JobCreateParams = {
      model: resolveBaseModel(params.baseModel ?? FINE_TUNE_DEFAULTS.baseModel),
      training_file: params.trainingFile,
      method: { type: "supervised", supervised: { hyperparameters: hyper } },
      ...(params.validationFile ? { validation_file: params.validationFile } : {}),
      ...(params.suffix ? { suffix: params.suffix } : {}),
      ...(params.seed !== undefined && params.seed !== null ? { seed: params.seed } : {}),
    };
    const attempts = FINE_TUNE_DEFAULTS.createAttempts;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.handle.client.fineTuning.jobs.create(body, { maxRetries: 0 });
      } catch (err) {
        if (!isTransientApiError(err)) throw this.refusal(err);
        const why = describeApiError(err, this.handle);
        // The request may have reached the provider: look for the job before asking again.
        const existing = await this.findJobForFile(params.trainingFile).catch(() => null);
        if (existing) {
          this.log(`job creation answered with an error (${why}), but job ${existing.id} exists for this training file; using it`);
          return existing;
        }
        if (attempt + 1 >= attempts) throw new Error(`could not create the fine-tuning job after ${attempts} tries: ${why}`);
        const wait = backoffDelay(attempt, 1000, 30_000);
        this.log(`job creation failed (${why}); no job was made; trying again in ${Math.round(wait / 1000)} s`);
        await abortableSleep(wait);
      }
    }
  }

  /** The most recent jobs (newest first), at most `limit` (1–100). */
  async listFineTuneJobs(limit = 10): Promise<FineTuningJob[]> {
    const page = await this.call("listing fine-tuning jobs", () =>
      this.handle.client.fineTuning.jobs.list({ limit: Math.max(1, Math.min(100, Math.floor(limit))) }),
    );
    return page.data.slice(0, limit);
  }

  /** The job, its latest progress (from recent metrics events) and its recent events. */
  async checkJobStatus(jobId: string, recent = 10): Promise<JobStatusReport> {
    const job = await this.call(`reading ${jobId}`, () => this.handle.client.fineTuning.jobs.retrieve(jobId));
    const page = await this.call(`reading the events of ${jobId}`, () => this.handle.client.fineTuning.jobs.listEvents(jobId, { limit: 50 }));
    const events = [...page.data].reverse();
    const metrics = events.map(metricsFromEvent).filter((m): m is NonNullable<typeof m> => m !== null);
    const total = metrics.reduce<number | null>((t, m) => m.totalSteps ?? t, null);
    const progress = progressFromPoints(metrics.map((m) => m.point), total);
    const recentEvents = events.filter((e) => !metricsFromEvent(e)).slice(-recent);
    await this.refreshRecord(job);
    return { job, progress, recentEvents };
  }

  /** Watch a job until it ends (see monitor.ts); the record follows it. */
  async monitorFineTuneJob(jobId: string, opts: MonitorOptions = {}): Promise<MonitorResult> {
    return monitorFineTuneJob(this.handle, jobId, this.recordFile, {
      log: this.log,
      resumeCommand: this.resumeCommand(jobId),
      ...opts,
      known: { provider: this.provider, ...opts.known },
    });
  }

  /** Ask the provider to cancel the job; returns the job as it then stands. */
  async cancel(jobId: string): Promise<FineTuningJob> {
    const job = await this.call(`cancelling ${jobId}`, () => this.handle.client.fineTuning.jobs.cancel(jobId));
    await this.refreshRecord(job);
    return job;
  }

  /**
   * Check the files (refusing format problems), upload them, create the job and write the record.
   * Prints the estimate first: the job is paid for from the moment it runs.
   */
  async start(opts: StartOptions = {}): Promise<StartResult> {
    const d = FINE_TUNE_DEFAULTS;
    const baseModel = resolveBaseModel(opts.baseModel ?? d.baseModel);
    const suffix = opts.suffix ?? d.suffix;
    if (suffix.length > MAX_SUFFIX_LENGTH) throw new Error(`the suffix may have at most ${MAX_SUFFIX_LENGTH} characters, got ${suffix.length}`);
    const hyperparameters = { ...d.hyperparameters, ...opts.hyperparameters };
    const dataDir = opts.dataDir ?? d.dataDir;
    const check = await checkFineTuneRun({
      dataDir,
      baseModel,
      provider: this.provider,
      ...(opts.withImages !== undefined ? { withImages: opts.withImages } : {}),
      ...(opts.force !== undefined ? { force: opts.force } : {}),
      epochs: hyperparameters.n_epochs,
    });
    this.log(`training data: ${check.choice.withImages ? "WITH IMAGES" : "TEXT-ONLY"} — ${check.choice.notice}`);
    for (const w of check.warnings) this.log(`warning: ${w}`);
    assertUploadable(check);
    if (check.cost) {
      this.log(`estimate: ${check.cost.examples} examples × ${check.cost.epochs} epochs ≈ ${check.cost.billedTokens} billed tokens ≈ $${check.cost.usd.toFixed(2)} (prices as of ${check.cost.pricesAsOf})`);
    } else {
      this.log(`estimate: none (${check.costProblem})`);
    }

    const uploaded: FileObject[] = [];
    try {
      for (const file of [check.files.train, check.files.val]) {
        if (file) uploaded.push(await this.uploadFile(file, opts.signal ? { signal: opts.signal } : {}));
      }
    } catch (err) {
      const ids = uploaded.map((f) => f.id);
      const cleanup = ids.length ? ` ${await this.deleteFiles(ids)}` : "";
      const stopped = opts.signal?.aborted ? "stopped during the upload: no job was created." : `the upload failed: ${(err as Error).message}. No job was created.`;
      throw new Error(`${stopped}${cleanup}`, { cause: err });
    }
    const training = uploaded[0]!;
    const validation = check.files.val ? uploaded[1]! : null;
    let job: FineTuningJob;
    try {
      job = await this.createJob({
        trainingFile: training.id,
        validationFile: validation?.id ?? null,
        baseModel,
        hyperparameters,
        suffix,
        seed: opts.seed === undefined ? d.seed : opts.seed,
      });
    } catch (err) {
      if (err instanceof FineTuneRefusedError) {
        const cleanup = await this.deleteFiles([training.id, ...(validation ? [validation.id] : [])]);
        const alternatives = refusalAlternatives(err.status, err.providerMessage, this.provider, dataDir);
        throw new FineTuneRefusedError(err.status, err.providerMessage, alternatives, cleanup);
      }
      throw err;
    }
    this.log(`created ${job.id} (${job.model}, status ${job.status})`);
    const keeper = await FineTuneRecordKeeper.open(this.recordFile);
    await keeper.update(
      recordFromJob(job, null, {
        provider: this.provider,
        with_images: check.choice.withImages,
        training_path: path.resolve(check.files.train),
        validation_path: check.files.val ? path.resolve(check.files.val) : null,
        suffix,
        training_examples_sent: check.checks.train.examples,
        training_tokens_sent: check.checks.train.tokens.total,
      }),
    );
    this.log(`record: ${this.recordFile}`);
    return { job, record: keeper.record!, check, files: { training, validation } };
  }

  /** The command that resumes watching `jobId` with this tuner's provider and models folder. */
  resumeCommand(jobId: string): string {
    const flags = [
      ...(this.provider !== "openai" ? [`--provider ${this.provider}`] : []),
      ...(path.resolve(this.modelsDir) !== path.resolve(DEFAULT_MODELS_DIR) ? [`--models-dir ${shellQuote(this.modelsDir)}`] : []),
    ];
    return `npx streetsafe finetune watch ${jobId}${flags.length ? ` ${flags.join(" ")}` : ""}`;
  }

  // -------------------------------------------------------------------------------------------------
  // Private helpers

  private async waitForFile(file: FileObject, signal?: AbortSignal): Promise<FileObject> {
    const started = Date.now();
    let current = file;
    for (;;) {
      const status = current.status as string | undefined;
      if (!status || status === "processed") return current;
      if (status === "error" || status === "deleted" || status === "deleting") {
        throw new Error(`the provider could not process ${current.filename} (${current.id}): ${current.status_details ?? status}`);
      }
      if (Date.now() - started > this.settings.fileProcessingMaxWaitMs) {
        throw new Error(`${current.filename} (${current.id}) was not processed within ${Math.round(this.settings.fileProcessingMaxWaitMs / 60_000)} min (status ${status}); try again later`);
      }
      if (!(await abortableSleep(this.settings.filePollIntervalMs, signal))) throw new Error("stopped while waiting for the upload to be processed; no job was created");
      const id = current.id;
      current = await this.call(`reading the status of ${id}`, () => this.handle.client.files.retrieve(id, signal ? { signal } : {}));
    }
  }

  /** Run one API call; a failure becomes an Error saying what was being done, where, and why (key scrubbed). */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && (err.name === "APIUserAbortError" || err.name === "AbortError")) throw err;
      throw new Error(`${what} (${this.handle.baseURL}): ${describeApiError(err, this.handle)}`, { cause: err });
    }
  }

  /** A job created in the last hour for this training file (after a transient creation error). */
  private async findJobForFile(trainingFile: string): Promise<FineTuningJob | null> {
    const jobs = await this.listFineTuneJobs(20);
    const hourAgo = Date.now() / 1000 - 3600;
    return jobs.find((j) => j.training_file === trainingFile && j.created_at >= hourAgo) ?? null;
  }

  private refusal(err: unknown): Error {
    if (!(err instanceof APIError) || !err.status) return err instanceof Error ? err : new Error(String(err));
    const message = redact(this.handle.errorText(err), [this.handle.apiKey]);
    if (err.status === 401) {
      const keyVar = this.provider === "azure" ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";
      return new Error(`the API key was rejected (HTTP 401): ${message}. Check ${keyVar} (or ${keyVar}_FILE).`);
    }
    return new FineTuneRefusedError(err.status, message, refusalAlternatives(err.status, message, this.provider), "");
  }

  /** Delete files uploaded for a job that was refused; say what happened. */
  private async deleteFiles(ids: string[]): Promise<string> {
    const left: string[] = [];
    for (const id of ids) {
      try {
        await this.handle.client.files.delete(id);
      } catch {
        left.push(id);
      }
    }
    if (left.length === 0) return `The uploaded files (${ids.join(", ")}) were deleted again; nothing is left on the provider and the record was not changed.`;
    return `Uploaded files that could not be deleted (delete them in the provider's dashboard): ${left.join(", ")}. The record was not changed.`;
  }

  /** Rewrite the record when it is about this job (status and cancel keep it true). */
  private async refreshRecord(job: FineTuningJob): Promise<void> {
    const keeper = await FineTuneRecordKeeper.open(this.recordFile);
    const current = keeper.forJob(job.id);
    if (current) await keeper.update(recordFromJob(job, current, {}));
  }
}

// ---------------------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

/**
 * What to do instead when a job is refused. The wind-down and the other routes are shown for refusals
 * that are about being allowed to fine-tune at all (403, 404 on the model, or a message saying so).
 */
export function refusalAlternatives(status: number | undefined, message: string, provider: FineTuneProvider, dataDir = "<data-dir>"): string[] {
  const aboutAccess =
    status === 403 ||
    status === 404 ||
    /no longer|not (?:available|allowed|permitted|enabled|supported)|disabled|permission|access|wind(?:ing)? down|deprecat|quota|not eligible/i.test(message);
  if (!aboutAccess) return [];
  return [
    `OpenAI is winding down self-serve fine-tuning: new jobs end for everyone on ${FINE_TUNE_WIND_DOWN}, and some organisations can no longer create them already.`,
    "Alternatives:",
    ...(provider !== "azure"
      ? ["  - Azure OpenAI keeps the same fine-tuning API: npx streetsafe finetune --provider azure (set AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION)"]
      : ["  - check that your Azure resource's region offers fine-tuning for this base model, and that your role may create fine-tuning jobs"]),
    `  - fine-tune Qwen2-VL-2B locally with LLaMA-Factory (it sees the images): see ${path.join(dataDir, QWEN_FINETUNING_README)}, written by prepare`,
  ];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Whether a key for `provider` is configured (variable or key file), without throwing. */
export function hasFineTuneKey(provider: FineTuneProvider = "openai", env: NodeJS.ProcessEnv = process.env): boolean {
  const v = provider === "azure" ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";
  return !!env[v]?.trim() || !!env[`${v}_FILE`]?.trim();
}

/** The guide's name for OpenAIFineTuner (it fine-tunes any base model, GPT-4o-mini by default). */
export const GPT4oMiniFineTuner = OpenAIFineTuner;
export type GPT4oMiniFineTuner = OpenAIFineTuner;
