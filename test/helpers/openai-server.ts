/**
 * A loopback OpenAI-compatible server for tests: real HTTP on 127.0.0.1 (port 0), so the real `openai`
 * SDK — its retries, timeouts and error classes — is what the tests exercise.
 *
 * Chat completions answer deterministically from the request: the score comes from the image bytes
 * (sha256 of the decoded image → an integer on the scale, or `scoreFor`), so a test can tell when a
 * reply was attached to the wrong image. Faults are chosen per request by `behaviour`
 * (a function of the request index, the image's attempt number or the request itself).
 *
 * Routing is a table (method + path pattern → handler); later work adds files, fine-tuning jobs and
 * batches as more rows (`extraRoutes`) sharing `state`.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";

export const TEST_API_KEY = "sk-test-streetsafe-0123456789";

// ---------------------------------------------------------------------------------------------------
// Types

export interface Scale {
  min: number;
  max: number;
}

export interface RecordedRequest {
  /** Arrival order over all routes, from 0. */
  index: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased request headers without `authorization` and `api-key`. */
  headers: Record<string, string>;
  /** The credentials matched the server's key. */
  authorized: boolean;
  /** Parsed JSON body (undefined when the body was empty or not JSON). */
  body?: unknown;
  model?: string;
  /** sha256 (hex) of the first image's decoded bytes — equals PreparedImage.sha256 for a JPEG data URL. */
  imageSha256?: string;
  imageSha256s: string[];
  /** For chat completions: the how-many-th request for this image (0 = first). */
  attempt?: number;
  /** For chat completions: the behaviour kind that answered. */
  answeredWith?: Behaviour["kind"];
  /** Date.now() when the request's body had arrived, and when its response was finished (if it was). */
  receivedAt: number;
  answeredAt?: number;
}

/** How one chat completion request is answered. `delayMs` waits before answering. */
export type Behaviour =
  /** The normal deterministic reply. */
  | { kind: "ok"; delayMs?: number }
  /** A reply with this exact message content (logprobs are made over it). */
  | { kind: "reply"; content: string; finishReason?: "stop" | "length"; delayMs?: number }
  /** A structured-outputs refusal (`message.refusal`, content null). */
  | { kind: "refusal"; refusal?: string; delayMs?: number }
  /** A polite reply with no score in it. */
  | { kind: "no-score"; delayMs?: number }
  /** 429 with `retry-after` (seconds, or an HTTP date) and/or `retry-after-ms`. */
  | { kind: "rate-limit"; retryAfter?: number | string; retryAfterMs?: number; delayMs?: number }
  /** Any HTTP error status with an OpenAI-style error body. */
  | {
      kind: "status";
      status: number;
      message?: string;
      type?: string;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
      /** Send this JSON body as is instead of `{error: {...}}` (servers with their own error format). */
      body?: unknown;
      delayMs?: number;
    }
  /** 200 with a JSON content type and a body that does not parse. */
  | { kind: "malformed"; delayMs?: number }
  /** 200 with a JSON content type and no body: `content-length: 0`, or (`chunked`) a chunked body of no bytes. */
  | { kind: "empty"; chunked?: boolean; delayMs?: number }
  /** 200 whose body is an HTML page (a proxy or captive portal). */
  | { kind: "html"; status?: number; delayMs?: number }
  /** Part of the body, then the socket is destroyed (a reset mid-body): after a content-length promising more, or (`chunked`) mid-chunk. */
  | { kind: "truncated"; chunked?: boolean; delayMs?: number }
  /** Never answers (until close()). */
  | { kind: "stall" }
  /** Sends the headers and part of the body, then nothing more (until close()). */
  | { kind: "stall-body" }
  /** Destroys the connection without any response. */
  | { kind: "reset"; delayMs?: number };

export interface BehaviourContext {
  /** Chat completion requests before this one (all images), from 0. */
  index: number;
  /** Earlier requests for this same image (0 = first attempt). */
  attempt: number;
  request: RecordedRequest;
  /** The validated request body. */
  body: ChatRequest;
}
export type BehaviourFn = (ctx: BehaviourContext) => Behaviour | undefined | void;

/** Named plain-text reply formats seen from real models (used when no JSON response_format is asked). */
export type TextFormat = "json" | "json-fence" | "labelled" | "markdown" | "sentence" | "bare";
export const TEXT_FORMATS: readonly TextFormat[] = ["json", "json-fence", "labelled", "markdown", "sentence", "bare"];

export interface TestServerOptions {
  /** The accepted key (`Authorization: Bearer <key>` or Azure's `api-key: <key>`). */
  apiKey?: string;
  /** Scale the default `scoreFor` maps onto and the logprob alternatives span. Default 1–10. */
  scale?: Scale;
  /** The score for an image; default: sha256 of the image bytes → min + (first 32 bits mod range). */
  scoreFor?: (imageSha256: string, dataUrl: string) => number;
  /** Reasons in replies; default two fixed phrases. */
  reasonsFor?: (score: number) => string[];
  /**
   * Content for requests without a JSON response_format: a named format, a function, or a list used
   * round-robin by request index. Default "json".
   */
  textFormat?: TextFormat | TextFormat[] | ((reply: { score: number; reasons: string[] }) => string);
  /**
   * "rejected": `response_format: json_schema` gets a 400 naming response_format; "no-bounds": a schema
   * using minimum/maximum gets a 400 (as fine-tuned models answer). Default "supported".
   */
  jsonSchema?: "supported" | "rejected" | "no-bounds";
  /** "ignored": logprobs null in replies; "rejected": 400 naming logprobs. Default "supported". */
  logprobs?: "supported" | "ignored" | "rejected";
  /**
   * p(k) of each score k at the score token (need not sum to 1; missing = 0). Default: 0.6 on the score,
   * 0.15 on each neighbour, 0.05 two steps away (within the scale).
   */
  scoreDistribution?: (score: number) => Record<number, number>;
  /** "whole": "10" is one token (GPT-4o tokenizers); "split": every digit its own token. Default "whole". */
  digitTokens?: "whole" | "split";
  /** Fixed latency before every chat answer (ms). */
  latencyMs?: number;
  /** Fault mode per request; undefined → "ok". Can be replaced later with setBehaviour. */
  behaviour?: BehaviourFn;
  /** Listed by GET /v1/models. */
  models?: string[];
  /** `shutdown_date` of listed models, as OpenAI's models.list gives it (absent: the field is left out). */
  modelShutdownDates?: Record<string, string | null>;
  /** Reject chat requests whose model is not in `models` (404 model_not_found). Default false. */
  rejectUnknownModels?: boolean;
  /** More routes, tried before the built-in ones. */
  extraRoutes?: Route[];
  /**
   * Pairwise requests (two images): the answer, by position. Default: the higher `scoreFor` is safer,
   * equal scores "equal". Return "A" for both orders of a pair to inject an order flip.
   */
  pairAnswerFor?: (firstSha256: string, secondSha256: string, ctx: { index: number; attempt: number }) => PairReply;
  /** p of each answer at the answer token (need not sum to 1). Default 0.8 on the answer, 0.1 on each other. */
  pairDistribution?: (answer: PairReply) => Partial<Record<PairReply, number>>;
}

export type PairReply = "A" | "B" | "equal";

/** Pairwise answers that follow the position ("A") on the pairs `flips` picks (by the two images' sha256), the scores elsewhere. */
export function flipPairs(scoreFor: (sha: string) => number, flips: (a: string, b: string) => boolean): NonNullable<TestServerOptions["pairAnswerFor"]> {
  return (first, second) => {
    const [a, b] = first < second ? [first, second] : [second, first];
    if (flips(a, b)) return "A";
    const d = scoreFor(first) - scoreFor(second);
    return d > 0 ? "A" : d < 0 ? "B" : "equal";
  };
}

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** Capture groups of a RegExp path. */
  params: string[];
  rawBody: Buffer;
  record: RecordedRequest;
  server: TestServer;
  options: Required<Pick<TestServerOptions, "apiKey" | "scale">> & TestServerOptions;
  /** Shared mutable state for stateful routes (files, jobs, batches). */
  state: Record<string, unknown>;
}

export interface Route {
  method: string;
  /** Exact path, or a RegExp matched against the whole path (capture groups → params). */
  path: string | RegExp;
  /** Default true: 401 without the right key. */
  auth?: boolean;
  handler: (ctx: RouteContext) => void | Promise<void>;
}

export interface TestServer {
  /** Base URL including /v1, for `new OpenAI({ baseURL })`. */
  url: string;
  /** http://127.0.0.1:<port>, for Azure's `endpoint`. */
  origin: string;
  requests: RecordedRequest[];
  /** Chat completion requests only. */
  chatRequests(): RecordedRequest[];
  /** Chat requests being answered now, and the most at once so far. */
  stats: { inFlight: number; maxInFlight: number };
  setBehaviour(fn: BehaviourFn | undefined): void;
  /** The score this server gives an image (by sha256 of its bytes). */
  scoreFor(imageSha256: string, dataUrl?: string): number;
  state: Record<string, unknown>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Behaviour helpers

/** The first `n` chat requests (over all images) get `b`, later ones the normal reply. */
export function failTimes(n: number, b: Behaviour): BehaviourFn {
  return ({ index }) => (index < n ? b : undefined);
}

/** The first `n` attempts for each image get `b` (safe under concurrency). */
export function failAttempts(n: number, b: Behaviour): BehaviourFn {
  return ({ attempt }) => (attempt < n ? b : undefined);
}

/** Every chat request gets `b`. */
export function always(b: Behaviour): BehaviourFn {
  return () => b;
}

// ---------------------------------------------------------------------------------------------------
// Request validation (the subset of the chat completions API the project uses)

const dataUrlRe = /^data:image\/(jpeg|png|webp|gif);base64,([A-Za-z0-9+/=]+)$/;

const textPart = z.object({ type: z.literal("text"), text: z.string() }).strict();
const imagePart = z
  .object({
    type: z.literal("image_url"),
    image_url: z.object({ url: z.string(), detail: z.enum(["low", "high", "auto"]).optional() }).strict(),
  })
  .strict();
const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.union([z.string(), z.array(textPart)]), name: z.string().optional() }).strict(),
  z.object({ role: z.literal("developer"), content: z.union([z.string(), z.array(textPart)]) }).strict(),
  z
    .object({ role: z.literal("user"), content: z.union([z.string(), z.array(z.union([textPart, imagePart])).min(1)]), name: z.string().optional() })
    .strict(),
  z.object({ role: z.literal("assistant"), content: z.string().nullable() }).passthrough(),
]);
const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).strict(),
  z.object({ type: z.literal("json_object") }).strict(),
  z
    .object({
      type: z.literal("json_schema"),
      json_schema: z
        .object({
          name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
          description: z.string().optional(),
          schema: z.record(z.unknown()),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);
export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(message).min(1),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    n: z.literal(1).nullable().optional(),
    stream: z.literal(false).nullable().optional(),
    response_format: responseFormat.optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    user: z.string().optional(),
    store: z.boolean().nullable().optional(),
    metadata: z.record(z.string()).nullable().optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.top_logprobs != null && b.top_logprobs > 0 && b.logprobs !== true) {
      ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: "top_logprobs requires logprobs to be true" });
    }
    if (b.max_tokens != null && b.max_completion_tokens != null) {
      ctx.addIssue({ code: "custom", path: ["max_tokens"], message: "max_tokens and max_completion_tokens are mutually exclusive" });
    }
  });
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Structured outputs' strict-mode rules: every object closed and every property required. */
function strictSchemaProblems(schema: unknown, at = "()"): string[] {
  if (!schema || typeof schema !== "object") return [];
  const s = schema as Record<string, unknown>;
  const problems: string[] = [];
  if (s["type"] === "object") {
    if (s["additionalProperties"] !== false) {
      problems.push(`In context=${at}, 'additionalProperties' is required to be supplied and to be false.`);
    }
    const props = (s["properties"] ?? {}) as Record<string, unknown>;
    const required = Array.isArray(s["required"]) ? (s["required"] as unknown[]) : [];
    const missing = Object.keys(props).filter((k) => !required.includes(k));
    if (missing.length) {
      problems.push(`In context=${at}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`);
    }
    for (const [k, v] of Object.entries(props)) problems.push(...strictSchemaProblems(v, `('properties', '${k}')`));
  }
  if (s["type"] === "array") problems.push(...strictSchemaProblems(s["items"], `${at}, 'items'`));
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Replies

const DEFAULT_REASONS = ["well-kept sidewalks", "some people walking"];

function defaultDistribution(scale: Scale): (score: number) => Record<number, number> {
  return (score) => {
    const weights: Record<number, number> = {};
    const w = [0.6, 0.15, 0.05];
    for (let d = -2; d <= 2; d++) {
      const k = score + d;
      if (k >= scale.min && k <= scale.max) weights[k] = w[Math.abs(d)]!;
    }
    return weights;
  };
}

function formatText(format: TextFormat, score: number, reasons: string[], scale: Scale): string {
  switch (format) {
    case "json":
      return `{"score": ${score}, "reasons": [${reasons.map((r) => JSON.stringify(r)).join(", ")}]}`;
    case "json-fence":
      return "Here is my rating:\n```json\n" + JSON.stringify({ score, reasons }, null, 2) + "\n```";
    case "labelled":
      return `Safety Score: ${score}\nReasons:\n${reasons.map((r) => `- ${r}`).join("\n")}`;
    case "markdown":
      return `**Safety score:** ${score}/${scale.max}\n\n**Reasons:**\n${reasons.map((r, i) => `${i + 1}. ${r}`).join("\n")}`;
    case "sentence":
      return `Score: ${score}/${scale.max}. ${reasons.join("; ")}.`;
    case "bare":
      return String(score);
  }
}

/** Toy tokenizer: numbers (whole or per digit), words, whitespace runs, punctuation runs. */
function tokenize(text: string, digits: "whole" | "split"): string[] {
  const re = digits === "whole" ? /\d{1,3}|[A-Za-z]+|\s+|[^\sA-Za-z\d]+/g : /\d|[A-Za-z]+|\s+|[^\sA-Za-z\d]+/g;
  return text.match(re) ?? [];
}

/** Char offset of the score's first digit in a reply, or -1. */
export function scoreOffset(text: string): number {
  const labelled = /score["'*]*\s*[:=]\s*(?:\*\*)?\s*"?(\d)/i.exec(text);
  if (labelled) return labelled.index + labelled[0].length - 1;
  const bare = /^\s*(\d)/.exec(text);
  return bare ? bare.index + bare[0].length - 1 : -1;
}

function ln(p: number): number {
  return p > 0 ? Math.log(p) : -9999;
}

type TopLogprob = { token: string; logprob: number; bytes: number[] };
type TokenLogprob = TopLogprob & { top_logprobs: TopLogprob[] };

function tl(token: string, p: number): TopLogprob {
  return { token, logprob: ln(p), bytes: [...Buffer.from(token, "utf8")] };
}

/**
 * logprobs.content for `text`: p = 1 everywhere except at the score, where the alternatives carry
 * `dist` (and, with split digits, the next position carries the continuation given the first digit).
 */
function makeLogprobs(
  text: string,
  dist: Record<number, number>,
  topN: number,
  digits: "whole" | "split",
): TokenLogprob[] {
  const tokens = tokenize(text, digits);
  const at = scoreOffset(text);
  const out: TokenLogprob[] = [];
  let pos = 0;
  const entries = Object.entries(dist)
    .map(([k, p]) => [String(Number(k)), p] as const)
    .filter(([, p]) => p > 0);
  const top = (list: TopLogprob[]) => list.sort((a, b) => b.logprob - a.logprob).slice(0, topN);
  let continuation: { first: string; mass: number } | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (pos === at && /^\d/.test(token)) {
      if (digits === "whole") {
        const alts = entries.map(([k, p]) => tl(k, p));
        // a little mass on a non-score token, as real top_logprobs have
        alts.push(tl(" ", 0.004));
        const chosen = entries.find(([k]) => k === token);
        out.push({ ...tl(token, chosen ? chosen[1] : 0), top_logprobs: top(alts) });
      } else {
        const mass = new Map<string, number>();
        for (const [k, p] of entries) mass.set(k[0]!, (mass.get(k[0]!) ?? 0) + p);
        const alts = [...mass].map(([d, p]) => tl(d, p));
        alts.push(tl(" ", 0.004));
        out.push({ ...tl(token, mass.get(token) ?? 0), top_logprobs: top(alts) });
        continuation = { first: token, mass: mass.get(token) ?? 0 };
      }
    } else if (continuation) {
      // The position after a split first digit: which digit continues the number, or none.
      const { first, mass } = continuation;
      continuation = null;
      const conts = entries.filter(([k]) => k.length > 1 && k[0] === first);
      if (conts.length > 0 && mass > 0) {
        const alone = entries.find(([k]) => k === first)?.[1] ?? 0;
        const endToken = /^\d/.test(token) ? "," : token;
        const alts = [...conts.map(([k, p]) => tl(k[1]!, p / mass)), tl(endToken, alone / mass)];
        const chosenP = /^\d/.test(token) ? (conts.find(([k]) => k[1] === token)?.[1] ?? 0) / mass : alone / mass;
        out.push({ ...tl(token, chosenP), top_logprobs: top(alts) });
      } else {
        out.push({ ...tl(token, 1), top_logprobs: [tl(token, 1)] });
      }
    } else {
      out.push({ ...tl(token, 1), top_logprobs: [tl(token, 1)] });
    }
    pos += token.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Server

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": `req_test_${Math.random().toString(16).slice(2, 10)}`,
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: http.ServerResponse,
  status: number,
  message: string,
  extra: { type?: string; code?: string | null; param?: string | null; headers?: Record<string, string> } = {},
): void {
  const type = extra.type ?? (status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error");
  sendJson(res, status, { error: { message, type, param: extra.param ?? null, code: extra.code ?? null } }, extra.headers);
}

function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function defaultScoreFor(scale: Scale) {
  return (imageSha256: string) => scale.min + (parseInt(imageSha256.slice(0, 8), 16) % (scale.max - scale.min + 1));
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const options = { ...opts, apiKey: opts.apiKey ?? TEST_API_KEY, scale: opts.scale ?? { min: 1, max: 10 } };
  const scoreFor = opts.scoreFor ?? defaultScoreFor(options.scale);
  const distribution = opts.scoreDistribution ?? defaultDistribution(options.scale);
  const models = opts.models ?? ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"];
  const requests: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state: Record<string, unknown> = {};
  let behaviour: BehaviourFn | undefined = opts.behaviour;
  let chatCount = 0;
  let closed = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const stats = { inFlight: 0, maxInFlight: 0 };
  const chat = async (ctx: RouteContext, deploymentModel?: string): Promise<void> => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const done = () => void stats.inFlight--;
    ctx.res.once("close", done);
    return answerChat(ctx, deploymentModel);
  };
  const answerChat = async (ctx: RouteContext, deploymentModel?: string): Promise<void> => {
    const { res, record } = ctx;
    const bodyJson = record.body;
    if (bodyJson === undefined) return sendError(res, 400, "We could not parse the JSON body of your request.");
    if (deploymentModel && bodyJson && typeof bodyJson === "object" && !("model" in bodyJson)) {
      (bodyJson as Record<string, unknown>)["model"] = deploymentModel;
    }
    const parsed = chatRequestSchema.safeParse(bodyJson);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendError(res, 400, `Invalid request: ${issue.path.join(".") || "(body)"}: ${issue.message}`, {
        param: issue.path.join(".") || null,
      });
    }
    const body = parsed.data;
    record.model = deploymentModel ?? body.model;

    // Images: data URLs only; recorded by the sha256 of their bytes.
    const urls: string[] = [];
    for (const m of body.messages) {
      if (m.role === "user" && Array.isArray(m.content)) {
        for (const part of m.content) if (part.type === "image_url") urls.push(part.image_url.url);
      }
    }
    for (const url of urls) {
      const m = dataUrlRe.exec(url);
      const bytes = m ? Buffer.from(m[2]!, "base64") : null;
      if (!m || !bytes || bytes.length === 0 || (m[1] === "jpeg" && (bytes[0] !== 0xff || bytes[1] !== 0xd8))) {
        return sendError(res, 400, "You uploaded an unsupported image. Please make sure your image is valid.", {
          code: "invalid_image_format",
          param: "messages",
        });
      }
      record.imageSha256s.push(sha256Hex(bytes));
    }
    record.imageSha256 = record.imageSha256s[0];
    const pairwise = urls.length === 2;
    const imageKey = (pairwise ? record.imageSha256s.join("+") : record.imageSha256) ?? sha256Hex(JSON.stringify(body.messages));
    const attempt = attempts.get(imageKey) ?? 0;
    attempts.set(imageKey, attempt + 1);
    record.attempt = attempt;
    const index = chatCount++;

    if (opts.rejectUnknownModels && !models.includes(record.model)) {
      return sendError(res, 404, `The model \`${record.model}\` does not exist or you do not have access to it.`, {
        code: "model_not_found",
      });
    }
    const rf = body.response_format;
    if (rf?.type === "json_schema") {
      if (opts.jsonSchema === "rejected") {
        return sendError(res, 400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", {
          param: "response_format",
        });
      }
      if (opts.jsonSchema === "no-bounds") {
        const bound = /"(minimum|maximum|exclusiveMinimum|exclusiveMaximum)"/.exec(JSON.stringify(rf.json_schema.schema));
        if (bound) {
          return sendError(res, 400, `Invalid schema for response_format '${rf.json_schema.name}': In context=('properties', 'score'), '${bound[1]}' is not permitted.`, {
            param: "response_format",
            code: "invalid_json_schema",
          });
        }
      }
      if (rf.json_schema.strict) {
        const problems = strictSchemaProblems(rf.json_schema.schema);
        if (problems.length) {
          return sendError(res, 400, `Invalid schema for response_format '${rf.json_schema.name}': ${problems[0]}`, {
            param: "response_format",
            code: "invalid_json_schema",
          });
        }
      }
    }
    if (body.logprobs && opts.logprobs === "rejected") {
      return sendError(res, 400, "This model does not support the 'logprobs' parameter.", { param: "logprobs" });
    }

    const b: Behaviour = behaviour?.({ index, attempt, request: record, body }) ?? { kind: "ok" };
    record.answeredWith = b.kind;
    await wait(("delayMs" in b ? b.delayMs : undefined) ?? opts.latencyMs ?? 0);
    if (closed) return;

    switch (b.kind) {
      case "rate-limit": {
        const headers: Record<string, string> = {};
        if (b.retryAfter !== undefined) headers["retry-after"] = String(b.retryAfter);
        if (b.retryAfterMs !== undefined) headers["retry-after-ms"] = String(b.retryAfterMs);
        return sendError(res, 429, "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.", {
          code: "rate_limit_exceeded",
          headers,
        });
      }
      case "status":
        if (b.body !== undefined) return sendJson(res, b.status, b.body, b.headers);
        return sendError(res, b.status, b.message ?? `${b.status === 503 ? "The engine is currently overloaded" : "The server had an error while processing your request"}. Sorry about that!`, {
          ...(b.type !== undefined ? { type: b.type } : {}),
          ...(b.code !== undefined ? { code: b.code } : {}),
          ...(b.param !== undefined ? { param: b.param } : {}),
          ...(b.headers !== undefined ? { headers: b.headers } : {}),
        });
      case "malformed": {
        const text = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"message": {"content": "{\\"score\\": 7';
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        return void res.end(text);
      }
      case "empty": {
        res.writeHead(200, b.chunked ? { "content-type": "application/json" } : { "content-type": "application/json", "content-length": "0" });
        return void res.end();
      }
      case "html": {
        const text = "<html><body><h1>Welcome</h1><p>Please sign in to continue.</p></body></html>";
        res.writeHead(b.status ?? 200, { "content-type": "text/html", "content-length": Buffer.byteLength(text) });
        return void res.end(text);
      }
      case "truncated": {
        const text = '{"id": "chatcmpl-cut", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assi';
        res.writeHead(200, b.chunked ? { "content-type": "application/json" } : { "content-type": "application/json", "content-length": Buffer.byteLength(text) + 400 });
        res.write(text);
        setImmediate(() => res.socket?.destroy());
        return;
      }
      case "stall":
        return; // the socket stays open until the client gives up or close() runs
      case "stall-body": {
        const text = '{"id": "chatcmpl-slow", "object": "chat.completion", ';
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) + 400 });
        res.write(text);
        return;
      }
      case "reset":
        res.socket?.destroy();
        return;
      default:
        break;
    }

    if (pairwise && b.kind === "ok") return sendPairReply(res, body, record, { index, attempt });

    // A reply: ok / reply / refusal / no-score.
    const score = scoreFor(imageKey, urls[0] ?? "");
    const reasons = opts.reasonsFor ? opts.reasonsFor(score) : DEFAULT_REASONS;
    let content: string | null;
    let refusal: string | null = null;
    let finishReason: "stop" | "length" = "stop";
    if (b.kind === "reply") {
      content = b.content;
      finishReason = b.finishReason ?? "stop";
    } else if (b.kind === "refusal") {
      content = null;
      refusal = b.refusal ?? "I'm sorry, I can't help with that.";
    } else if (b.kind === "no-score") {
      content = "I'm unable to judge how safe this street is from a single photo.";
    } else if (rf?.type === "json_schema" || rf?.type === "json_object") {
      content = JSON.stringify({ score, reasons });
    } else {
      const tf = opts.textFormat ?? "json";
      content =
        typeof tf === "function"
          ? tf({ score, reasons })
          : formatText(Array.isArray(tf) ? tf[index % tf.length]! : tf, score, reasons, options.scale);
    }
    const replyText = content ?? refusal ?? "";
    const digitMode = opts.digitTokens ?? "whole";
    const wantLogprobs = body.logprobs === true && opts.logprobs !== "ignored";
    const logprobs = wantLogprobs
      ? {
          content: content === null ? null : makeLogprobs(content, distribution(score), Math.max(1, body.top_logprobs ?? 1), digitMode),
          refusal: refusal === null ? null : makeLogprobs(refusal, {}, Math.max(1, body.top_logprobs ?? 1), digitMode),
        }
      : null;
    const promptText = body.messages
      .map((m) => (typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => ("text" in p ? p.text : "")).join(" ")))
      .join(" ");
    const imageTokens = body.messages.reduce((n, m) => {
      if (m.role !== "user" || !Array.isArray(m.content)) return n;
      return n + m.content.filter((p) => p.type === "image_url").reduce((k, p) => k + ("image_url" in p && p.image_url.detail === "high" ? 765 : 85), 0);
    }, 0);
    const promptTokens = Math.ceil(promptText.length / 4) + imageTokens;
    const completionTokens = tokenize(replyText, digitMode).length;
    sendJson(res, 200, {
      id: `chatcmpl-test-${index}`,
      object: "chat.completion",
      created: 1_700_000_000 + index,
      model: record.model,
      system_fingerprint: "fp_test",
      service_tier: "default",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, refusal, annotations: [] },
          logprobs,
          finish_reason: finishReason,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    });
  };

  /** A pairwise reply: {"safer": …} by pairAnswerFor, logprobs over A/B/equal at the answer token. */
  const sendPairReply = (res: http.ServerResponse, body: ChatRequest, record: RecordedRequest, ctx: { index: number; attempt: number }): void => {
    const [first, second] = record.imageSha256s as [string, string];
    const answer = opts.pairAnswerFor
      ? opts.pairAnswerFor(first, second, ctx)
      : (["B", "equal", "A"] as const)[Math.sign(scoreFor(first, "") - scoreFor(second, "")) + 1]!;
    const rf = body.response_format;
    const content = rf?.type === "json_schema" || rf?.type === "json_object" ? JSON.stringify({ safer: answer }) : `{"safer": "${answer}"}`;
    const dist = opts.pairDistribution ? opts.pairDistribution(answer) : { A: 0.1, B: 0.1, equal: 0.1, [answer]: 0.8 };
    const tokens = content.match(/[A-Za-z]+|[^A-Za-z]+/g) ?? [];
    const topN = Math.max(1, body.top_logprobs ?? 1);
    const lp = tokens.map((t) => {
      if (t !== answer) return { ...tl(t, 1), top_logprobs: [tl(t, 1)] };
      const alts = Object.entries(dist).filter(([, p]) => (p ?? 0) > 0).map(([k, p]) => tl(k, p!));
      return { ...tl(t, dist[answer] ?? 0), top_logprobs: alts.sort((x, y) => y.logprob - x.logprob).slice(0, topN) };
    });
    const wantLogprobs = body.logprobs === true && opts.logprobs !== "ignored";
    sendJson(res, 200, {
      id: `chatcmpl-test-${ctx.index}`,
      object: "chat.completion",
      created: 1_700_000_000 + ctx.index,
      model: record.model,
      choices: [{ index: 0, message: { role: "assistant", content, refusal: null, annotations: [] }, logprobs: wantLogprobs ? { content: lp, refusal: null } : null, finish_reason: "stop" }],
      usage: { prompt_tokens: 170 + 60, completion_tokens: tokens.length, total_tokens: 230 + tokens.length },
    });
  };

  const routes: Route[] = [
    ...(opts.extraRoutes ?? []),
    { method: "POST", path: "/v1/chat/completions", handler: (ctx) => chat(ctx) },
    {
      method: "POST",
      path: /^\/openai\/deployments\/([^/]+)\/chat\/completions$/,
      handler: (ctx) => {
        if (!ctx.url.searchParams.get("api-version")) return sendError(ctx.res, 404, "Resource not found", { code: "404" });
        return chat(ctx, decodeURIComponent(ctx.params[0]!));
      },
    },
    {
      method: "GET",
      path: "/v1/models",
      handler: ({ res }) =>
        sendJson(res, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system", ...(opts.modelShutdownDates && id in opts.modelShutdownDates ? { shutdown_date: opts.modelShutdownDates[id] } : {}) })),
        }),
    },
    {
      method: "GET",
      path: /^\/v1\/models\/(.+)$/,
      handler: ({ res, params }) => {
        const id = decodeURIComponent(params[0]!);
        if (!models.includes(id)) return sendError(res, 404, `The model '${id}' does not exist`, { code: "model_not_found", param: "model" });
        sendJson(res, 200, { id, object: "model", created: 1_700_000_000, owned_by: "system" });
      },
    },
  ];

  let server!: TestServer;
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) sendError(res, 500, `test server bug: ${(err as Error).message}`);
        else res.destroy();
      });
    });
  });
  httpServer.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, rawBody: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === "authorization" || k === "api-key" || v === undefined) continue;
      headers[k] = Array.isArray(v) ? v.join(", ") : v;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim();
    const azureKey = typeof req.headers["api-key"] === "string" ? req.headers["api-key"].trim() : undefined;
    const given = bearer ?? azureKey;
    let body: unknown;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString("utf8"));
      } catch {
        body = undefined;
      }
    }
    const record: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      authorized: given === options.apiKey,
      body,
      imageSha256s: [],
      receivedAt: Date.now(),
    };
    requests.push(record);
    res.once("finish", () => (record.answeredAt = Date.now()));

    for (const route of routes) {
      if (route.method !== record.method) continue;
      let params: string[] = [];
      if (typeof route.path === "string") {
        if (route.path !== url.pathname) continue;
      } else {
        const m = route.path.exec(url.pathname);
        if (!m || m[0] !== url.pathname) continue;
        params = m.slice(1);
      }
      if (route.auth !== false && !record.authorized) {
        // Echoes the key it was given (a real server masks it) so that tests see redaction work.
        return sendError(
          res,
          401,
          given
            ? `Incorrect API key provided: ${given}. You can find your API key at https://platform.openai.com/account/api-keys.`
            : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          { code: given ? "invalid_api_key" : null },
        );
      }
      return route.handler({ req, res, url, params, rawBody, record, server, options, state });
    }
    sendError(res, 404, `Unknown request URL: ${record.method} ${url.pathname}. Please check the URL for typos.`, { code: "unknown_url" });
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  server = {
    url: `${origin}/v1`,
    origin,
    requests,
    chatRequests: () => requests.filter((r) => r.path.endsWith("/chat/completions")),
    stats,
    setBehaviour: (fn) => {
      behaviour = fn;
    },
    scoreFor: (sha, dataUrl = "") => scoreFor(sha, dataUrl),
    state,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
  return server;
}
