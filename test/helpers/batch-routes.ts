/**
 * The Batch API for the loopback OpenAI-compatible server (`extraRoutes`):
 *
 *   POST /v1/files (multipart, purpose batch) · GET /v1/files/{id} · GET /v1/files/{id}/content
 *   POST /v1/batches · GET /v1/batches · GET /v1/batches/{id} · POST /v1/batches/{id}/cancel
 *
 * A batch moves one step along `script` each time it is read (validating → in_progress → finalizing →
 * completed by default). The input file is validated as OpenAI does (JSON lines, unique custom_id, POST,
 * the batch's endpoint, one model); a bad file fails the batch with `errors`. While in progress each read
 * answers `linesPerRead` more lines, the rest when it finalizes. Every line is answered by POSTing its
 * body to the server's own /v1/chat/completions (header `x-streetsafe-batch: <batch id>`), so scores
 * still come from the image bytes and the server's `behaviour` applies. Lines that `failLine` picks, and
 * lines the chat route answers with an error, go to the error file; `expire` ends the batch `expired`
 * after some lines, the others in the error file as `batch_expired`; a cancelled batch keeps the lines
 * answered so far. `fault` injects HTTP errors per route and call.
 */
import type http from "node:http";
import { sendError, type Route, type RouteContext } from "./openai-server";

export type SimBatchStatus = "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";
export type BatchRouteName = "files.create" | "files.retrieve" | "files.content" | "batches.create" | "batches.list" | "batches.retrieve" | "batches.cancel";

export interface BatchSimOptions {
  /** Statuses on successive reads of a batch (creation shows the first); the last repeats. */
  script?: SimBatchStatus[];
  /** Lines answered per read while in progress (the rest when finalizing). Default: all at once. */
  linesPerRead?: number;
  /** Answer this line with an error (it goes to the error file) instead of asking the chat route. */
  failLine?: (line: { custom_id: string; index: number; body: Record<string, unknown> }) => { status: number; message: string; code?: string } | undefined;
  /** The completion window runs out after `answered` lines: the batch ends `expired`. */
  expire?: { answered: number };
  /** An HTTP error for the n-th call (from 0) of a route. */
  fault?: (call: { route: BatchRouteName; n: number }) => { status: number; message?: string } | undefined;
}

export interface SimBatchFile {
  id: string;
  filename: string;
  purpose: string;
  content: Buffer;
  created_at: number;
}

export interface SimBatch {
  id: string;
  request: Record<string, unknown>;
  input_file_id: string;
  status: SimBatchStatus;
  reads: number;
  created_at: number;
  /** Parsed input lines (empty when the file failed validation). */
  lines: { custom_id: string; body: Record<string, unknown> }[];
  validationErrors: { code: string; line: number | null; message: string; param: string | null }[];
  /** Output and error lines so far, by custom_id. */
  outputs: Map<string, string>;
  errors: Map<string, string>;
  /** How many input lines have been answered. */
  answered: number;
  output_file_id: string | null;
  error_file_id: string | null;
  times: Record<string, number>;
}

export interface BatchSim {
  routes: Route[];
  files: Map<string, SimBatchFile>;
  batches: Map<string, SimBatch>;
  /** Calls per route so far. */
  calls: Record<string, number>;
  options: BatchSimOptions;
}

export const DEFAULT_BATCH_SCRIPT: SimBatchStatus[] = ["validating", "in_progress", "finalizing", "completed"];
const TERMINAL: SimBatchStatus[] = ["failed", "completed", "expired", "cancelled"];

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-request-id": "req_batch_test" });
  res.end(text);
}

export function batchSim(options: BatchSimOptions = {}): BatchSim {
  const script = options.expire ? (options.script ?? ["validating", "in_progress", "expired"]) : (options.script ?? DEFAULT_BATCH_SCRIPT);
  const files = new Map<string, SimBatchFile>();
  const batches = new Map<string, SimBatch>();
  const calls: Record<string, number> = {};
  let fileCount = 0;
  let batchCount = 0;
  let clock = 1_700_100_000;
  const now = () => ++clock;

  const addFile = (filename: string, purpose: string, content: Buffer): SimBatchFile => {
    const f = { id: `file-batch-${++fileCount}`, filename, purpose, content, created_at: now() };
    files.set(f.id, f);
    return f;
  };
  const fileView = (f: SimBatchFile) => ({ object: "file", id: f.id, bytes: f.content.length, created_at: f.created_at, filename: f.filename, purpose: f.purpose, status: "processed", status_details: null });

  const validate = (batch: SimBatch, content: string, endpoint: string) => {
    const seen = new Set<string>();
    const models = new Set<string>();
    const problem = (line: number, message: string, param: string | null = null) => batch.validationErrors.push({ code: "invalid_request", line, message, param });
    content.split("\n").forEach((text, i) => {
      if (!text.trim()) return;
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return problem(i + 1, "Invalid JSON on this line.");
      }
      const id = l["custom_id"];
      if (typeof id !== "string" || !id) return problem(i + 1, "Missing custom_id.", "custom_id");
      if (seen.has(id)) return problem(i + 1, `Duplicate custom_id: ${id}.`, "custom_id");
      seen.add(id);
      if (l["method"] !== "POST") return problem(i + 1, "Only POST is supported.", "method");
      if (l["url"] !== endpoint) return problem(i + 1, `The url ${String(l["url"])} does not match the batch's endpoint ${endpoint}.`, "url");
      const body = l["body"] as Record<string, unknown> | undefined;
      if (!body || typeof body["model"] !== "string") return problem(i + 1, "Missing body.model.", "body.model");
      models.add(body["model"]);
      batch.lines.push({ custom_id: id, body });
    });
    if (batch.lines.length === 0 && batch.validationErrors.length === 0) problem(0, "The input file is empty.");
    if (models.size > 1) problem(0, `All requests in a batch must use the same model; found ${[...models].join(", ")}.`, "body.model");
    if (batch.validationErrors.length) batch.lines = [];
  };

  /** Answer lines up to `upTo` (capped by an expiry) through the server's own chat route. */
  const answer = async (ctx: RouteContext, batch: SimBatch, upTo: number) => {
    const cap = options.expire ? Math.min(upTo, options.expire.answered) : upTo;
    for (; batch.answered < Math.min(cap, batch.lines.length); batch.answered++) {
      const index = batch.answered;
      const line = batch.lines[index]!;
      const requestId = `req_${batch.id}_${index}`;
      const failed = options.failLine?.({ custom_id: line.custom_id, index, body: line.body });
      if (failed) {
        const body = { error: { message: failed.message, type: "invalid_request_error", param: null, code: failed.code ?? null } };
        batch.errors.set(line.custom_id, JSON.stringify({ id: `batch_req_${index}`, custom_id: line.custom_id, response: { status_code: failed.status, request_id: requestId, body }, error: null }));
        continue;
      }
      const res = await fetch(`${ctx.server.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ctx.options.apiKey}`, "x-streetsafe-batch": batch.id },
        body: JSON.stringify(line.body),
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { error: { message: `unparseable reply: ${text.slice(0, 100)}`, type: "server_error", param: null, code: null } };
      }
      const out = JSON.stringify({ id: `batch_req_${index}`, custom_id: line.custom_id, response: { status_code: res.status, request_id: requestId, body }, error: null });
      (res.ok ? batch.outputs : batch.errors).set(line.custom_id, out);
    }
  };

  const finishFiles = (batch: SimBatch) => {
    if (batch.status === "expired") {
      for (const line of batch.lines.slice(batch.answered)) {
        batch.errors.set(
          line.custom_id,
          JSON.stringify({ id: null, custom_id: line.custom_id, response: null, error: { code: "batch_expired", message: "This request could not be executed before the completion window expired." } }),
        );
      }
    }
    if (batch.outputs.size) batch.output_file_id = addFile("batch_output.jsonl", "batch_output", Buffer.from([...batch.outputs.values()].join("\n") + "\n")).id;
    if (batch.errors.size) batch.error_file_id = addFile("batch_errors.jsonl", "batch_output", Buffer.from([...batch.errors.values()].join("\n") + "\n")).id;
  };

  const enter = async (ctx: RouteContext, batch: SimBatch, status: SimBatchStatus) => {
    if (batch.validationErrors.length && status !== "validating") status = "failed";
    if (status === "in_progress") await answer(ctx, batch, batch.answered + (options.linesPerRead ?? Infinity));
    if (status === "finalizing" || status === "completed") await answer(ctx, batch, Infinity);
    if (status === batch.status) return;
    batch.status = status;
    batch.times[`${status}_at`] = now();
    if (TERMINAL.includes(status) && status !== "failed") finishFiles(batch);
  };

  const view = (b: SimBatch) => ({
    id: b.id,
    object: "batch",
    endpoint: b.request["endpoint"],
    errors: b.validationErrors.length ? { object: "list", data: b.validationErrors } : null,
    input_file_id: b.input_file_id,
    completion_window: b.request["completion_window"],
    status: b.status,
    output_file_id: b.output_file_id,
    error_file_id: b.error_file_id,
    created_at: b.created_at,
    expires_at: b.created_at + 86_400,
    ...b.times,
    request_counts: { total: b.lines.length, completed: b.outputs.size, failed: b.errors.size },
    metadata: b.request["metadata"] ?? null,
  });

  const route = (name: BatchRouteName, method: string, pattern: RegExp, handler: (ctx: RouteContext) => void | Promise<void>): Route => ({
    method,
    path: pattern,
    handler: async (ctx) => {
      const n = calls[name] ?? 0;
      calls[name] = n + 1;
      const f = options.fault?.({ route: name, n });
      if (f) return sendError(ctx.res, f.status, f.message ?? "The server had an error while processing your request. Sorry about that!");
      return handler(ctx);
    },
  });
  const batchOr404 = (ctx: RouteContext): SimBatch | undefined => {
    const b = batches.get(decodeURIComponent(ctx.params[0]!));
    if (!b) sendError(ctx.res, 404, `No batch found with id '${ctx.params[0]}'.`, { param: "batch_id" });
    return b;
  };

  const routes: Route[] = [
    route("files.create", "POST", /^\/v1\/files$/, async (ctx) => {
      const form = await new Request("http://local/", { method: "POST", headers: { "content-type": String(ctx.req.headers["content-type"]) }, body: ctx.rawBody }).formData();
      const file = form.get("file");
      const purpose = form.get("purpose");
      if (!(file instanceof File)) return sendError(ctx.res, 400, "'file' is a required property", { param: "file" });
      if (purpose !== "batch") return sendError(ctx.res, 400, `'${String(purpose)}' is not a purpose this test server takes (batch only)`, { param: "purpose" });
      json(ctx.res, 200, fileView(addFile(file.name, purpose, Buffer.from(await file.arrayBuffer()))));
    }),
    route("files.retrieve", "GET", /^\/v1\/files\/([^/]+)$/, (ctx) => {
      const f = files.get(ctx.params[0]!);
      if (!f) return sendError(ctx.res, 404, `No such File object: ${ctx.params[0]}`, { param: "id" });
      json(ctx.res, 200, fileView(f));
    }),
    route("files.content", "GET", /^\/v1\/files\/([^/]+)\/content$/, (ctx) => {
      const f = files.get(ctx.params[0]!);
      if (!f) return sendError(ctx.res, 404, `No such File object: ${ctx.params[0]}`, { param: "id" });
      ctx.res.writeHead(200, { "content-type": "application/octet-stream", "content-length": f.content.length });
      ctx.res.end(f.content);
    }),
    route("batches.create", "POST", /^\/v1\/batches$/, (ctx) => {
      const body = (ctx.record.body ?? {}) as Record<string, unknown>;
      const bad = (message: string, param: string) => sendError(ctx.res, 400, message, { param });
      const input = files.get(String(body["input_file_id"]));
      if (!input) return bad(`Invalid file ID: ${String(body["input_file_id"])}`, "input_file_id");
      if (input.purpose !== "batch") return bad("The input file must have purpose batch", "input_file_id");
      if (body["completion_window"] !== "24h") return bad("completion_window must be 24h", "completion_window");
      const endpoint = body["endpoint"];
      if (typeof endpoint !== "string" || !["/v1/chat/completions", "/v1/responses", "/v1/embeddings"].includes(endpoint)) return bad(`Unsupported endpoint ${String(endpoint)}`, "endpoint");
      const batch: SimBatch = {
        id: `batch_${++batchCount}`,
        request: body,
        input_file_id: input.id,
        status: script[0]!,
        reads: 0,
        created_at: now(),
        lines: [],
        validationErrors: [],
        outputs: new Map(),
        errors: new Map(),
        answered: 0,
        output_file_id: null,
        error_file_id: null,
        times: {},
      };
      validate(batch, input.content.toString("utf8"), endpoint);
      batches.set(batch.id, batch);
      json(ctx.res, 200, view(batch));
    }),
    route("batches.list", "GET", /^\/v1\/batches$/, (ctx) => {
      const limit = Math.max(1, Math.min(100, Number(ctx.url.searchParams.get("limit") ?? 20) || 20));
      const data = [...batches.values()].reverse().slice(0, limit).map(view);
      json(ctx.res, 200, { object: "list", data, has_more: batches.size > limit, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
    }),
    route("batches.retrieve", "GET", /^\/v1\/batches\/([^/]+)$/, async (ctx) => {
      const b = batchOr404(ctx);
      if (!b) return;
      b.reads++;
      if (b.status === "cancelling") await enter(ctx, b, "cancelled");
      else if (!TERMINAL.includes(b.status)) await enter(ctx, b, script[Math.min(b.reads, script.length - 1)]!);
      json(ctx.res, 200, view(b));
    }),
    route("batches.cancel", "POST", /^\/v1\/batches\/([^/]+)\/cancel$/, async (ctx) => {
      const b = batchOr404(ctx);
      if (!b) return;
      if (TERMINAL.includes(b.status)) return sendError(ctx.res, 409, `Cannot cancel a batch with status ${b.status}.`, { param: "batch_id" });
      await enter(ctx, b, "cancelling");
      json(ctx.res, 200, view(b));
    }),
  ];
  return { routes, files, batches, calls, options };
}
