import { test } from "node:test";
import assert from "node:assert/strict";
import { parseScoreText, splitReasons, type ScoreTextFailure } from "../../lib/src/prompt/score-text";
import { DEFAULT_SCALE, type Scale } from "../../lib/src/core/scale";

const S = DEFAULT_SCALE;
const S100: Scale = { min: 0, max: 100 };

// [input, expected score, expected reasons]
const accepted: [string, number, string[], Scale?][] = [
  ["7", 7, []],
  ["7.5", 7.5, []],
  [" 7 ", 7, []],
  ["\t10\n", 10, []],
  ["1", 1, []],
  ["7,5", 7.5, []],
  ["7/10", 7, []],
  ["7 / 10", 7, []],
  ["7 out of 10", 7, []],
  ["Score: 7/10", 7, []],
  ["Safety Score: 4", 4, []],
  ["safety score = 7", 7, []],
  ["SAFETY_SCORE: 3", 3, []],
  ["Rating: 8", 8, []],
  ["Score: 7 out of 10", 7, []],
  ["**Safety Score:** 6", 6, []],
  ["**Safety Score**: 6", 6, []],
  ["Final score: 7", 7, []],
  ["Score: **7**/10", 7, []],
  ["**Score: 7/10**", 7, []],
  ["**Safety Score:** 6\n\n**Reasons:**\n- dark\n- empty", 6, ["dark", "empty"]],
  ["Safety Score: 4\nReasons: poor lighting, graffiti", 4, ["poor lighting, graffiti"]],
  ["Safety Score: 4\nReasons:\n- poor lighting\n- graffiti", 4, ["poor lighting", "graffiti"]],
  ["Safety Score: 4\nReasons: poor lighting; graffiti; no sidewalk", 4, ["poor lighting", "graffiti", "no sidewalk"]],
  ["Safety Score: 4\nReasons: • poor lighting • graffiti", 4, ["poor lighting", "graffiti"]],
  ["Safety Score: 5\nReasoning: low traffic helps, but no lights", 5, ["low traffic helps, but no lights"]],
  ["Reasoning: dark street\nSafety Score: 3", 3, ["dark street"]],
  ["Score: 7/10. The street is well lit", 7, ["The street is well lit"]],
  ["Score: 7/10 - wide sidewalks\n- slow traffic", 7, ["wide sidewalks", "slow traffic"]],
  ["Score: 7\n...\nFinal score: 7", 7, []],
  ['{"score": 7, "reasons": ["lit", "busy"]}', 7, ["lit", "busy"]],
  ['{"safety_score": 7}', 7, []],
  ['{"Safety Score": 6, "reason": "dark; empty"}', 6, ["dark", "empty"]],
  ['{"rating": "7/10"}', 7, []],
  ['```json\n{"score": 8, "reasons": ["good lighting"]}\n```', 8, ["good lighting"]],
  ['Here is my assessment:\n```\n{"safety_score": 2}\n```\nThanks', 2, []],
  ["70/100", 70, [], S100],
  ["Score: 0", 0, [], S100],
];

for (const [input, score, reasons, scale] of accepted) {
  test(`accepts ${JSON.stringify(input)}`, () => {
    assert.deepEqual(parseScoreText(input, scale ?? S), { ok: true, score, reasons });
  });
}

// [input, expected failure code, fragment of the reason]
const rejected: [string, ScoreTextFailure, string, Scale?][] = [
  ["", "empty", "empty"],
  ["   ", "empty", "empty"],
  ["There are 3 cars and the score is unclear", "no-score", "no score found"],
  ["I would say 7", "no-score", "numbers in prose"],
  ["Classification: SAFE\nConfidence: HIGH\nReason: wide sidewalks", "no-score", "no score found"],
  ["Score: unclear", "no-score", "no score found"],
  ["Score: [1-10]", "no-score", "no score found"],
  ["Score: 7\nSafety Score: 4", "ambiguous", "different scores"],
  ["Rating: 8. Score: 6/10", "ambiguous", "different scores"],
  ["Score: 6-7", "ambiguous", "range"],
  ["Score: 6 to 7", "ambiguous", "range"],
  ["Score: 70%", "ambiguous", "not a plain number"],
  ["7/5", "denominator", "/10"],
  ["Score: **7**/5", "denominator", "out of 5"],
  ["Score: 3.5/5", "denominator", "scale is 1–10"],
  ["Overall Score: 34/50\nMain Concerns: lighting", "denominator", "out of 50"],
  ["Pedestrian Safety: 6\nTraffic Safety: 7\nOverall Score: 35/50", "denominator", "out of 50"],
  ["11", "out-of-scale", "11 is outside the scale 1–10"],
  ["0", "out-of-scale", "0 is outside the scale 1–10"],
  ["Safety Score: 12", "out-of-scale", "12 is outside the scale 1–10"],
  ["-3", "out-of-scale", "outside the scale"],
  ["11/10", "out-of-scale", "outside the scale"],
  ['{"score": 11}', "out-of-scale", "outside the scale"],
  ['{"score": 7, "rating": 4}', "ambiguous", "different scores"],
  ['{"score": "high"}', "no-score", "not a number"],
  ['{"score": null}', "empty", "null"],
  ['{"label": "safe"}', "no-score", "no score field"],
  ['{"score": 7,}', "invalid-json", "does not parse"],
  ["```json\n{score: 7}\n```", "invalid-json", "does not parse"],
  ["150", "out-of-scale", "0–100", S100],
];

for (const [input, code, fragment, scale] of rejected) {
  test(`rejects ${JSON.stringify(input)} (${code})`, () => {
    const r = parseScoreText(input, scale ?? S);
    assert.equal(r.ok, false, `expected failure, got ${JSON.stringify(r)}`);
    if (r.ok) return;
    assert.equal(r.code, code, r.reason);
    assert.ok(r.reason.includes(fragment), `reason "${r.reason}" should contain "${fragment}"`);
  });
}

test("out-of-scale failures carry the value that was read", () => {
  const r = parseScoreText("Score: 12", S);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.value, 12);
});

test("splitReasons splits on newlines, bullets and ';' but not commas", () => {
  assert.deepEqual(splitReasons("a, b; c\n- d\n* e\n1. f\n2) g"), ["a, b", "c", "d", "e", "f", "g"]);
  assert.deepEqual(splitReasons("  \n ; "), []);
});
