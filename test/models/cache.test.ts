import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ResponseCache, predictionKeyFields, stableStringify, withCache } from "../../lib/src/models/cache";
import type { Prediction, ScoreModel } from "../../lib/src/models/types";
import type { PreparedImage } from "../../lib/src/core/types";
import { tempDir } from "../helpers/tmp";

const img = (sha: string): PreparedImage => ({ jpeg: Buffer.from([0xff, 0xd8]), sha256: sha.padEnd(64, "0"), width: 1, height: 1 });
const ok = (score: number): Prediction => ({ score, reasons: ["r"], raw: `{"score":${score}}`, latencyMs: 12, modelId: "m-1", probabilities: { 1: 0.5, 2: 0.5 }, expectedScore: 1.5 });

/** A model that counts calls and answers from a script. */
function fakeModel(answer: (n: number) => Prediction, settings: Record<string, unknown> = { detail: "low" }) {
  let calls = 0;
  const model: ScoreModel = {
    name: "fake",
    id: "m-1",
    scale: { min: 1, max: 10 },
    kind: "local",
    describe: () => settings,
    predict: async () => answer(calls++),
  };
  return { model, calls: () => calls };
}

test("keys: sorted at every depth, sensitive to values, never built from secrets", () => {
  const c = new ResponseCache(tempDir());
  assert.equal(c.key({ a: 1, b: { y: 2, x: [3, { q: 1, p: 2 }] } }), c.key({ b: { x: [3, { p: 2, q: 1 }], y: 2 }, a: 1 }));
  assert.notEqual(c.key({ a: 1 }), c.key({ a: 2 }));
  assert.notEqual(c.key({ a: [1, 2] }), c.key({ a: [2, 1] }), "array order matters");
  assert.equal(c.key({ a: 1, b: undefined }), c.key({ a: 1 }));
  assert.match(c.key({}), /^[0-9a-f]{64}$/);
  assert.equal(stableStringify({ b: 1, a: 2 }), '{"a":2,"b":1}');
  for (const name of ["apiKey", "api_key", "OPENAI_API_KEY", "authorization", "secret", "password", "token"]) {
    assert.throws(() => c.key({ settings: { [name]: "x" } }), /looks like a secret/, name);
  }
  c.key({ maxTokens: 10, apiKeyEnv: "OPENAI_API_KEY", topLogprobs: 5 }); // names that are not secrets
});

test("set/get round trip in <dir>/<2 hex>/<key>.json; failures are not stored", async () => {
  const dir = tempDir();
  const c = new ResponseCache(dir);
  const key = c.key({ x: 1 });
  assert.equal(await c.get(key), undefined);
  await c.set(key, { ...ok(7), cached: true });
  const file = path.join(dir, key.slice(0, 2), `${key}.json`);
  assert.ok(existsSync(file));
  const back = await c.get(key);
  assert.deepEqual(back, ok(7), "stored without the cached flag");
  assert.equal(back!.probabilities![1], 0.5);

  const e = c.key({ x: 2 });
  await c.set(e, { score: null, reasons: [], raw: "", error: "HTTP 500", latencyMs: 1, modelId: "m-1" });
  await c.set(e, { score: null, reasons: [], raw: "I cannot", error: "no valid score", latencyMs: 1, modelId: "m-1" });
  assert.equal(await c.get(e), undefined);
  assert.deepEqual(readdirSync(dir), [key.slice(0, 2)], "only the success was written; no temp files remain");
  assert.deepEqual(readdirSync(path.join(dir, key.slice(0, 2))), [`${key}.json`]);
});

test("a corrupt, foreign or misplaced entry is a miss", async () => {
  const dir = tempDir();
  const c = new ResponseCache(dir);
  const key = c.key({ y: 1 });
  await c.set(key, ok(3));
  writeFileSync(c.pathFor(key), "{not json");
  assert.equal(await c.get(key), undefined);
  writeFileSync(c.pathFor(key), JSON.stringify({ format: 1, key: "other", storedAt: "", prediction: ok(3) }));
  assert.equal(await c.get(key), undefined);
  writeFileSync(c.pathFor(key), JSON.stringify({ format: 99, key, storedAt: "", prediction: ok(3) }));
  assert.equal(await c.get(key), undefined);
  assert.throws(() => c.pathFor("../../etc/passwd"), /not a cache key/);
});

test("withCache: a hit returns the stored prediction flagged cached, without calling the model", async () => {
  const { model, calls } = fakeModel(() => ok(6));
  const cached = withCache(model, new ResponseCache(tempDir()));
  assert.equal(cached.id, "m-1");
  assert.deepEqual(cached.describe(), model.describe());
  const a = await cached.predict(img("aa"));
  const b = await cached.predict(img("aa"));
  assert.equal(calls(), 1);
  assert.equal(a.cached, undefined);
  assert.deepEqual(b, { ...ok(6), cached: true });
  await cached.predict(img("bb"));
  await cached.predict(img("aa"), { prompt: "other" });
  assert.equal(calls(), 3, "another image or prompt is another key");
});

test("withCache: errors are asked again; null cache is the model itself", async () => {
  const { model, calls } = fakeModel((n) => (n === 0 ? { score: null, reasons: [], raw: "", error: "HTTP 503", latencyMs: 1, modelId: "m-1" } : ok(4)));
  const cached = withCache(model, new ResponseCache(tempDir()));
  assert.ok((await cached.predict(img("cc"))).error);
  assert.equal((await cached.predict(img("cc"))).score, 4);
  assert.equal((await cached.predict(img("cc"))).cached, true);
  assert.equal(calls(), 2);
  assert.equal(withCache(model, null), model);
});

test("the key covers model id, settings, prompt version and hash, prompt, image and extra fields", async () => {
  const { model } = fakeModel(() => ok(1), { detail: "high" });
  const f = predictionKeyFields(model, img("dd"), { prompt: "p" }, { run: "x" });
  assert.deepEqual(Object.keys(f).sort(), ["extra", "image", "modelId", "prompt", "promptHash", "promptVersion", "settings"]);
  assert.deepEqual(f["settings"], { detail: "high" });
  const c = new ResponseCache(tempDir());
  const other = fakeModel(() => ok(1), { detail: "low" }).model;
  assert.notEqual(c.key(f), c.key(predictionKeyFields(other, img("dd"), { prompt: "p" }, { run: "x" })));
  assert.notEqual(c.key(f), c.key(predictionKeyFields(model, img("dd"), { prompt: "p" }, { run: "y" })));
  // a model offering cacheKeyFields() keys on those instead of describe()
  const keyed = Object.assign(fakeModel(() => ok(1), { detail: "high", timeoutMs: 5 }).model, { cacheKeyFields: () => ({ detail: "high" }) });
  assert.deepEqual(predictionKeyFields(keyed, img("dd"))["settings"], { detail: "high" });
});
