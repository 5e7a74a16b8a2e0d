import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import sharp from "sharp";
import { ResponseCache, withCache } from "../../lib/src/models/cache";
import { prepareImage } from "../../lib/src/core/image";
import { OPENAI_CHAT_DEFAULTS, OpenAIChatModel, scoreProbabilities, type OpenAIChatOptions } from "../../lib/src/models/openai-chat";
import { redact, resolveApiKey } from "../../lib/src/openai/keys";
import { ModelUnavailableError } from "../../lib/src/core/errors";
import { type Prediction } from "../../lib/src/models/types";
import { promptMessages } from "../../lib/src/prompt/messages";
import type { PreparedImage } from "../../lib/src/core/types";
import {
  always,
  failAttempts,
  failTimes,
  startTestServer,
  TEXT_FORMATS,
  type TestServer,
  type TestServerOptions,
} from "../helpers/openai-server";
import { tempDir } from "../helpers/tmp";

/** A sentinel key: it must never show up in a prediction, an error or a cache file. */
const SENTINEL = "sk-SENTINEL-do-not-leak-7f3a9c21e4";
const KEY_ENV = "STREETSAFE_TEST_OPENAI_KEY";

/** Distinct small JPEGs, made once per index (safe to ask for concurrently). */
const images: PreparedImage[] = [];
const making = new Map<number, Promise<PreparedImage>>();
function image(i: number): Promise<PreparedImage> {
  let p = making.get(i);
  if (!p) {
    const bg = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
    p = sharp({ create: { width: 24, height: 16, channels: 3, background: bg } })
      .jpeg()
      .toBuffer()
      .then((jpeg) => prepareImage(jpeg))
      .then((img) => (images[i] = img));
    making.set(i, p);
  }
  return p;
}

async function setup(
  t: { after(fn: () => unknown): void },
  serverOpts: TestServerOptions = {},
  modelOpts: Partial<OpenAIChatOptions> = {},
): Promise<{ server: TestServer; model: OpenAIChatModel }> {
  const server = await startTestServer({ apiKey: SENTINEL, ...serverOpts });
  t.after(() => server.close());
  const model = new OpenAIChatModel({
    name: "gpt-test",
    model: "gpt-4o-mini-2024-07-18",
    baseURL: server.url,
    apiKeyEnv: KEY_ENV,
    env: { [KEY_ENV]: SENTINEL },
    timeoutMs: 5000,
    maxRetries: 2,
    ...modelOpts,
  });
  return { server, model };
}

function assertNoKey(value: unknown, key = SENTINEL): void {
  assert.ok(!JSON.stringify(value).includes(key), `the key leaked: ${JSON.stringify(value).slice(0, 300)}`);
}

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

// ---------------------------------------------------------------------------------------------------

test("defaults are the documented ones", () => {
  assert.deepEqual(
    { detail: OPENAI_CHAT_DEFAULTS.detail, structuredOutputs: OPENAI_CHAT_DEFAULTS.structuredOutputs, logprobs: OPENAI_CHAT_DEFAULTS.logprobs, topLogprobs: OPENAI_CHAT_DEFAULTS.topLogprobs, temperature: OPENAI_CHAT_DEFAULTS.temperature, timeoutMs: OPENAI_CHAT_DEFAULTS.timeoutMs, maxRetries: OPENAI_CHAT_DEFAULTS.maxRetries, maxRetryAfterMs: OPENAI_CHAT_DEFAULTS.maxRetryAfterMs },
    { detail: "low", structuredOutputs: true, logprobs: true, topLogprobs: 10, temperature: 0, timeoutMs: 60_000, maxRetries: 4, maxRetryAfterMs: 60_000 },
  );
  const m = new OpenAIChatModel({ name: "x", model: "gpt-4o", apiKey: SENTINEL, baseURL: "http://127.0.0.1:9/v1" });
  const d = m.describe();
  assert.equal(d["detail"], "low");
  assert.equal(d["timeoutMs"], 60_000);
  assert.equal(d["responseFormat"], "json_schema");
  assertNoKey(d);
  assertNoKey(m.cacheKeyFields());
});

test("structured reply → score, reasons, usage; the request is the training prompt with the image", async (t) => {
  const { server, model } = await setup(t);
  const img = await image(0);
  const p = await model.predict(img);
  assert.equal(p.error, undefined);
  assert.equal(p.score, server.scoreFor(img.sha256));
  assert.deepEqual(p.reasons, ["well-kept sidewalks", "some people walking"]);
  assert.equal(p.modelId, "gpt-4o-mini-2024-07-18");
  assert.ok(p.usage && p.usage.inputTokens > 85 && p.usage.outputTokens > 0);
  assert.equal(p.usage.cachedInputTokens, 0);
  assert.ok(p.latencyMs >= 0);
  const [req] = server.chatRequests();
  const body = req!.body as any;
  assert.equal(req!.imageSha256, img.sha256);
  assert.deepEqual(body.messages, promptMessages(model.scale, { dataUrl: `data:image/jpeg;base64,${img.jpeg.toString("base64")}`, detail: "low" }));
  assert.equal(body.temperature, 0);
  assert.equal(body.response_format.type, "json_schema");
  assert.equal(body.response_format.json_schema.strict, true);
  assert.deepEqual(body.response_format.json_schema.schema.properties.score, { type: "integer", minimum: 1, maximum: 10 });
  assert.equal(body.logprobs, true);
  assert.equal(body.top_logprobs, 10);
  assert.equal(req!.headers["x-stainless-retry-count"], "0");
});

test("options.prompt replaces the user text only", async (t) => {
  const { server, model } = await setup(t);
  await model.predict(await image(0), { prompt: "Another wording." });
  const body = server.chatRequests()[0]!.body as any;
  assert.equal(body.messages[1].content[0].text, "Another wording.");
  assert.equal(body.messages[0].role, "system");
  assert.equal(body.messages[1].content[1].type, "image_url");
});

test("json_schema rejected → plain text once, remembered", async (t) => {
  const { server, model } = await setup(t, { jsonSchema: "rejected", textFormat: "markdown" });
  const a = await model.predict(await image(0));
  const b = await model.predict(await image(1));
  assert.equal(a.score, server.scoreFor((await image(0)).sha256));
  assert.equal(b.score, server.scoreFor((await image(1)).sha256));
  const reqs = server.chatRequests().map((r) => (r.body as any).response_format?.type ?? "text");
  assert.deepEqual(reqs, ["json_schema", "text", "text"]);
  assert.equal(model.describe()["responseFormat"], "text");
  assert.equal((model.describe()["fallbacks"] as string[]).length, 1);
  assert.ok(a.probabilities, "logprobs still work on a plain-text reply");
});

test("concurrent requests that all hit the rejection fall back once and all succeed", async (t) => {
  const { server, model } = await setup(t, { jsonSchema: "rejected", logprobs: "rejected", latencyMs: 10 });
  const limit = pLimit(8);
  const preds = await Promise.all(Array.from({ length: 8 }, (_, i) => limit(async () => model.predict(await image(i)))));
  for (const [i, p] of preds.entries()) {
    assert.equal(p.error, undefined, `image ${i}`);
    assert.equal(p.score, server.scoreFor((await image(i)).sha256));
  }
  assert.deepEqual(model.describe()["fallbacks"] && (model.describe()["fallbacks"] as string[]).map((f) => f.split(":")[0]).sort(), ["json_schema → text", "logprobs off"]);
});

test("a user abort rejects instead of becoming an error prediction", async (t) => {
  const { model } = await setup(t, { behaviour: always({ kind: "stall" }) });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(model.predict(await image(0), { signal: ac.signal }), (e: Error) => /abort/i.test(`${e.name} ${e.message}`));
});

test("schema bounds rejected (fine-tuned models) → the same schema without bounds", async (t) => {
  const { server, model } = await setup(t, { jsonSchema: "no-bounds" });
  const p = await model.predict(await image(2));
  assert.equal(p.score, server.scoreFor((await image(2)).sha256));
  const schemas = server.chatRequests().map((r) => (r.body as any).response_format.json_schema.schema.properties.score);
  assert.deepEqual(schemas, [{ type: "integer", minimum: 1, maximum: 10 }, { type: "integer" }]);
  assert.equal(model.describe()["responseFormat"], "json_schema_unbounded");
});

test("a server with its own error format still triggers the fallback", async (t) => {
  const { server, model } = await setup(t, {
    behaviour: ({ body }) =>
      body.response_format
        ? { kind: "status", status: 400, body: { object: "error", message: "guided decoding: response_format json_schema is not supported", type: "BadRequestError", code: 400 } }
        : undefined,
  });
  const p = await model.predict(await image(3));
  assert.equal(p.error, undefined);
  assert.equal(server.chatRequests().length, 2);
  // and its message reaches the error text (the SDK alone would say "400 status code (no body)")
  server.setBehaviour(always({ kind: "status", status: 400, body: { object: "error", message: "image too small", type: "BadRequestError", code: 400 } }));
  const q = await model.predict(await image(3));
  assert.match(q.error!, /^HTTP 400: \{"object":"error","message":"image too small"/);
});

test("logprobs → probabilities and expectedScore as computed by hand", async (t) => {
  const { model } = await setup(t, { scoreFor: () => 3, scoreDistribution: () => ({ 3: 0.5, 4: 0.2, 9: 0.1 }) });
  const p = await model.predict(await image(0));
  assert.equal(p.score, 3);
  // renormalised over the score tokens: 0.5/0.8, 0.2/0.8, 0.1/0.8
  close(p.probabilities![3]!, 0.625);
  close(p.probabilities![4]!, 0.25);
  close(p.probabilities![9]!, 0.125);
  close(p.probabilities![1]!, 0);
  close(p.expectedScore!, 0.625 * 3 + 0.25 * 4 + 0.125 * 9);
});

test("expected score with '10' as one token and as '1' + '0'", async (t) => {
  const dist = () => ({ 10: 0.5, 1: 0.2, 9: 0.3 });
  const whole = await setup(t, { scoreFor: () => 10, scoreDistribution: dist, digitTokens: "whole" });
  const split = await setup(t, { scoreFor: () => 10, scoreDistribution: dist, digitTokens: "split" });
  const splitOne = await setup(t, { scoreFor: () => 1, scoreDistribution: () => ({ 1: 0.6, 10: 0.1, 2: 0.3 }), digitTokens: "split" });
  for (const { model } of [whole, split]) {
    const p = await model.predict(await image(0));
    assert.equal(p.score, 10);
    close(p.probabilities![10]!, 0.5);
    close(p.probabilities![1]!, 0.2);
    close(p.probabilities![9]!, 0.3);
    close(p.expectedScore!, 0.5 * 10 + 0.2 * 1 + 0.3 * 9);
  }
  const p1 = await splitOne.model.predict(await image(0));
  assert.equal(p1.score, 1);
  close(p1.probabilities![1]!, 0.6);
  close(p1.probabilities![10]!, 0.1);
  close(p1.expectedScore!, 0.6 + 1 + 0.6);
});

test("expected score on plain-text replies in every format", async (t) => {
  const { server, model } = await setup(t, { textFormat: [...TEXT_FORMATS], scoreDistribution: (s) => ({ [s]: 0.8, [s === 10 ? 9 : s + 1]: 0.2 }) }, { structuredOutputs: false });
  for (let i = 0; i < TEXT_FORMATS.length; i++) {
    const img = await image(i);
    const s = server.scoreFor(img.sha256);
    const p = await model.predict(img);
    assert.equal(p.score, s, TEXT_FORMATS[i]);
    close(p.expectedScore!, s === 10 ? 0.8 * 10 + 0.2 * 9 : 0.8 * s + 0.2 * (s + 1));
  }
  assert.ok(server.chatRequests().every((r) => (r.body as any).response_format === undefined));
});

test("scoreProbabilities: leading spaces, unknown positions and ambiguous prefixes", () => {
  const tok = (token: string, top: [string, number][] = [[token, 1]]) => ({ token, top_logprobs: top.map(([t, p]) => ({ token: t, logprob: Math.log(p), bytes: null })) });
  const scale = { min: 1, max: 10 };
  // " 7" and "7" are both the score 7; ":" is not a score
  const r = scoreProbabilities([tok("Score:"), tok(" 7", [[" 7", 0.6], ["7", 0.1], [" 8", 0.2], [":", 0.1]])], 7, scale)!;
  close(r.probabilities[7]!, 0.7 / 0.9);
  close(r.probabilities[8]!, 0.2 / 0.9);
  assert.equal(scoreProbabilities([tok("no score here")], 7, scale), undefined);
  // digits differ from the parsed score → no probabilities
  assert.equal(scoreProbabilities([tok('{"score":'), tok("6"), tok("}")], 7, scale), undefined);
  // split digits, chosen "7", a large unresolved "1" (1 or 10?) → dropped entirely
  assert.equal(scoreProbabilities([tok('{"score":'), tok("7", [["7", 0.6], ["1", 0.4]]), tok("}")], 7, scale), undefined);
  // a small one is dropped before renormalising
  const small = scoreProbabilities([tok('{"score":'), tok("7", [["7", 0.9], ["8", 0.08], ["1", 0.02]]), tok("}")], 7, scale)!;
  close(small.probabilities[7]!, 0.9 / 0.98);
});

test("logprobs unsupported: ignored → no probabilities; rejected → asked again without them", async (t) => {
  const ignored = await setup(t, { logprobs: "ignored" });
  const p = await ignored.model.predict(await image(0));
  assert.equal(p.error, undefined);
  assert.equal(p.probabilities, undefined);
  assert.equal(p.expectedScore, undefined);
  const rejected = await setup(t, { logprobs: "rejected" });
  const q = await rejected.model.predict(await image(0));
  assert.equal(q.error, undefined);
  assert.equal(q.expectedScore, undefined);
  assert.deepEqual(rejected.server.chatRequests().map((r) => (r.body as any).logprobs ?? false), [true, false]);
  await rejected.model.predict(await image(1));
  assert.equal(rejected.server.chatRequests().length, 3, "remembered");
  const off = await setup(t, {}, { logprobs: false });
  await off.model.predict(await image(0));
  assert.equal((off.server.chatRequests()[0]!.body as any).logprobs, undefined);
});

test("429 with retry-after is waited out and succeeds", async (t) => {
  for (const fault of [{ retryAfter: 0.2 }, { retryAfterMs: 200 }]) {
    const { server, model } = await setup(t, { behaviour: failTimes(1, { kind: "rate-limit", ...fault }) });
    const p = await model.predict(await image(0));
    assert.equal(p.error, undefined, JSON.stringify(fault));
    assert.equal(p.score, server.scoreFor((await image(0)).sha256));
    assert.equal(server.chatRequests().length, 2);
    assert.ok(p.latencyMs >= 190, `waited ${p.latencyMs} ms`);
    assert.ok(p.latencyMs < 2000, `waited ${p.latencyMs} ms`);
    assert.equal(server.chatRequests()[1]!.headers["x-stainless-retry-count"], "1");
  }
});

test("a retry-after beyond maxRetryAfterMs is not waited out", async (t) => {
  const { server, model } = await setup(t, { behaviour: always({ kind: "rate-limit", retryAfter: 3600 }) }, { maxRetryAfterMs: 1000 });
  const t0 = Date.now();
  const p = await model.predict(await image(0));
  assert.ok(Date.now() - t0 < 1000);
  assert.match(p.error!, /^HTTP 429 rate_limit_exceeded: Rate limit reached.*asked to wait 3600 s, more than maxRetryAfterMs = 1000 ms; not retried\)$/);
  assert.equal(server.chatRequests().length, 1);
});

test("500 then success; persistent 500 is an error prediction, not a throw", async (t) => {
  const once = await setup(t, { behaviour: failTimes(1, { kind: "status", status: 500 }) });
  const ok = await once.model.predict(await image(0));
  assert.equal(ok.error, undefined);
  assert.equal(once.server.chatRequests().length, 2);

  const always500 = await setup(t, { behaviour: always({ kind: "status", status: 503, headers: { "retry-after-ms": "10" } }) }, { maxRetries: 2 });
  const bad = await always500.model.predict(await image(0));
  assert.equal(bad.score, null);
  assert.match(bad.error!, /^HTTP 503: The engine is currently overloaded.*\(after 3 attempts\)$/);
  assert.equal(bad.transient, true);
  assert.equal(always500.server.chatRequests().length, 3);
  assert.equal(bad.modelId, "gpt-4o-mini-2024-07-18");
});

test("malformed, truncated, empty and HTML bodies are errors", async (t) => {
  const cases = [
    ["malformed", /^malformed response body: /, true],
    ["truncated", /^the connection closed mid-body: terminated/, true],
    ["empty", /^empty response body \(HTTP 200\)$/, true],
    ["html", /^unexpected response \(not a chat completion\): <html>/, undefined],
    ["reset", /^connection error: Connection error\./, true],
  ] as const;
  for (const [kind, re, transient] of cases) {
    const { model } = await setup(t, { behaviour: always({ kind }) }, { maxRetries: 0 });
    const p = await model.predict(await image(0));
    assert.equal(p.score, null, kind);
    assert.match(p.error!, re, kind);
    assert.equal(p.transient, transient, kind);
  }
});

test("a status-200 body that is malformed, cut off or empty is retried like a 5xx; the reason counts the attempts", async (t) => {
  const faults = [{ kind: "malformed" }, { kind: "truncated" }, { kind: "truncated", chunked: true }, { kind: "empty" }, { kind: "empty", chunked: true }] as const;
  for (const b of faults) {
    const once = await setup(t, { behaviour: failAttempts(1, b) }, { maxRetries: 2 });
    const ok = await once.model.predict(await image(0));
    assert.equal(ok.error, undefined, `${JSON.stringify(b)}: ${ok.error}`);
    assert.equal(ok.score, once.server.scoreFor((await image(0)).sha256));
    assert.equal(once.server.chatRequests().length, 2, JSON.stringify(b));
    const bad = await (await setup(t, { behaviour: always(b) }, { maxRetries: 2 })).model.predict(await image(0));
    assert.match(bad.error!, /\(after 3 attempts\)$/, JSON.stringify(b));
    assert.equal(bad.transient, true);
  }
});

test("a reply without a score fails and keeps the raw reply; a refusal too", async (t) => {
  const { model } = await setup(t, { behaviour: ({ index }) => (index === 0 ? { kind: "no-score" } : index === 1 ? { kind: "refusal" } : { kind: "reply", content: '{"score": 12, "reasons": []}' }) });
  const p = await model.predict(await image(0));
  assert.equal(p.score, null);
  assert.match(p.error!, /no valid score in the reply: .*\[no-score\]/);
  assert.equal(p.raw, "I'm unable to judge how safe this street is from a single photo.");
  assert.ok(p.usage, "usage is kept for failed parses (they were paid for)");
  const r = await model.predict(await image(0));
  assert.match(r.error!, /^the model refused/);
  const o = await model.predict(await image(0));
  assert.equal(o.score, null, "out of scale is a failure, not clamped");
  assert.match(o.error!, /outside the scale.*\[out-of-scale\]/);
});

test("a stalled connection times out within timeoutMs; so does a body that stalls", async (t) => {
  const { server, model } = await setup(t, { behaviour: always({ kind: "stall" }) }, { timeoutMs: 300, maxRetries: 0 });
  const t0 = Date.now();
  const p = await model.predict(await image(0));
  const took = Date.now() - t0;
  assert.match(p.error!, /^timeout: no complete response within 300 ms$/);
  assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
  assert.equal(server.chatRequests().length, 1);

  const body = await setup(t, { behaviour: always({ kind: "stall-body" }) }, { timeoutMs: 300, maxRetries: 0 });
  const t1 = Date.now();
  const q = await body.model.predict(await image(0));
  assert.match(q.error!, /^timeout: no complete response within 300 ms$/);
  assert.equal(q.transient, true);
  assert.ok(Date.now() - t1 < 1500, `took ${Date.now() - t1} ms`);

  const retried = await setup(t, { behaviour: failTimes(1, { kind: "stall" }) }, { timeoutMs: 300, maxRetries: 1 });
  const r = await retried.model.predict(await image(0));
  assert.equal(r.error, undefined, "a timed-out attempt is retried");
  assert.equal(retried.server.chatRequests().length, 2);

  const bodyRetried = await setup(t, { behaviour: failTimes(1, { kind: "stall-body" }) }, { timeoutMs: 300, maxRetries: 1 });
  const s = await bodyRetried.model.predict(await image(0));
  assert.equal(s.error, undefined, "an attempt whose body stalled is retried");
  assert.equal(bodyRetried.server.chatRequests().length, 2);
});

test("a model the lifecycle table says is shut down: its model-not-found is explained; an unknown model's stays the API's", async (t) => {
  // gpt-4.1-nano-2025-04-14 shut down on 2026-10-23 (lifecycle.ts); this server no longer lists it.
  const { model } = await setup(t, { rejectUnknownModels: true, models: ["gpt-4o"] }, { model: "gpt-4.1-nano-2025-04-14", maxRetries: 0 });
  const p = await model.predict(await image(0));
  assert.match(p.error!, /^model shut down: gpt-4\.1-nano-2025-04-14 was shut down on 2026-10-23 .*the API answered HTTP 404: The model `gpt-4\.1-nano-2025-04-14` does not exist/);
  assert.equal(p.transient, false);
  const other = await setup(t, { rejectUnknownModels: true, models: ["gpt-4o"] }, { model: "my-model", maxRetries: 0 });
  assert.match((await other.model.predict(await image(0))).error!, /^HTTP 404 model_not_found: The model `my-model` does not exist/);
});

test("a wrong key gives a 401 error with the key redacted", async (t) => {
  const wrong = "sk-WRONG-sentinel-5a5a5a5a5a";
  const { server, model } = await setup(t, {}, { env: { [KEY_ENV]: wrong } });
  const p = await model.predict(await image(0));
  assert.equal(p.score, null);
  assert.match(p.error!, /^HTTP 401 invalid_api_key: Incorrect API key provided: \[redacted\]/);
  assertNoKey(p, wrong);
  assert.equal(server.chatRequests().length, 1, "401 is not retried");
});

test("the key never appears in predictions, errors or cache files", async (t) => {
  const dir = tempDir();
  const cache = new ResponseCache(dir);
  const { model } = await setup(t, {
    // echo the key back in replies and errors, as a misbehaving proxy might
    behaviour: ({ index }) =>
      index % 3 === 0
        ? { kind: "reply", content: `{"score": 5, "reasons": ["saw Bearer ${SENTINEL}", "${SENTINEL}"]}` }
        : index % 3 === 1
          ? { kind: "status", status: 400, message: `bad key ${SENTINEL}` }
          : undefined,
  }, { maxRetries: 0 });
  const cached = withCache(model, cache);
  const out: Prediction[] = [];
  for (let i = 0; i < 6; i++) out.push(await cached.predict(await image(i)));
  assert.ok(out.some((p) => p.error) && out.some((p) => p.score !== null));
  for (const p of out) assertNoKey(p);
  assertNoKey(model.describe());
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const full = path.join(d, f);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(dir);
  assert.ok(files.length >= 2, "successes were cached");
  for (const f of files) assert.ok(!readFileSync(f, "utf8").includes(SENTINEL), `key in ${f}`);
});

test("cache: a hit makes no request; errors are not cached", async (t) => {
  const cache = new ResponseCache(tempDir());
  const { server, model } = await setup(t, { behaviour: ({ request }) => (request.imageSha256 === images[1]?.sha256 ? { kind: "status", status: 400, message: "nope" } : undefined) }, { maxRetries: 0 });
  const cached = withCache(model, cache);
  const a = await cached.predict(await image(0));
  const b = await cached.predict(await image(0));
  assert.equal(a.cached, undefined);
  assert.equal(b.cached, true);
  assert.equal(b.score, a.score);
  assert.deepEqual(b.probabilities, a.probabilities);
  assert.equal(server.chatRequests().length, 1);
  await cached.predict(await image(0), { prompt: "Other words." });
  assert.equal(server.chatRequests().length, 2, "another prompt is another key");
  const e1 = await cached.predict(await image(1));
  const e2 = await cached.predict(await image(1));
  assert.ok(e1.error && e2.error && !e2.cached);
  assert.equal(server.chatRequests().length, 4);
  // a model configured differently does not share entries; timeouts do not matter
  const other = new OpenAIChatModel({ name: "x", model: "gpt-4o-mini-2024-07-18", baseURL: server.url, apiKey: SENTINEL, detail: "high" });
  await withCache(other, cache).predict(await image(0));
  assert.equal(server.chatRequests().length, 5);
  const sameButSlower = new OpenAIChatModel({ name: "y", model: "gpt-4o-mini-2024-07-18", baseURL: server.url, apiKey: SENTINEL, timeoutMs: 5000, maxRetries: 0 });
  assert.equal((await withCache(sameButSlower, cache).predict(await image(0))).cached, true);
});

test("concurrent predictions (8 at once over 40 images) each get their own image's score", async (t) => {
  const { server, model } = await setup(t, {
    latencyMs: 15,
    // every third image is rate-limited once; every fifth fails once with a 500
    behaviour: (ctx) => {
      const i = images.findIndex((im) => im.sha256 === ctx.request.imageSha256);
      if (i % 3 === 0) return failAttempts(1, { kind: "rate-limit", retryAfterMs: 30 })(ctx);
      if (i % 5 === 0) return failAttempts(1, { kind: "status", status: 500, headers: { "retry-after-ms": "20" } })(ctx);
      return undefined;
    },
  });
  const all = await Promise.all(Array.from({ length: 40 }, (_, i) => image(i)));
  assert.equal(new Set(all.map((im) => im.sha256)).size, 40);
  const limit = pLimit(8);
  const preds = await Promise.all(all.map((im) => limit(() => model.predict(im))));
  preds.forEach((p, i) => {
    assert.equal(p.error, undefined, `image ${i}`);
    assert.equal(p.score, server.scoreFor(all[i]!.sha256), `image ${i}`);
  });
  assert.equal(server.stats.maxInFlight, 8);
  assert.ok(new Set(preds.map((p) => p.score)).size > 3, "the scores differ between images");
});

test("Azure: AzureOpenAI client, deployment path, api-key header, api-version", async (t) => {
  const server = await startTestServer({ apiKey: SENTINEL });
  t.after(() => server.close());
  const model = new OpenAIChatModel({
    name: "azure-test",
    model: "gpt-4o-mini",
    provider: "azure",
    env: { AZURE_OPENAI_API_KEY: SENTINEL, AZURE_OPENAI_ENDPOINT: server.origin, OPENAI_API_VERSION: "2024-10-21", AZURE_OPENAI_DEPLOYMENT: "safety-dep" },
  });
  const p = await model.predict(await image(0));
  assert.equal(p.error, undefined);
  const [req] = server.chatRequests();
  assert.equal(req!.path, "/openai/deployments/safety-dep/chat/completions");
  assert.equal(req!.query["api-version"], "2024-10-21");
  assert.equal(req!.authorized, true);
  assert.equal(model.describe()["deployment"], "safety-dep");
  assert.throws(
    () => new OpenAIChatModel({ name: "az", model: "m", provider: "azure", env: { AZURE_OPENAI_API_KEY: SENTINEL } }),
    (e: Error) => e instanceof ModelUnavailableError && /AZURE_OPENAI_ENDPOINT/.test(e.message) && /OPENAI_API_VERSION/.test(e.message),
  );
});

test("keys: variable, key file (trimmed), and an error naming both variables", () => {
  const dir = tempDir();
  const file = path.join(dir, "key.txt");
  writeFileSync(file, `  ${SENTINEL}\n\n`);
  assert.equal(resolveApiKey({ env: { OPENAI_API_KEY: SENTINEL } }), SENTINEL);
  assert.equal(resolveApiKey({ env: { OPENAI_API_KEY_FILE: file } }), SENTINEL);
  assert.equal(resolveApiKey({ envVar: "K", fileVar: "K_FILE", env: { K_FILE: file } }), SENTINEL);
  assert.throws(() => resolveApiKey({ env: {} }), (e: Error) => e instanceof ModelUnavailableError && /OPENAI_API_KEY\b/.test(e.message) && /OPENAI_API_KEY_FILE/.test(e.message));
  assert.throws(() => resolveApiKey({ env: { OPENAI_API_KEY_FILE: path.join(dir, "missing") } }), /OPENAI_API_KEY_FILE=.*cannot be read \(ENOENT\)/);
  writeFileSync(path.join(dir, "empty"), " \n");
  assert.throws(() => resolveApiKey({ env: { OPENAI_API_KEY_FILE: path.join(dir, "empty") } }), /is empty/);
  assert.throws(
    () => new OpenAIChatModel({ name: "needs-key", model: "gpt-4o", apiKeyEnv: "STREETSAFE_NO_SUCH_KEY", env: {} }),
    (e: Error) => e instanceof ModelUnavailableError && /STREETSAFE_NO_SUCH_KEY_FILE/.test(e.message),
  );
});

test("redact: keys, Bearer tokens, api-key headers and URL passwords", () => {
  assert.equal(redact(`x ${SENTINEL} y`, [SENTINEL]), "x [redacted] y");
  assert.equal(redact("Authorization: Bearer abc.def-123"), "Authorization: Bearer [redacted]");
  assert.equal(redact('{"api-key": "zzz-123"}'), '{"api-key": "[redacted]"}');
  assert.equal(redact("https://user:hunter2@proxy.local/v1"), "https://user:[redacted]@proxy.local/v1");
  assert.equal(redact("short key ab stays", ["ab"]), "short key ab stays");
  assert.equal(redact("nothing secret here: score 7"), "nothing secret here: score 7");
});
