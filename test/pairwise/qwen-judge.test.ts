import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import sharp from "sharp";
import { prepareImage } from "../../lib/src/core/image";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { PreparedImage } from "../../lib/src/core/types";
import { LocalQwen2VLModel } from "../../lib/src/models/qwen2vl";
import { ResponseCache, withCache } from "../../lib/src/models/cache";
import { CachedPairJudge } from "../../lib/src/pairwise/ask/cached-judge";
import { judgeFor } from "../../lib/src/pairwise/ask/judges";
import { pairJudgmentSchema } from "../../lib/src/pairwise/ask/judge";
import { QwenPairJudge } from "../../lib/src/pairwise/ask/qwen-judge";
import { buildTinyQwen2VL } from "../helpers/tiny-qwen2vl";
import { tempDir } from "../helpers/tmp";

const root = tempDir("streetsafe-qwen-pair-");
let model: LocalQwen2VLModel;
let dark: PreparedImage;
let bright: PreparedImage;

const solid = async (grey: number) => prepareImage(await sharp({ create: { width: 200, height: 150, channels: 3, background: { r: grey, g: grey, b: grey } } }).jpeg().toBuffer());

before(async () => {
  await buildTinyQwen2VL(path.join(root, "tiny"));
  model = await LocalQwen2VLModel.load({ dir: path.join(root, "tiny"), scale: DEFAULT_SCALE, maxNewTokens: 16, log: () => undefined });
  dark = await solid(40);
  bright = await solid(220);
});
after(() => model?.dispose());

test("the local Qwen2-VL judges a pair with both images in one prompt; a reply without an answer is a counted failure", async () => {
  const judge = new QwenPairJudge(model);
  assert.equal(judge.method, "two-images");
  assert.equal(judge.kind, "local");
  // watch what reaches the real generate (it still runs)
  const seen: { images: string[]; imageParts: number }[] = [];
  const generate = model.generate.bind(model);
  model.generate = async (req) => {
    const parts = (req.messages ?? []).flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((p) => p.type === "image").length;
    seen.push({ images: req.images.map((i) => i.sha256), imageParts: parts });
    const g = await generate(req);
    assert.equal(g.imageGridThw.length, 2, "two images encoded in one prompt");
    return g;
  };
  const j = await judge.judge(dark, bright);
  assert.deepEqual(seen, [{ images: [dark.sha256, bright.sha256], imageParts: 2 }], "image A then image B, one request");
  // The tiny fixture only ever writes {"score":N,"reasons":[]}: the strict parser must refuse it, not guess.
  assert.equal(j.answer, null);
  assert.match(j.error!, /no valid answer in the reply: the reply's keys are \["score","reasons"\]/);
  assert.match(j.raw, /^\{"score":\d+,"reasons":\[\]\}$/);
  assert.ok(j.usage!.inputTokens > 100 && j.usage!.outputTokens > 0);
  assert.equal(j.modelId, model.id);
  assert.equal((judge.describe() as { task: string }).task, "pairwise");

  // Behind the factory's cache the judge is cached too; failures are not stored.
  const cache = new ResponseCache(path.join(root, "cache"));
  const cached = judgeFor(withCache(model, cache));
  assert.ok(cached instanceof CachedPairJudge && cached.inner instanceof QwenPairJudge);
  const again = await cached.judge(dark, bright);
  assert.equal(again.cached, undefined);
  assert.equal(await cache.getValue((cached as CachedPairJudge).keyFor(dark, bright), pairJudgmentSchema), undefined);
});
