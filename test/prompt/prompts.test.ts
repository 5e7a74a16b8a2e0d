import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assistantTarget,
  IMAGE_FILE_NAME_PATTERN,
  PROMPT_VERSION,
  promptHash,
  roundScore,
  systemPrompt,
  userPrompt,
} from "../../lib/src/prompt/prompts";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { GroundTruthItem } from "../../lib/src/core/types";

const item = (score: number, reasons: string[] = [], image = "street_0042.jpg"): GroundTruthItem => ({
  image,
  score,
  reasons,
  source: { file: "/data/photos/ground_truth.xlsx", row: 7 },
});

test("system prompt states the task, the scale ends and the exact reply format", () => {
  const s = systemPrompt(DEFAULT_SCALE);
  assert.match(s, /perceived safety/);
  assert.match(s, /pedestrian/);
  assert.match(s, /1 means very unsafe/);
  assert.match(s, /10 means very safe/);
  assert.ok(s.includes('{"score": <integer from 1 to 10>, "reasons": ["<short reason>", ...]}'));
  assert.match(systemPrompt({ min: 0, max: 100 }), /0 means very unsafe[\s\S]*100 means very safe/);
  assert.match(userPrompt(DEFAULT_SCALE), /1-10 scale/);
  assert.match(userPrompt({ min: 0, max: 100 }), /0-100 scale/);
});

test("no file name, path or id can reach a prompt: prompts depend on the scale only", () => {
  // The prompt functions take no item at all; check their text for anything file-like too.
  assert.equal(systemPrompt.length <= 1 && userPrompt.length <= 1, true);
  for (const scale of [DEFAULT_SCALE, { min: 0, max: 100 }, { min: -5, max: 5 }]) {
    for (const text of [systemPrompt(scale), userPrompt(scale)]) {
      assert.doesNotMatch(text, IMAGE_FILE_NAME_PATTERN);
      assert.doesNotMatch(text, /[\\/]/, "no path separators");
      assert.doesNotMatch(text, /street_0042|ground_truth|photos/);
    }
  }
  // The assistant target carries score and reasons only.
  const t = assistantTarget(item(7, ["dark"], "C:\\photos\\secret_0001.jpg"));
  assert.doesNotMatch(t, /secret_0001|photos|xlsx/);
});

test("file-name pattern recognises image names and nothing else in ordinary prose", () => {
  for (const s of ["IMG_1.jpg", "a.JPEG", "street-view_2.png", "x.webp", "y.gif", "z.bmp", "t.tif", "t.tiff"]) {
    assert.match(s, IMAGE_FILE_NAME_PATTERN, s);
  }
  for (const s of ["a JPEG image", "data:image/jpeg;base64,AAAA", "the png format", "score 7.5"]) {
    assert.doesNotMatch(s, IMAGE_FILE_NAME_PATTERN, s);
  }
});

test("assistant target is one JSON format with an integer score (half rounds up)", () => {
  assert.equal(assistantTarget(item(7, [" poor lighting ", "", "graffiti"])), '{"score":7,"reasons":["poor lighting","graffiti"]}');
  assert.equal(assistantTarget(item(6.5)), '{"score":7,"reasons":[]}');
  assert.equal(assistantTarget(item(6.49)), '{"score":6,"reasons":[]}');
  assert.equal(assistantTarget(item(3.333)), '{"score":3,"reasons":[]}');
  assert.deepEqual(JSON.parse(assistantTarget(item(9.75, ["wide sidewalk"]))), { score: 10, reasons: ["wide sidewalk"] });
  assert.equal(roundScore(-1.5), -1);
  assert.ok(Object.is(roundScore(-0.4), 0), "no -0");
  assert.throws(() => roundScore(Number.NaN), /finite/);
});

test("prompt hash is a stable sha256 of system + user prompt and changes with the scale", () => {
  const h = promptHash(DEFAULT_SCALE);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(promptHash({ min: 1, max: 10 }), h);
  assert.notEqual(promptHash({ min: 0, max: 100 }), h);
  assert.match(PROMPT_VERSION, /^streetsafe-prompt-v\d+$/);
});
