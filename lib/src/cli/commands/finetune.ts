import { InvalidArgumentError, type Command } from "commander";
import { choiceFlag, intFlag } from "../args";
import { fractionFlag, listLocal, misplacedFlags, positiveFlag, runLocalFinetune, statusLocal, watchLocal, type LocalFinetuneFlags } from "./finetune-local";
import {
  checkFineTuneRun,
  DEFAULT_BASE_MODEL,
  FINE_TUNE_DEFAULTS,
  FINE_TUNE_PROVIDERS,
  fineTuneRecordPath,
  EXPORT_DTYPES,
  LOCAL_BACKENDS,
  LOCAL_DEVICES,
  LOCAL_FINETUNE_DEFAULTS,
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

/** `--provider`: the OpenAI-compatible services, or `local` (Qwen2-VL trained here). */
export type FinetuneProviderFlag = FineTuneProvider | "local";
export const FINETUNE_PROVIDER_FLAGS: readonly FinetuneProviderFlag[] = [...FINE_TUNE_PROVIDERS, "local"];

export interface FinetuneFlags {
  baseModel?: string;
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
  provider?: FinetuneProviderFlag;
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
    provider: f.provider === "local" || !f.provider ? "openai" : f.provider,
    dataDir: f.dataDir,
    modelsDir: f.modelsDir,
    baseModel: resolveBaseModel(f.baseModel ?? DEFAULT_BASE_MODEL),
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

const providerFlag = choiceFlag("--provider", FINETUNE_PROVIDER_FLAGS);
const DEFAULT_POLL_SECONDS = MONITOR_DEFAULTS.pollIntervalMs / 1000;

/**
 * Ctrl-C aborts the signal once (watching stops, the job does not); a second Ctrl-C exits at once.
 */
async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>, message = "stopping… (the job is not affected; Ctrl-C again to quit at once)"): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error(`\n${message}`);
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

const LOCAL_STOP = "stopping: the training job writes a checkpoint of the last finished step (Ctrl-C again to quit at once; `finetune watch --provider local` continues)";

/** Local runs: the job ids are `local-…`, or `--provider local`. */
function isLocal(flag: FinetuneProviderFlag | undefined, jobId?: string): boolean {
  return flag === "local" || (!flag && !!jobId?.startsWith("local-"));
}

/** The provider for a job: the flag, else the record's when it is about this job, else OpenAI. */
async function providerFor(flag: FinetuneProviderFlag | undefined, modelsDir: string, jobId?: string): Promise<FineTuneProvider> {
  if (flag && flag !== "local") return flag;
  const record = await readFineTuneRecord(fineTuneRecordPath(modelsDir)).catch(() => null);
  return record && (!jobId || record.job_id === jobId) ? record.provider : "openai";
}

function time(unix: number | null | undefined): string {
  return unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) : "—";
}

export function register(program: Command): void {
  const ft = program
    .command("finetune")
    .description("step 2: fine-tune a GPT model on the prepared files (upload, create, watch), or Qwen2-VL here (--provider local); subcommands follow jobs")
    .option("--base-model <model>", `base model: a GPT snapshot or alias (default ${DEFAULT_BASE_MODEL}); local: a hub id or folder (default ${LOCAL_FINETUNE_DEFAULTS.baseModel})`)
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
    .option("--provider <name>", "openai (default), azure, or local (Qwen2-VL LoRA here, then merge, ONNX export and its check)", providerFlag)
    .option("--lr <x>", "local: learning rate (default from the YAML: 1e-4)", positiveFlag("--lr"))
    .option("--max-steps <n>", "local: stop after N optimizer steps (overrides --epochs)", intFlag("--max-steps", 1))
    .option("--grad-accum <n>", "local: gradient accumulation (default from the YAML: 8)", intFlag("--grad-accum", 1, 1024))
    .option("--lora-rank <n>", "local: LoRA rank (default 8)", intFlag("--lora-rank", 1, 1024))
    .option("--lora-alpha <x>", "local: LoRA alpha (default 16)", positiveFlag("--lora-alpha"))
    .option("--lora-dropout <x>", "local: LoRA dropout (default 0.05)", fractionFlag("--lora-dropout"))
    .option("--image-max-pixels <n>", "local: image pixel cap in training, kept by the export for inference (default 262144)", intFlag("--image-max-pixels", 3136))
    .option("--eval-steps <n>", "local: validation loss every N steps (and at the end)", intFlag("--eval-steps", 0))
    .option("--save-steps <n>", "local: checkpoint every N steps (and at the end, and on Ctrl-C)", intFlag("--save-steps", 0))
    .option("--device <d>", `local: ${LOCAL_DEVICES.join(", ")} (auto: CUDA when torch sees it)`, choiceFlag("--device", LOCAL_DEVICES))
    .option("--backend <b>", `local: ${LOCAL_BACKENDS.join(", ")} (auto: LLaMA-Factory when installed, else transformers + peft)`, choiceFlag("--backend", LOCAL_BACKENDS))
    .option("--threads <n>", "local: torch CPU threads", intFlag("--threads", 1, 512))
    .option("--dtype <list>", `local: export dtypes besides fp32 (${EXPORT_DTYPES.join(", ")}; comma list; default q8)`)
    .option("--stop-after-step <n>", "local: pause after step N as on Ctrl-C (tests)", intFlag("--stop-after-step", 1))
    .option("--restart", "local: start over although a stopped run has checkpoints (they are removed)")
    .action(async (flags: FinetuneFlags & LocalFinetuneFlags) => {
      const misplaced = misplacedFlags(flags as unknown as Record<string, unknown>, flags.provider === "local");
      if (misplaced.length) {
        throw new Error(`${misplaced.join(", ")} ${misplaced.length === 1 ? "is" : "are"} not read by ${flags.provider === "local" ? "the local route" : `--provider ${flags.provider ?? "openai"}`} (${flags.provider === "local" ? "those are OpenAI job settings" : "those are --provider local settings"})`);
      }
      if (flags.provider === "local") {
        await withInterrupt(async (signal) => {
          process.exitCode = await runLocalFinetune(flags, signal);
        }, LOCAL_STOP);
        return;
      }
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
  const shared = "\nAlso takes --provider openai|azure|local (default: the record's for this job, else openai; job ids local-… are local) and --models-dir DIR (default models)";
  const sharedFlags = (cmd: Command): SharedFlags => cmd.optsWithGlobals<SharedFlags>();

  ft.command("status [job]")
    .description("a job's status, progress and recent events (local: the record, times and loss curve)")
    .addHelpText("after", `${shared}.`)
    .action(async (job: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = sharedFlags(cmd);
      if (isLocal(flags.provider, job)) return statusLocal(flags.modelsDir);
      const tuner = await tunerFor(flags, needJob(job));
      const { job: j, progress, recentEvents } = await tuner.checkJobStatus(needJob(job));
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
      if (sharedFlags(cmd).provider === "local") return listLocal(sharedFlags(cmd).modelsDir);
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

  ft.command("watch [job]")
    .description("watch a job to its end; resumes after Ctrl-C without repeating events (local: continues training from the last checkpoint, then merge, export, check)")
    .addHelpText("after", `${shared}, and --poll-interval SECONDS (default ${DEFAULT_POLL_SECONDS}). Local runs also take --threads and --data-dir.`)
    .action(async (job: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = sharedFlags(cmd);
      if (isLocal(flags.provider, job)) {
        await withInterrupt(async (signal) => {
          process.exitCode = await watchLocal(cmd.optsWithGlobals<LocalFinetuneFlags>(), signal);
        }, LOCAL_STOP);
        return;
      }
      const tuner = await tunerFor(flags, needJob(job));
      await withInterrupt(async (signal) => {
        const r = await tuner.monitorFineTuneJob(needJob(job), { pollIntervalMs: Math.round(flags.pollInterval * 1000), signal });
        process.exitCode = exitCodeForOutcome(r);
      });
    });

  ft.command("cancel [job]")
    .description("cancel a job (the record says so); a local run stops with Ctrl-C where it runs")
    .addHelpText("after", `${shared}.`)
    .action(async (job: string | undefined, _opts: unknown, cmd: Command) => {
      if (isLocal(sharedFlags(cmd).provider, job)) throw new Error("a local run stops with Ctrl-C in the terminal (or notebook) that runs it; it writes a checkpoint, and `npx streetsafe finetune watch --provider local` continues it");
      const tuner = await tunerFor(sharedFlags(cmd), needJob(job));
      const j = await tuner.cancel(needJob(job));
      console.log(`${j.id}: ${j.status}${j.status === "cancelled" ? "" : " (cancellation requested)"}`);
    });
}

function needJob(job: string | undefined): string {
  if (!job) throw new Error("give the job id (ftjob-…), or --provider local for the local run");
  return job;
}

interface SharedFlags {
  provider?: FinetuneProviderFlag;
  modelsDir: string;
  pollInterval: number;
}

async function tunerFor(flags: SharedFlags, jobId?: string): Promise<OpenAIFineTuner> {
  return new OpenAIFineTuner({ provider: await providerFor(flags.provider, flags.modelsDir, jobId), modelsDir: flags.modelsDir });
}
