/**
 * API errors in one place, for every caller of the OpenAI-compatible APIs (chat models, the Batch API,
 * fine-tuning jobs): which failures are worth asking again, how long to wait before the next try, how
 * many attempts a request made, and how a failure is told in one line with the key scrubbed.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { OpenAIClientHandle } from "./client";
import { redact } from "./keys";

// ---------------------------------------------------------------------------------------------------
// Unusable status-200 bodies, and attempts

/**
 * A status-2xx reply whose JSON body could not be used: empty, cut off (the connection closed or was
 * reset mid-body), or not parseable. client.ts's fetch throws it, so the SDK retries it like a dropped
 * connection; once its retries run out it arrives as the `cause` of an APIConnectionError.
 */
export class ResponseBodyError extends Error {
  constructor(
    readonly kind: "empty" | "malformed" | "cut-off",
    message: string,
    /** 1-based number of the attempt that got this body. */
    readonly attempt: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ResponseBodyError";
  }
}

/** The attempt (1-based) each response belongs to, keyed by its headers; set by client.ts's fetch. */
const attemptByHeaders = new WeakMap<Headers, number>();
/** The attempt a failed fetch (a thrown error) belonged to. */
const attemptByError = new WeakMap<object, number>();

/** Remember which attempt produced `headers` (a response) or `err` (a fetch that threw). */
export function markAttempt(target: Headers | object, attempt: number): void {
  if (target instanceof Headers) attemptByHeaders.set(target, attempt);
  else attemptByError.set(target, attempt);
}

/**
 * How many attempts the request that ended in `err` made, from the SDK's `x-stainless-retry-count`
 * header of its last attempt; undefined when unknown (an SDK timeout carries nothing to read).
 */
export function attemptsOf(err: unknown): number | undefined {
  if (err instanceof ResponseBodyError) return err.attempt;
  if (err instanceof APIError && err.headers) {
    const n = attemptByHeaders.get(err.headers);
    if (n !== undefined) return n;
  }
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ResponseBodyError) return e.attempt;
    const n = attemptByError.get(e);
    if (n !== undefined) return n;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Worth asking again?

/** HTTP statuses worth asking again: 408 (timeout), 409 (conflict), 429 (rate limit) and every 5xx. */
export function isRetryableStatus(status: number | undefined): boolean {
  const s = status ?? 0;
  return s === 408 || s === 409 || s === 429 || s >= 500;
}

/**
 * Worth asking again later: 408/409/429/5xx, connection errors and timeouts (the SDK's, or our body
 * deadline's), unusable status-200 bodies (empty, cut off, malformed). Not: other 4xx (a bad key, an unknown job, a refused request), aborts by the caller.
 */
export function isTransientApiError(err: unknown): boolean {
  if (err instanceof ResponseBodyError) return true;
  if (err instanceof APIConnectionTimeoutError || err instanceof APIConnectionError) return !isUserAbort(err);
  if (err instanceof APIError) {
    if (err.code === "insufficient_quota") return false; // a 429 that waiting does not fix
    return isRetryableStatus(err.status);
  }
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return true;
    if (err instanceof SyntaxError) return true; // a truncated or garbled body
    if (err instanceof TypeError && /fetch failed|terminated|closed|socket|ECONN/i.test(`${err.message}${causeChain(err)}`)) return true;
  }
  return false;
}

function isUserAbort(err: Error): boolean {
  return err.name === "APIUserAbortError" || err.name === "AbortError";
}

// ---------------------------------------------------------------------------------------------------
// Waiting

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(t);
      signal?.removeEventListener("abort", onAbort);
      resolve(v);
    };
    const onAbort = () => done(false);
    const t = setTimeout(() => done(true), Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The wait before try `n` (0-based) after errors: the poll interval doubling, capped. */
export function backoffDelay(n: number, pollIntervalMs: number, maxBackoffMs: number): number {
  return Math.min(maxBackoffMs, pollIntervalMs * 2 ** Math.min(n + 1, 30));
}

// ---------------------------------------------------------------------------------------------------
// Telling what went wrong

/** ` (cause: cause …)` for an error's cause chain, up to four deep; "" without one. */
export function causeChain(err: Error): string {
  const parts: string[] = [];
  let c: unknown = (err as { cause?: unknown }).cause;
  for (let i = 0; c instanceof Error && i < 4; i++) {
    parts.push(c.message);
    c = (c as { cause?: unknown }).cause;
  }
  return parts.length ? ` (${parts.join(": ")})` : "";
}

/** `HTTP 429 rate_limit_exceeded: <the provider's message>`. */
function httpLine(err: APIError, handle?: Pick<OpenAIClientHandle, "errorText">): string {
  const code = err.code ? ` ${err.code}` : "";
  return `HTTP ${err.status}${code}: ${handle ? handle.errorText(err) : err.message}`;
}

/** An API error in one line, the key scrubbed (jobs, uploads, batches). */
export function describeApiError(err: unknown, handle?: Pick<OpenAIClientHandle, "errorText" | "apiKey">): string {
  let text: string;
  if (err instanceof APIError && err.status) {
    text = httpLine(err, handle);
  } else if (err instanceof Error) {
    text = `${err.name === "Error" ? "" : `${err.name}: `}${err.message}${causeChain(err)}`;
  } else {
    text = String(err);
  }
  return redact(text, handle ? [handle.apiKey] : []);
}

/** The limits one request ran under, so its failure can say what was tried. */
export interface RequestLimits {
  timeoutMs: number;
  maxRetries: number;
  maxRetryAfterMs: number;
}

/**
 * A failed request (a chat completion) as the prediction's error: what failed and what was tried —
 * the timeout, how many attempts the retry layer made ("(after N attempts)", from the SDK's
 * retry-count header, or 1 + maxRetries when the SDK gave up a timeout), a retry-after that was too
 * long to wait out. Not redacted here: the caller scrubs it with the rest of the prediction.
 */
export function describeRequestFailure(err: unknown, handle: Pick<OpenAIClientHandle, "errorText" | "refusedWait">, limits: RequestLimits): string {
  const { timeoutMs, maxRetries } = limits;
  const attempts = attemptsOf(err) ?? maxRetries + 1;
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
  if (err instanceof APIConnectionTimeoutError) return `timeout: no complete response within ${timeoutMs} ms${tries}`;
  if (err instanceof APIConnectionError && err.cause instanceof ResponseBodyError) return `${err.cause.message}${tries}`;
  if (err instanceof APIConnectionError) return `connection error: ${err.message}${causeChain(err)}${tries}`;
  if (err instanceof APIError) {
    const refused = handle.refusedWait(err);
    const note =
      refused !== undefined
        ? ` (the server asked to wait ${Math.round(refused / 1000)} s, more than maxRetryAfterMs = ${limits.maxRetryAfterMs} ms; not retried)`
        : isRetryableStatus(err.status)
          ? tries
          : "";
    return `${httpLine(err, handle)}${note}`;
  }
  if (err instanceof ResponseBodyError) return `${err.message}${tries}`;
  if (err instanceof Error) {
    if (err.name === "TimeoutError" || err.name === "AbortError") return `timeout: no complete response within ${timeoutMs} ms${tries}`;
    if (err instanceof SyntaxError) return `malformed response body: ${err.message}`;
    if (err instanceof TypeError && /terminated|closed|socket/i.test(`${err.message}${causeChain(err)}`)) {
      return `the connection closed mid-body: ${err.message}${causeChain(err)}`;
    }
    return `${err.name}: ${err.message}${causeChain(err)}`;
  }
  return String(err);
}
