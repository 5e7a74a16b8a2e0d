/**
 * The local Qwen2-VL route the whole way, as a user runs it (the compiled CLI), on a tiny random-weight Qwen2-VL
 * built here from a config with a locally trained tokenizer (python/qwen2vl/make_tiny_model.py: nothing is
 * downloaded), on CPU, in the project's venv (installed once per machine, ~2 min):
 *
 *   dry run → train (Ctrl-C midway: a checkpoint, exit 130) → `finetune watch` (resumes from the checkpoint, then
 *   merge → ONNX export fp32 + q8 → parity check) → `compare` with the export beside the baselines,
 *
 * plus a failed export that leaves the previous export untouched. Checks: the loss goes down, the record holds
 * every fact the issue lists, fp32 parity within tolerance with equal replies, q8 measured.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { ensurePythonPart, runPythonJob, type ProjectPython } from "../../lib/src/core/python";
import { localFineTuneLayout } from "../../lib/src/finetune/local/layout";
import type { LocalFineTuneRecord } from "../../lib/src/finetune/local/record";
import type { CheckExportResult } from "../../lib/src/models/qwen2vl/check";
import { generateDemoData } from "../../lib/src/prepare/demo";
import { prepare } from "../../lib/src/prepare/run";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const bin = path.join(root, "lib", "bin", "streetsafe.js");
const work = tempDir("streetsafe-local-ft-");
const dataDir = path.join(work, "data");
const modelsDir = path.join(work, "models");
const base = path.join(work, "tiny-qwen2vl");
const layout = localFineTuneLayout(modelsDir);
const STEPS = 100;
let py: ProjectPython;
const seconds: Record<string, number> = {};

/** Tiny-model settings: a random 2-layer model needs a large rate to learn the reply format in 100 steps. */
const TRAIN_FLAGS = [
  "--provider", "local", "--base-model", base, "--data-dir", dataDir, "--models-dir", modelsDir,
  "--max-steps", String(STEPS), "--batch-size", "2", "--grad-accum", "2", "--lr", "1e-2",
  "--image-max-pixels", String(112 * 112), "--eval-steps", "25", "--save-steps", "50", "--threads", "1",
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], onStderr?: (text: string, interrupt: () => void) => void): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, OMP_NUM_THREADS: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, () => child.kill("SIGINT"));
    });
    child.on("error", reject);
    child.on("close", (code) => {
      seconds[args[0] === "finetune" ? `${args[0]} ${args[1]}` : args[0]!] = (Date.now() - t0) / 1000;
      resolve({ code, stdout, stderr });
    });
  });
}

const record = (): LocalFineTuneRecord => JSON.parse(readFileSync(layout.record, "utf8"));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

before(async () => {
  py = ensurePythonPart(root, "train", { log: (l) => console.log(`# ${l}`) });
  const demo = await generateDemoData({ outDir: path.join(work, "demo"), count: 40, seed: 42 });
  await prepare({ groundTruth: demo.groundTruthPath, images: demo.imagesDir, dataDir });
  const t0 = Date.now();
  const made = await runPythonJob(py, path.join("python", "qwen2vl", "make_tiny_model.py"), [
    "--out", base, "--max-pixels", String(112 * 112), "--corpus", path.join(dataDir, "qwen_finetuning", "streetsafe_train.json"),
  ], { env: { OMP_NUM_THREADS: "1" } });
  seconds.make_tiny_model = (Date.now() - t0) / 1000;
  assert.equal(made.code, 0, made.error ?? "");
});

test("the dry run shows the plan, the data check and an estimate, and trains nothing", async () => {
  const r = await cli(["finetune", ...TRAIN_FLAGS, "--dry-run"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /base model: .*tiny-qwen2vl \(195,712 parameters: the folder's config\.json\)/);
  assert.match(r.stdout, /data: .* — 28 train, 6 validation examples; sha256 [0-9a-f]{16}…/);
  assert.match(r.stdout, /steps: 100 \(7 per epoch; batch 2 × accumulation 2, max 100 steps\)/);
  assert.match(r.stdout, /data check: no problems/);
  assert.match(r.stdout, /estimate: .* per example, 400 examples → training ≈ .*; peak memory ≈/);
  assert.match(r.stdout, /basis: .*4·P_lm·T/);
  assert.ok(!existsSync(layout.record), "no record for a dry run");
});

test("train: Ctrl-C midway writes a checkpoint and exits 130; the record says interrupted", async () => {
  let sent = false;
  const r = await cli(["finetune", ...TRAIN_FLAGS], (text, interrupt) => {
    if (!sent && /training: (3\d|4\d)\/100/.test(text)) {
      sent = true;
      interrupt();
    }
  });
  assert.ok(sent, `the progress line reached 30 %: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stderr, /stopping: the training job writes a checkpoint/);
  const rec = record();
  assert.equal(rec.status, "interrupted");
  assert.equal(rec.stage, "train");
  assert.ok(rec.steps.done >= 30 && rec.steps.done < STEPS, `stopped at ${rec.steps.done}`);
  assert.equal(rec.checkpoint, path.join(layout.training, `checkpoint-${rec.steps.done}`));
  assert.ok(existsSync(path.join(layout.training, `checkpoint-${rec.steps.done}`, "adapter_model.safetensors")));
  assert.match(r.stdout, /continue with: npx streetsafe finetune watch --provider local --models-dir /);
  // A new run would remove those checkpoints: refused, naming both ways on.
  const again = await cli(["finetune", ...TRAIN_FLAGS]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /stopped at step \d+\/100 with a checkpoint .*: continue it with npx streetsafe finetune watch --provider local .*, or start over with --restart/);
  assert.equal(record().job_id, rec.job_id, "the record is untouched");
});

test("watch resumes from the checkpoint and goes on: merge, export (fp32 + q8), parity check; the record holds it all", async () => {
  const stoppedAt = record().steps.done;
  const r = await cli(["finetune", "watch", "--provider", "local", "--models-dir", modelsDir, "--data-dir", dataDir, "--threads", "1"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`resuming training from .*checkpoint-${stoppedAt}`));
  assert.match(r.stdout, /fp32 +PASS +max \|Δlogit\|/);
  assert.match(r.stdout, /: succeeded/);
  assert.match(r.stdout, /train loss, step 1 … 100/, "the loss curve");
  const rec = record();
  assert.equal(rec.status, "succeeded");
  assert.equal(rec.fine_tuned_model, layout.export);
  // Every step once, in order, across the interruption; the loss went down (train and validation).
  assert.deepEqual(rec.losses.map((p) => p.step), Array.from({ length: STEPS }, (_, i) => i + 1));
  const train = rec.losses.map((p) => p.train_loss!);
  assert.ok(mean(train.slice(-5)) < mean(train.slice(0, 5)) - 1, `train loss ${mean(train.slice(0, 5))} → ${mean(train.slice(-5))}`);
  const valid = rec.losses.filter((p) => p.valid_loss !== null).map((p) => p.valid_loss!);
  assert.ok(valid.length >= 4 && valid.at(-1)! < valid[0]!, `validation loss ${valid}`);
  // The facts the issue lists.
  assert.equal(rec.base_model, base);
  assert.match(rec.data.sha256, /^[0-9a-f]{64}$/);
  assert.equal(rec.hyperparameters.learning_rate, 0.01);
  assert.equal(rec.hyperparameters.image_max_pixels, 12544);
  assert.deepEqual(rec.hyperparameters.export_dtypes, ["fp32", "q8"]);
  assert.equal(rec.lora?.rank, 8);
  assert.deepEqual(rec.steps, { done: STEPS, total: STEPS });
  assert.equal(rec.device?.device, "cpu");
  assert.ok(rec.versions?.torch && rec.versions.transformers && rec.versions.peft);
  for (const stage of ["train", "merge", "export", "check"] as const) assert.ok((rec.durations[stage] ?? 0) > 0, `duration of ${stage}`);
  assert.deepEqual(rec.export?.dtypes, ["fp32", "q8"]);
  assert.equal(rec.export?.default_dtype, "q8");
  assert.equal(rec.export?.max_pixels, 12544, "the training pixel cap travels into the export");
  for (const f of ["decoder_model_merged.onnx", "decoder_model_merged_quantized.onnx", "embed_tokens_quantized.onnx", "vision_encoder_quantized.onnx"]) {
    assert.ok(existsSync(path.join(layout.export, "onnx", f)), f);
  }
  for (const f of ["config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.json", "chat_template.jinja"]) {
    assert.ok(existsSync(path.join(layout.export, f)), f);
  }
  assert.ok(Object.values(rec.export!.verify).every((v) => Number.isFinite(v)));
  assert.ok(rec.export!.verify["decoder_model_merged/fp32"]! < 1e-4);
});

test("the resumed run's losses equal an uninterrupted run's (same data order, optimizer, schedule, random state)", async () => {
  const stoppedAt = record().losses.length; // the whole run is in the record; compare its first 60 steps
  const r = await runPythonJob(py, path.join("python", "qwen2vl", "train_lora.py"), [
    "--data-dir", path.join(dataDir, "qwen_finetuning"), "--base-model", base, "--output-dir", path.join(work, "uninterrupted"),
    "--max-steps", String(STEPS), "--batch-size", "2", "--grad-accum", "2", "--lr", "1e-2", "--image-max-pixels", String(112 * 112),
    "--eval-steps", "25", "--save-steps", "50", "--threads", "1", "--stop-after-step", "60",
  ], { env: { OMP_NUM_THREADS: "1" } });
  assert.equal(r.code, 130, r.error ?? "");
  const reference = r.events.filter((e) => e.event === "step").map((e) => e.loss as number);
  assert.equal(reference.length, 60);
  const resumed = record().losses.slice(0, 60).map((p) => p.train_loss!);
  assert.ok(stoppedAt === STEPS);
  for (let i = 0; i < 60; i++) assert.ok(Math.abs(resumed[i]! - reference[i]!) < 1e-6, `step ${i + 1}: ${resumed[i]} vs ${reference[i]}`);
});

test("the parity check: fp32 logits within tolerance and equal greedy replies (one image and two in one prompt); q8 measured", () => {
  const c = JSON.parse(readFileSync(layout.check, "utf8")) as CheckExportResult;
  assert.equal(c.passed, true);
  assert.equal(record().check?.passed, true);
  const fp32 = c.dtypes.fp32!;
  assert.equal(fp32.pass, true);
  assert.ok(fp32.max_abs_logit_diff < 1e-3, `fp32 max |Δlogit| ${fp32.max_abs_logit_diff}`);
  assert.equal(fp32.reply_equal_rate, 1);
  assert.equal(fp32.ids_and_grids_equal, true);
  const grids = c.cases.filter((x) => x.dtype === "fp32").map((x) => JSON.stringify(x.image_grid_thw));
  assert.equal(new Set(grids).size, grids.length, `each case its own grid: ${grids}`);
  assert.ok(c.cases.some((x) => x.images === 2 && x.reply_equal), "two images in one prompt");
  const q8 = c.dtypes.q8!;
  assert.ok(q8.max_abs_logit_diff > 0 && q8.max_abs_logit_diff < 1, `q8 max |Δlogit| ${q8.max_abs_logit_diff}`);
  assert.ok(q8.argmax_agreement >= 0.5);
  console.log(`# parity fp32: max |Δlogit| ${fp32.max_abs_logit_diff.toExponential(2)}, replies equal ${fp32.reply_equal_rate}; q8: max |Δlogit| ${q8.max_abs_logit_diff.toFixed(3)}, replies equal ${q8.reply_equal_rate}, scores agree in ${q8.score_agreement_rate === null ? "n/a" : `${q8.score_agreement_rate * 100}%`} of ${q8.scored_cases} scored`);
});

test("check-export runs on its own for the folder (the PyTorch model from streetsafe_export.json)", async () => {
  const out = path.join(work, "again.json");
  const r = await cli(["check-export", layout.export, "--data-dir", dataDir, "--dtypes", "fp32", "--no-pair", "--threads", "1", "--out", out]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /fp32 +PASS/);
  assert.equal((JSON.parse(readFileSync(out, "utf8")) as CheckExportResult).cases.length, 3);
});

test("compare scores the exported model (dtype auto → q8) beside the baselines", async () => {
  const out = path.join(work, "runs");
  const r = await cli(["compare", "--models", "qwen2vl-ft", "image-stats", "--qwen2vl-dir", layout.export, "--data-dir", dataDir, "--output-dir", out, "--no-cache", "--no-plots"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /dtype auto → "q8" \(config\.json transformers\.js_config\.dtype\)/);
  const run = path.join(out, readdirSync(out)[0]!);
  const metrics = JSON.parse(readFileSync(path.join(run, "metrics.json"), "utf8"));
  const q = metrics.models["qwen2vl-ft"];
  assert.equal(q.n, metrics.n_images);
  assert.equal(q.valid + q.failed, q.n, "every image asked; failures counted");
  assert.ok(metrics.models.mean && metrics.models["image-stats"]);
  console.log(`# compare: qwen2vl-ft valid ${q.valid}/${q.n}${q.mae !== null && q.mae !== undefined ? `, MAE ${Number(q.mae).toFixed(2)}` : ""}; mean baseline MAE ${Number(metrics.models.mean.mae).toFixed(2)}`);
});

test("a failed export leaves the previous export untouched and nothing half-written", async () => {
  const hash = (dir: string) => {
    const h = createHash("sha256");
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else h.update(e.name).update(readFileSync(p));
      }
    };
    walk(dir);
    return h.digest("hex");
  };
  const before = hash(layout.export);
  const r = await runPythonJob(py, path.join("python", "qwen2vl", "export_onnx.py"), ["--model", path.join(work, "no-such-model"), "--out", layout.export]);
  assert.notEqual(r.code, 0);
  assert.ok(r.error, "an error line");
  assert.equal(hash(layout.export), before);
  assert.deepEqual(readdirSync(layout.dir).filter((f) => f.startsWith(".")), [], "no temporary folder left");
  console.log(`# stage seconds (wall, this machine): ${JSON.stringify({ ...seconds, ...record().durations })}`);
});

test("finetune status --provider local prints the record and the loss curve", () => {
  const r = spawnSync(process.execPath, [bin, "finetune", "status", "--provider", "local", "--models-dir", modelsDir], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /local-\d{8}T\d{6}Z: succeeded/);
  assert.match(r.stdout, /times: train .* · merge .* · export .* · check/);
  assert.match(r.stdout, /validation loss: step 25/);
});
