/**
 * One way to build an `openai` SDK client for OpenAI or Azure OpenAI, shared by the chat model and the
 * fine-tuning jobs: the key (variable or key file, registered for redaction), the base URL
 * (`OPENAI_BASE_URL`, or Azure's endpoint and API version), and a fetch that
 *
 * - bounds each attempt as a whole, headers and body: the SDK's own timeout is cleared once headers
 *   arrive, so a server that stalls mid-body would otherwise hang the request forever;
 * - keeps the raw body of every error response, so a provider message the SDK cannot parse (a proxy,
 *   a server with its own error format) can still be shown (`errorText`);
 * - refuses to sleep through a `retry-after` longer than `maxRetryAfterMs` (the SDK waits any length);
 * - reads a successful JSON body inside the attempt and checks that it parses: a status-200 reply whose
 *   body is empty, truncated or malformed, or whose connection is reset mid-body, is thrown from fetch
 *   as a ResponseBodyError (errors.ts), which the SDK treats like a dropped connection — retried with
 *   the same bounded backoff as 429/5xx, within the same `maxRetries`. (The SDK alone retries only up
 *   to the response headers: it parses the body after its retry loop, so such replies were final.)
 *
 * So the SDK's retry loop, fed by this fetch, is the one retry layer under every OpenAI-compatible
 * caller (chat, fine-tuning, batches); every response and failed fetch is marked with its attempt
 * number, so a final error can say how many attempts it took (errors.ts `attemptsOf`).
 */
import OpenAI, { APIError, AzureOpenAI, type ClientOptions } from "openai";
import { causeChain, markAttempt, ResponseBodyError } from "./errors";
import { redact, resolveApiKey } from "./keys";
import { ModelUnavailableError } from "../core/errors";

/** Extra time the body deadline allows beyond the SDK's own (header) timeout, so that one fires first. */
const BODY_DEADLINE_GRACE_MS = 100;

export type OpenAIProvider = "openai" | "azure";

export interface OpenAIClientOptions {
  /** Who is asking, named in setup errors (a model name, "finetune"). */
  name: string;
  provider?: OpenAIProvider;
  /** Default: `OPENAI_BASE_URL` (from `env`), else the SDK's default. For Azure, replaces `endpoint`. */
  baseURL?: string;
  /** Variable holding the key; `<apiKeyEnv>_FILE` may name a file instead. Default OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure). */
  apiKeyEnv?: string;
  /** The key itself (programmatic use); wins over `apiKeyEnv`. */
  apiKey?: string;
  /** Azure settings; endpoint and API version fall back to AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION. */
  azure?: { endpoint?: string; apiVersion?: string; deployment?: string };
  /** Per attempt (headers and body), in ms. */
  timeoutMs: number;
  /** SDK retries (429/408/409/5xx/connection errors, honouring retry-after). */
  maxRetries: number;
  /** A retry-after longer than this is not waited out: the request fails at once. */
  maxRetryAfterMs: number;
  /** Environment to read keys and settings from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface OpenAIClientHandle {
  client: OpenAI;
  provider: OpenAIProvider;
  apiKey: string;
  /** The base URL requests go to, with any secret scrubbed. */
  baseURL: string;
  deployment?: string;
  apiVersion?: string;
  /** The provider's message for an API error, or the raw error body when the SDK could not read one. */
  errorText(err: APIError): string;
  /** The retry-after (ms) a response asked for and that was refused as too long, if so. */
  refusedWait(err: APIError): number | undefined;
}

export const DEFAULT_OPENAI_KEY_ENV = "OPENAI_API_KEY";
export const DEFAULT_AZURE_KEY_ENV = "AZURE_OPENAI_API_KEY";

/** Build the client. Throws ModelUnavailableError naming the variable that fixes a missing key or Azure setting. */
export function createOpenAIClient(opts: OpenAIClientOptions): OpenAIClientHandle {
  const env = opts.env ?? process.env;
  const provider = opts.provider ?? "openai";
  const apiKeyEnv = opts.apiKeyEnv ?? (provider === "azure" ? DEFAULT_AZURE_KEY_ENV : DEFAULT_OPENAI_KEY_ENV);
  const apiKey = opts.apiKey ?? resolveApiKey({ envVar: apiKeyEnv, fileVar: `${apiKeyEnv}_FILE`, model: opts.name, env });
  const errorBodies = new WeakMap<Headers, string>();
  const refusedWaits = new WeakMap<Headers, number>();
  const timeoutMs = Math.max(1, Math.ceil(opts.timeoutMs));
  const common = {
    apiKey,
    timeout: timeoutMs,
    maxRetries: opts.maxRetries,
    fetch: deadlineFetch(timeoutMs + BODY_DEADLINE_GRACE_MS, opts.maxRetryAfterMs, errorBodies, refusedWaits),
  };
  const handle = {
    provider,
    apiKey,
    errorText(err: APIError): string {
      const fromBody = (err.error as { message?: unknown } | undefined)?.message;
      if (typeof fromBody === "string") return fromBody;
      const raw = err.headers ? errorBodies.get(err.headers) : undefined;
      if (raw) return raw.trim().slice(0, 500);
      return err.message;
    },
    refusedWait: (err: APIError) => (err.headers ? refusedWaits.get(err.headers) : undefined),
  };

  if (provider === "azure") {
    const endpoint = opts.baseURL ? undefined : (opts.azure?.endpoint ?? env["AZURE_OPENAI_ENDPOINT"]);
    const apiVersion = opts.azure?.apiVersion ?? env["OPENAI_API_VERSION"];
    const deployment = opts.azure?.deployment;
    const missing = [
      ...(!opts.baseURL && !endpoint ? ["AZURE_OPENAI_ENDPOINT (or azure.endpoint)"] : []),
      ...(!apiVersion ? ["OPENAI_API_VERSION (or azure.apiVersion)"] : []),
    ];
    if (missing.length) throw new ModelUnavailableError(opts.name, `Azure OpenAI needs ${missing.join(" and ")}`);
    const client = new AzureOpenAI({
      ...common,
      ...(opts.baseURL ? { baseURL: opts.baseURL } : { baseURL: null, endpoint: endpoint! }),
      apiVersion: apiVersion!,
      ...(deployment !== undefined ? { deployment } : {}),
    });
    return {
      ...handle,
      client,
      baseURL: redact(opts.baseURL ?? endpoint!, [apiKey]),
      ...(deployment !== undefined ? { deployment } : {}),
      apiVersion: apiVersion!,
    };
  }
  const url = opts.baseURL ?? env["OPENAI_BASE_URL"];
  const client = new OpenAI({ ...common, ...(url ? { baseURL: url } : {}) });
  return { ...handle, client, baseURL: redact(client.baseURL, [apiKey]) };
}

/**
 * fetch with a deadline over the whole attempt (the body of a JSON reply included, checked to parse),
 * keeping error bodies, and marking responses whose retry-after exceeds `maxRetryAfterMs` as not to be
 * retried (`x-should-retry: false`).
 */
function deadlineFetch(
  ms: number,
  maxRetryAfterMs: number,
  errorBodies: WeakMap<Headers, string>,
  refusedWaits: WeakMap<Headers, number>,
): NonNullable<ClientOptions["fetch"]> {
  return async (url, init) => {
    const deadline = attemptDeadline(ms, init?.signal ?? undefined);
    const attempt = attemptNumber(init?.headers);
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: deadline.signal });
    } catch (e) {
      deadline.done();
      if (e && typeof e === "object") markAttempt(e, attempt);
      throw e;
    }
    markAttempt(res.headers, attempt);
    // A JSON body is read here, inside the deadline; any other body (a file download) is read by the
    // SDK after this returns, still under the deadline, whose timer then simply runs out unheard.
    if (res.ok && isJsonBody(res)) return checkedJsonResponse(res, attempt).finally(deadline.done);
    if (res.ok) return res;
    let body = "";
    try {
      body = (await res.clone().text()).slice(0, 2000);
    } catch {
      // the SDK reads the body again and reports its own error
    }
    deadline.done(); // the error body is in (or failed): nothing more to time
    const wait = retryAfterMs(res.headers);
    if (wait !== undefined && wait > maxRetryAfterMs) {
      const headers = new Headers(res.headers);
      headers.set("x-should-retry", "false");
      const capped = new Response(res.body, { status: res.status, statusText: res.statusText, headers });
      markAttempt(capped.headers, attempt);
      errorBodies.set(capped.headers, body);
      refusedWaits.set(capped.headers, wait);
      return capped;
    }
    errorBodies.set(res.headers, body);
    return res;
  };
}

/**
 * The attempt's signal: the caller's (the SDK's own, with the user's abort behind it) or the deadline,
 * whichever fires first; the deadline aborts with a TimeoutError as `AbortSignal.timeout` would.
 * (AbortSignal.timeout + AbortSignal.any cost ~0.3 ms of main-thread CPU per request in Node 20.)
 */
function attemptDeadline(ms: number, caller: AbortSignal | undefined): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
  timer.unref();
  const forward = () => ac.abort(caller!.reason);
  if (caller?.aborted) forward();
  else caller?.addEventListener("abort", forward, { once: true });
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer);
      caller?.removeEventListener("abort", forward);
    },
  };
}

/** 1-based attempt number from the SDK's `x-stainless-retry-count` request header (0 on the first try). */
function attemptNumber(headers: ConstructorParameters<typeof Headers>[0] | undefined): number {
  const v = !headers ? null : headers instanceof Headers ? headers.get("x-stainless-retry-count") : new Headers(headers).get("x-stainless-retry-count");
  const n = v === null ? 0 : Number(v);
  return Number.isInteger(n) && n >= 0 ? n + 1 : 1;
}

/** A JSON body the SDK will parse (`application/json`, `…+json`); file downloads and JSON Lines pass through. */
function isJsonBody(res: Response): boolean {
  if (res.status === 204) return false;
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/**
 * The body read to its end within the attempt's deadline and parsed: unusable → a ResponseBodyError
 * (retried by the SDK); a stall is still the deadline's TimeoutError (retried as a timeout); usable → a
 * fresh Response with the same status and headers whose `json()` gives the value parsed here (the SDK
 * would parse the body a second time).
 */
async function checkedJsonResponse(res: Response, attempt: number): Promise<Response> {
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    const err = e as Error;
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      markAttempt(err, attempt);
      throw err;
    }
    throw new ResponseBodyError("cut-off", `the connection closed mid-body: ${err.message}${causeChain(err)}`, attempt, { cause: err });
  }
  if (!text.trim()) throw new ResponseBodyError("empty", `empty response body (HTTP ${res.status})`, attempt);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ResponseBodyError("malformed", `malformed response body: ${(e as Error).message}`, attempt, { cause: e });
  }
  const copy = new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperty(copy, "json", { value: () => Promise.resolve(parsed) });
  markAttempt(copy.headers, attempt);
  return copy;
}

/** The wait a response asks for (`retry-after-ms`, or `retry-after` in seconds or as a date), in ms. */
export function retryAfterMs(headers: Headers): number | undefined {
  const ms = parseFloat(headers.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms)) return ms;
  const ra = headers.get("retry-after");
  if (!ra) return undefined;
  const seconds = parseFloat(ra);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(ra);
  return Number.isFinite(date) ? date - Date.now() : undefined;
}
