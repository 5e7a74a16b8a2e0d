/** The local route's pure parts: flags → plan (table-style), the training job's flags, paths, dtypes, the estimate. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { localFinetunePlan, misplacedFlags, type LocalFinetuneFlags } from "../../lib/src/cli/commands/finetune-local";
import { torchModelFor } from "../../lib/src/cli/commands/check-export";
import { estimateTraining, formatDuration } from "../../lib/src/finetune/local/estimate";
import { localFineTuneLayout } from "../../lib/src/finetune/local/layout";
import { baseModelForChild, exportDtypeList, forChild, LOCAL_FINETUNE_DEFAULTS, trainArgs } from "../../lib/src/finetune/local/options";
import { localRecordProblem, type LocalFineTuneRecord } from "../../lib/src/finetune/local/record";
import { QWEN2VL_DEFAULTS } from "../../lib/src/models/qwen2vl/options";
import { withoutMachinePaths } from "../../lib/src/core/python";

const flags = (f: Partial<LocalFinetuneFlags> = {}): LocalFinetuneFlags => ({ dataDir: "data", modelsDir: "models", ...f });

test("defaults in one place: the 2B base model from the hub, auto device and backend, fp32 + q8 exports; dtype auto at inference", () => {
  assert.deepEqual(LOCAL_FINETUNE_DEFAULTS, { baseModel: "Qwen/Qwen2-VL-2B-Instruct", device: "auto", backend: "auto", exportDtypes: ["fp32", "q8"], dataDir: "data", modelsDir: "models" });
  assert.equal(QWEN2VL_DEFAULTS.dtype, "auto");
});

test("flags → plan, one line per case", () => {
  const cases: [Partial<LocalFinetuneFlags>, unknown][] = [
    [{}, { dryRun: false, modelsDir: "models", request: { dataDir: "data", baseModel: "Qwen/Qwen2-VL-2B-Instruct", hyperparameters: {}, device: "auto", backend: "auto" } }],
    [{ dryRun: true, epochs: "auto", batchSize: "auto" }, { dryRun: true, modelsDir: "models", request: { dataDir: "data", baseModel: "Qwen/Qwen2-VL-2B-Instruct", hyperparameters: {}, device: "auto", backend: "auto" } }],
    [
      { baseModel: "models/qwen-base", epochs: 2, batchSize: 1, gradAccum: 16, lr: 2e-4, loraRank: 16, device: "cuda", threads: 4, dtype: "q8,fp16" },
      { dryRun: false, modelsDir: "models", request: { dataDir: "data", baseModel: "models/qwen-base", hyperparameters: { epochs: 2, batchSize: 1, gradAccum: 16, learningRate: 2e-4, loraRank: 16 }, device: "cuda", backend: "auto", threads: 4, exportDtypes: ["q8", "fp16"] } },
    ],
    [{ maxSteps: 10, stopAfterStep: 3, dtype: "fp32" }, { dryRun: false, modelsDir: "models", request: { dataDir: "data", baseModel: "Qwen/Qwen2-VL-2B-Instruct", hyperparameters: { maxSteps: 10 }, device: "auto", backend: "auto", exportDtypes: ["fp32"], stopAfterStep: 3 } }],
  ];
  for (const [f, expected] of cases) assert.deepEqual(localFinetunePlan(flags(f)), expected, JSON.stringify(f));
  assert.throws(() => localFinetunePlan(flags({ dtype: "q3" })), /unknown export dtype "q3" \(known: q8, fp16, fp32\)/);
});

test("the training job's flags: only what was asked, the YAML gives the rest", () => {
  assert.deepEqual(trainArgs({ dataDir: "data/qwen_finetuning", baseModel: "Qwen/Qwen2-VL-2B-Instruct", outputDir: "models/fine_tuned_qwen2vl/training" }), [
    "--data-dir", "data/qwen_finetuning", "--base-model", "Qwen/Qwen2-VL-2B-Instruct", "--output-dir", "models/fine_tuned_qwen2vl/training", "--device", "auto", "--backend", "auto",
  ]);
  const a = trainArgs({ dataDir: "d", baseModel: "b", outputDir: "o", hyperparameters: { maxSteps: 5, learningRate: 0.01, gradientCheckpointing: true }, threads: 1, device: "cpu" });
  assert.deepEqual(a.slice(6), ["--max-steps", "5", "--lr", "0.01", "--threads", "1", "--gradient-checkpointing", "--device", "cpu", "--backend", "auto"]);
});

test("paths for the Python jobs: relative inside the repository, absolute outside; hub ids as given", () => {
  const root = path.resolve("/repo");
  assert.equal(forChild("/repo/data/qwen_finetuning", root), path.join("data", "qwen_finetuning"));
  assert.equal(forChild("/elsewhere/data", root), path.resolve("/elsewhere/data"));
  assert.equal(baseModelForChild("Qwen/Qwen2-VL-2B-Instruct", () => false, root), "Qwen/Qwen2-VL-2B-Instruct");
  assert.equal(baseModelForChild("/repo/models/base", () => true, root), path.join("models", "base"));
  const l = localFineTuneLayout("models");
  assert.deepEqual([l.record, l.check, l.export, l.training, l.merged, l.log("train")], [
    "models/fine_tuned_qwen2vl/fine_tune_info.json", "models/fine_tuned_qwen2vl/export_check.json", "models/fine_tuned_qwen2vl/export",
    "models/fine_tuned_qwen2vl/training", "models/fine_tuned_qwen2vl/merged", "models/fine_tuned_qwen2vl/logs/train.log",
  ].map((p) => p.split("/").join(path.sep)));
});

test("export dtypes: fp32 always first, no repeats, unknown ones named", () => {
  assert.deepEqual(exportDtypeList(undefined), ["fp32", "q8"]);
  assert.deepEqual(exportDtypeList(["q8", "fp16", "fp32"]), ["fp32", "q8", "fp16"]);
  assert.deepEqual(exportDtypeList(["fp32"]), ["fp32"]);
  assert.throws(() => exportDtypeList(["int4"]), /unknown export dtype "int4"/);
});

test("the estimate for Qwen2-VL-2B matches the measured basis: ≈ 3.8 TFLOP and 45–60 s per example on 2 CPU cores", () => {
  const e = estimateTraining({ languageParams: 1_543_714_304, visionParams: 665_271_296, width: 1536 * 28, imageTokens: 196, trainExamples: 28, valExamples: 6, totalSteps: 6, stepsPerEpoch: 2, batchSize: 2, evaluations: 1, device: "cpu", cores: 2 });
  assert.ok(e.tflopPerExample > 3.5 && e.tflopPerExample < 4.2, `${e.tflopPerExample} TFLOP`);
  assert.ok(e.secondsPerExample > 45 && e.secondsPerExample < 60, `${e.secondsPerExample} s`);
  assert.equal(e.examplesSeen, 84, "3 epochs of 28");
  assert.ok(e.peakMemoryBytes > 15e9 && e.peakMemoryBytes < 25e9, `${e.peakMemoryBytes}`);
  const gpu = estimateTraining({ languageParams: 1_543_714_304, visionParams: 665_271_296, width: 1536 * 28, imageTokens: 196, trainExamples: 1000, valExamples: 150, totalSteps: 189, stepsPerEpoch: 63, batchSize: 2, evaluations: 2, device: "cuda", cores: 2 });
  assert.ok(gpu.secondsPerExample < 0.2, `${gpu.secondsPerExample} s on one GPU`);
  assert.ok(gpu.peakMemoryBytes < 12e9, "fits a 24 GB card");
  assert.match(e.basis, /4·P_lm·T \+ 2·P_vision·patches/);
  assert.deepEqual([formatDuration(0.004), formatDuration(42), formatDuration(190), formatDuration(4800), formatDuration(200_000)], ["4 ms", "42 s", "3 min 10 s", "1 h 20 min", "2.3 days"]);
});

test("a record never claims an export it has not checked", () => {
  const r = { status: "succeeded", fine_tuned_model: null, check: null } as unknown as LocalFineTuneRecord;
  assert.match(localRecordProblem(r)!, /succeeded without a checked export/);
  assert.match(localRecordProblem({ ...r, status: "exporting", fine_tuned_model: "x" })!, /fine_tuned_model set while status is exporting/);
  assert.equal(localRecordProblem({ ...r, fine_tuned_model: "x", check: { passed: true } as LocalFineTuneRecord["check"] }), null);
});

test("check-export needs the PyTorch model unless streetsafe exported the folder", () => {
  assert.equal(torchModelFor("/nowhere", "Qwen/Qwen2-VL-2B-Instruct"), "Qwen/Qwen2-VL-2B-Instruct");
  assert.throws(() => torchModelFor("/nowhere", undefined), /--torch-model is needed/);
});

test("what a Python job says names no machine path", () => {
  assert.equal(withoutMachinePaths("File /repo/python/qwen2vl/x.py, /repo and /home/ana/.cache/y", "/repo", "/home/ana"), "File python/qwen2vl/x.py, . and ~/.cache/y");
});

test("a flag the chosen route does not read is refused, by name", () => {
  const cases: [Record<string, unknown>, boolean, string[]][] = [
    [{ lr: 1e-4, threads: 2, suffix: "streetsafe", wait: true, lrMultiplier: "auto" }, true, []],
    [{ lrMultiplier: 2, withImages: true, wait: false, suffix: "x" }, true, ["--lr-multiplier", "--with-images", "--no-wait", "--suffix"]],
    [{ lrMultiplier: 2, suffix: "x" }, false, []],
    [{ lr: 1e-4, loraRank: 4, dtype: "q8" }, false, ["--lr", "--lora-rank", "--dtype"]],
  ];
  for (const [flags, local, expected] of cases) assert.deepEqual(misplacedFlags(flags, local), expected, JSON.stringify(flags));
});
