import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateRunCost, PROMPT_TEXT_TOKENS } from "../../lib/src/compare/cost";
import { countTextTokens } from "../../lib/src/openai/tokens";
import { promptHash, systemPrompt, userPrompt } from "../../lib/src/prompt/prompts";

// Scales a user is likely to give; every table entry must belong to one of them (an edited prompt
// changes its hash, and the stale entry fails here).
const SCALES = [
  { min: 1, max: 10 },
  { min: 0, max: 10 },
  { min: 1, max: 5 },
  { min: 1, max: 7 },
];

test("PROMPT_TEXT_TOKENS: every entry is the o200k count of the prompts it is keyed by", () => {
  const seen = new Set<string>();
  for (const scale of SCALES) {
    const h = promptHash(scale);
    if (!(h in PROMPT_TEXT_TOKENS)) continue;
    seen.add(h);
    assert.equal(PROMPT_TEXT_TOKENS[h], countTextTokens(systemPrompt(scale)) + countTextTokens(userPrompt(scale)), `scale ${scale.min}-${scale.max}`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(PROMPT_TEXT_TOKENS).sort(), "an entry whose prompt no longer exists");
  assert.ok(seen.has(promptHash({ min: 1, max: 10 })), "the default scale is in the table");
});

test("estimateRunCost: a scale outside the table is counted with the encoder, the same arithmetic", () => {
  const inTable = estimateRunCost("gpt-4o-mini", 100, { min: 1, max: 10 })!;
  const counted = estimateRunCost("gpt-4o-mini", 100, { min: 1, max: 5 })!;
  assert.ok(inTable > 0 && counted > 0);
  const perToken = (inTable - counted) / 100;
  const extra = countTextTokens(systemPrompt({ min: 1, max: 10 })) + countTextTokens(userPrompt({ min: 1, max: 10 })) - (countTextTokens(systemPrompt({ min: 1, max: 5 })) + countTextTokens(userPrompt({ min: 1, max: 5 })));
  // The two estimates differ by the prompts' token difference (zero difference → equal estimates).
  if (extra === 0) assert.equal(inTable, counted);
  else assert.ok(Math.sign(perToken) === Math.sign(extra));
  assert.equal(estimateRunCost("no-such-model", 100, { min: 1, max: 10 }), null);
});
