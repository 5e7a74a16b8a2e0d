/**
 * The evaluation's files — evaluation.json, evaluation.csv, evaluation.xlsx, report.md, report.txt and
 * plots/ (standalone offline chart pages) — made with step 5's parts: its number formats, its styled
 * workbook sheets, its chart pages with plotly.js inlined.
 */
import { writeFile } from "node:fs/promises";
import ExcelJS from "exceljs";
import { stringify } from "csv-stringify/sync";
import { addSheet, chartPage, fmtCoef, fmtRate, PAGE_STYLE, withCi, type RunChart } from "../../analyze";
import { StagedOutput } from "../../core/atomic-output";
import type { Figure } from "../../core/figure";
import { escapeHtml } from "../../core/html";
import type { RatingModel } from "../fit/ratings";
import { DEFAULT_PAIRWISE_DIR, pairwiseRunId } from "../outputs";
import { evaluatePairwise, type ModelEvaluation, type PairwiseEvaluateOptions, type PairwiseEvaluation } from "./run";

export const EVALUATE_FILES = { json: "evaluation.json", csv: "evaluation.csv", xlsx: "evaluation.xlsx", md: "report.md", txt: "report.txt", plots: "plots" } as const;

const CHANCE = 0.5;
const BASELINES = new Set(["mean"]);

/** One row per model: every number of the evaluation, CI ends in _lo/_hi columns. */
export function evaluationRows(e: PairwiseEvaluation): Record<string, string | number | null>[] {
  return e.models.map((m) => {
    const row: Record<string, string | number | null> = {
      model: m.model,
      protocol: m.protocol,
      requests: m.requests,
      failed: m.failed,
      pairs: m.agreement.n,
      agreement: m.agreement.accuracy,
      agreement_lo: m.agreement.ci?.[0] ?? null,
      agreement_hi: m.agreement.ci?.[1] ?? null,
      model_equal_on_decided: m.agreement.modelEqualOnDecided,
      common_pairs: m.commonAgreement?.n ?? 0,
      common_agreement: m.commonAgreement?.accuracy ?? null,
      common_agreement_lo: m.commonAgreement?.ci?.[0] ?? null,
      common_agreement_hi: m.commonAgreement?.ci?.[1] ?? null,
      soft_agreement: m.softAgreement.value,
      soft_agreement_lo: m.softAgreement.ci?.[0] ?? null,
      soft_agreement_hi: m.softAgreement.ci?.[1] ?? null,
      position_bias_rate: m.positionBias?.positionBiasRate ?? null,
      first_position_rate: m.positionBias?.firstPositionRate ?? null,
      pairs_both_orders: m.positionBias?.bothOrders ?? null,
      order_flips: m.positionBias?.positionFollowing ?? null,
    };
    for (const [rating, c] of Object.entries(m.scores) as [RatingModel, NonNullable<ModelEvaluation["scores"][RatingModel]>][]) {
      const p = rating.replace("-", "_");
      row[`${p}_n`] = c.n;
      for (const stat of ["spearman", "kendallTauB", "pearson"] as const) {
        const name = `${p}_${stat === "kendallTauB" ? "kendall" : stat}`;
        row[name] = c[stat].value;
        row[`${name}_lo`] = c[stat].ci?.[0] ?? null;
        row[`${name}_hi`] = c[stat].ci?.[1] ?? null;
      }
    }
    return row;
  });
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))];
}

const pct = (v: number | null | undefined) => fmtRate(v ?? null);

function notes(e: PairwiseEvaluation): string[] {
  const lines = [
    `Human votes: ${e.votes.votes.count} on ${e.humanPairs} pairs (${e.humanDecidedPairs} with a majority), from ${e.votes.file.split(/[\\/]/).pop()}.`,
    `Pair agreement = the model's answer per pair (both orders; an answer that flips with the order is a tie) against the human majority; a tie on a decided pair earns ${e.rules.equalCredit} (chance = ${CHANCE}); pairs humans split evenly are left out. ${Math.round(e.rules.bootstrap.level * 100)}% percentile bootstrap CIs (${e.rules.bootstrap.iterations} resamples, seed ${e.rules.bootstrap.seed}).`,
    `Score agreement: the rating models (${e.rules.ratingModels.join(", ")}) fitted to the model's resolved votes against the same models fitted to the human votes (absolute models: their own scores), on the images both cover.`,
    `Common pairs (answered by every model): ${e.commonPairs}.`,
  ];
  for (const s of e.skipped) lines.push(`Skipped ${s.model}: ${s.reason}`);
  return lines;
}

/** report.md: the tables a reader publishes, with the rules they were computed by. */
export function formatEvaluationMarkdown(e: PairwiseEvaluation): string {
  const r0 = e.rules.ratingModels[0]!;
  const head = ["model", "protocol", "pairs", "agreement [CI]", "on common pairs", "soft (P) agreement", "position bias", `Spearman (${r0})`, `Kendall τ (${r0})`, `Pearson (${r0})`];
  const rows = e.models.map((m) => {
    const c = m.scores[r0];
    return [
      m.model,
      m.protocol,
      String(m.agreement.n),
      withCi(m.agreement.accuracy, m.agreement.ci, pct),
      m.commonAgreement ? withCi(m.commonAgreement.accuracy, m.commonAgreement.ci, pct) : "–",
      m.softAgreement.value === null ? "–" : withCi(m.softAgreement.value, m.softAgreement.ci, pct),
      m.positionBias ? `${pct(m.positionBias.positionBiasRate)} (${m.positionBias.positionFollowing}/${m.positionBias.bothOrders})` : "–",
      c ? withCi(c.spearman.value, c.spearman.ci, fmtCoef) : "–",
      c ? withCi(c.kendallTauB.value, c.kendallTauB.ci, fmtCoef) : "–",
      c ? withCi(c.pearson.value, c.pearson.ci, fmtCoef) : "–",
    ];
  });
  const table = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
  return [`# Pairwise evaluation`, "", ...notes(e).map((l) => `- ${l}`), "", ...table, "", "All rating models' correlations are in evaluation.csv / evaluation.xlsx.", ""].join("\n");
}

export function formatEvaluationText(e: PairwiseEvaluation): string {
  const r0 = e.rules.ratingModels[0]!;
  const lines = ["PAIRWISE EVALUATION", ...notes(e), ""];
  for (const m of e.models) {
    const c = m.scores[r0];
    lines.push(
      `${m.model} [${m.protocol}] agreement ${withCi(m.agreement.accuracy, m.agreement.ci, pct)} on ${m.agreement.n} pairs` +
        (m.commonAgreement ? `; on common pairs ${withCi(m.commonAgreement.accuracy, m.commonAgreement.ci, pct)}` : "") +
        (m.softAgreement.value !== null ? `; soft ${withCi(m.softAgreement.value, m.softAgreement.ci, pct)}` : "") +
        (m.positionBias ? `; position bias ${pct(m.positionBias.positionBiasRate)}` : "") +
        (c ? `; ${r0} Spearman ${withCi(c.spearman.value, c.spearman.ci, fmtCoef)}, Kendall ${withCi(c.kendallTauB.value, c.kendallTauB.ci, fmtCoef)}, Pearson ${withCi(c.pearson.value, c.pearson.ci, fmtCoef)}` : ""),
    );
  }
  return lines.join("\n") + "\n";
}

/** Agreement with the human majority per model, CI whiskers, chance at 0.5; baselines grey. */
export function agreementBars(e: PairwiseEvaluation, which: "agreement" | "commonAgreement" = "agreement"): Figure {
  const ms = e.models.filter((m) => m[which] && m[which]!.accuracy !== null);
  const y = ms.map((m) => m[which]!.accuracy!);
  return {
    data: [
      {
        type: "bar",
        x: ms.map((m) => m.model),
        y,
        marker: { color: ms.map((m) => (BASELINES.has(m.model) ? "#9E9E9E" : m.protocol === "absolute" ? "#F58518" : "#4C78A8")) },
        error_y: { type: "data", symmetric: false, array: ms.map((m, i) => (m[which]!.ci ? m[which]!.ci![1] - y[i]! : 0)), arrayminus: ms.map((m, i) => (m[which]!.ci ? y[i]! - m[which]!.ci![0] : 0)) },
        hovertemplate: "%{x}: %{y:.1%}<extra></extra>",
      },
    ],
    layout: {
      title: { text: `${which === "agreement" ? "Agreement with the human majority" : `Agreement on the ${e.commonPairs} pairs every model answered`} (blue: pairwise, orange: absolute scores; ${Math.round(e.rules.bootstrap.level * 100)}% CI)` },
      yaxis: { title: { text: "share of pairs" }, range: [0, 1], tickformat: ".0%" },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: CHANCE, y1: CHANCE, line: { dash: "dot", color: "#888" } }],
      height: 460,
      margin: { t: 70, r: 30, b: 90, l: 70 },
    },
  };
}

export function positionBiasBars(e: PairwiseEvaluation): Figure {
  const ms = e.models.filter((m) => m.positionBias && m.positionBias.positionBiasRate !== null);
  return {
    data: [
      { type: "bar", name: "answer flips with the order", x: ms.map((m) => m.model), y: ms.map((m) => m.positionBias!.positionBiasRate), hovertemplate: "%{x}: %{y:.1%}<extra></extra>" },
      { type: "bar", name: "first image chosen (of decisive answers)", x: ms.map((m) => m.model), y: ms.map((m) => m.positionBias!.firstPositionRate), hovertemplate: "%{x}: %{y:.1%}<extra></extra>" },
    ],
    layout: { title: { text: "Position bias: pairs asked in both orders" }, barmode: "group", yaxis: { range: [0, 1], tickformat: ".0%" }, height: 460, margin: { t: 70, r: 30, b: 90, l: 70 } },
  };
}

export function scoreScatter(m: ModelEvaluation): Figure {
  return {
    data: [{ type: "scatter", mode: "markers", x: m.imageScores.human, y: m.imageScores.model, text: m.imageScores.images, hovertemplate: "%{text}: human %{x:.2f}, model %{y:.2f}<extra></extra>" }],
    layout: {
      title: { text: `${m.model}: ${m.protocol === "absolute" ? "its scores" : `${m.imageScores.rating} from its votes`} vs ${m.imageScores.rating} from human votes (n=${m.imageScores.images.length})` },
      xaxis: { title: { text: "human-derived score (1–10)" } },
      yaxis: { title: { text: "model score (1–10)" } },
      height: 460,
      margin: { t: 70, r: 30, b: 70, l: 70 },
    },
  };
}

export function evaluationCharts(e: PairwiseEvaluation): RunChart[] {
  const charts: RunChart[] = [{ name: "agreement", title: "Agreement with the human majority", group: "Agreement", model: null, figure: agreementBars(e) }];
  if (e.commonPairs > 0) charts.push({ name: "agreement_common", title: "Agreement on the common pairs", group: "Agreement", model: null, figure: agreementBars(e, "commonAgreement") });
  if (e.models.some((m) => m.positionBias)) charts.push({ name: "position_bias", title: "Position bias", group: "Position bias", model: null, figure: positionBiasBars(e) });
  for (const m of e.models) if (m.imageScores.images.length > 1) charts.push({ name: `scores_${m.model.replace(/[^A-Za-z0-9_.-]+/g, "_")}`, title: `${m.model}: scores vs human-derived scores`, group: "Scores", model: m.model, figure: scoreScatter(m) });
  return charts;
}

export async function evaluationWorkbook(e: PairwiseEvaluation): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const rows = evaluationRows(e);
  const num = (k: string) => (/agreement|rate/.test(k) ? "0.0%" : /spearman|kendall|pearson/.test(k) ? "0.000" : undefined);
  addSheet(wb, "evaluation", columnsOf(rows).map((k) => ({ header: k, key: k, ...(num(k) ? { numFmt: num(k)! } : {}) })), rows);
  const bias = e.models.filter((m) => m.positionBias).map((m) => ({ model: m.model, ...m.positionBias!, answers_first: m.positionBias!.answers.first, answers_second: m.positionBias!.answers.second, answers_equal: m.positionBias!.answers.equal }));
  const biasCols = ["model", "requests", "answers_first", "answers_second", "answers_equal", "pairs", "bothOrders", "consistent", "bothEqual", "positionFollowing", "followsFirst", "followsSecond", "partialEqual", "singleOrder", "positionBiasRate", "firstPositionRate"];
  addSheet(wb, "position bias", biasCols.map((k) => ({ header: k, key: k, ...(/Rate/.test(k) ? { numFmt: "0.0%" } : {}) })), bias);
  const scores = e.models.flatMap((m) => m.imageScores.images.map((img, i) => ({ model: m.model, rating: m.imageScores.rating, image: img, model_score: m.imageScores.model[i], human_score: m.imageScores.human[i] })));
  addSheet(wb, "scores", ["model", "rating", "image", "model_score", "human_score"].map((k) => ({ header: k, key: k, ...(k.endsWith("score") ? { numFmt: "0.00" } : {}) })), scores);
  addSheet(wb, "notes", [{ header: "note", key: "note", width: 140 }], notes(e).map((note) => ({ note })));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function indexHtml(runId: string, charts: RunChart[]): string {
  const items = charts.map((c) => `<li><a class="chart-link" href="${escapeHtml(c.name)}.html">${escapeHtml(c.title)}</a></li>`).join("\n");
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Charts · streetsafe pairwise evaluation ${escapeHtml(runId)}</title>\n<style>${PAGE_STYLE}</style>\n</head>\n<body>\n<h1>Charts of pairwise evaluation ${escapeHtml(runId)}</h1>\n<p class="meta">each chart is a standalone page that opens offline · report: <a href="../${EVALUATE_FILES.md}">${EVALUATE_FILES.md}</a></p>\n<ul>\n${items}\n</ul>\n</body>\n</html>\n`;
}

/** The evaluation as JSON (every number; the per-image scores stay in the workbook). */
export function evaluationDocument(e: PairwiseEvaluation, command: string[]) {
  return {
    schema: "streetsafe.pairwise.evaluation/1",
    created_at: new Date().toISOString(),
    command,
    votes: { file: e.votes.file.split(/[\\/]/).pop(), sha256: e.votes.sha256, votes: e.votes.votes.count, pairs: e.humanPairs, decided_pairs: e.humanDecidedPairs },
    sources: e.sources,
    rules: e.rules,
    common_pairs: e.commonPairs,
    skipped: e.skipped,
    models: e.models.map(({ imageScores: _s, ...m }) => m),
  };
}

export interface PairwiseEvaluateRunOptions extends PairwiseEvaluateOptions {
  outputDir?: string;
  command?: string[];
}

export interface PairwiseEvaluateResult {
  runDir: string;
  evaluation: PairwiseEvaluation;
  files: string[];
}

/** Evaluate and write the folder `evaluate-<id>/` atomically (all files or none). */
export async function runPairwiseEvaluate(o: PairwiseEvaluateRunOptions): Promise<PairwiseEvaluateResult> {
  const e = await evaluatePairwise(o);
  const runId = pairwiseRunId("evaluate");
  const rows = evaluationRows(e);
  const charts = evaluationCharts(e);
  const staged = await StagedOutput.begin(o.outputDir ?? DEFAULT_PAIRWISE_DIR);
  try {
    const put = async (name: string, data: string | Buffer) => writeFile(await staged.path(`${runId}/${name}`), data);
    await put(EVALUATE_FILES.json, JSON.stringify(evaluationDocument(e, o.command ?? []), null, 2) + "\n");
    await put(EVALUATE_FILES.csv, stringify(rows, { header: true, columns: columnsOf(rows) }));
    await put(EVALUATE_FILES.xlsx, await evaluationWorkbook(e));
    await put(EVALUATE_FILES.md, formatEvaluationMarkdown(e));
    await put(EVALUATE_FILES.txt, formatEvaluationText(e));
    for (const c of charts) await put(`${EVALUATE_FILES.plots}/${c.name}.html`, chartPage(c, { run_id: runId, kind: "pairwise evaluation" }));
    await put(`${EVALUATE_FILES.plots}/index.html`, indexHtml(runId, charts));
    const [runDir] = await staged.commit([runId]);
    const files = [EVALUATE_FILES.json, EVALUATE_FILES.csv, EVALUATE_FILES.xlsx, EVALUATE_FILES.md, EVALUATE_FILES.txt, ...charts.map((c) => `${EVALUATE_FILES.plots}/${c.name}.html`), `${EVALUATE_FILES.plots}/index.html`];
    return { runDir: runDir!, evaluation: e, files };
  } catch (err) {
    await staged.abort();
    throw err;
  }
}
