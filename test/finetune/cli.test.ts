/**
 * `npx streetsafe finetune …` end to end, as a user runs it (the compiled CLI, `npm run build` first),
 * against the loopback server named by OPENAI_BASE_URL: the "done when" — upload, create, watch
 * to success, save the metrics CSV, leave fine_tune_info.json with the model name — plus the dry run with
 * no key and no network, the vision refusal, a refused job, --no-wait, the subcommands, and Ctrl-C.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fineTuneRecordPath } from "../../lib/src/finetune/openai/record";
import { readTrainingMetricsCsv } from "../../lib/src/finetune/openai/training-metrics";
import { startTestServer, TEST_API_KEY } from "../helpers/openai-server";
import { fineTuneSim, writeFineTuneData, type FineTuneSimOptions } from "../helpers/finetune-routes";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const bin = path.join(root, "lib", "bin", "streetsafe.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI without blocking this process's event loop (the server lives here). */
function cli(args: string[], env: NodeJS.ProcessEnv, opts: { onStdout?: (text: string, kill: () => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout, () => child.kill("SIGINT"));
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** An environment with no key and no base URL from the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, sim: FineTuneSimOptions = {}) {
  const s = fineTuneSim(sim);
  const server = await startTestServer({ extraRoutes: s.routes });
  t.after(() => server.close());
  const data = tempDir();
  await writeFineTuneData(data);
  const models = tempDir();
  const env = cleanEnv({ OPENAI_API_KEY: TEST_API_KEY, OPENAI_BASE_URL: server.url });
  return { sim: s, server, data, models, env };
}

const eventLines = (text: string) => text.split("\n").filter((l) => /^\[\d{4}-\d\d-\d\d /.test(l));

test("finetune: uploads, creates, watches to success, saves the metrics CSV, records the model (OPENAI_BASE_URL)", async (t) => {
  const { sim, data, models, env } = await setup(t);
  const run = await cli(["finetune", "--data-dir", data, "--models-dir", models, "--poll-interval", "0.01", "--epochs", "2", "--suffix", "safety"], env);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /TEXT-ONLY/);
  assert.match(run.stdout, /estimate: 12 examples × 2 epochs/);
  assert.match(run.stdout, /uploaded train_text_only\.jsonl → file-1/);
  assert.match(run.stdout, /created ftjob-1/);
  assert.match(run.stdout, /step 12\/12 \(100%\)/);
  assert.match(run.stdout, /succeeded: ft:gpt-4o-mini-2024-07-18:streetsafe-test:safety:abc123/);
  const record = JSON.parse(readFileSync(fineTuneRecordPath(models), "utf8"));
  assert.equal(record.status, "succeeded");
  assert.equal(record.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:streetsafe-test:safety:abc123");
  assert.equal(record.job_id, "ftjob-1");
  assert.equal(record.base_model, "gpt-4o-mini-2024-07-18");
  assert.equal(record.with_images, false);
  for (const k of ["training_file", "validation_file", "hyperparameters", "trained_tokens", "created_at", "finished_at", "error"]) assert.ok(k in record, k);
  const csv = path.join(path.dirname(fineTuneRecordPath(models)), record.metrics_csv);
  assert.equal(readTrainingMetricsCsv(csv).length, 12);
  assert.equal((sim.jobs.get("ftjob-1")!.request["method"] as { supervised: { hyperparameters: { n_epochs: number } } }).supervised.hyperparameters.n_epochs, 2);

  // The subcommands on the finished job.
  const status = await cli(["finetune", "status", "ftjob-1", "--models-dir", models], env);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /ftjob-1: succeeded/);
  assert.match(status.stdout, /fine-tuned model: ft:/);
  assert.match(status.stdout, /progress: step 12\/12/);
  const list = await cli(["finetune", "list", "--limit", "5"], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^job\s+status\s+base model/m);
  assert.match(list.stdout, /ftjob-1\s+succeeded\s+gpt-4o-mini-2024-07-18\s+ft:/);
  const watch = await cli(["finetune", "watch", "ftjob-1", "--models-dir", models, "--poll-interval", "0.01"], env);
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stdout, /succeeded: ft:/);
  assert.deepEqual(eventLines(watch.stdout), [], "a watch after the end shows no event again");
  const cancel = await cli(["finetune", "cancel", "ftjob-1", "--models-dir", models], env);
  assert.equal(cancel.code, 1);
  assert.match(cancel.stderr, /cancelling ftjob-1 .*HTTP 400.*already completed/);
});

test("finetune --dry-run works with no key and no network, and uploads nothing", async () => {
  const data = tempDir();
  await writeFineTuneData(data);
  const models = tempDir();
  const run = await cli(["finetune", "--dry-run", "--data-dir", data, "--models-dir", models], cleanEnv({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" }));
  assert.equal(run.code, 0, run.stderr);
  for (const want of [/training file: .*train_text_only\.jsonl — 12 examples, ~\d+ tokens/, /epochs: 8 \(OpenAI's auto rule\)/, /gpt-4o-mini-2024-07-18\s+12\s+\d+/, /USD/, /first training example/, /dry run: nothing was uploaded/]) {
    assert.match(run.stdout, want);
  }
  assert.equal(existsSync(fineTuneRecordPath(models)), false);
  const vision = await cli(["finetune", "--dry-run", "--data-dir", data, "--base-model", "gpt-4o"], cleanEnv());
  assert.equal(vision.code, 0, vision.stderr);
  assert.match(vision.stdout, /WITH IMAGES/);
  assert.match(vision.stdout, /12 images/);
});

test("--with-images on a model without image fine-tuning is refused (exit 2) unless --force", async () => {
  const data = tempDir();
  await writeFineTuneData(data);
  const refused = await cli(["finetune", "--with-images", "--data-dir", data], cleanEnv({ OPENAI_API_KEY: TEST_API_KEY, OPENAI_BASE_URL: "http://127.0.0.1:9/v1" }));
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /image fine-tuning refused/);
  assert.match(refused.stderr, /--force/);
  const forced = await cli(["finetune", "--with-images", "--force", "--dry-run", "--data-dir", data], cleanEnv());
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /WITH IMAGES — with images \(forced\)/);
  assert.match(forced.stdout, /warning: forced --with-images/);
  const both = await cli(["finetune", "--with-images", "--text-only", "--dry-run", "--data-dir", data], cleanEnv());
  assert.equal(both.code, 1);
  assert.match(both.stderr, /contradict/);
});

test("a refused job: the provider's message and the alternatives, exit 1, no record", async (t) => {
  const { data, models, env } = await setup(t, { refuseCreate: { status: 403, message: "Your organization may no longer create fine-tuning jobs." } });
  const run = await cli(["finetune", "--data-dir", data, "--models-dir", models, "--poll-interval", "0.01"], env);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /HTTP 403: Your organization may no longer create fine-tuning jobs\./);
  assert.match(run.stderr, /2027-01-06/);
  assert.match(run.stderr, /npx streetsafe finetune --provider azure/);
  assert.match(run.stderr, /qwen_finetuning\/README\.md/);
  assert.equal(existsSync(fineTuneRecordPath(models)), false);
});

test("--no-wait returns after creating the job, with the command to watch it", async (t) => {
  const { data, models, env } = await setup(t);
  const run = await cli(["finetune", "--no-wait", "--data-dir", data, "--models-dir", models, "--poll-interval", "0.01"], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`Follow it with: npx streetsafe finetune watch ftjob-1 --models-dir ${models.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  assert.equal(JSON.parse(readFileSync(fineTuneRecordPath(models), "utf8")).status, "validating_files");
});

test("Ctrl-C stops watching (exit 130, job untouched); `finetune watch JOB` resumes without repeating events", async (t) => {
  const { sim, data, models, env } = await setup(t, { script: ["validating_files", "queued", "running", "running", "running", "running", "running", "succeeded"], totalSteps: 20 });
  let sent = false;
  const first = await cli(["finetune", "--data-dir", data, "--models-dir", models, "--poll-interval", "0.05"], env, {
    onStdout: (text, kill) => {
      if (!sent && /Fine-tuning job started/.test(text)) {
        sent = true;
        kill();
      }
    },
  });
  assert.equal(first.code, 130, first.stderr + first.stdout);
  assert.match(first.stderr, /stopping… \(the job is not affected/);
  assert.match(first.stdout, /The job keeps running on openai\. Resume with: npx streetsafe finetune watch ftjob-1 --models-dir /);
  assert.notEqual(sim.jobs.get("ftjob-1")!.status, "cancelled");
  assert.equal(JSON.parse(readFileSync(fineTuneRecordPath(models), "utf8")).fine_tuned_model, null);

  const second = await cli(["finetune", "watch", "ftjob-1", "--models-dir", models, "--poll-interval", "0.01"], env);
  assert.equal(second.code, 0, second.stderr);
  const a = eventLines(first.stdout);
  const b = eventLines(second.stdout);
  assert.ok(a.length > 0 && b.length > 0);
  assert.deepEqual(a.filter((l) => b.includes(l)), [], "no event printed twice across the interruption");
  const messages = sim.jobs.get("ftjob-1")!.events.filter((e) => e.type === "message").length;
  assert.equal(a.length + b.length, messages, "and none lost");
  assert.equal(JSON.parse(readFileSync(fineTuneRecordPath(models), "utf8")).status, "succeeded");
});
