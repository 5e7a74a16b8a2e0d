/**
 * One way to build an `openai` SDK client for OpenAI or Azure OpenAI, shared by the chat model and the
 * fine-tuning jobs: the key (variable or key file, registered for redaction), the base URL
 * (`OPENAI_BASE_URL`, or Azure's endpoint and API version), and a fetch that
 *
 * - bounds each attempt as a whole, headers and body: the SDK's own timeout is cleared once headers
 *   arrive, so a server that stalls mid-body would otherwise hang the request forever;
 * - keeps the raw body of every error response, so a provider message the SDK cannot parse (a proxy,
 *   a server with its own error format) can still be shown (`errorText`);
 * - refuses to sleep through a `retry-after` longer than `maxRetryAfterMs` (the SDK waits any length).
 */
import OpenAI, { APIError, AzureOpenAI, type ClientOptions } from "openai";
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
 * fetch with a deadline over the whole attempt, keeping error bodies, and marking responses whose
 * retry-after exceeds `maxRetryAfterMs` as not to be retried (`x-should-retry: false`).
 */
function deadlineFetch(
  ms: number,
  maxRetryAfterMs: number,
  errorBodies: WeakMap<Headers, string>,
  refusedWaits: WeakMap<Headers, number>,
): NonNullable<ClientOptions["fetch"]> {
  return async (url, init) => {
    const deadline = AbortSignal.timeout(ms);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const res = await fetch(url, { ...init, signal });
    if (res.ok) return res;
    let body = "";
    try {
      body = (await res.clone().text()).slice(0, 2000);
    } catch {
      // the SDK reads the body again and reports its own error
    }
    const wait = retryAfterMs(res.headers);
    if (wait !== undefined && wait > maxRetryAfterMs) {
      const headers = new Headers(res.headers);
      headers.set("x-should-retry", "false");
      const capped = new Response(res.body, { status: res.status, statusText: res.statusText, headers });
      errorBodies.set(capped.headers, body);
      refusedWaits.set(capped.headers, wait);
      return capped;
    }
    errorBodies.set(res.headers, body);
    return res;
  };
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
