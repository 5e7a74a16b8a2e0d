/**
 * API errors in one place, for every caller of the OpenAI-compatible APIs (chat models, the Batch API,
 * fine-tuning jobs): which failures are worth asking again, how long to wait before the next try, and
 * how a failure is told in one line with the key scrubbed.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type { OpenAIClientHandle } from "./client";
import { redact } from "./keys";

// ---------------------------------------------------------------------------------------------------
// Worth asking again?

/** HTTP statuses worth asking again: 408 (timeout), 409 (conflict), 429 (rate limit) and every 5xx. */
export function isRetryableStatus(status: number | undefined): boolean {
  const s = status ?? 0;
  return s === 408 || s === 409 || s === 429 || s >= 500;
}

/**
 * Worth asking again later: 408/409/429/5xx, connection errors and timeouts (the SDK's, or our body
 * deadline's). Not: other 4xx (a bad key, an unknown job, a refused request), aborts by the caller.
 */
export function isTransientApiError(err: unknown): boolean {
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
 * the timeout, the SDK's retries, a retry-after that was too long to wait out. Not redacted here: the
 * caller scrubs it with the rest of the prediction.
 */
export function describeRequestFailure(err: unknown, handle: Pick<OpenAIClientHandle, "errorText" | "refusedWait">, limits: RequestLimits): string {
  const { timeoutMs, maxRetries } = limits;
  const tries = maxRetries > 0 ? ` (after ${maxRetries} retries)` : "";
  if (err instanceof APIConnectionTimeoutError) return `timeout: no response within ${timeoutMs} ms${tries}`;
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
  if (err instanceof Error) {
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      return `timeout: the response did not complete within ${timeoutMs} ms`;
    }
    if (err instanceof SyntaxError) return `malformed response body: ${err.message}`;
    if (err instanceof TypeError && /terminated|closed|socket/i.test(`${err.message}${causeChain(err)}`)) {
      return `connection closed mid-response: ${err.message}${causeChain(err)}`;
    }
    return `${err.name}: ${err.message}${causeChain(err)}`;
  }
  return String(err);
}
