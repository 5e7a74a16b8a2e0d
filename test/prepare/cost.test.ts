import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { defaultEpochs, estimateTrainingCost, formatTrainingCost, totalTrainingCost, TRAINING_COST_NOTES } from "../../lib/src/prepare/cost";
import { BATCH_DISCOUNT, estimateInferenceCost, FINE_TUNE_PRICES, fineTunePrices, inferencePrices, PRICE_NOTE, PRICES_AS_OF } from "../../lib/src/openai/prices";
import { writeOpenAIJsonl } from "../../lib/src/prepare/openai-jsonl";
import { checkFineTuneFile, type FormatCheckResult } from "../../lib/src/prepare/format-check";
import { DEFAULT_SCALE } from "../../lib/src/core/scale";
import type { GroundTruthItem } from "../../lib/src/core/types";

/** A check result with hand-chosen numbers (every example the same size). */
function check(file: string, examples: number, textPerExample: number, imagesPerExample = 0, imageTokensEach = 85): FormatCheckResult {
  const per = textPerExample + imagesPerExample * imageTokensEach;
  return {
    file,
    examples,
    problems: {},
    firstExample: {},
    tokens: {
      total: examples * per,
      billable: examples * per,
      perExample: { min: per, max: per, mean: per, p50: per, p95: per },
      imageTokens: examples * imagesPerExample * imageTokensEach,
    },
    images: { total: examples * imagesPerExample, maxPerExample: imagesPerExample },
    ok: true,
    limits: { minExamples: 10, maxTokensPerExample: 65_536, maxImagesPerExample: 10, maxImageBytes: 10 * 1024 * 1024 },
  };
}

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);

test("auto epochs follow the cookbook: 3, within [100, 25000] examples × epochs, 1–25", () => {
  assert.equal(defaultEpochs(10), 10); // 30 < 100 → floor(100/10)
  assert.equal(defaultEpochs(20), 5);
  assert.equal(defaultEpochs(33), 3); // 99 < 100 → floor(100/33) = 3
  assert.equal(defaultEpochs(34), 3);
  assert.equal(defaultEpochs(1), 25); // capped at 25
  assert.equal(defaultEpochs(3), 25);
  assert.equal(defaultEpochs(5000), 3);
  assert.equal(defaultEpochs(8334), 2); // 25002 > 25000 → floor(25000/8334)
  assert.equal(defaultEpochs(30000), 1);
  assert.equal(defaultEpochs(0), 3);
});

test("training cost: hand-computed rows for gpt-4o-mini and gpt-4o", () => {
  // 10 examples × 21 tokens = 210; auto → 10 epochs; 2100 tokens × $3/1M = $0.0063
  const [mini] = estimateTrainingCost(check("train_text_only.jsonl", 10, 21), { baseModel: "gpt-4o-mini-2024-07-18" });
  assert.equal(mini.baseModel, "gpt-4o-mini-2024-07-18");
  assert.equal(mini.tokens, 210);
  assert.equal(mini.epochs, 10);
  assert.equal(mini.epochsRule, "auto");
  assert.equal(mini.billedTokens, 2100);
  assert.equal(mini.pricePer1M, 3);
  close(mini.usd, 0.0063);
  assert.deepEqual(mini.warnings, []);

  // given 3 epochs: 630 tokens → $0.00189
  const [three] = estimateTrainingCost(check("a.jsonl", 10, 21), { baseModel: "gpt-4o-mini", epochs: 3 });
  assert.equal(three.billedTokens, 630);
  assert.equal(three.epochsRule, "given");
  close(three.usd, 0.00189);

  // 100 examples × (21 text + 85 image) = 10,600; 3 epochs; 31,800 × $25/1M = $0.795
  const [vision] = estimateTrainingCost(check("train_with_images.jsonl", 100, 21, 1), { baseModel: "gpt-4o-2024-08-06" });
  assert.equal(vision.textTokens, 2100);
  assert.equal(vision.imageTokens, 8500);
  assert.equal(vision.tokens, 10_600);
  assert.equal(vision.epochs, 3);
  assert.equal(vision.billedTokens, 31_800);
  close(vision.usd, 0.795);
});

test("a row per file with a base model per file; totals add up", () => {
  const rows = estimateTrainingCost([check("train_text_only.jsonl", 100, 200), check("train_with_images.jsonl", 100, 200, 1)], {
    baseModelFor: (f) => (f.includes("with_images") ? "gpt-4o-2024-08-06" : "gpt-4o-mini-2024-07-18"),
  });
  assert.deepEqual(rows.map((r) => r.baseModel), ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"]);
  close(rows[0].usd, (100 * 200 * 3 * 3) / 1e6); // 60,000 tokens × $3
  close(rows[1].usd, (100 * 285 * 3 * 25) / 1e6); // 85,500 tokens × $25
  const total = totalTrainingCost(rows);
  assert.equal(total.billedTokens, 60_000 + 85_500);
  close(total.usd, 0.18 + 2.1375);
  const table = formatTrainingCost(rows);
  assert.match(table, /train_with_images\.jsonl\s+gpt-4o-2024-08-06\s+100\s+28500\s+8500\s+3\s+85500\s+25\.00\s+2\.14/);
  assert.ok(table.includes("check https://openai.com/api/pricing"));
});

test("warnings: images on a base model without vision fine-tuning, format problems, unverified prices", () => {
  const bad = { ...check("x.jsonl", 20, 50, 1), ok: false, problems: { file_name_in_prompt: 2 } };
  const [row] = estimateTrainingCost(bad, { baseModel: "gpt-4o-mini" });
  assert.ok(row.warnings.some((w) => /does not document image inputs/.test(w)));
  assert.ok(row.warnings.some((w) => /file_name_in_prompt ×2/.test(w)));
  const [nano] = estimateTrainingCost(check("y.jsonl", 20, 50), { baseModel: "gpt-4.1-nano" });
  assert.ok(nano.warnings.some((w) => /not confirmed/.test(w)));
  close(nano.usd, (20 * 50 * 5 * 1.5) / 1e6);
});

test("unknown base models and bad epochs are clear errors", () => {
  assert.throws(
    () => estimateTrainingCost(check("x.jsonl", 10, 10), { baseModel: "gpt-5-turbo" }),
    (e: Error) => /no fine-tuning price for base model "gpt-5-turbo"/.test(e.message) && e.message.includes("gpt-4o-mini-2024-07-18") && e.message.includes("gpt-4.1-nano-2025-04-14"),
  );
  assert.throws(() => estimateTrainingCost(check("x.jsonl", 10, 10), { baseModel: "gpt-4o-mini", epochs: 0 }), /epochs/);
  assert.throws(() => estimateTrainingCost(check("x.jsonl", 10, 10), {}), /baseModel/);
});

test("the price table is dated, sourced and says where to check", () => {
  assert.match(PRICES_AS_OF, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(PRICE_NOTE, /check https:\/\/openai\.com\/api\/pricing before budgeting/);
  assert.ok(TRAINING_COST_NOTES.includes(PRICE_NOTE));
  assert.equal(fineTunePrices("gpt-4o-mini-2024-07-18").training, 3);
  assert.equal(fineTunePrices("gpt-4o-2024-08-06").training, 25);
  assert.equal(fineTunePrices("gpt-4.1-2025-04-14").training, 25);
  assert.equal(fineTunePrices("gpt-4.1-mini").training, 5);
  assert.equal(fineTunePrices("gpt-4.1-nano").training, 1.5);
  assert.equal(BATCH_DISCOUNT, 0.5);
  for (const p of Object.values(FINE_TUNE_PRICES)) assert.ok(p.fineTuned.input > 0 && p.fineTuned.output > p.fineTuned.input);
});

test("inference cost for base, ft: and Batch requests", () => {
  const ft = "ft:gpt-4o-mini-2024-07-18:my-org:streetsafe:AbC123";
  assert.deepEqual(inferencePrices(ft), { input: 0.3, cachedInput: 0.15, output: 1.2 });
  close(estimateInferenceCost({ model: ft, inputTokens: 1e6, outputTokens: 1e6 }).usd, 1.5);
  close(estimateInferenceCost({ model: ft, inputTokens: 1e6, outputTokens: 1e6, batch: true }).usd, 0.75);
  close(estimateInferenceCost({ model: "gpt-4o-mini", inputTokens: 1e6, outputTokens: 1e6 }).usd, 0.75);
  // half the input cached: 0.5 × 0.15 + 0.5 × 0.075 + 0.60
  close(estimateInferenceCost({ model: "gpt-4o-mini", inputTokens: 1e6, cachedInputTokens: 5e5, outputTokens: 1e6 }).usd, 0.7125);
  close(estimateInferenceCost({ model: "gpt-4.1", inputTokens: 2e6, outputTokens: 5e5, batch: true }).usd, 2 * 1 + 0.5 * 4);
  assert.throws(() => inferencePrices("claude-x"), /no inference price for model "claude-x".*gpt-4o-mini/);
  assert.throws(() => inferencePrices("ft:gpt-3.5-turbo:org::x"), /no inference price/);
});

test("end to end: a written with-images file, checked and priced", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "streetsafe-cost-"));
  const file = path.join(dir, "train_with_images.jsonl");
  const jpeg = await sharp({ create: { width: 1024, height: 768, channels: 3, background: "#808080" } }).jpeg().toBuffer();
  const image = { jpeg, sha256: createHash("sha256").update(jpeg).digest("hex"), width: 1024, height: 768 };
  const items: GroundTruthItem[] = Array.from({ length: 12 }, (_, i) => ({ image: `p${i}.jpg`, score: 1 + (i % 10), reasons: [], source: { file: "gt.csv" } }));
  await writeOpenAIJsonl(file, items, async () => image, { withImages: true, detail: "high", scale: DEFAULT_SCALE });
  const c = await checkFineTuneFile(file);
  assert.equal(c.ok, true, JSON.stringify(c.problems));
  assert.equal(c.tokens.imageTokens, 12 * 765); // 1024×768 → short side 768 already: 2×2 tiles
  const [row] = estimateTrainingCost(c, { baseModel: "gpt-4o-2024-08-06" });
  assert.equal(row.epochs, 8); // 36 < 100 → floor(100/12)
  assert.equal(row.billedTokens, c.tokens.total * 8);
  close(row.usd, (c.tokens.total * 8 * 25) / 1e6);
});
