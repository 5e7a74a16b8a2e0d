/**
 * Files and fine-tuning endpoints for the loopback OpenAI-compatible server (`extraRoutes`), on OpenAI's
 * paths (`/v1/...`) and Azure's (`/openai/...?api-version=`):
 *
 *   POST /files (multipart, purpose fine-tune) · GET /files/{id} · GET /files/{id}/content · DELETE /files/{id}
 *   POST /fine_tuning/jobs · GET /fine_tuning/jobs · GET /fine_tuning/jobs/{id}
 *   GET /fine_tuning/jobs/{id}/events · GET /fine_tuning/jobs/{id}/checkpoints · POST /fine_tuning/jobs/{id}/cancel
 *
 * A job moves one step along `script` each time it is read (GET job), emitting events as a real job does:
 * messages on each change of status, metrics events (step, total_steps, train_loss, valid_loss) while
 * running, checkpoints and a result file (CSV, base64-encoded like OpenAI's) on success, the provider's
 * error on failure. Events list newest first with `after` cursors and `has_more`; pairs of events share a
 * second, as real ones do. `fault` injects errors or dropped connections per route and call.
 */
import { promises as fs } from "node:fs";
import type http from "node:http";
import path from "node:path";
import sharp from "sharp";
import { promptMessages } from "../../lib/src/prompt/messages";
import { toDataUrl } from "../../lib/src/core/image";
import { sendError, type Route, type RouteContext } from "./openai-server";

export type SimStatus = "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

export type Fault = { status: number; message?: string; code?: string; retryAfterMs?: number } | { kind: "reset" };

export type RouteName =
  | "files.create"
  | "files.retrieve"
  | "files.content"
  | "files.delete"
  | "jobs.create"
  | "jobs.list"
  | "jobs.retrieve"
  | "jobs.events"
  | "jobs.checkpoints"
  | "jobs.cancel";

export interface FineTuneSimOptions {
  /** Statuses on successive reads of a job (the creation reply shows the first); the last repeats. */
  script?: SimStatus[];
  /** The error a failed job carries. */
  failure?: { code: string; message: string; param: string | null };
  /** Training steps of a job. Default 12. */
  totalSteps?: number;
  /** Reads of an uploaded file that say "uploaded" before "processed". Default 1. */
  fileProcessingPolls?: number;
  /** Answer every job creation with this error (e.g. 403: the organisation may not create jobs). */
  refuseCreate?: { status: number; message: string; code?: string };
  /** Inject a fault into the n-th call (from 0) of a route. */
  fault?: (call: { route: RouteName; n: number; method: string; path: string }) => Fault | undefined;
  /** The result file's encoding. Default "base64" (as OpenAI has served them). */
  resultEncoding?: "base64" | "plain";
  /** The first N job creations make the job but answer 500 (a reply lost on the way). Default 0. */
  createThenFail?: number;
  /** Reads of a succeeded job that still name no model. Default 0. */
  modelNameDelayPolls?: number;
}

export interface SimFile {
  id: string;
  filename: string;
  bytes: number;
  purpose: string;
  content: Buffer;
  created_at: number;
  reads: number;
  deleted: boolean;
}

export interface SimEvent {
  object: "fine_tuning.job.event";
  id: string;
  created_at: number;
  level: "info" | "warn" | "error";
  message: string;
  data: Record<string, unknown>;
  type: "message" | "metrics";
}

export interface SimJob {
  id: string;
  /** The creation request body as received. */
  request: Record<string, unknown>;
  model: string;
  training_file: string;
  validation_file: string | null;
  created_at: number;
  reads: number;
  status: SimStatus;
  step: number;
  events: SimEvent[]; // oldest first
  checkpoints: Record<string, unknown>[];
  fine_tuned_model: string | null;
  succeededReads: number;
  finished_at: number | null;
  result_files: string[];
  trained_tokens: number | null;
  error: { code: string; message: string; param: string | null } | null;
}

export interface FineTuneSim {
  routes: Route[];
  files: Map<string, SimFile>;
  jobs: Map<string, SimJob>;
  /** Calls per route so far. */
  calls: Record<string, number>;
  options: FineTuneSimOptions;
}

export const DEFAULT_SCRIPT: SimStatus[] = ["validating_files", "queued", "running", "running", "running", "succeeded"];

/** Train loss at a step: a smooth decreasing curve; validation loss slightly above. */
export const trainLoss = (step: number) => Number((1.8 * Math.exp(-step / 6) + 0.2).toFixed(4));
export const validLoss = (step: number) => Number((1.9 * Math.exp(-step / 7) + 0.25).toFixed(4));

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-request-id": "req_ft_test" });
  res.end(text);
}

function list<T extends { id: string }>(items: T[], limit: number, after: string | null): Record<string, unknown> {
  let start = 0;
  if (after) {
    const i = items.findIndex((x) => x.id === after);
    start = i < 0 ? items.length : i + 1;
  }
  const data = items.slice(start, start + limit);
  return { object: "list", data, has_more: start + limit < items.length, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
}

export function fineTuneSim(options: FineTuneSimOptions = {}): FineTuneSim {
  const script = options.script ?? DEFAULT_SCRIPT;
  const totalSteps = options.totalSteps ?? 12;
  const files = new Map<string, SimFile>();
  const jobs = new Map<string, SimJob>();
  const calls: Record<string, number> = {};
  let fileCount = 0;
  let jobCount = 0;
  let eventCount = 0;
  const runningReads = Math.max(1, script.filter((s) => s === "running").length);
  const stepsPerRead = Math.max(1, Math.ceil(totalSteps / runningReads));

  const now = () => Math.floor(Date.now() / 1000);
  const event = (job: SimJob, message: string, extra: Partial<SimEvent> = {}) => {
    const n = eventCount++;
    job.events.push({
      object: "fine_tuning.job.event",
      id: `ftevent-${job.id.slice(6)}-${n}`,
      created_at: job.created_at + Math.floor(n / 2), // pairs share a second
      level: "info",
      message,
      data: {},
      type: "message",
      ...extra,
    });
  };
  const trainTo = (job: SimJob, target: number) => {
    for (let s = job.step + 1; s <= Math.min(target, totalSteps); s++) {
      const data: Record<string, unknown> = { step: s, train_loss: trainLoss(s), total_steps: totalSteps, train_mean_token_accuracy: 0.5 + s / (2 * totalSteps) };
      let msg = `Step ${s}/${totalSteps}: training loss=${trainLoss(s).toFixed(4)}`;
      if (job.validation_file && s % 3 === 0) {
        data["valid_loss"] = validLoss(s);
        data["valid_mean_token_accuracy"] = 0.45 + s / (2 * totalSteps);
        msg += `, validation loss=${validLoss(s).toFixed(4)}`;
      }
      event(job, msg, { type: "metrics", data });
      job.step = s;
    }
  };
  const resultCsv = (job: SimJob): string => {
    const rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"];
    for (let s = 1; s <= totalSteps; s++) {
      const v = job.validation_file && s % 3 === 0;
      rows.push(`${s},${trainLoss(s)},${(0.5 + s / (2 * totalSteps)).toFixed(4)},${v ? validLoss(s) : ""},${v ? (0.45 + s / (2 * totalSteps)).toFixed(4) : ""}`);
    }
    return rows.join("\n") + "\n";
  };
  const enter = (job: SimJob, status: SimStatus) => {
    if (status === job.status) {
      if (status === "running") trainTo(job, job.step + stepsPerRead);
      return;
    }
    job.status = status;
    if (status === "queued") event(job, "Files validated, moving job to queued state");
    if (status === "running") {
      event(job, "Fine-tuning job started");
      trainTo(job, job.step + stepsPerRead);
    }
    if (status === "succeeded") {
      trainTo(job, totalSteps);
      for (const k of [1, 2, 3]) {
        const step = Math.round((totalSteps * k) / 3);
        job.checkpoints.unshift({
          object: "fine_tuning.job.checkpoint",
          id: `ftckpt-${job.id.slice(6)}-${k}`,
          created_at: job.created_at + 100 + k,
          fine_tuned_model_checkpoint: `ft:${job.model}:streetsafe-test:${String(job.request["suffix"] ?? "")}:abc123:ckpt-step-${step}`,
          fine_tuning_job_id: job.id,
          step_number: step,
          metrics: { step, train_loss: trainLoss(step), valid_loss: validLoss(step), full_valid_loss: Number((validLoss(step) + 0.01).toFixed(4)) },
        });
        event(job, `Checkpoint created at step ${step}`);
      }
      const csv = resultCsv(job);
      const content = Buffer.from(options.resultEncoding === "plain" ? csv : Buffer.from(csv).toString("base64"));
      const id = `file-result-${job.id.slice(6)}`;
      files.set(id, { id, filename: "step_metrics.csv", bytes: content.length, purpose: "fine-tune-results", content, created_at: now(), reads: 0, deleted: false });
      job.result_files = [id];
      job.trained_tokens = 1234 * totalSteps;
      job.finished_at = now();
      event(job, `New fine-tuned model created`);
      event(job, "The job has successfully completed");
    }
    if (status === "failed") {
      job.error = options.failure ?? { code: "invalid_training_file", message: "The job failed due to an invalid training file.", param: "training_file" };
      job.finished_at = now();
      event(job, `Fine-tuning job failed: ${job.error.message}`, { level: "error" });
    }
  };
  const view = (job: SimJob) => {
    const named = job.status === "succeeded" && job.succeededReads > (options.modelNameDelayPolls ?? 0);
    const method = (job.request["method"] ?? { type: "supervised" }) as Record<string, unknown>;
    const hyper = ((method["supervised"] as Record<string, unknown> | undefined)?.["hyperparameters"] ?? {}) as Record<string, unknown>;
    const resolved = { n_epochs: hyper["n_epochs"] === "auto" || hyper["n_epochs"] === undefined ? 3 : hyper["n_epochs"], batch_size: hyper["batch_size"] === "auto" || hyper["batch_size"] === undefined ? 1 : hyper["batch_size"], learning_rate_multiplier: hyper["learning_rate_multiplier"] === "auto" || hyper["learning_rate_multiplier"] === undefined ? 1.8 : hyper["learning_rate_multiplier"] };
    return {
      object: "fine_tuning.job",
      id: job.id,
      model: job.model,
      created_at: job.created_at,
      finished_at: job.finished_at,
      fine_tuned_model: named ? `ft:${job.model}:streetsafe-test:${String(job.request["suffix"] ?? "")}:abc123` : null,
      organization_id: "org-test",
      result_files: job.status === "succeeded" ? job.result_files : [],
      status: job.status,
      validation_file: job.validation_file,
      training_file: job.training_file,
      hyperparameters: resolved,
      method: { type: "supervised", supervised: { hyperparameters: resolved } },
      trained_tokens: job.status === "succeeded" ? job.trained_tokens : null,
      error: job.error,
      seed: (job.request["seed"] as number | undefined) ?? 1234,
      estimated_finish: job.status === "running" ? job.created_at + 600 : null,
      integrations: [],
      metadata: null,
    };
  };
  const fileView = (f: SimFile, status: string) => ({ object: "file", id: f.id, bytes: f.bytes, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status, status_details: null });

  /** A route on both the OpenAI (`/v1`) and Azure (`/openai`, api-version required) prefixes. */
  const route = (name: RouteName, method: string, suffix: string, handler: (ctx: RouteContext) => void | Promise<void>): Route => ({
    method,
    path: new RegExp(`^/(v1|openai)${suffix}$`),
    handler: async (ctx) => {
      if (ctx.params[0] === "openai" && !ctx.url.searchParams.get("api-version")) return sendError(ctx.res, 404, "Resource not found", { code: "404" });
      const n = calls[name] ?? 0;
      calls[name] = n + 1;
      const f = options.fault?.({ route: name, n, method, path: ctx.url.pathname });
      if (f) {
        if ("kind" in f) {
          ctx.res.socket?.destroy();
          return;
        }
        return sendError(ctx.res, f.status, f.message ?? (f.status === 429 ? "Rate limit reached" : "The server had an error while processing your request. Sorry about that!"), {
          ...(f.code ? { code: f.code } : {}),
          ...(f.retryAfterMs !== undefined ? { headers: { "retry-after-ms": String(f.retryAfterMs) } } : {}),
        });
      }
      return handler({ ...ctx, params: ctx.params.slice(1) });
    },
  });
  const jobOr404 = (ctx: RouteContext): SimJob | undefined => {
    const job = jobs.get(decodeURIComponent(ctx.params[0]!));
    if (!job) sendError(ctx.res, 404, `Could not find fine-tune: ${ctx.params[0]}`, { code: "fine_tune_not_found", param: "fine_tune_id" });
    return job;
  };
  const limitOf = (ctx: RouteContext, d = 20) => Math.max(1, Math.min(100, Number(ctx.url.searchParams.get("limit") ?? d) || d));

  const routes: Route[] = [
    route("files.create", "POST", "/files", async (ctx) => {
      const form = await new Request("http://local/", { method: "POST", headers: { "content-type": String(ctx.req.headers["content-type"]) }, body: ctx.rawBody }).formData();
      const file = form.get("file");
      const purpose = form.get("purpose");
      if (!(file instanceof File)) return sendError(ctx.res, 400, "'file' is a required property", { param: "file" });
      if (purpose !== "fine-tune") return sendError(ctx.res, 400, `'${String(purpose)}' is not one of the supported purposes`, { param: "purpose" });
      const content = Buffer.from(await file.arrayBuffer());
      const id = `file-${++fileCount}`;
      const f: SimFile = { id, filename: file.name, bytes: content.length, purpose, content, created_at: now(), reads: 0, deleted: false };
      files.set(id, f);
      json(ctx.res, 200, fileView(f, "uploaded"));
    }),
    route("files.retrieve", "GET", "/files/([^/]+)", (ctx) => {
      const f = files.get(ctx.params[0]!);
      if (!f || f.deleted) return sendError(ctx.res, 404, `No such File object: ${ctx.params[0]}`, { param: "id" });
      f.reads++;
      json(ctx.res, 200, fileView(f, f.purpose !== "fine-tune" || f.reads > (options.fileProcessingPolls ?? 1) ? "processed" : "uploaded"));
    }),
    route("files.content", "GET", "/files/([^/]+)/content", (ctx) => {
      const f = files.get(ctx.params[0]!);
      if (!f || f.deleted) return sendError(ctx.res, 404, `No such File object: ${ctx.params[0]}`, { param: "id" });
      ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": f.content.length });
      ctx.res.end(f.content);
    }),
    route("files.delete", "DELETE", "/files/([^/]+)", (ctx) => {
      const f = files.get(ctx.params[0]!);
      if (!f || f.deleted) return sendError(ctx.res, 404, `No such File object: ${ctx.params[0]}`, { param: "id" });
      f.deleted = true;
      json(ctx.res, 200, { object: "file", id: f.id, deleted: true });
    }),
    route("jobs.create", "POST", "/fine_tuning/jobs", (ctx) => {
      if (options.refuseCreate) {
        const r = options.refuseCreate;
        return sendError(ctx.res, r.status, r.message, { ...(r.code ? { code: r.code } : {}) });
      }
      const body = (ctx.record.body ?? {}) as Record<string, unknown>;
      const bad = (message: string, param: string) => sendError(ctx.res, 400, message, { param });
      if (typeof body["model"] !== "string") return bad("Missing required parameter: 'model'.", "model");
      const training = files.get(String(body["training_file"]));
      if (!training || training.deleted) return bad(`Invalid file ID: ${String(body["training_file"])}`, "training_file");
      if (training.purpose !== "fine-tune") return bad("File has wrong purpose", "training_file");
      const validation = body["validation_file"] ? files.get(String(body["validation_file"])) : undefined;
      if (body["validation_file"] && (!validation || validation.deleted)) return bad(`Invalid file ID: ${String(body["validation_file"])}`, "validation_file");
      const method = body["method"] as Record<string, unknown> | undefined;
      if (method && method["type"] !== "supervised") return bad("Only supervised is simulated", "method");
      const hyper = ((method?.["supervised"] as Record<string, unknown> | undefined)?.["hyperparameters"] ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(hyper)) {
        if (!["n_epochs", "batch_size", "learning_rate_multiplier"].includes(k)) return bad(`Unknown hyperparameter ${k}`, `method.supervised.hyperparameters.${k}`);
        if (v !== "auto" && !(typeof v === "number" && v > 0)) return bad(`Invalid value for ${k}: ${JSON.stringify(v)}`, `method.supervised.hyperparameters.${k}`);
      }
      if (typeof body["suffix"] === "string" && body["suffix"].length > 64) return bad("suffix is too long", "suffix");
      const id = `ftjob-${++jobCount}`;
      const job: SimJob = {
        id,
        request: body,
        model: body["model"],
        training_file: training.id,
        validation_file: validation?.id ?? null,
        created_at: now(),
        reads: 0,
        status: script[0]!,
        step: 0,
        events: [],
        checkpoints: [],
        fine_tuned_model: null,
        succeededReads: 0,
        finished_at: null,
        result_files: [],
        trained_tokens: null,
        error: null,
      };
      jobs.set(id, job);
      event(job, `Created fine-tuning job: ${id}`);
      event(job, `Validating training file: ${training.id}${validation ? ` and validation file: ${validation.id}` : ""}`);
      if (jobCount <= (options.createThenFail ?? 0)) return sendError(ctx.res, 500, "The server had an error while processing your request. Sorry about that!");
      json(ctx.res, 200, view(job));
    }),
    route("jobs.list", "GET", "/fine_tuning/jobs", (ctx) => {
      const all = [...jobs.values()].reverse().map(view);
      json(ctx.res, 200, list(all, limitOf(ctx), ctx.url.searchParams.get("after")));
    }),
    route("jobs.retrieve", "GET", "/fine_tuning/jobs/([^/]+)", (ctx) => {
      const job = jobOr404(ctx);
      if (!job) return;
      job.reads++;
      if (job.status !== "cancelled" && job.status !== "failed" && job.status !== "succeeded") {
        enter(job, script[Math.min(job.reads, script.length - 1)]!);
      } else if (job.status === "succeeded") {
        job.succeededReads++;
      }
      if (job.status === "succeeded" && job.succeededReads === 0) job.succeededReads = 1;
      json(ctx.res, 200, view(job));
    }),
    route("jobs.events", "GET", "/fine_tuning/jobs/([^/]+)/events", (ctx) => {
      const job = jobOr404(ctx);
      if (!job) return;
      json(ctx.res, 200, list([...job.events].reverse(), limitOf(ctx), ctx.url.searchParams.get("after")));
    }),
    route("jobs.checkpoints", "GET", "/fine_tuning/jobs/([^/]+)/checkpoints", (ctx) => {
      const job = jobOr404(ctx);
      if (!job) return;
      json(ctx.res, 200, list(job.checkpoints as { id: string }[], limitOf(ctx, 10), ctx.url.searchParams.get("after")));
    }),
    route("jobs.cancel", "POST", "/fine_tuning/jobs/([^/]+)/cancel", (ctx) => {
      const job = jobOr404(ctx);
      if (!job) return;
      if (job.status === "succeeded" || job.status === "failed") return sendError(ctx.res, 400, `Job ${job.id} has already completed`, { param: "fine_tune_id" });
      if (job.status !== "cancelled") {
        job.status = "cancelled";
        job.finished_at = now();
        event(job, "Fine-tuning job cancelled");
      }
      json(ctx.res, 200, view(job));
    }),
  ];
  return { routes, files, jobs, calls, options };
}

// ---------------------------------------------------------------------------------------------------
// Fixture data: small fine-tuning files in prepare's layout, made here (no ../shared, no network)

/**
 * Write `<dataDir>/openai_finetuning/{train,val}_{text_only,with_images}.jsonl` with the project's own
 * prompt (promptMessages) and tiny generated JPEGs, plus `qwen_finetuning/README.md`.
 */
export async function writeFineTuneData(dataDir: string, opts: { train?: number; val?: number } = {}): Promise<void> {
  const scale = { min: 1, max: 10 };
  const dir = path.join(dataDir, "openai_finetuning");
  await fs.mkdir(dir, { recursive: true });
  await fs.mkdir(path.join(dataDir, "qwen_finetuning"), { recursive: true });
  await fs.writeFile(path.join(dataDir, "qwen_finetuning", "README.md"), "# Qwen2-VL fine-tuning (test fixture)\n");
  const line = async (i: number, withImages: boolean) => {
    const score = 1 + (i % 10);
    const jpeg = withImages
      ? await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 20 * (i % 12), g: 90, b: 160 } } }).jpeg({ quality: 80 }).toBuffer()
      : null;
    const messages = jpeg ? promptMessages(scale, { dataUrl: toDataUrl(jpeg), detail: "low" }) : promptMessages(scale);
    return JSON.stringify({ messages: [...messages, { role: "assistant", content: JSON.stringify({ score, reasons: ["test reason"] }) }] });
  };
  for (const [split, n] of [["train", opts.train ?? 12], ["val", opts.val ?? 4]] as const) {
    for (const withImages of [false, true]) {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(await line(i + (split === "val" ? 100 : 0), withImages));
      await fs.writeFile(path.join(dir, `${split}_${withImages ? "with_images" : "text_only"}.jsonl`), lines.join("\n") + "\n");
    }
  }
}
