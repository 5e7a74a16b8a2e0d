/**
 * When the OpenAI models streetsafe names stop working: the ONE dated table of shutdowns, beside the
 * prices (prices.ts) and with the same discipline — each row names its source and says whether a source
 * found confirmed it (`verified`).
 *
 * As of LIFECYCLE_AS_OF. Sources and what each one confirmed:
 *  - OpenAI's deprecations page (developers.openai.com/api/docs/deprecations), notice of 2026-10-14, as
 *    quoted in streetsafe issue #11: `gpt-4o` (snapshots 2024-08-06 and 2024-11-20),
 *    `gpt-4o-mini-2024-07-18`, `gpt-4.1-2025-04-14` and `gpt-4.1-mini-2025-04-14` shut down on 2027-01-14,
 *    "with the fine-tunes built on them"; new fine-tuning jobs end on 2027-01-06. The same dates and
 *    models in copies of that page: codersera.com ("GPT-4o and GPT-4.1 API shutdown", 2026-10),
 *    dev.to/importstatic (2026-10-15), hashnode (2026-10-22). The page itself could not be read from here.
 *  - The same page's notice of 2026-04-22 ("Legacy GPT model snapshots"; spybara.com's history of the page
 *    shows the notice and its 2026-10-23 rows), as copied by dev.to/importstatic (2026-10-15):
 *    `gpt-4.1-nano` (2025-04-14) and `gpt-4o-2024-05-13` shut down on 2026-10-23.
 *  - OpenAI's vision fine-tuning guide (read here): "All fine-tuned models will remain available for
 *    inference until their base models are deprecated" — an `ft:` model goes with its base model.
 *  - The deprecations page says GET /v1/models gives each model an optional `shutdown_date`
 *    (YYYY-MM-DD, or null when none is announced): `streetsafe models` shows it beside this table.
 * Replacements: the copies name different ones (gpt-6-luna, gpt-5.6-sol, …), so none is given here.
 * Azure OpenAI retires models on its own schedule; this table is OpenAI's and is not applied to Azure.
 */
import { FINE_TUNE_ALIASES, fineTunedBase } from "./prices";

export const LIFECYCLE_AS_OF = "2026-12-01";
export const LIFECYCLE_CHECK_URL = "https://developers.openai.com/api/docs/deprecations";
/** Warn this many days before a shutdown (and after it). */
export const LIFECYCLE_WARN_DAYS = 60;
/** OpenAI accepts no new self-serve fine-tuning jobs from this day on (notice of 2026-10-14). */
export const FINE_TUNE_JOBS_END = "2027-01-06";

export interface ModelLifecycle {
  /** A dated snapshot, or an undated alias whose snapshots all go. */
  model: string;
  /** ISO date from which the API no longer serves the model; null: none announced. */
  shutdown: string | null;
  /** When the shutdown was announced. */
  announced: string | null;
  /** Where the date comes from. */
  source: string;
  /** Whether a source found confirmed the date (as prices.ts's `verified`). */
  verified: boolean;
}

const NOTICE_2026_10_14 = "OpenAI deprecations notice of 2026-10-14 (quoted in issue #11; copies: codersera.com, dev.to/importstatic, hashnode)";
const NOTICE_2026_04_22 = "OpenAI deprecations notice of 2026-04-22, Legacy GPT model snapshots (copy: dev.to/importstatic, 2026-10-15)";

function row(model: string, shutdown: string, announced: string, source: string): ModelLifecycle {
  return { model, shutdown, announced, source, verified: true };
}

export const MODEL_LIFECYCLE: Readonly<Record<string, ModelLifecycle>> = {
  // The alias the `gpt4` baseline asks for by default: every snapshot behind it goes.
  "gpt-4o": row("gpt-4o", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4o-2024-08-06": row("gpt-4o-2024-08-06", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4o-2024-11-20": row("gpt-4o-2024-11-20", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4o-2024-05-13": row("gpt-4o-2024-05-13", "2026-10-23", "2026-04-22", NOTICE_2026_04_22),
  "gpt-4o-mini-2024-07-18": row("gpt-4o-mini-2024-07-18", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4.1-2025-04-14": row("gpt-4.1-2025-04-14", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4.1-mini-2025-04-14": row("gpt-4.1-mini-2025-04-14", "2027-01-14", "2026-10-14", NOTICE_2026_10_14),
  "gpt-4.1-nano-2025-04-14": row("gpt-4.1-nano-2025-04-14", "2026-10-23", "2026-04-22", NOTICE_2026_04_22),
};

export type LifecycleState = "unknown" | "not-applicable" | "no-shutdown" | "ok" | "soon" | "past";

export interface LifecycleStatus {
  state: LifecycleState;
  /** The model id as configured. */
  model: string;
  /** The table's row that applies (the model's, its alias's snapshot, or a fine-tune's base model). */
  entry: ModelLifecycle | null;
  /** The base model of a fine-tune (`ft:<base>:…`), whose shutdown the fine-tune shares. */
  base: string | null;
  shutdown: string | null;
  /** Whole days from today to the shutdown (≤ 0: past). */
  daysLeft: number | null;
  /** Why there is no date (not-applicable, unknown). */
  note: string | null;
}

/** Today (UTC) as the lifecycle compares it. */
export function isoToday(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Whole days from `today` to `date` (ISO dates; negative once past). */
function daysBetween(today: string, date: string): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
}

/**
 * The lifecycle of a model id as configured: a snapshot, an alias (its snapshot's row), or an `ft:`
 * model (its base model's row). "soon": within LIFECYCLE_WARN_DAYS; "past": on or after the shutdown day.
 */
export function lifecycleOf(modelId: string, opts: { provider?: "openai" | "azure"; today?: string } = {}): LifecycleStatus {
  const none = { entry: null, base: null, shutdown: null, daysLeft: null };
  if (opts.provider === "azure") return { state: "not-applicable", model: modelId, ...none, note: "Azure OpenAI retires models on its own schedule (see Azure's model retirements page); this table is OpenAI's" };
  const base = fineTunedBase(modelId);
  const name = base ?? modelId;
  const entry = MODEL_LIFECYCLE[name] ?? MODEL_LIFECYCLE[FINE_TUNE_ALIASES[name] ?? ""] ?? null;
  if (!entry) return { state: "unknown", model: modelId, ...none, base, note: `not in the lifecycle table (lib/src/openai/lifecycle.ts, as of ${LIFECYCLE_AS_OF})` };
  if (!entry.shutdown) return { state: "no-shutdown", model: modelId, ...none, entry, base, note: null };
  const daysLeft = daysBetween(opts.today ?? isoToday(), entry.shutdown);
  const state = daysLeft <= 0 ? "past" : daysLeft <= LIFECYCLE_WARN_DAYS ? "soon" : "ok";
  return { state, model: modelId, entry, base, shutdown: entry.shutdown, daysLeft, note: null };
}

export interface LifecycleWarningOptions {
  /** The config name (`gpt4`, `gpt4o-mini-ft`): the warning says how to switch it. */
  configName?: string;
  /** What to do instead, when not a configured model (e.g. a fine-tuning base model: `--base-model`). */
  switchHint?: string;
  provider?: "openai" | "azure";
  today?: string;
}

/** How the user switches a configured model, named in every warning. */
export function howToSwitch(configName: string | undefined, fineTune: boolean): string {
  const name = configName ?? "<name>";
  if (fineTune) return `fine-tune another base model (npx streetsafe finetune --base-model <model>) or set "model" of "${name}" in models/models.json`;
  return `switch with ${configName === "gpt4" ? "--gpt4-model <id> or " : ""}the "model" of "${name}" in models/models.json`;
}

/**
 * The one-line warning `predict`, `compare`, `finetune` and the notebooks print for a model (or a
 * fine-tune's base model) within LIFECYCLE_WARN_DAYS of its shutdown or past it; null otherwise. Without a
 * "warning:" prefix (each caller adds its own). `switchHint` replaces the how-to-switch advice.
 */
export function lifecycleWarning(modelId: string, opts: LifecycleWarningOptions = {}): string | null {
  const s = lifecycleOf(modelId, opts);
  if ((s.state !== "soon" && s.state !== "past") || !s.entry || s.daysLeft === null) return null;
  const who = `${opts.configName ? `${opts.configName} (${modelId}` : modelId}${s.base ? `, a fine-tune of ${s.base}` : ""}${opts.configName ? ")" : ""}`;
  const when = s.state === "past" ? `was shut down on ${s.shutdown}: its requests fail` : `shuts down on ${s.shutdown} (in ${s.daysLeft} day${s.daysLeft === 1 ? "" : "s"})`;
  return `${who} ${when} per ${s.entry.source}; check ${LIFECYCLE_CHECK_URL}; ${opts.switchHint ?? howToSwitch(opts.configName, !!s.base)}.`;
}

/** OpenAI's fine-tuning jobs deadline for `finetune` (null when more than LIFECYCLE_WARN_DAYS away). */
export function fineTuneJobsWarning(today = isoToday()): string | null {
  const d = daysBetween(today, FINE_TUNE_JOBS_END);
  if (d > LIFECYCLE_WARN_DAYS) return null;
  const alternatives = "--provider azure (Azure OpenAI keeps the fine-tuning API) or the local Qwen2-VL fine-tune";
  return d <= 0
    ? `OpenAI accepts no new fine-tuning jobs since ${FINE_TUNE_JOBS_END}; use ${alternatives}.`
    : `OpenAI accepts new fine-tuning jobs until ${FINE_TUNE_JOBS_END} (${d} day${d === 1 ? "" : "s"} left); after that use ${alternatives}.`;
}

/**
 * A "model not found" from the API (HTTP 404, or code `model_not_found`, or a 400/404 whose message says
 * the model does not exist) for a model the table says is shut down, explained by the table; null when the
 * table has nothing to say (the caller keeps the provider's message).
 */
export function explainModelNotFound(modelId: string, err: { status?: number; code?: string | null; message?: string }, opts: LifecycleWarningOptions = {}): string | null {
  const notFound = err.code === "model_not_found" || ((err.status === 404 || err.status === 400) && /model\b.*\b(does not exist|not found|deprecated|no longer|shut ?down)/i.test(err.message ?? ""));
  if (!notFound) return null;
  const s = lifecycleOf(modelId, opts);
  if (s.state !== "past" || !s.entry) return null;
  const base = s.base ? ` (a fine-tune of ${s.base}, which goes with its base model)` : "";
  return `model shut down: ${modelId}${base} was shut down on ${s.shutdown} (${s.entry.source}); the API answered HTTP ${err.status ?? "?"}: ${(err.message ?? "model not found").slice(0, 200)}. To continue, ${howToSwitch(opts.configName, !!s.base)}.`;
}

/** The table as rows (the `models` command, notebooks, README), with each row's state today. */
export function lifecycleRows(today = isoToday()): { model: string; shutdown: string | null; state: LifecycleState; days_left: number | null; announced: string | null; verified: boolean; source: string }[] {
  return Object.values(MODEL_LIFECYCLE).map((e) => {
    const s = lifecycleOf(e.model, { today });
    return { model: e.model, shutdown: e.shutdown, state: s.state, days_left: s.daysLeft, announced: e.announced, verified: e.verified, source: e.source };
  });
}

/** A lifecycle state in a few words (tables). */
export function lifecycleText(s: LifecycleStatus): string {
  switch (s.state) {
    case "unknown":
      return "not in the lifecycle table";
    case "not-applicable":
      return "Azure: its own retirement schedule";
    case "no-shutdown":
      return "no announced shutdown";
    case "ok":
      return `shuts down ${s.shutdown} (in ${s.daysLeft} days)`;
    case "soon":
      return `SHUTS DOWN ${s.shutdown} (in ${s.daysLeft} days)`;
    case "past":
      return `SHUT DOWN since ${s.shutdown}`;
  }
}
