/**
 * The reports of a comparison run: metrics.csv, metrics.xlsx, report.md and report.txt, written from the
 * run folder's data (run.json, metrics.json, predictions.jsonl) — plus reading a run folder back.
 *
 * What the reports promise (a reader publishes these numbers):
 * - The overall table shows every model that ran, the constant baseline, and every skipped model with its
 *   reason; a coverage below 100% and a skipped model each get a WARNING line at the top.
 * - Overall metrics are on the common images every model answered (metrics.json), with 95% bootstrap CIs;
 *   "valid x/y" is each model's own success over all test images. Per-model error summaries and the five
 *   best / worst images are on that model's own valid answers and say so.
 * - Numbers: errors (points) 2 decimals; rates as percentages with 1 decimal (3 decimals of the share);
 *   correlations and kappa 3 decimals; p-values 3 decimals or "<0.001"; USD 4 decimals; "n/a" where a
 *   statistic is undefined (never 0, never NaN).
 * - Error = predicted − expected, as in metrics.ts.
 */
import path from "node:path";
import ExcelJS from "exceljs";
import { CI_METRICS } from "./statistics";
import { kindOfType } from "../models";
import { RUN_FILES, type ModelMetricsJson, type PredictionRecord, type RunInfo } from "./run-folder/schema";
import { writeCsv, writeFileAtomic } from "../core/atomic-output";
import { PRICE_NOTE, BATCH_DISCOUNT } from "../openai/prices";
import { isValidPrediction, latestRecords, type RunData } from "./run-folder/read";


/** The constant baseline every comparison includes. */
export const CONSTANT_BASELINE = "mean";
/** How many best and worst images each model's section lists. */
export const BEST_WORST_COUNT = 5;
/** Longest text Excel keeps in one cell. */
const XLSX_CELL_MAX = 32_767;

// ───────────────────────────── number formatting ─────────────────────────────

const NA = "n/a";

function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // never print "-0.00"
}

/** An error in points (MAE, RMSE, bias, …): 2 decimals. */
export function fmtError(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : fixed(v, 2);
}

/** A share in [0, 1] as a percentage with one decimal (0.7333 → "73.3%"). */
export function fmtRate(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : `${fixed(100 * v, 1)}%`;
}

/** A correlation or kappa: 3 decimals. */
export function fmtCoef(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : fixed(v, 3);
}

export function fmtP(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  return v < 0.001 ? "<0.001" : fixed(v, 3);
}

export function fmtUsd(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : `$${fixed(v, 4)}`;
}

/** A score as given: integers as integers, others with 2 decimals. */
export function fmtScore(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  return Number.isInteger(v) ? String(v) : fixed(v, 2);
}

/** A signed error in points with 2 decimals and its sign ("+0.50", "-1.25", "0.00"). */
export function fmtSignedError(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  const s = fixed(v, 2);
  return v > 0 && s !== "0.00" ? `+${s}` : s;
}

/** One image's error: as exact as the scores (integers stay integers). */
function signedError(v: number): string {
  const s = Number.isInteger(v) ? String(v) : fixed(v, 2);
  return v > 0 ? `+${s}` : s;
}

function withCi(v: number | null, ci: [number, number] | null | undefined, f: (x: number | null) => string): string {
  if (v === null) return NA;
  return ci ? `${f(v)} [${f(ci[0])}, ${f(ci[1])}]` : `${f(v)} [CI ${NA}]`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// ───────────────────────────── run facts ─────────────────────────────

/** Is this model a baseline (by its kind in run.json, or the constant baseline's name)? */
export function isBaseline(run: RunInfo, model: string): boolean {
  const info = run.models.find((m) => m.name === model);
  if (model === CONSTANT_BASELINE) return true;
  if (info?.kind) return info.kind === "baseline";
  // A run made before run.json recorded each model's kind: its type in the settings says it.
  const type = info?.settings?.type;
  return typeof type === "string" && kindOfType(type) === "baseline";
}

/** The models that ran, in metrics.json's order. */
function ranModels(data: RunData): string[] {
  return Object.keys(data.metrics.models);
}

/** Skipped models with reasons: metrics.json's list, plus any run.json marks skipped that it lacks. */
export function skippedModels(data: RunData): { name: string; reason: string }[] {
  const out = [...(data.metrics.skipped ?? [])];
  for (const m of data.run.models) {
    if (m.status === "skipped" && !out.some((s) => s.name === m.name)) out.push({ name: m.name, reason: m.reason ?? "no reason recorded" });
  }
  return out;
}

/** Every line that must shout: unfinished run, skipped models, incomplete coverage, missing baseline. */
export function reportWarnings(data: RunData): string[] {
  const { run, metrics } = data;
  const out: string[] = [];
  if (run.finished_at === null) out.push(`this run has not finished (run.json has no finished_at): the numbers may cover only part of it.`);
  for (const s of skippedModels(data)) out.push(`model "${s.name}" was SKIPPED and is not compared: ${s.reason}`);
  const flagged = new Set(metrics.incomplete_coverage ?? []);
  for (const [name, m] of Object.entries(metrics.models)) if (m.coverage < 1) flagged.add(name);
  for (const name of flagged) {
    const m = metrics.models[name];
    if (!m) {
      out.push(`model "${name}" has incomplete coverage (no metrics recorded).`);
      continue;
    }
    out.push(
      `model "${name}" answered ${m.valid} of ${m.n} test images (coverage ${fmtRate(m.coverage)}; ${plural(m.failed, "failure")}). ` +
        `Overall metrics use only the ${m.n_common} images every model answered.`,
    );
  }
  if (!metrics.models[CONSTANT_BASELINE] && !skippedModels(data).some((s) => s.name === CONSTANT_BASELINE)) {
    out.push(`the constant baseline "${CONSTANT_BASELINE}" is missing from this run: there is nothing to tell the models' numbers from chance level.`);
  }
  return out;
}

// ───────────────────────────── the report as blocks ─────────────────────────────

type Align = "l" | "r";
type Block =
  | { kind: "title"; text: string }
  | { kind: "h2"; text: string }
  | { kind: "h3"; text: string }
  | { kind: "para"; text: string }
  | { kind: "warning"; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "table"; head: string[]; rows: string[][]; align: Align[] };

function table(head: string[], rows: string[][], align?: Align[]): Block {
  return { kind: "table", head, rows, align: align ?? head.map((_, i) => (i === 0 ? "l" : "r")) };
}

interface ModelErrorSummary {
  name: string;
  total: number;
  valid: (PredictionRecord & { predicted: number })[];
  failed: PredictionRecord[];
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
}

function summariseModel(records: PredictionRecord[], name: string): ModelErrorSummary {
  const all = records.filter((r) => r.model === name);
  const valid = all.filter(isValidPrediction);
  const abs = valid.map((r) => Math.abs(r.predicted - r.expected)).sort((a, b) => a - b);
  const n = abs.length;
  const median = n === 0 ? null : n % 2 === 1 ? abs[(n - 1) / 2] : (abs[n / 2 - 1] + abs[n / 2]) / 2;
  return {
    name,
    total: all.length,
    valid,
    failed: all.filter((r) => !isValidPrediction(r)),
    mean: n === 0 ? null : abs.reduce((s, v) => s + v, 0) / n,
    median,
    min: n === 0 ? null : abs[0],
    max: n === 0 ? null : abs[n - 1],
  };
}

/** The `count` best (smallest |error|) and worst (largest) valid answers; ties broken by image name. */
export function bestAndWorst<T extends { image: string; expected: number; predicted: number }>(valid: readonly T[], count = BEST_WORST_COUNT): { best: T[]; worst: T[] } {
  const abs = (r: T) => Math.abs(r.predicted - r.expected);
  const byName = (a: T, b: T) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0);
  const best = [...valid].sort((a, b) => abs(a) - abs(b) || byName(a, b)).slice(0, count);
  const worst = [...valid].sort((a, b) => abs(b) - abs(a) || byName(a, b)).slice(0, count);
  return { best, worst };
}

function modelCost(data: RunData, name: string): number | null {
  const c = data.metrics.cost?.[name];
  if (c) return c.usd;
  const costs = latestRecords(data.records).filter((r) => r.model === name).map((r) => r.cost_usd);
  return costs.some((c) => c !== null) ? costs.reduce<number>((s, c) => s + (c ?? 0), 0) : null;
}

function displayName(data: RunData, name: string): string {
  return isBaseline(data.run, name) ? `${name} (baseline)` : name;
}

function overallSection(data: RunData): Block[] {
  const { metrics } = data;
  const b = metrics.bootstrap;
  const level = Math.round(b.level * 100);
  const head = ["model", "valid", `MAE [${level}% CI]`, `RMSE [${level}% CI]`, "Acc@1", "Acc@2", "QWK", "bias", "cost"];
  const rows = ranModels(data).map((name) => {
    const m = metrics.models[name];
    return [
      displayName(data, name),
      `${m.valid}/${m.n}${m.coverage < 1 ? " (!)" : ""}`,
      withCi(m.mae, m.ci95.mae, fmtError),
      withCi(m.rmse, m.ci95.rmse, fmtError),
      fmtRate(m.acc1),
      fmtRate(m.acc2),
      fmtCoef(m.qwk),
      fmtSignedError(m.bias),
      fmtUsd(modelCost(data, name)),
    ];
  });
  const skipped = skippedModels(data);
  for (const s of skipped) rows.push([displayName(data, s.name), "skipped", ...head.slice(2).map(() => "—")]);
  if (!metrics.models[CONSTANT_BASELINE] && !skipped.some((s) => s.name === CONSTANT_BASELINE)) {
    rows.push([`${CONSTANT_BASELINE} (baseline)`, "not run", ...head.slice(2).map(() => "—")]);
  }
  const scale = data.run.scale;
  return [
    { kind: "h2", text: "Overall" },
    {
      kind: "para",
      text:
        `Metrics on the ${metrics.common.n} of ${metrics.n_images} test images that every model answered, so the rows are comparable; ` +
        `"valid" counts each model's own usable answers over all ${metrics.n_images} images ((!) = below 100%). ` +
        `Errors are predicted − expected in points of the ${scale.min}–${scale.max} scale. ` +
        `${level}% percentile bootstrap CIs over images (${b.iterations} resamples, seed ${b.seed}). ` +
        `Acc@k = share of images with |error| ≤ k. QWK = quadratic weighted kappa of rounded scores. ` +
        `bias = mean error (> 0: the model rates streets safer than humans). cost = USD of this run's requests.`,
    },
    table(head, rows),
  ];
}

function pairedSection(data: RunData): Block[] {
  const paired = data.metrics.paired ?? [];
  if (paired.length === 0) return [];
  const level = Math.round(data.metrics.bootstrap.level * 100);
  const rows = paired.map((p) => [
    p.a,
    p.b,
    String(p.n),
    withCi(p.mae_diff, p.ci95, fmtSignedError),
    fmtP(p.wilcoxon?.p_value),
    fmtP(p.wilcoxon?.p_value_holm),
  ]);
  return [
    { kind: "h2", text: "Paired comparisons" },
    {
      kind: "para",
      text:
        `MAE(a) − MAE(b) on the same ${data.metrics.common.n} images, with a ${level}% paired bootstrap CI (> 0: a errs more than b). ` +
        `Wilcoxon signed-rank test on the per-image absolute errors (two-sided); Holm-adjusted across ${paired.length === 1 ? "the one pair (no adjustment)" : `the ${paired.length} pairs`}.`,
    },
    table(["a", "b", "n", `MAE diff [${level}% CI]`, "Wilcoxon p", "Holm p"], rows, ["l", "l", "r", "r", "r", "r"]),
  ];
}

function expectedScoreSection(data: RunData): Block[] {
  const es = data.metrics.expected_score ?? {};
  const names = Object.keys(es);
  if (names.length === 0) return [];
  const level = Math.round(data.metrics.bootstrap.level * 100);
  const rows = names.map((name) => {
    const m = es[name];
    return [
      name,
      String(m.n),
      withCi(m.mae, m.ci95?.mae, fmtError),
      withCi(m.rmse, m.ci95?.rmse, fmtError),
      fmtRate(m.acc1),
      fmtRate(m.acc2),
      fmtCoef(m.pearson),
      fmtSignedError(m.bias),
    ];
  });
  return [
    { kind: "h2", text: "Expected score from token probabilities" },
    { kind: "para", text: "Σ p(k)·k over the score tokens, for models that expose probabilities, on the common images where each has one." },
    table(["model", "n", `MAE [${level}% CI]`, `RMSE [${level}% CI]`, "Acc@1", "Acc@2", "Pearson", "bias"], rows),
  ];
}

function perModelSection(data: RunData): Block[] {
  const latest = latestRecords(data.records);
  const blocks: Block[] = [{ kind: "h2", text: "Per model" }];
  for (const name of ranModels(data)) {
    const m: ModelMetricsJson = data.metrics.models[name];
    const s = summariseModel(latest, name);
    const info = data.run.models.find((x) => x.name === name);
    blocks.push({ kind: "h3", text: `${displayName(data, name)}${info?.model_id ? ` — ${info.model_id}` : ""}` });
    const lines = [
      `valid ${m.valid}/${m.n} (${fmtRate(m.coverage)}), ${plural(m.failed, "failure")}`,
      s.valid.length === 0
        ? "absolute error: no valid answers"
        : `absolute error on its ${s.valid.length} valid images: mean ${fmtError(s.mean)}, median ${fmtError(s.median)}, min ${fmtError(s.min)}, max ${fmtError(s.max)}`,
    ];
    if (s.total !== m.n) lines.push(`predictions.jsonl holds ${s.total} answers for this model, metrics.json counts ${m.n} images`);
    if (s.failed.length > 0) {
      const counts = new Map<string, number>();
      for (const r of s.failed) {
        const why = r.error ?? "no score";
        counts.set(why, (counts.get(why) ?? 0) + 1);
      }
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
      lines.push(`failures: ${top.map(([why, n]) => `${n}× ${why.length > 160 ? `${why.slice(0, 157)}…` : why}`).join("; ")}${counts.size > 5 ? `; … ${counts.size - 5} other reasons` : ""}`);
    }
    blocks.push({ kind: "list", items: lines });
    if (s.valid.length === 0) continue;
    const { best, worst } = bestAndWorst(s.valid);
    const row = (r: PredictionRecord & { predicted: number }) => [r.image, fmtScore(r.expected), fmtScore(r.predicted), signedError(r.predicted - r.expected)];
    const head = ["image", "expected", "predicted", "error"];
    blocks.push({ kind: "para", text: `${best.length === BEST_WORST_COUNT ? "Five" : best.length} best (smallest |error|):` }, table(head, best.map(row)));
    blocks.push({ kind: "para", text: `${worst.length === BEST_WORST_COUNT ? "Five" : worst.length} worst (largest |error|):` }, table(head, worst.map(row)));
  }
  return blocks;
}

function costSection(data: RunData): Block[] {
  const names = ranModels(data);
  let total = 0;
  let anyPriced = false;
  const rows = names.map((name) => {
    const c = data.metrics.cost?.[name];
    const usd = modelCost(data, name);
    if (usd !== null) {
      total += usd;
      anyPriced = true;
    }
    return [name, c ? String(c.requests) : NA, c ? String(c.cached) : NA, c ? String(c.input_tokens) : NA, c ? String(c.output_tokens) : NA, usd === null ? `${NA} (no price)` : fmtUsd(usd)];
  });
  rows.push(["total", "", "", "", "", anyPriced ? fmtUsd(total) : NA]);
  const notes = [
    `Cost = returned token usage × the dated price table; answers served from the cache cost nothing this run; n/a = no price (local model, baseline or unknown server). ${PRICE_NOTE}`,
  ];
  if (data.run.batch) notes.push(`This run used the Batch API (${Math.round(BATCH_DISCOUNT * 100)}% off input and output).`);
  return [{ kind: "h2", text: "Cost" }, table(["model", "requests", "cached", "input tokens", "output tokens", "cost (USD)"], rows), ...notes.map((text): Block => ({ kind: "para", text }))];
}

function reproducibilitySection(data: RunData): Block[] {
  const { run, metrics } = data;
  const ts = run.test_set;
  const b = metrics.bootstrap;
  const items = [
    `run id: ${run.run_id}`,
    `created: ${run.created_at}; finished: ${run.finished_at ?? "not finished"}`,
    `command: ${run.command.join(" ")}`,
    `test set: ${ts.file}${ts.sheet ? ` (sheet ${ts.sheet})` : ""}, images ${ts.images_dir}, n = ${ts.n}${ts.limit !== null ? ` (limit ${ts.limit})` : ""}, sha256 ${ts.sha256}`,
    `scale: ${run.scale.min}–${run.scale.max}`,
    `prompt: version ${run.prompt.version}, sha256 ${run.prompt.sha256}${run.prompt.user_override !== null ? `, user text overridden: ${JSON.stringify(run.prompt.user_override)}` : ""}`,
    `seed: ${run.seed}`,
    `bootstrap: ${b.iterations} resamples of images, seed ${b.seed}, level ${b.level}, ${b.method} intervals`,
    `models: ${run.models.map((m) => `${m.name} = ${m.status === "skipped" ? "skipped" : (m.model_id ?? "?")}${m.concurrency !== undefined ? ` (concurrency ${m.concurrency})` : ""}`).join("; ")}`,
    `batch API: ${run.batch ? "yes" : "no"}; max cost: ${run.max_cost_usd === null ? "none" : fmtUsd(run.max_cost_usd)}`,
    `versions: ${Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join(", ") || NA}`,
  ];
  return [{ kind: "h2", text: "Reproducibility" }, { kind: "list", items }];
}

function reportBlocks(data: RunData): Block[] {
  const { run, metrics } = data;
  const head: Block[] = [
    { kind: "title", text: `streetsafe model comparison — run ${run.run_id}` },
    {
      kind: "para",
      text: `${metrics.n_images} test images from ${run.test_set.file} (sha256 ${run.test_set.sha256.slice(0, 12)}…), ${plural(ranModels(data).length, "model")} compared, ${plural(skippedModels(data).length, "model")} skipped. Created ${run.created_at}.`,
    },
  ];
  const warnings = reportWarnings(data).map((text): Block => ({ kind: "warning", text }));
  return [...head, ...warnings, ...overallSection(data), ...pairedSection(data), ...expectedScoreSection(data), ...perModelSection(data), ...costSection(data), ...reproducibilitySection(data)];
}

// ───────────────────────────── renderers ─────────────────────────────

/**
 * Markdown-safe text: escapes what would change the rendering (backslash, backtick, `*`, `_` at a word
 * edge, `<` opening a tag, `|` inside tables) and nothing else, so the raw .md stays readable.
 */
function mdEscape(s: string, inTable = false): string {
  let out = s
    .replace(/[\\`*]/g, "\\$&")
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\_")
    .replace(/<(?=[A-Za-z/!?])/g, "\\<")
    .replace(/\r?\n/g, " ");
  if (inTable) out = out.replace(/\|/g, "\\|");
  return out;
}
const mdCell = (s: string) => mdEscape(s, true);

function renderMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "title":
        out.push(`# ${mdEscape(b.text)}`, "");
        break;
      case "h2":
        out.push(`## ${mdEscape(b.text)}`, "");
        break;
      case "h3":
        out.push(`### ${mdEscape(b.text)}`, "");
        break;
      case "para":
        out.push(mdEscape(b.text), "");
        break;
      case "warning":
        out.push(`> **⚠ WARNING:** ${mdEscape(b.text)}`, "");
        break;
      case "list":
        out.push(...b.items.map((i) => `- ${mdEscape(i)}`), "");
        break;
      case "table":
        out.push(`| ${b.head.map(mdCell).join(" | ")} |`);
        out.push(`|${b.align.map((a) => (a === "r" ? "---:" : ":---")).join("|")}|`);
        for (const r of b.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
        out.push("");
        break;
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function wrap(text: string, width: number, indent = ""): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

function renderText(blocks: Block[]): string {
  const out: string[] = [];
  const width = 100;
  for (const b of blocks) {
    switch (b.kind) {
      case "title":
        out.push(b.text, "=".repeat(b.text.length), "");
        break;
      case "h2":
        out.push(b.text.toUpperCase(), "-".repeat(b.text.length), "");
        break;
      case "h3":
        out.push(`* ${b.text}`, "");
        break;
      case "para":
        out.push(...wrap(b.text, width), "");
        break;
      case "warning":
        out.push(...wrap(`!! WARNING: ${b.text}`, width, "   "), "");
        break;
      case "list":
        for (const i of b.items) out.push(...wrap(`  - ${i}`, width, "    "));
        out.push("");
        break;
      case "table": {
        const widths = b.head.map((h, c) => Math.max(h.length, ...b.rows.map((r) => (r[c] ?? "").length)));
        const cell = (s: string, c: number) => (b.align[c] === "r" ? s.padStart(widths[c]) : s.padEnd(widths[c]));
        const line = (r: string[]) => `  ${r.map(cell).join("  ")}`.trimEnd();
        out.push(line(b.head), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
        for (const r of b.rows) out.push(line(r));
        out.push("");
        break;
      }
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

/** report.md / report.txt as a string (also for notebooks: `show.markdown(formatRunReport(data, "md"))`). */
export function formatRunReport(data: RunData, format: "md" | "txt"): string {
  const blocks = reportBlocks(data);
  return format === "md" ? renderMarkdown(blocks) : renderText(blocks);
}

// ───────────────────────────── metrics.csv / metrics.xlsx ─────────────────────────────

/** Columns of metrics.csv (and the xlsx "metrics" sheet), in order. */
export const METRICS_CSV_COLUMNS = [
  "model",
  "status",
  "reason",
  "baseline",
  "model_id",
  "n",
  "valid",
  "failed",
  "coverage",
  "n_common",
  ...["mae", "rmse", "acc1", "acc2"].flatMap((m) => [m, `${m}_lo`, `${m}_hi`]),
  "median_error",
  ...["bias", "pearson", "spearman", "qwk"].flatMap((m) => [m, `${m}_lo`, `${m}_hi`]),
  "cost_usd",
  "requests",
  "cached",
  "input_tokens",
  "output_tokens",
] as const;

/** One row per model (ran, then skipped): the CSV's and the xlsx metrics sheet's rows. Raw numbers, null where undefined. */
export function metricsRows(data: RunData): Record<string, string | number | boolean | null>[] {
  const rows: Record<string, string | number | boolean | null>[] = [];
  for (const name of ranModels(data)) {
    const m = data.metrics.models[name];
    const c = data.metrics.cost?.[name];
    const row: Record<string, string | number | boolean | null> = {
      model: name,
      status: "ran",
      reason: null,
      baseline: isBaseline(data.run, name),
      model_id: data.run.models.find((x) => x.name === name)?.model_id ?? null,
      n: m.n,
      valid: m.valid,
      failed: m.failed,
      coverage: m.coverage,
      n_common: m.n_common,
      median_error: m.median_error,
      cost_usd: modelCost(data, name),
      requests: c?.requests ?? null,
      cached: c?.cached ?? null,
      input_tokens: c?.input_tokens ?? null,
      output_tokens: c?.output_tokens ?? null,
    };
    for (const metric of CI_METRICS) {
      row[metric] = m[metric];
      row[`${metric}_lo`] = m.ci95[metric]?.[0] ?? null;
      row[`${metric}_hi`] = m.ci95[metric]?.[1] ?? null;
    }
    rows.push(row);
  }
  for (const s of skippedModels(data)) {
    const row: Record<string, string | number | boolean | null> = Object.fromEntries(METRICS_CSV_COLUMNS.map((c) => [c, null]));
    Object.assign(row, { model: s.name, status: "skipped", reason: s.reason, baseline: isBaseline(data.run, s.name) });
    rows.push(row);
  }
  return rows;
}

const FMT = {
  int: "0",
  rate: "0.0%",
  error: "0.00",
  coef: "0.000",
  p: "0.0000",
  usd: '"$"0.0000',
} as const;

function metricsColumnFormat(col: string): string | undefined {
  const base = col.replace(/_(lo|hi)$/, "");
  if (["n", "valid", "failed", "n_common", "requests", "cached", "input_tokens", "output_tokens"].includes(col)) return FMT.int;
  if (["coverage", "acc1", "acc2"].includes(base)) return FMT.rate;
  if (["mae", "rmse", "bias", "median_error"].includes(base)) return FMT.error;
  if (["pearson", "spearman", "qwk"].includes(base)) return FMT.coef;
  if (col === "cost_usd") return FMT.usd;
  return undefined;
}

interface SheetColumn {
  header: string;
  key: string;
  width?: number;
  numFmt?: string;
}

/** Excel sheet names: ≤ 31 characters, none of []:*?/\, unique ignoring case. */
function sheetName(wanted: string, used: Set<string>): string {
  const clean = wanted.replace(/[[\]:*?/\\]/g, "_").replace(/^'+|'+$/g, "") || "sheet";
  let name = clean.slice(0, 31);
  for (let i = 2; used.has(name.toLowerCase()); i++) {
    const suffix = ` (${i})`;
    name = clean.slice(0, 31 - suffix.length) + suffix;
  }
  used.add(name.toLowerCase());
  return name;
}

function addSheet(wb: ExcelJS.Workbook, name: string, columns: SheetColumn[], rows: Record<string, unknown>[]): ExcelJS.Worksheet {
  const ws = wb.addWorksheet(name, { views: [{ state: "frozen", ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, key: c.key, width: c.width ?? Math.max(10, c.header.length + 2), style: c.numFmt ? { numFmt: c.numFmt } : {} }));
  for (const r of rows) {
    const cells: Record<string, unknown> = {};
    for (const c of columns) {
      const v = r[c.key];
      cells[c.key] = typeof v === "string" && v.length > XLSX_CELL_MAX ? `${v.slice(0, XLSX_CELL_MAX - 1)}…` : (v ?? null);
    }
    ws.addRow(cells);
  }
  const header = ws.getRow(1);
  header.font = { bold: true, color: { argb: "FFFFFFFF" } };
  header.fill = { type: "pattern", pattern: "solid", fgColor: { argb: "FF4C78A8" } };
  header.alignment = { vertical: "middle" };
  header.eachCell((cell) => {
    cell.numFmt = "@";
  });
  if (columns.length > 0) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
  return ws;
}

function predictionRows(records: PredictionRecord[]): Record<string, unknown>[] {
  return records.map((r) => {
    const ok = isValidPrediction(r);
    return {
      image: r.image,
      expected: r.expected,
      predicted: r.predicted,
      error: ok ? r.predicted! - r.expected : null,
      abs_error: ok ? Math.abs(r.predicted! - r.expected) : null,
      expected_score: r.expected_score,
      failure: r.error,
      reasons: r.reasons.join("; "),
      raw: r.raw,
      model_id: r.model_id,
      image_sha256: r.image_sha256,
      input_tokens: r.usage?.input_tokens ?? null,
      output_tokens: r.usage?.output_tokens ?? null,
      cost_usd: r.cost_usd,
      latency_ms: r.latency_ms,
      cached: r.cached,
      finished_at: r.finished_at,
    };
  });
}

const PREDICTION_COLUMNS: SheetColumn[] = [
  { header: "image", key: "image", width: 28 },
  { header: "expected", key: "expected", numFmt: "0.##" },
  { header: "predicted", key: "predicted", numFmt: "0.##" },
  { header: "error", key: "error", numFmt: "+0.00;-0.00;0.00" },
  { header: "abs_error", key: "abs_error", numFmt: FMT.error },
  { header: "expected_score", key: "expected_score", width: 15, numFmt: FMT.error },
  { header: "failure", key: "failure", width: 30 },
  { header: "reasons", key: "reasons", width: 50 },
  { header: "raw", key: "raw", width: 50 },
  { header: "model_id", key: "model_id", width: 24 },
  { header: "image_sha256", key: "image_sha256", width: 20 },
  { header: "input_tokens", key: "input_tokens", width: 13, numFmt: FMT.int },
  { header: "output_tokens", key: "output_tokens", width: 14, numFmt: FMT.int },
  { header: "cost_usd", key: "cost_usd", numFmt: '"$"0.000000' },
  { header: "latency_ms", key: "latency_ms", width: 12, numFmt: FMT.int },
  { header: "cached", key: "cached" },
  { header: "finished_at", key: "finished_at", width: 24 },
];

/** metrics.xlsx: sheets "metrics", "paired", "skipped" (if any), "expected_score" (if any), "run", then "pred <model>" per model. */
export async function metricsWorkbook(data: RunData): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "streetsafe compare";
  const used = new Set<string>();

  addSheet(
    wb,
    sheetName("metrics", used),
    METRICS_CSV_COLUMNS.map((c) => ({ header: c, key: c, numFmt: metricsColumnFormat(c), width: c === "reason" ? 40 : c === "model" || c === "model_id" ? 22 : undefined })),
    metricsRows(data),
  );

  const pairedCols: SheetColumn[] = [
    { header: "a", key: "a", width: 18 },
    { header: "b", key: "b", width: 18 },
    { header: "n", key: "n", numFmt: FMT.int },
    { header: "mae_diff", key: "mae_diff", numFmt: FMT.error },
    { header: "mae_diff_lo", key: "mae_diff_lo", numFmt: FMT.error },
    { header: "mae_diff_hi", key: "mae_diff_hi", numFmt: FMT.error },
    { header: "p_bootstrap", key: "p_bootstrap", numFmt: FMT.p },
    { header: "wilcoxon_statistic", key: "wilcoxon_statistic", width: 19, numFmt: "0.0" },
    { header: "wilcoxon_z", key: "wilcoxon_z", numFmt: FMT.coef },
    { header: "wilcoxon_p", key: "wilcoxon_p", numFmt: FMT.p },
    { header: "wilcoxon_p_holm", key: "wilcoxon_p_holm", width: 16, numFmt: FMT.p },
    { header: "wilcoxon_method", key: "wilcoxon_method", width: 16 },
    { header: "wilcoxon_n_nonzero", key: "wilcoxon_n_nonzero", width: 19, numFmt: FMT.int },
  ];
  addSheet(
    wb,
    sheetName("paired", used),
    pairedCols,
    (data.metrics.paired ?? []).map((p) => ({
      a: p.a,
      b: p.b,
      n: p.n,
      mae_diff: p.mae_diff,
      mae_diff_lo: p.ci95?.[0] ?? null,
      mae_diff_hi: p.ci95?.[1] ?? null,
      p_bootstrap: p.p_bootstrap,
      wilcoxon_statistic: p.wilcoxon?.statistic ?? null,
      wilcoxon_z: p.wilcoxon?.z ?? null,
      wilcoxon_p: p.wilcoxon?.p_value ?? null,
      wilcoxon_p_holm: p.wilcoxon?.p_value_holm ?? null,
      wilcoxon_method: p.wilcoxon?.method ?? null,
      wilcoxon_n_nonzero: p.wilcoxon?.n_nonzero ?? null,
    })),
  );

  const skipped = skippedModels(data);
  if (skipped.length > 0) {
    addSheet(wb, sheetName("skipped", used), [{ header: "model", key: "name", width: 20 }, { header: "reason", key: "reason", width: 80 }], skipped);
  }

  const es = data.metrics.expected_score ?? {};
  if (Object.keys(es).length > 0) {
    const metrics = ["mae", "rmse", "acc1", "acc2", "bias", "pearson", "spearman", "qwk"];
    addSheet(
      wb,
      sheetName("expected_score", used),
      [
        { header: "model", key: "model", width: 20 },
        { header: "n", key: "n", numFmt: FMT.int },
        ...metrics.flatMap((m) => [m, `${m}_lo`, `${m}_hi`].map((k) => ({ header: k, key: k, numFmt: metricsColumnFormat(k) }))),
        { header: "median_error", key: "median_error", numFmt: FMT.error, width: 13 },
      ],
      Object.entries(es).map(([model, m]) => {
        const row: Record<string, unknown> = { model, n: m.n, median_error: m.median_error };
        for (const k of metrics) {
          row[k] = (m as unknown as Record<string, number | null>)[k];
          row[`${k}_lo`] = m.ci95?.[k]?.[0] ?? null;
          row[`${k}_hi`] = m.ci95?.[k]?.[1] ?? null;
        }
        return row;
      }),
    );
  }

  const run = data.run;
  addSheet(
    wb,
    sheetName("run", used),
    [{ header: "field", key: "field", width: 22 }, { header: "value", key: "value", width: 100 }],
    [
      ["run_id", run.run_id],
      ["created_at", run.created_at],
      ["finished_at", run.finished_at ?? "not finished"],
      ["command", run.command.join(" ")],
      ["test_set", `${run.test_set.file}${run.test_set.sheet ? ` (sheet ${run.test_set.sheet})` : ""}`],
      ["images_dir", run.test_set.images_dir],
      ["test_set_sha256", run.test_set.sha256],
      ["n_images", String(run.test_set.n)],
      ["scale", `${run.scale.min}-${run.scale.max}`],
      ["prompt_version", run.prompt.version],
      ["prompt_sha256", run.prompt.sha256],
      ["seed", String(run.seed)],
      ["bootstrap", `${data.metrics.bootstrap.iterations} resamples, seed ${data.metrics.bootstrap.seed}, level ${data.metrics.bootstrap.level}, ${data.metrics.bootstrap.method}`],
      ["batch", String(run.batch)],
      ["prices", PRICE_NOTE],
      ...Object.entries(run.versions).map(([k, v]) => [`version ${k}`, v]),
    ].map(([field, value]) => ({ field, value })),
  );

  const latest = latestRecords(data.records);
  for (const name of ranModels(data)) {
    addSheet(wb, sheetName(`pred ${name}`, used), PREDICTION_COLUMNS, predictionRows(latest.filter((r) => r.model === name)));
  }
  return wb;
}

// ───────────────────────────── writing and reading a run folder ─────────────────────────────

/** Write metrics.csv, metrics.xlsx, report.md and report.txt into `runDir`, each atomically. Returns their paths. */
export async function writeRunReports(runDir: string, data: RunData): Promise<string[]> {
  const files = {
    csv: path.join(runDir, RUN_FILES.metricsCsv),
    xlsx: path.join(runDir, RUN_FILES.metricsXlsx),
    md: path.join(runDir, RUN_FILES.reportMd),
    txt: path.join(runDir, RUN_FILES.reportTxt),
  };
  // Build everything first, so a failure leaves the folder as it was.
  const blocks = reportBlocks(data);
  const xlsx = Buffer.from(await (await metricsWorkbook(data)).xlsx.writeBuffer());
  // csv-stringify writes booleans as 1 / "": spell them out so pandas and R read them as booleans.
  const csvRows = metricsRows(data).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "boolean" ? String(v) : v])));
  await writeCsv(files.csv, csvRows, [...METRICS_CSV_COLUMNS]);
  await writeFileAtomic(files.xlsx, xlsx);
  await writeFileAtomic(files.md, renderMarkdown(blocks));
  await writeFileAtomic(files.txt, renderText(blocks));
  return Object.values(files);
}
