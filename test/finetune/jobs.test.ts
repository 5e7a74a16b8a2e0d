/**
 * Fine-tuning jobs against the loopback OpenAI-compatible server with files and fine-tuning endpoints
 * (test/helpers/finetune-routes.ts) through the real SDK: upload → create → watch to success, failure
 * and cancellation; transient errors while watching; a bounded give-up; an interrupted watch resumed
 * without repeating events; the record at every stage; job-creation refusal; Azure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { InputError, ModelUnavailableError } from "../../lib/src/core/errors";
import { FineTuneRefusedError, GPT4oMiniFineTuner, type FineTunerOptions } from "../../lib/src/finetune/openai/tuner";
import { fineTuneRecordPath, loadFineTunedModelId, readFineTuneRecord, type FineTuneRecord } from "../../lib/src/finetune/openai/record";
import { readTrainingMetricsCsv } from "../../lib/src/finetune/openai/training-metrics";
import { type MonitorOptions } from "../../lib/src/finetune/openai/monitor";
import { checkFineTuneRun, formatFineTuneCheck } from "../../lib/src/finetune/openai/dry-run";
import { startTestServer, TEST_API_KEY, type TestServer } from "../helpers/openai-server";
import { fineTuneSim, writeFineTuneData, type FineTuneSim, type FineTuneSimOptions } from "../helpers/finetune-routes";
import { tempDir } from "../helpers/tmp";

const FAST: MonitorOptions = { pollIntervalMs: 5, maxBackoffMs: 20 };

interface Harness {
  server: TestServer;
  sim: FineTuneSim;
  data: string;
  models: string;
  lines: string[];
  tuner(extra?: Partial<FineTunerOptions>): GPT4oMiniFineTuner;
}

async function harness(t: { after: (fn: () => Promise<void>) => void }, sim: FineTuneSimOptions = {}, data?: string): Promise<Harness> {
  const s = fineTuneSim(sim);
  const server = await startTestServer({ extraRoutes: s.routes });
  t.after(() => server.close());
  const dataDir = data ?? tempDir();
  if (!data) await writeFineTuneData(dataDir);
  const models = tempDir();
  const lines: string[] = [];
  return {
    server,
    sim: s,
    data: dataDir,
    models,
    lines,
    tuner: (extra = {}) =>
      new GPT4oMiniFineTuner({ apiKey: TEST_API_KEY, baseURL: server.url, modelsDir: models, filePollIntervalMs: 5, log: (l) => lines.push(l), ...extra }),
  };
}

/** Event lines as printed (`[time] message`). */
const eventLines = (lines: string[]) => lines.filter((l) => /^\[\d{4}-\d\d-\d\d /.test(l));

function assertNoDuplicates(lines: string[]): void {
  const seen = new Set<string>();
  for (const l of lines) {
    assert.ok(!seen.has(l), `event printed twice: ${l}`);
    seen.add(l);
  }
}

test("upload → create → watch to success: files, job request, metrics CSV, and the record at every stage", async (t) => {
  const h = await harness(t);
  const tuner = h.tuner();
  const snapshots: FineTuneRecord[] = [];
  const started = await tuner.start({ dataDir: h.data, hyperparameters: { n_epochs: 2, batch_size: "auto", learning_rate_multiplier: 0.5 }, suffix: "safety" });
  const recordFile = fineTuneRecordPath(h.models);
  snapshots.push(JSON.parse(readFileSync(recordFile, "utf8")));

  // Uploads: purpose fine-tune, both files, waited until processed.
  const uploads = [...h.sim.files.values()].filter((f) => f.purpose === "fine-tune");
  assert.deepEqual(uploads.map((f) => f.filename), ["train_text_only.jsonl", "val_text_only.jsonl"]);
  assert.equal(uploads[0]!.content.toString(), readFileSync(path.join(h.data, "openai_finetuning", "train_text_only.jsonl"), "utf8"));
  assert.ok(uploads.every((f) => f.reads >= 2), "file status read until processed");
  // The job request: supervised method with the hyperparameters, suffix, seed, validation file.
  const req = h.sim.jobs.get(started.job.id)!.request;
  assert.deepEqual(req, {
    model: "gpt-4o-mini-2024-07-18",
    training_file: uploads[0]!.id,
    validation_file: uploads[1]!.id,
    method: { type: "supervised", supervised: { hyperparameters: { n_epochs: 2, batch_size: "auto", learning_rate_multiplier: 0.5 } } },
    suffix: "safety",
    seed: 42,
  });

  const events: string[] = [];
  const result = await tuner.monitorFineTuneJob(started.job.id, {
    ...FAST,
    onRecord: (r) => {
      // What is on disk is exactly what was just written.
      assert.deepEqual(JSON.parse(readFileSync(recordFile, "utf8")), r);
      snapshots.push(r);
    },
    onEvent: (e) => events.push(e.id),
  });
  assert.equal(result.outcome, "succeeded");
  assert.deepEqual(
    [...new Set(snapshots.map((s) => s.status))],
    ["validating_files", "queued", "running", "succeeded"],
    "the record follows every state",
  );
  assert.ok(snapshots.every((s) => (s.status === "succeeded") === !!s.fine_tuned_model), "never a model without success, never success without a model");
  const record = (await readFineTuneRecord(recordFile))!;
  assert.equal(record.fine_tuned_model, "ft:gpt-4o-mini-2024-07-18:streetsafe-test:safety:abc123");
  assert.equal(record.with_images, false);
  assert.equal(record.trained_tokens, 1234 * 12);
  assert.ok(record.finished_at);
  assert.equal(record.progress!.step, 12);
  assert.equal(await loadFineTunedModelId(recordFile), record.fine_tuned_model);

  // The result file was base64: saved decoded, as CSV, beside the record.
  assert.equal(result.metricsCsv, path.join(path.dirname(recordFile), record.metrics_csv!));
  const points = readTrainingMetricsCsv(result.metricsCsv!);
  assert.equal(points.length, 12);
  assert.ok(points.some((p) => p.valid_loss !== null));
  assert.ok(result.metrics.some((p) => p.full_valid_loss !== null), "checkpoint metrics merged");

  // Every job event reached onEvent exactly once; message events were printed once each.
  const all = h.sim.jobs.get(started.job.id)!.events.map((e) => e.id);
  assert.deepEqual(events, all);
  assertNoDuplicates(eventLines(h.lines));
  assert.ok(h.lines.some((l) => /step 12\/12 \(100%\) · train loss [\d.]+ · valid loss/.test(l)), "progress with step/total and losses");
  assert.match(result.message, /succeeded: ft:.*predict --model gpt4o-mini-ft/s);
});

test("transient errors while watching (500, 429, dropped connection) back off and the watch still succeeds", async (t) => {
  const h = await harness(t, {
    fault: ({ route, n }) => {
      if (route === "jobs.retrieve" && (n === 1 || n === 2)) return { status: 500 };
      if (route === "jobs.events" && n === 2) return { status: 429, retryAfterMs: 1 };
      if (route === "jobs.retrieve" && n === 5) return { kind: "reset" };
      if (route === "files.content" && n === 0) return { status: 503 };
      return undefined;
    },
  });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  const result = await tuner.monitorFineTuneJob(job.id, FAST);
  assert.equal(result.outcome, "succeeded");
  assert.ok(h.lines.filter((l) => /^temporary problem \(HTTP 500/.test(l)).length >= 2);
  assert.ok(h.lines.some((l) => /^temporary problem \(HTTP 429/.test(l)));
  assert.ok(h.lines.some((l) => /^temporary problem \(.*(Connection error|terminated|socket)/i.test(l)), h.lines.join("\n"));
  assertNoDuplicates(eventLines(h.lines));
  assert.ok(result.metricsCsv && existsSync(result.metricsCsv), "the result file download retried after a 503");
});

test("a watch that only meets errors gives up after a bounded time, with the command to resume", async (t) => {
  const h = await harness(t, { fault: ({ route, n }) => (route === "jobs.retrieve" && n >= 2 ? { status: 503, message: "The engine is currently overloaded" } : undefined) });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  const t0 = Date.now();
  const result = await tuner.monitorFineTuneJob(job.id, { pollIntervalMs: 5, maxBackoffMs: 40, giveUpAfterMs: 300 });
  const took = Date.now() - t0;
  assert.equal(result.outcome, "gave_up");
  assert.ok(took >= 300 && took < 3000, `gave up in ${took} ms`);
  assert.match(result.message, /gave up watching ftjob-1 after .* of errors \(last: HTTP 503: The engine is currently overloaded\)/);
  assert.match(result.message, new RegExp(`Resume with: npx streetsafe finetune watch ftjob-1 --models-dir ${h.models.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  const record = (await readFineTuneRecord(fineTuneRecordPath(h.models)))!;
  assert.equal(record.status, "running", "the record keeps the last status actually seen");
  // Backoff: the waits grew (5 ms doubling up to 40 ms), so far fewer polls than 300 / 5.
  assert.ok(h.sim.calls["jobs.retrieve"]! < 40, `${h.sim.calls["jobs.retrieve"]} polls`);
});

test("an interrupted watch leaves the job running, and a resumed watch repeats no event", async (t) => {
  const h = await harness(t, { script: ["validating_files", "queued", "running", "running", "running", "running", "succeeded"], totalSteps: 16 });
  const first = h.tuner();
  const { job } = await first.start({ dataDir: h.data });
  const ac = new AbortController();
  const seen1: string[] = [];
  const r1 = await first.monitorFineTuneJob(job.id, {
    ...FAST,
    signal: ac.signal,
    onEvent: (e) => {
      seen1.push(e.id);
      if (/Fine-tuning job started/.test(e.message)) ac.abort(); // Ctrl-C mid-poll
    },
  });
  assert.equal(r1.outcome, "interrupted");
  assert.match(r1.message, /stopped watching ftjob-1 \(last status: running\)\. The job keeps running on openai\. Resume with: npx streetsafe finetune watch ftjob-1/);
  assert.equal(h.sim.jobs.get(job.id)!.status, "running", "the job was not cancelled");
  assert.equal(h.sim.calls["jobs.cancel"] ?? 0, 0);
  const saved = (await readFineTuneRecord(fineTuneRecordPath(h.models)))!;
  assert.equal(saved.last_event!.id, seen1[seen1.length - 1], "the record knows the last event shown");

  // A new process (a new tuner, same models folder) resumes.
  const linesBefore = h.lines.length;
  const seen2: string[] = [];
  const r2 = await h.tuner().monitorFineTuneJob(job.id, { ...FAST, onEvent: (e) => seen2.push(e.id) });
  assert.equal(r2.outcome, "succeeded");
  assert.deepEqual(seen1.filter((id) => seen2.includes(id)), [], "no event delivered twice");
  assert.deepEqual([...seen1, ...seen2], h.sim.jobs.get(job.id)!.events.map((e) => e.id), "and none lost");
  assertNoDuplicates(eventLines(h.lines));
  assert.ok(eventLines(h.lines.slice(linesBefore)).length > 0);
});

test("a failed job ends with the provider's error and a record that says so", async (t) => {
  const h = await harness(t, {
    script: ["validating_files", "running", "failed"],
    failure: { code: "invalid_training_file", message: "Training file has 3 examples with invalid image URLs.", param: "training_file" },
  });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  const result = await tuner.monitorFineTuneJob(job.id, FAST);
  assert.equal(result.outcome, "failed");
  assert.match(result.message, /failed: ftjob-1: invalid_training_file: Training file has 3 examples with invalid image URLs\. \(training_file\)/);
  const record = (await readFineTuneRecord(fineTuneRecordPath(h.models)))!;
  assert.equal(record.status, "failed");
  assert.equal(record.fine_tuned_model, null);
  assert.deepEqual(record.error, { code: "invalid_training_file", message: "Training file has 3 examples with invalid image URLs.", param: "training_file" });
  assert.ok(h.lines.some((l) => /ERROR Fine-tuning job failed/.test(l)));
  await assert.rejects(loadFineTunedModelId(fineTuneRecordPath(h.models)), /failed: Training file has 3/);
});

test("a job cancelled while watched ends the watch as cancelled; cancel() keeps the record true", async (t) => {
  const h = await harness(t, { script: ["validating_files", "queued", "running", "running", "running", "running", "succeeded"] });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  let cancelled = false;
  const result = await tuner.monitorFineTuneJob(job.id, {
    ...FAST,
    onEvent: (e) => {
      if (!cancelled && /Fine-tuning job started/.test(e.message)) {
        cancelled = true;
        void h.tuner().cancel(job.id); // from elsewhere, e.g. `finetune cancel` in another terminal
      }
    },
  });
  assert.equal(result.outcome, "cancelled");
  assert.match(result.message, /cancelled: ftjob-1 was cancelled; no model was made/);
  const record = (await readFineTuneRecord(fineTuneRecordPath(h.models)))!;
  assert.equal(record.status, "cancelled");
  assert.equal(record.fine_tuned_model, null);
});

test("a job reported succeeded before its model is named is not recorded as done until it is", async (t) => {
  const h = await harness(t, { modelNameDelayPolls: 2 });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  const snapshots: FineTuneRecord[] = [];
  const result = await tuner.monitorFineTuneJob(job.id, { ...FAST, onRecord: (r) => snapshots.push(r) });
  assert.equal(result.outcome, "succeeded");
  assert.ok(snapshots.every((s) => s.status !== "succeeded" || s.fine_tuned_model), "never succeeded with a null model");
  assert.ok(h.lines.some((l) => /names no fine-tuned model yet/.test(l)));
});

test("job creation refused: the provider's message, the wind-down and the alternatives; uploads removed, record untouched", async (t) => {
  const h = await harness(t, {
    refuseCreate: { status: 403, code: "fine_tuning_unavailable", message: "This organization can no longer create new fine-tuning jobs." },
  });
  const tuner = h.tuner();
  await assert.rejects(tuner.start({ dataDir: h.data }), (e: Error) => {
    assert.ok(e instanceof FineTuneRefusedError);
    assert.match(e.message, /refused to create the fine-tuning job: HTTP 403: This organization can no longer create new fine-tuning jobs\./);
    assert.match(e.message, /2027-01-06/);
    assert.match(e.message, /--provider azure/);
    assert.match(e.message, new RegExp(`${h.data.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/qwen_finetuning/README\\.md`));
    assert.match(e.message, /The uploaded files \(file-1, file-2\) were deleted again/);
    return true;
  });
  assert.ok([...h.sim.files.values()].every((f) => f.deleted));
  assert.equal(existsSync(fineTuneRecordPath(h.models)), false, "no record for a job that does not exist");
});

test("job creation: a lost reply adopts the job that was made; a transient failure before it is retried once", async (t) => {
  const h = await harness(t, { createThenFail: 1 });
  const tuner = h.tuner();
  const { job } = await tuner.start({ dataDir: h.data });
  assert.equal(h.sim.jobs.size, 1, "no second (billed) job");
  assert.equal(job.id, "ftjob-1");
  assert.ok(h.lines.some((l) => /job ftjob-1 exists for this training file; using it/.test(l)));

  const h2 = await harness(t, { fault: ({ route, n }) => (route === "jobs.create" && n === 0 ? { status: 502 } : undefined) });
  const { job: job2 } = await h2.tuner().start({ dataDir: h2.data });
  assert.equal(h2.sim.jobs.size, 1);
  assert.equal(job2.id, "ftjob-1");
  assert.ok(h2.lines.some((l) => /no job was made; trying again/.test(l)));
});

test("images: with-images files for a vision base model; refused on gpt-4o-mini unless forced", async (t) => {
  const h = await harness(t);
  const tuner = h.tuner();
  await assert.rejects(tuner.start({ dataDir: h.data, withImages: true }), (e: Error) => e instanceof InputError && /image fine-tuning refused/.test(e.message));
  assert.equal(h.sim.files.size, 0, "nothing uploaded");

  const vision = await tuner.start({ dataDir: h.data, baseModel: "gpt-4o-2024-08-06" });
  assert.equal(vision.check.choice.withImages, true);
  assert.equal(h.sim.files.get(vision.job.training_file)!.filename, "train_with_images.jsonl");
  assert.equal(vision.record.with_images, true);

  const forced = await tuner.start({ dataDir: h.data, withImages: true, force: true });
  assert.equal(h.sim.files.get(forced.job.training_file)!.filename, "train_with_images.jsonl");
  assert.ok(h.lines.some((l) => /warning: forced --with-images/.test(l)));
  // The first job's record was kept beside the new one.
  assert.ok(existsSync(path.join(path.dirname(fineTuneRecordPath(h.models)), `fine_tune_info.${vision.job.id}.json`)));
});

test("a failed upload creates no job and removes what was already uploaded; no key is a clear setup error", async (t) => {
  const h = await harness(t, { fault: ({ route, n }) => (route === "files.create" && n === 1 ? { status: 400, message: "File too large" } : undefined) });
  await assert.rejects(h.tuner().start({ dataDir: h.data }), /the upload failed: uploading .*val_text_only\.jsonl .*HTTP 400: File too large\. No job was created\. The uploaded files \(file-1\) were deleted again/);
  assert.equal(h.sim.jobs.size, 0);
  assert.ok(h.sim.files.get("file-1")!.deleted);
  assert.throws(() => new GPT4oMiniFineTuner({ env: {} }), (e: Error) => e instanceof ModelUnavailableError && /OPENAI_API_KEY/.test(e.message) && /--dry-run/.test(e.message));
});

test("format problems are refused before anything is uploaded", async (t) => {
  const h = await harness(t);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(path.join(h.data, "openai_finetuning", "train_text_only.jsonl"), "not json\n");
  await assert.rejects(h.tuner().start({ dataDir: h.data }), (e: Error) => e instanceof InputError && /invalid_json/.test(e.message) && /too_few_examples/.test(e.message));
  assert.equal(h.sim.files.size, 0);
});

test("list, status and cancel; the record follows status for its own job", async (t) => {
  const h = await harness(t, { script: ["validating_files", "queued", "running", "running", "running", "running", "succeeded"] });
  const tuner = h.tuner();
  const a = await tuner.start({ dataDir: h.data });
  const b = await tuner.start({ dataDir: h.data });
  const jobs = await tuner.listFineTuneJobs(1);
  assert.deepEqual(jobs.map((j) => j.id), [b.job.id], "newest first, limited");
  assert.equal((await tuner.listFineTuneJobs(10)).length, 2);
  for (let i = 0; i < 3; i++) await tuner.checkJobStatus(b.job.id);
  const status = await tuner.checkJobStatus(b.job.id);
  assert.equal(status.job.status, "running");
  assert.ok(status.progress && status.progress.step! > 0 && status.progress.total_steps === 12);
  assert.ok(status.recentEvents.every((e) => e.type !== "metrics"));
  assert.equal((await readFineTuneRecord(fineTuneRecordPath(h.models)))!.status, "running", "status refreshed the record of its job");
  const cancelled = await tuner.cancel(b.job.id);
  assert.equal(cancelled.status, "cancelled");
  assert.equal((await readFineTuneRecord(fineTuneRecordPath(h.models)))!.status, "cancelled");
  await tuner.checkJobStatus(a.job.id);
  assert.equal((await readFineTuneRecord(fineTuneRecordPath(h.models)))!.job_id, b.job.id, "another job's status leaves the record alone");
  await assert.rejects(tuner.checkJobStatus("ftjob-nope"), /reading ftjob-nope .*HTTP 404.*Could not find fine-tune/);
});

test("Azure OpenAI: AzureOpenAI client, /openai paths with api-version, api-key header; resume names the provider", async (t) => {
  const h = await harness(t);
  const env = { AZURE_OPENAI_API_KEY: TEST_API_KEY, AZURE_OPENAI_ENDPOINT: h.server.origin, OPENAI_API_VERSION: "2025-04-01-preview" };
  const tuner = new GPT4oMiniFineTuner({ provider: "azure", env, modelsDir: h.models, filePollIntervalMs: 5, log: (l) => h.lines.push(l) });
  const { job } = await tuner.start({ dataDir: h.data });
  const result = await tuner.monitorFineTuneJob(job.id, FAST);
  assert.equal(result.outcome, "succeeded");
  assert.match(result.message, /deploy the fine-tuned model in Azure/);
  const ftRequests = h.server.requests.filter((r) => /files|fine_tuning/.test(r.path));
  assert.ok(ftRequests.length > 5);
  assert.ok(ftRequests.every((r) => r.path.startsWith("/openai/") && r.query["api-version"] === "2025-04-01-preview" && r.authorized), "Azure paths, version and key");
  assert.equal((await readFineTuneRecord(fineTuneRecordPath(h.models)))!.provider, "azure");
  assert.match(tuner.resumeCommand(job.id), /finetune watch ftjob-1 --provider azure --models-dir /);
  assert.throws(
    () => new GPT4oMiniFineTuner({ provider: "azure", env: { AZURE_OPENAI_API_KEY: "k-123456" } }),
    (e: Error) => e instanceof ModelUnavailableError && /AZURE_OPENAI_ENDPOINT/.test(e.message) && /OPENAI_API_VERSION/.test(e.message),
  );
  assert.throws(() => new GPT4oMiniFineTuner({ provider: "azure", env: {} }), /AZURE_OPENAI_API_KEY/);
});

test("Azure with images: the dry run and the watch say images showing people are dropped; the record keeps examples sent beside the trained count", async (t) => {
  const h = await harness(t);
  const env = { AZURE_OPENAI_API_KEY: TEST_API_KEY, AZURE_OPENAI_ENDPOINT: h.server.origin, OPENAI_API_VERSION: "2025-04-01-preview" };
  const tuner = new GPT4oMiniFineTuner({ provider: "azure", env, modelsDir: h.models, filePollIntervalMs: 5, log: (l) => h.lines.push(l) });
  const dry = await checkFineTuneRun({ dataDir: h.data, baseModel: "gpt-4o-2024-08-06", provider: "azure" });
  assert.ok(dry.choice.withImages);
  assert.match(formatFineTuneCheck(dry), /warning: Azure OpenAI drops training images that show people, faces or children/);
  const { job, record } = await tuner.start({ dataDir: h.data, baseModel: "gpt-4o-2024-08-06" });
  assert.equal(record.training_examples_sent, dry.checks.train.examples);
  assert.equal(record.training_tokens_sent, dry.checks.train.tokens.total);
  assert.equal(record.training_examples_trained, null);
  const result = await tuner.monitorFineTuneJob(job.id, FAST);
  assert.equal(result.outcome, "succeeded");
  assert.ok(h.lines.some((l) => /^note: Azure OpenAI drops training images that show people/.test(l)), "the watch says so");
  const done = (await readFineTuneRecord(fineTuneRecordPath(h.models)))!;
  assert.equal(done.training_examples_trained, null, "Azure reports no count: nothing is made up");
  const epochs = done.hyperparameters.n_epochs as number;
  assert.equal(done.training_examples_estimate, Math.round((done.trained_tokens! * done.training_examples_sent!) / (epochs * done.training_tokens_sent!)));
  assert.match(done.training_examples_note!, /Azure OpenAI reports no count.*Azure drops training images showing people.*an estimate, not the provider's number/);
  assert.match(result.message, new RegExp(`examples: ${done.training_examples_sent} sent, no trained count reported by the provider; ≈${done.training_examples_estimate} by trained tokens`));
});

test("a wrong key: a clear 401 message with the key redacted", async (t) => {
  const h = await harness(t);
  const tuner = h.tuner({ apiKey: "sk-wrong-key-0123456789" });
  await assert.rejects(tuner.listFineTuneJobs(), (e: Error) => /HTTP 401/.test(e.message) && !e.message.includes("sk-wrong-key-0123456789") && /\[redacted\]/.test(e.message));
});
