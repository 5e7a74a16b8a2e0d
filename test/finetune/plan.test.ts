/**
 * Step 2's pure parts, table-style: the capability table and the text/images choice, CLI flags → plan,
 * refusal alternatives, the record (old fields, the succeeded-without-model rule, archiving), training
 * metrics (events, checkpoints, result files), and the documented defaults.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { FineTuningJob } from "openai/resources/fine-tuning/jobs/jobs";
import { InputError } from "../../lib/src/core/errors";
import { backoffDelay } from "../../lib/src/openai/errors";
import { capabilityRows, chooseTrainingData, FINE_TUNE_WIND_DOWN, imageFineTuningSupport } from "../../lib/src/finetune/openai/capabilities";
import { checkFineTuneRun, costComparison, costComparisonFigure, formatFineTuneCheck } from "../../lib/src/finetune/openai/dry-run";
import { decodeResultFile, formatFineTuneProgress, lossCurveFigure, metricsFromCheckpoint, metricsFromEvent, parseTrainingMetricsCsv, progressFromPoints } from "../../lib/src/finetune/openai/training-metrics";
import { FINE_TUNE_DEFAULTS, refusalAlternatives } from "../../lib/src/finetune/openai/tuner";
import { FineTuneRecordKeeper, fineTunedModelFromRecord, fineTuneRecordPath, normalizeFineTuneRecord, readFineTuneRecord, recordFromJob, writeFineTuneRecord, type FineTuneRecord } from "../../lib/src/finetune/openai/record";
import { MONITOR_DEFAULTS } from "../../lib/src/finetune/openai/monitor";
import { finetunePlan, intOrAutoFlag, positiveOrAutoFlag, secondsFlag, type FinetuneFlags } from "../../lib/src/cli/commands/finetune";
import { writeFineTuneData } from "../helpers/finetune-routes";
import { tempDir } from "../helpers/tmp";

// ---------------------------------------------------------------------------------------------------
// Capabilities and the choice of training data

test("capability table: image fine-tuning per base model and provider", () => {
  const cases: [string, "openai" | "azure", boolean, boolean][] = [
    // model, provider → images, known
    ["gpt-4o-mini-2024-07-18", "openai", false, true],
    ["gpt-4o-mini-2024-07-18", "azure", false, true],
    ["gpt-4o-mini", "openai", false, true],
    ["gpt-4o-2024-08-06", "openai", true, true],
    ["gpt-4o", "azure", true, true],
    ["gpt-4.1-2025-04-14", "openai", false, true],
    ["gpt-4.1-2025-04-14", "azure", true, true],
    ["gpt-4.1-mini-2025-04-14", "azure", false, true],
    ["my-own-model", "openai", false, false],
  ];
  for (const [model, provider, images, known] of cases) {
    const s = imageFineTuningSupport(model, provider);
    assert.equal(s.images, images, `${model} on ${provider}`);
    assert.equal(s.known, known, `${model} known`);
  }
  assert.equal(imageFineTuningSupport("gpt-4o").baseModel, "gpt-4o-2024-08-06");
  assert.ok(capabilityRows().every((r) => typeof r["images_on_openai"] === "boolean" && r["as_of"]));
});

test("text-only vs images: what each request gets, said plainly; --with-images refused unless forced", () => {
  const cases: { req: Parameters<typeof chooseTrainingData>[0]; withImages?: boolean; notice?: RegExp; warning?: RegExp; throws?: RegExp }[] = [
    { req: { baseModel: "gpt-4o-mini-2024-07-18" }, withImages: false, notice: /TEXT-ONLY: the model will not see the images during training.*choose the base model gpt-4o-2024-08-06/s },
    { req: { baseModel: "gpt-4o-2024-08-06" }, withImages: true, notice: /supports image fine-tuning/ },
    { req: { baseModel: "gpt-4o-2024-08-06", withImages: false }, withImages: false, notice: /will not see them during training/ },
    { req: { baseModel: "gpt-4o-mini-2024-07-18", withImages: true }, throws: /image fine-tuning refused[\s\S]*--with-images[\s\S]*gpt-4o-2024-08-06[\s\S]*--force/ },
    { req: { baseModel: "gpt-4o-mini-2024-07-18", withImages: true, force: true }, withImages: true, warning: /expect openai to reject/ },
    { req: { baseModel: "gpt-4.1-2025-04-14", provider: "azure" }, withImages: true },
    { req: { baseModel: "gpt-4.1-2025-04-14", provider: "openai" }, withImages: false, notice: /TEXT-ONLY/ },
    { req: { baseModel: "gpt-4.1-2025-04-14", provider: "openai", withImages: true }, throws: /openai does not document image fine-tuning for gpt-4\.1-2025-04-14/ },
    { req: { baseModel: "unknown-model", withImages: true }, throws: /not in the capability table/ },
  ];
  for (const c of cases) {
    const label = JSON.stringify(c.req);
    if (c.throws) {
      assert.throws(() => chooseTrainingData(c.req), (e: Error) => e instanceof InputError && c.throws!.test(e.message), label);
      continue;
    }
    const choice = chooseTrainingData(c.req);
    assert.equal(choice.withImages, c.withImages, label);
    if (c.notice) assert.match(choice.notice, c.notice, label);
    if (c.warning) assert.match(choice.warning ?? "", c.warning, label);
    else assert.equal(choice.warning, undefined, label);
  }
});

// ---------------------------------------------------------------------------------------------------
// CLI flags → plan

const FLAGS: FinetuneFlags = {
  baseModel: "gpt-4o-mini-2024-07-18",
  epochs: "auto",
  batchSize: "auto",
  lrMultiplier: "auto",
  suffix: "streetsafe",
  wait: true,
  pollInterval: 30,
  dataDir: "data",
  modelsDir: "models",
};

test("finetune flags → plan (table)", () => {
  const cases: [Partial<FinetuneFlags>, Partial<ReturnType<typeof finetunePlan>> | RegExp][] = [
    [{}, { dryRun: false, wait: true, provider: "openai", baseModel: "gpt-4o-mini-2024-07-18", force: false, seed: 42, pollIntervalMs: 30_000, hyperparameters: { n_epochs: "auto", batch_size: "auto", learning_rate_multiplier: "auto" } }],
    [{ baseModel: "gpt-4o" }, { baseModel: "gpt-4o-2024-08-06" }],
    [{ epochs: 4, batchSize: 8, lrMultiplier: 0.5 }, { hyperparameters: { n_epochs: 4, batch_size: 8, learning_rate_multiplier: 0.5 } }],
    [{ withImages: true }, { withImages: true }],
    [{ textOnly: true }, { withImages: false }],
    [{ withImages: true, textOnly: true }, /contradict/],
    [{ suffix: "x".repeat(65) }, /at most 64/],
    [{ suffix: "has space" }, /letters, digits/],
    [{ dryRun: true, wait: false, provider: "azure", seed: 7, pollInterval: 0.5 }, { dryRun: true, wait: false, provider: "azure", seed: 7, pollIntervalMs: 500 }],
  ];
  for (const [flags, want] of cases) {
    const f = { ...FLAGS, ...flags };
    if (want instanceof RegExp) {
      assert.throws(() => finetunePlan(f), want, JSON.stringify(flags));
      continue;
    }
    const plan = finetunePlan(f);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(plan[k as keyof typeof plan], v, `${JSON.stringify(flags)} → ${k}`);
    if (!("withImages" in want)) assert.equal(plan.withImages, undefined);
  }
});

test("flag parsers: N|auto, X|auto, seconds", () => {
  const epochs = intOrAutoFlag("--epochs", 1, 50);
  assert.equal(epochs("auto"), "auto");
  assert.equal(epochs("3"), 3);
  for (const bad of ["0", "51", "2.5", "x", ""]) assert.throws(() => epochs(bad), /--epochs/);
  const lr = positiveOrAutoFlag("--lr-multiplier");
  assert.equal(lr("auto"), "auto");
  assert.equal(lr("0.3"), 0.3);
  for (const bad of ["0", "-1", "abc", ""]) assert.throws(() => lr(bad), /--lr-multiplier/);
  const secs = secondsFlag("--poll-interval");
  assert.equal(secs("0.05"), 0.05);
  for (const bad of ["0", "0.001", "-3", "soon"]) assert.throws(() => secs(bad), /--poll-interval/);
});

test("refusal alternatives: shown for access refusals, not for a bad request", () => {
  const access = refusalAlternatives(403, "This organization may no longer create fine-tuning jobs.", "openai", "mydata").join("\n");
  assert.match(access, new RegExp(FINE_TUNE_WIND_DOWN));
  assert.match(access, /--provider azure/);
  assert.match(access, /AZURE_OPENAI_ENDPOINT/);
  assert.match(access, /mydata\/qwen_finetuning\/README\.md/);
  assert.match(refusalAlternatives(400, "Fine-tuning is not available for your organization", "openai").join("\n"), /Azure/);
  assert.match(refusalAlternatives(404, "The model gpt-x does not exist", "openai").join("\n"), /Qwen2-VL/);
  assert.deepEqual(refusalAlternatives(400, "Invalid value for n_epochs", "openai"), []);
  assert.doesNotMatch(refusalAlternatives(403, "denied", "azure").join("\n"), /--provider azure/);
});

// ---------------------------------------------------------------------------------------------------
// The record

function job(over: Partial<FineTuningJob> = {}): FineTuningJob {
  return {
    id: "ftjob-abc",
    object: "fine_tuning.job",
    created_at: 1_750_000_000,
    error: null,
    fine_tuned_model: null,
    finished_at: null,
    hyperparameters: { n_epochs: 3, batch_size: 1, learning_rate_multiplier: 1.8 },
    model: "gpt-4o-mini-2024-07-18",
    organization_id: "org",
    result_files: [],
    seed: 42,
    status: "running",
    trained_tokens: null,
    training_file: "file-1",
    validation_file: "file-2",
    ...over,
  };
}

test("record: a job reported succeeded without its model is never written as succeeded", async () => {
  const dir = tempDir();
  const file = path.join(dir, "fine_tune_info.json");
  const running = recordFromJob(job(), null, { with_images: false, provider: "openai" });
  assert.equal(running.status, "running");
  const limbo = recordFromJob(job({ status: "succeeded", fine_tuned_model: null }), running);
  assert.equal(limbo.status, "running");
  assert.equal(limbo.fine_tuned_model, null);
  await assert.rejects(writeFineTuneRecord(file, { ...limbo, status: "succeeded" }), /succeeded without fine_tuned_model/);
  assert.equal(existsSync(file), false, "nothing written");
  const done = recordFromJob(job({ status: "succeeded", fine_tuned_model: "ft:gpt-4o-mini-2024-07-18:org:streetsafe:xyz", finished_at: 1_750_000_900, trained_tokens: 999 }), running);
  await writeFineTuneRecord(file, done);
  const back = await readFineTuneRecord(file);
  assert.equal(back!.status, "succeeded");
  assert.equal(back!.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:org:streetsafe:xyz");
  assert.equal(back!.with_images, false, "what the job does not say is kept from the earlier record");
  assert.equal(back!.finished_at, "2025-06-15T15:21:40.000Z");
  assert.equal(fineTunedModelFromRecord(back!), "ft:gpt-4o-mini-2024-07-18:org:streetsafe:xyz");
});

test("record: the older model_name field and Unix timestamps are read", async () => {
  const dir = tempDir();
  const file = path.join(dir, "fine_tune_info.json");
  writeFileSync(file, JSON.stringify({ job_id: "ftjob-old", model_name: "ft:gpt-4o-mini-2024-07-18:org::old1", created_at: 1_700_000_000, base_model: "gpt-4o-mini" }));
  const r = await readFineTuneRecord(file);
  assert.equal(r!.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:org::old1");
  assert.equal(r!.status, "succeeded");
  assert.equal(r!.created_at, "2023-11-14T22:13:20.000Z");
  // The original workflow wrote model_name: null with a "succeeded"-looking status: read as unknown, never as done.
  const bad = normalizeFineTuneRecord({ job_id: "ftjob-x", model_name: null, status: "succeeded" });
  assert.equal(bad.status, "unknown");
  assert.throws(() => fineTunedModelFromRecord(bad), /has no model yet.*finetune watch ftjob-x/);
  assert.throws(() => fineTunedModelFromRecord({ ...bad, status: "failed", error: { code: "x", message: "bad file", param: null } }), /failed: bad file/);
  assert.equal(await readFineTuneRecord(path.join(dir, "none.json")), null);
  writeFileSync(file, "{not json");
  await assert.rejects(readFineTuneRecord(file), /not a fine-tuning record/);
});

test("record keeper: writes only on change, and keeps an earlier job's record beside the new one", async () => {
  const models = tempDir();
  const file = fineTuneRecordPath(models);
  const writes: FineTuneRecord[] = [];
  const keeper = await FineTuneRecordKeeper.open(file, (r) => writes.push(r));
  const first = recordFromJob(job({ id: "ftjob-1", status: "succeeded", fine_tuned_model: "ft:a:b:c:1" }), null);
  assert.equal(await keeper.update(first), true);
  assert.equal(await keeper.update({ ...first, updated_at: "later" }), false, "same state: no write");
  const second = recordFromJob(job({ id: "ftjob-2", status: "queued" }), keeper.record);
  assert.equal(second.status, "queued");
  await keeper.update(second);
  assert.equal(writes.length, 2);
  const archived = JSON.parse(readFileSync(path.join(path.dirname(file), "fine_tune_info.ftjob-1.json"), "utf8"));
  assert.equal(archived.fine_tuned_model, "ft:a:b:c:1");
  assert.equal((await readFineTuneRecord(file))!.job_id, "ftjob-2");
});

// ---------------------------------------------------------------------------------------------------
// Training metrics

test("training metrics from events, checkpoints and result files (plain and base64)", () => {
  const m = metricsFromEvent({ type: "metrics", message: "Step 5/20: training loss=0.5", data: { step: 5, total_steps: 20, train_loss: 0.5, valid_loss: 0.6, train_mean_token_accuracy: 0.8 } });
  assert.deepEqual(m, { point: { step: 5, train_loss: 0.5, valid_loss: 0.6, full_valid_loss: null, train_accuracy: 0.8, valid_accuracy: null }, totalSteps: 20 });
  assert.equal(metricsFromEvent({ type: "message", message: "Fine-tuning job started", data: {} }), null);
  assert.equal(metricsFromEvent({ type: "metrics", message: "Step 7/9: training loss=0.4", data: null })!.totalSteps, 9, "step from the message when data lacks it");
  const c = metricsFromCheckpoint({ step_number: 20, metrics: { step: 20, train_loss: 0.3, full_valid_loss: 0.35 } });
  assert.equal(c.full_valid_loss, 0.35);
  const p = progressFromPoints([m!.point, c], 20);
  assert.equal(formatFineTuneProgress(p), "step 20/20 (100%) · train loss 0.300 · valid loss 0.600 · full valid loss 0.350");
  assert.equal(formatFineTuneProgress(null), "no training steps yet");

  const csv = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,1.5,0.5,,\n2,1.2,0.6,1.3,0.55\n";
  assert.equal(decodeResultFile(csv), csv);
  assert.equal(decodeResultFile(Buffer.from(csv).toString("base64")), csv);
  assert.throws(() => decodeResultFile("<html>oops</html>"), /not a metrics CSV/);
  const points = parseTrainingMetricsCsv(csv);
  assert.deepEqual(points.map((x) => [x.step, x.train_loss, x.valid_loss, x.valid_accuracy]), [[1, 1.5, null, null], [2, 1.2, 1.3, 0.55]]);
  const fig = lossCurveFigure(points);
  assert.deepEqual(fig.data.map((t) => (t["x"] as number[]).length), [2, 1], "train and validation traces; no empty trace");
});

// ---------------------------------------------------------------------------------------------------
// Dry run (no key, no network) and defaults

test("dry run: files, examples, tokens, epochs and cost; format problems listed, missing data named", async () => {
  const data = tempDir();
  await assert.rejects(checkFineTuneRun({ dataDir: data, baseModel: "gpt-4o-mini" }), (e: Error) => e instanceof InputError && /npx streetsafe prepare/.test(e.message));
  await writeFineTuneData(data, { train: 12, val: 3 });
  const text = await checkFineTuneRun({ dataDir: data, baseModel: "gpt-4o-mini" });
  assert.equal(text.choice.withImages, false);
  assert.match(text.files.train, /train_text_only\.jsonl$/);
  assert.equal(text.checks.train.examples, 12);
  assert.equal(text.epochs, 8, "auto: 100 / 12 examples → 8 epochs");
  assert.ok(text.cost!.usd > 0);
  assert.deepEqual(text.problems, []);
  assert.match(text.warnings.join("\n"), /only 3 validation examples/);
  assert.doesNotMatch(text.example, /base64,[A-Za-z0-9+/]{20}/);
  const out = formatFineTuneCheck(text);
  for (const want of [/12 examples/, /tokens/, /epochs: 8/, /USD/, /TEXT-ONLY/]) assert.match(out, want);

  const vision = await checkFineTuneRun({ dataDir: data, baseModel: "gpt-4o-2024-08-06", epochs: 2 });
  assert.match(vision.files.train, /train_with_images\.jsonl$/);
  assert.equal(vision.checks.train.images.total, 12);
  assert.equal(vision.epochs, 2);
  assert.match(vision.example, /base64,…\(\d+ KB\)/, "image data shortened in the example");

  const unknown = await checkFineTuneRun({ dataDir: data, baseModel: "my-own-model" });
  assert.equal(unknown.cost, null);
  assert.match(unknown.costProblem!, /no fine-tuning price/);

  writeFileSync(path.join(data, "openai_finetuning", "train_text_only.jsonl"), '{"messages": []}\nnot json\n');
  const broken = await checkFineTuneRun({ dataDir: data, baseModel: "gpt-4o-mini" });
  assert.ok(broken.problems.some((p) => /invalid_json/.test(p.message)));
  assert.ok(broken.problems.some((p) => /too_few_examples/.test(p.message)));

  const rows = await costComparison(data);
  assert.ok(rows.some((r) => r.base_model === "gpt-4o-2024-08-06" && r.data === "with images"));
  assert.equal(costComparisonFigure(rows).data.length, 2);
});

test("defaults are the documented ones", () => {
  assert.deepEqual(
    { ...FINE_TUNE_DEFAULTS, hyperparameters: { ...FINE_TUNE_DEFAULTS.hyperparameters } },
    {
      provider: "openai",
      baseModel: "gpt-4o-mini-2024-07-18",
      suffix: "streetsafe",
      seed: 42,
      hyperparameters: { n_epochs: "auto", batch_size: "auto", learning_rate_multiplier: "auto" },
      dataDir: "data",
      modelsDir: "models",
      timeoutMs: 60_000,
      uploadTimeoutMs: 900_000,
      maxRetries: 2,
      maxRetryAfterMs: 60_000,
      filePollIntervalMs: 2_000,
      fileProcessingMaxWaitMs: 1_800_000,
      createAttempts: 3,
    },
  );
  assert.equal(MONITOR_DEFAULTS.pollIntervalMs, 30_000);
  assert.equal(MONITOR_DEFAULTS.giveUpAfterMs, 30 * 60_000);
  assert.equal(MONITOR_DEFAULTS.maxBackoffMs, 5 * 60_000);
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 1000, 5000)), [2000, 4000, 5000, 5000, 5000]);
});
