import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseScoreText } from "../../lib/src/prompt/score-text";
import { always, startTestServer, TEST_API_KEY, TEXT_FORMATS, type Route } from "./openai-server";

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3, 4]);
const dataUrl = (b: Buffer) => `data:image/jpeg;base64,${b.toString("base64")}`;
const auth = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };

function chatBody(extra: Record<string, unknown> = {}, image = JPEG) {
  return {
    model: "gpt-4o-mini-2024-07-18",
    messages: [
      { role: "system", content: "rate" },
      { role: "user", content: [{ type: "text", text: "Rate." }, { type: "image_url", image_url: { url: dataUrl(image), detail: "low" } }] },
    ],
    ...extra,
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

test("auth is required; the key is not recorded", async (t) => {
  const s = await startTestServer();
  t.after(() => s.close());
  assert.equal((await fetch(`${s.url}/models`)).status, 401);
  const bad = await post(`${s.url}/chat/completions`, chatBody(), { authorization: "Bearer sk-nope-123456", "content-type": "application/json" });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error.code, "invalid_api_key");
  const models = await fetch(`${s.url}/models`, { headers: auth });
  assert.equal(models.status, 200);
  assert.ok(((await models.json()) as any).data.length > 0);
  for (const r of s.requests) {
    assert.equal(r.headers["authorization"], undefined);
    assert.ok(!JSON.stringify(r).includes(TEST_API_KEY));
  }
});

test("the score depends on the image bytes only, and the image hash is recorded", async (t) => {
  const s = await startTestServer();
  t.after(() => s.close());
  const other = Buffer.concat([JPEG, Buffer.from([9, 9, 9])]);
  const a1 = await post(`${s.url}/chat/completions`, chatBody());
  const a2 = await post(`${s.url}/chat/completions`, chatBody({ temperature: 0 }));
  const b = await post(`${s.url}/chat/completions`, chatBody({}, other));
  const sha = createHash("sha256").update(JPEG).digest("hex");
  const score = (r: typeof a1) => parseScoreText(r.json.choices[0].message.content, { min: 1, max: 10 });
  assert.deepEqual(score(a1), score(a2));
  assert.equal((score(a1) as any).score, s.scoreFor(sha));
  assert.equal(s.requests[0]!.imageSha256, sha);
  assert.equal(s.requests[1]!.attempt, 1, "second request for the same image");
  assert.equal(s.requests[2]!.attempt, 0);
  assert.equal((score(b) as any).score, s.scoreFor(createHash("sha256").update(other).digest("hex")));
  assert.ok(a1.json.usage.prompt_tokens > 85);
});

test("invalid requests get a 400 naming the parameter", async (t) => {
  const s = await startTestServer();
  t.after(() => s.close());
  const cases: [string, unknown][] = [
    ["no model", { messages: chatBody().messages }],
    ["unknown parameter", chatBody({ temperatur: 0 })],
    ["top_logprobs without logprobs", chatBody({ top_logprobs: 5 })],
    ["non-strict schema", chatBody({ response_format: { type: "json_schema", json_schema: { name: "x", strict: true, schema: { type: "object", properties: { a: { type: "integer" } } } } } })],
    ["not a JPEG", chatBody({}, Buffer.from("hello"))],
  ];
  for (const [name, body] of cases) {
    const r = await post(`${s.url}/chat/completions`, body);
    assert.equal(r.status, 400, name);
    assert.equal(typeof r.json.error.message, "string", name);
  }
});

test("every plain-text format carries the same score", async (t) => {
  const s = await startTestServer({ textFormat: [...TEXT_FORMATS] });
  t.after(() => s.close());
  const sha = createHash("sha256").update(JPEG).digest("hex");
  for (const format of TEXT_FORMATS) {
    const r = await post(`${s.url}/chat/completions`, chatBody());
    const text: string = r.json.choices[0].message.content;
    const parsed = parseScoreText(text, { min: 1, max: 10 });
    assert.ok(parsed.ok, `${format}: ${text}`);
    assert.equal(parsed.score, s.scoreFor(sha), format);
  }
});

test("logprobs: the score token carries the configured distribution", async (t) => {
  const s = await startTestServer({ scoreFor: () => 4, scoreDistribution: () => ({ 4: 0.5, 5: 0.3, 3: 0.2 }) });
  t.after(() => s.close());
  const r = await post(`${s.url}/chat/completions`, chatBody({
    logprobs: true,
    top_logprobs: 3,
    response_format: { type: "json_schema", json_schema: { name: "s", strict: true, schema: { type: "object", properties: { score: { type: "integer" } }, required: ["score"], additionalProperties: false } } },
  }));
  const tokens: any[] = r.json.choices[0].logprobs.content;
  assert.equal(tokens.map((x) => x.token).join(""), r.json.choices[0].message.content);
  const at = tokens.find((x) => x.token === "4")!;
  assert.deepEqual(at.top_logprobs.map((x: any) => x.token), ["4", "5", "3"]);
  assert.ok(Math.abs(Math.exp(at.top_logprobs[1].logprob) - 0.3) < 1e-12);
});

test("faults: rate limit headers, status errors, and close() ends stalled requests", async (t) => {
  const s = await startTestServer({ behaviour: ({ index }) => (index === 0 ? { kind: "rate-limit", retryAfter: 0.2, retryAfterMs: 200 } : index === 1 ? { kind: "status", status: 503 } : { kind: "stall" }) });
  const r429 = await post(`${s.url}/chat/completions`, chatBody());
  assert.equal(r429.status, 429);
  assert.equal(r429.headers.get("retry-after"), "0.2");
  assert.equal(r429.headers.get("retry-after-ms"), "200");
  assert.equal((await post(`${s.url}/chat/completions`, chatBody())).status, 503);
  const stalled = fetch(`${s.url}/chat/completions`, { method: "POST", headers: auth, body: JSON.stringify(chatBody()) }).then(
    () => "answered",
    () => "closed",
  );
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await s.close();
  assert.equal(await stalled, "closed");
  assert.ok(Date.now() - t0 < 1000, "close() does not wait for stalled requests");
  t.diagnostic(`close took ${Date.now() - t0} ms`);
});

test("routes are a table: extra routes come first; unknown paths get 404", async (t) => {
  const extra: Route = { method: "GET", path: /^\/v1\/files\/([^/]+)$/, handler: ({ res, params }) => void res.end(JSON.stringify({ id: params[0] })) };
  const s = await startTestServer({ extraRoutes: [extra], behaviour: always({ kind: "ok" }) });
  t.after(() => s.close());
  const f = await fetch(`${s.url}/files/file-abc`, { headers: auth });
  assert.deepEqual(await f.json(), { id: "file-abc" });
  const missing = await fetch(`${s.url}/nothing`, { headers: auth });
  assert.equal(missing.status, 404);
});
