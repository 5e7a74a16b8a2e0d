import { InvalidArgumentError, type Command } from "commander";
import { choiceFlag, intFlag } from "../args";
import {
  checkFineTuneRun,
  DEFAULT_BASE_MODEL,
  FINE_TUNE_DEFAULTS,
  FINE_TUNE_PROVIDERS,
  fineTuneRecordPath,
  formatFineTuneCheck,
  formatFineTuneProgress,
  MAX_SUFFIX_LENGTH,
  MONITOR_DEFAULTS,
  OpenAIFineTuner,
  readFineTuneRecord,
  resolveBaseModel,
  type FineTuneHyperparameters,
  type FineTuneProvider,
  type HyperparameterValue,
  type MonitorResult,
} from "../../finetune";

export interface FinetuneFlags {
  baseModel: string;
  epochs: HyperparameterValue;
  batchSize: HyperparameterValue;
  lrMultiplier: HyperparameterValue;
  suffix: string;
  seed?: number;
  withImages?: boolean;
  textOnly?: boolean;
  force?: boolean;
  dryRun?: boolean;
  wait: boolean;
  pollInterval: number;
  dataDir: string;
  modelsDir: string;
  provider?: FineTuneProvider;
}

export interface FinetunePlan {
  dryRun: boolean;
  wait: boolean;
  provider: FineTuneProvider;
  dataDir: string;
  modelsDir: string;
  baseModel: string;
  /** undefined: what the base model supports. */
  withImages?: boolean;
  force: boolean;
  hyperparameters: Required<FineTuneHyperparameters>;
  suffix: string;
  seed: number;
  pollIntervalMs: number;
}

/** Flags → the plan (pure; tested table-style). */
export function finetunePlan(f: FinetuneFlags): FinetunePlan {
  if (f.withImages && f.textOnly) throw new Error("--with-images and --text-only contradict each other; give one");
  if (f.suffix.length > MAX_SUFFIX_LENGTH) throw new Error(`--suffix may have at most ${MAX_SUFFIX_LENGTH} characters, got ${f.suffix.length}`);
  if (!/^[A-Za-z0-9_-]*$/.test(f.suffix)) throw new Error(`--suffix may hold letters, digits, "-" and "_" only, got "${f.suffix}"`);
  return {
    dryRun: !!f.dryRun,
    wait: f.wait,
    provider: f.provider ?? "openai",
    dataDir: f.dataDir,
    modelsDir: f.modelsDir,
    baseModel: resolveBaseModel(f.baseModel),
    ...(f.withImages ? { withImages: true } : f.textOnly ? { withImages: false } : {}),
    force: !!f.force,
    hyperparameters: { n_epochs: f.epochs, batch_size: f.batchSize, learning_rate_multiplier: f.lrMultiplier },
    suffix: f.suffix,
    seed: f.seed ?? FINE_TUNE_DEFAULTS.seed,
    pollIntervalMs: Math.round(f.pollInterval * 1000),
  };
}

/** `N` (an integer ≥ 1) or `auto`. */
export function intOrAutoFlag(flag: string, min = 1, max = Infinity) {
  const asInt = intFlag(flag, min, max);
  return (value: string): HyperparameterValue => (value.trim() === "auto" ? "auto" : asInt(value));
}

/** `X` (a number > 0) or `auto`. */
export function positiveOrAutoFlag(flag: string) {
  return (value: string): HyperparameterValue => {
    if (value.trim() === "auto") return "auto";
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a number > 0 or "auto", got "${value}"`);
    return n;
  };
}

/** Seconds between polls: a number ≥ 0.01. */
export function secondsFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0.01) throw new InvalidArgumentError(`${flag} must be a number of seconds ≥ 0.01, got "${value}"`);
    return n;
  };
}

const providerFlag = choiceFlag("--provider", FINE_TUNE_PROVIDERS);
const DEFAULT_POLL_SECONDS = MONITOR_DEFAULTS.pollIntervalMs / 1000;

/**
 * Ctrl-C aborts the signal once (watching stops, the job does not); a second Ctrl-C exits at once.
 */
async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error("\nstopping… (the job is not affected; Ctrl-C again to quit at once)");
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await run(ac.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** Exit status for how a watch ended: 0 succeeded, 130 interrupted, 1 otherwise. */
export function exitCodeForOutcome(r: MonitorResult): number {
  return r.outcome === "succeeded" ? 0 : r.outcome === "interrupted" ? 130 : 1;
}

/** The provider for a job: the flag, else the record's when it is about this job, else OpenAI. */
async function providerFor(flag: FineTuneProvider | undefined, modelsDir: string, jobId?: string): Promise<FineTuneProvider> {
  if (flag) return flag;
  const record = await readFineTuneRecord(fineTuneRecordPath(modelsDir)).catch(() => null);
  return record && (!jobId || record.job_id === jobId) ? record.provider : "openai";
}

function time(unix: number | null | undefined): string {
  return unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) : "—";
}

export function register(program: Command): void {
  const ft = program
    .command("finetune")
    .description("step 2: fine-tune a GPT model on the prepared files (upload, create, watch); subcommands follow jobs")
    .option("--base-model <model>", "base model (snapshot or alias)", DEFAULT_BASE_MODEL)
    .option("--epochs <n|auto>", "training epochs", intOrAutoFlag("--epochs", 1, 50), "auto")
    .option("--batch-size <n|auto>", "batch size", intOrAutoFlag("--batch-size", 1, 256), "auto")
    .option("--lr-multiplier <x|auto>", "learning-rate multiplier", positiveOrAutoFlag("--lr-multiplier"), "auto")
    .option("--suffix <s>", `added to the fine-tuned model's name (≤ ${MAX_SUFFIX_LENGTH} characters)`, FINE_TUNE_DEFAULTS.suffix)
    .option("--seed <n>", `training seed (default ${FINE_TUNE_DEFAULTS.seed})`, intFlag("--seed", 0, 2 ** 31 - 1))
    .option("--with-images", "train on the with-images files (refused for base models without image fine-tuning unless --force)")
    .option("--text-only", "train on the text-only files")
    .option("--force", "with --with-images: send images even where the base model does not document image fine-tuning")
    .option("--dry-run", "check the files and estimate the cost; upload nothing (no key needed)")
    .option("--no-wait", "create the job and return without watching it")
    .option("--poll-interval <seconds>", "seconds between status polls", secondsFlag("--poll-interval"), DEFAULT_POLL_SECONDS)
    .option("--data-dir <dir>", "folder prepare wrote to", "data")
    .option("--models-dir <dir>", "the record goes to <dir>/gpt4o_mini_finetuned/", "models")
    .option("--provider <name>", "openai (default) or azure", providerFlag)
    .action(async (flags: FinetuneFlags) => {
      const plan = finetunePlan(flags);
      if (plan.dryRun) {
        const check = await checkFineTuneRun({
          dataDir: plan.dataDir,
          baseModel: plan.baseModel,
          provider: plan.provider,
          ...(plan.withImages !== undefined ? { withImages: plan.withImages } : {}),
          force: plan.force,
          epochs: plan.hyperparameters.n_epochs,
        });
        console.log(formatFineTuneCheck(check));
        console.log(`\nfirst training example:\n${check.example}`);
        console.log(`\ndry run: nothing was uploaded.${check.problems.length ? " Fix the format problems above before a real run." : ""}`);
        if (check.problems.length) process.exitCode = 2;
        return;
      }
      const tuner = new OpenAIFineTuner({ provider: plan.provider, modelsDir: plan.modelsDir, filePollIntervalMs: Math.min(2000, plan.pollIntervalMs) });
      await withInterrupt(async (signal) => {
        const started = await tuner.start({
          dataDir: plan.dataDir,
          baseModel: plan.baseModel,
          ...(plan.withImages !== undefined ? { withImages: plan.withImages } : {}),
          force: plan.force,
          hyperparameters: plan.hyperparameters,
          suffix: plan.suffix,
          seed: plan.seed,
          signal,
        });
        if (!plan.wait) {
          console.log(`not waiting (--no-wait). Follow it with: ${tuner.resumeCommand(started.job.id)}`);
          return;
        }
        const r = await tuner.monitorFineTuneJob(started.job.id, {
          pollIntervalMs: plan.pollIntervalMs,
          signal,
          known: { with_images: started.check.choice.withImages },
        });
        process.exitCode = exitCodeForOutcome(r);
      });
    });

  // --provider, --models-dir and --poll-interval belong to `finetune` itself (commander hands them to it
  // wherever they appear), so the subcommands read them from there: optsWithGlobals().
  const shared = "\nAlso takes --provider openai|azure (default: the record's for this job, else openai) and --models-dir DIR (default models)";
  const sharedFlags = (cmd: Command): SharedFlags => cmd.optsWithGlobals<SharedFlags>();

  ft.command("status <job>")
    .description("a job's status, progress and recent events")
    .addHelpText("after", `${shared}.`)
    .action(async (job: string, _opts: unknown, cmd: Command) => {
      const tuner = await tunerFor(sharedFlags(cmd), job);
      const { job: j, progress, recentEvents } = await tuner.checkJobStatus(job);
      console.log(`${j.id}: ${j.status}`);
      console.log(`  base model: ${j.model}`);
      console.log(`  fine-tuned model: ${j.fine_tuned_model ?? "—"}`);
      console.log(`  created: ${time(j.created_at)}  finished: ${time(j.finished_at)}${j.estimated_finish ? `  estimated finish: ${time(j.estimated_finish)}` : ""}`);
      if (j.trained_tokens) console.log(`  trained tokens: ${j.trained_tokens}`);
      if (progress) console.log(`  progress: ${formatFineTuneProgress(progress)}`);
      if (j.error?.message) console.log(`  error: ${j.error.code ? `${j.error.code}: ` : ""}${j.error.message}`);
      if (recentEvents.length) {
        console.log("  recent events:");
        for (const e of recentEvents) console.log(`    [${time(e.created_at)}] ${e.message}`);
      }
    });

  ft.command("list")
    .description("recent fine-tuning jobs")
    .option("--limit <n>", "how many", intFlag("--limit", 1, 100), 10)
    .addHelpText("after", `${shared}.`)
    .action(async (opts: { limit: number }, cmd: Command) => {
      const tuner = await tunerFor(sharedFlags(cmd));
      const jobs = await tuner.listFineTuneJobs(opts.limit);
      if (jobs.length === 0) {
        console.log("no fine-tuning jobs");
        return;
      }
      const rows = jobs.map((j) => [j.id, j.status, j.model, j.fine_tuned_model ?? "—", time(j.created_at)]);
      const head = ["job", "status", "base model", "fine-tuned model", "created"];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
    });

  ft.command("watch <job>")
    .description("watch a job to its end; resumes after Ctrl-C without repeating events")
    .addHelpText("after", `${shared}, and --poll-interval SECONDS (default ${DEFAULT_POLL_SECONDS}).`)
    .action(async (job: string, _opts: unknown, cmd: Command) => {
      const flags = sharedFlags(cmd);
      const tuner = await tunerFor(flags, job);
      await withInterrupt(async (signal) => {
        const r = await tuner.monitorFineTuneJob(job, { pollIntervalMs: Math.round(flags.pollInterval * 1000), signal });
        process.exitCode = exitCodeForOutcome(r);
      });
    });

  ft.command("cancel <job>")
    .description("cancel a job (the record says so)")
    .addHelpText("after", `${shared}.`)
    .action(async (job: string, _opts: unknown, cmd: Command) => {
      const tuner = await tunerFor(sharedFlags(cmd), job);
      const j = await tuner.cancel(job);
      console.log(`${j.id}: ${j.status}${j.status === "cancelled" ? "" : " (cancellation requested)"}`);
    });
}

interface SharedFlags {
  provider?: FineTuneProvider;
  modelsDir: string;
  pollInterval: number;
}

async function tunerFor(flags: SharedFlags, jobId?: string): Promise<OpenAIFineTuner> {
  return new OpenAIFineTuner({ provider: await providerFor(flags.provider, flags.modelsDir, jobId), modelsDir: flags.modelsDir });
}
