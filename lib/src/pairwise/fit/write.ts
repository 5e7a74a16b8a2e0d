/**
 * A fit's run folder, the one writer: scores.csv, scores.xlsx (scores, models, README), scores.json (the
 * votes read, every model's parameters, diagnostics and mapping rule, the rows), and with a ground-truth
 * model, ground_truth.csv in the columns `prepare` reads. Written into a staging folder and moved into
 * place whole (core/atomic-output.ts), so a failed fit leaves nothing.
 */
import { writeFile } from "node:fs/promises";
import { excelJS } from "../../core/lazy";
import { stringify } from "csv-stringify/sync";
import { StagedOutput } from "../../core/atomic-output";
import { normalPpf } from "../math/gaussian";
import type { VotesFile } from "../votes/load";
import { type RatingFit, type RatingModel } from "./ratings";
import { GROUND_TRUTH_COLUMNS, groundTruthRows, scoreColumns, scoreRows, type ScoreRow } from "./table";

export const FIT_FILES = { csv: "scores.csv", xlsx: "scores.xlsx", json: "scores.json", groundTruth: "ground_truth.csv" } as const;
export const FIT_SCHEMA = "streetsafe.pairwise.fit/1";

/** What a fit records about its input and its command (paths as shown to the user). */
export interface FitProvenance {
  command: string[];
  votesFile: string;
  imagesDir: string;
  question?: string | readonly string[];
  groundTruthModel?: RatingModel;
}

const MAX_LISTED = 50;

function names(images: readonly string[], ids: readonly number[]): { count: number; images: string[] } {
  return { count: ids.length, images: ids.slice(0, MAX_LISTED).map((i) => images[i]!) };
}

/** Every model's settings, diagnostics, interval and mapping rule, as recorded in scores.json. */
export function modelRecords(fit: RatingFit): Record<string, Record<string, unknown>> {
  const z = normalPpf((1 + fit.level) / 2);
  const out: Record<string, Record<string, unknown>> = {};
  if (fit.bradleyTerry) {
    const r = fit.bradleyTerry.result;
    const d = r.diagnostics;
    out["bradley-terry"] = {
      model: "P(i judged safer than j) = σ(θ_i − θ_j); θ with mean 0 (Bradley & Terry 1952)",
      ties: "an equal vote is half a win for each image",
      prior_sd: r.priorSd,
      estimate: r.priorSd === null ? "maximum likelihood" : `maximum a posteriori, θ_i ~ N(0, ${r.priorSd}²)`,
      standard_errors: r.seMethod,
      ...(r.seProbes !== undefined ? { se_probe_solves: r.seProbes } : {}),
      newton_steps: r.iterations,
      cg_iterations: r.cgIterations,
      converged: r.converged,
      log_likelihood: r.logLikelihood,
      interval: `θ ± ${z.toFixed(4)}·se (Wald, level ${fit.level})`,
      mapping: fit.bradleyTerry.mapped.rule,
      diagnostics: {
        components: d.components,
        largest_component: d.largestComponent,
        outside_largest_component: names(r.images, d.outsideLargestComponent),
        always_won: names(r.images, d.alwaysWon),
        always_lost: names(r.images, d.alwaysLost),
        no_votes: names(r.images, d.noVotes),
        mle_exists: d.mleExists,
      },
    };
  }
  if (fit.trueSkill) {
    const p = fit.trueSkill.result.params;
    out.trueskill = {
      model: "TrueSkill 1-vs-1 with draws (Herbrich, Minka & Graepel 2006), votes processed in file order",
      mu: p.mu,
      sigma: p.sigma,
      beta: p.beta,
      tau: p.tau,
      draw_probability: p.drawProbability,
      draw_margin: p.drawMargin,
      interval: `μ ± ${z.toFixed(4)}·σ (level ${fit.level})`,
      mapping: fit.trueSkill.mapped.rule,
    };
  }
  if (fit.qScore) {
    const ci = fit.qScore.result.ci;
    out["q-score"] = {
      model: "Q_i = (10/3)·(W_i + mean W of the images i beat − mean L of the images i lost to + 1), ties in the denominators only (Salesses, Schechtner & Hidalgo 2013)",
      caveat: "formula as documented by re-implementations citing the paper's Methods; not checked against the paper's own text",
      interval: ci ? `percentile bootstrap over votes, ${ci.iterations} resamples, seed ${ci.seed}, level ${ci.level}` : "none (bootstrap off)",
      mapping: fit.qScore.mapped.rule,
    };
  }
  return out;
}

function csvText(rows: ScoreRow[], columns: string[]): string {
  return stringify(rows, { header: true, columns, cast: { number: (x) => String(Number.isInteger(x) ? x : Number(x.toFixed(6))) } });
}

/**
 * scores.xlsx through exceljs's streaming writer: rows are committed as they are added, so a fit of
 * 100,000 images does not hold the whole workbook in memory.
 */
async function writeWorkbook(file: string, fit: RatingFit, rows: ScoreRow[], models: Record<string, Record<string, unknown>>, provenance: FitProvenance): Promise<void> {
  const wb = new (excelJS().stream.xlsx.WorkbookWriter)({ filename: file, useStyles: true, useSharedStrings: false });
  wb.creator = "streetsafe pairwise fit";
  const columns = scoreColumns(fit);
  const sheet = wb.addWorksheet("scores", { views: [{ state: "frozen", ySplit: 1, xSplit: 1 }] });
  sheet.columns = columns.map((c) => ({
    header: c.name,
    key: c.name,
    width: c.name === "image" ? 28 : Math.max(10, c.name.length + 2),
    ...(c.name === "image" || /^(n_votes|wins|losses|ties)$/.test(c.name) ? {} : { style: { numFmt: "0.000" } }),
  }));
  sheet.getRow(1).font = { bold: true };
  for (const r of rows) sheet.addRow(r).commit();
  sheet.commit();

  const info = wb.addWorksheet("models");
  info.columns = [
    { header: "model", key: "model", width: 16 },
    { header: "setting", key: "setting", width: 28 },
    { header: "value", key: "value", width: 110 },
  ];
  info.getRow(1).font = { bold: true };
  for (const [model, rec] of Object.entries(models)) {
    for (const [key, value] of Object.entries(rec)) info.addRow({ model, setting: key, value: typeof value === "object" && value !== null ? JSON.stringify(value) : value }).commit();
  }
  info.commit();

  const readme = wb.addWorksheet("README");
  readme.columns = [
    { header: "column", key: "name", width: 24 },
    { header: "meaning", key: "meaning", width: 100 },
  ];
  readme.getRow(1).font = { bold: true };
  readme.addRow({ name: "votes", meaning: `${provenance.votesFile} — ${fit.summary.votes} votes on ${fit.summary.images} images, ${fit.summary.pairs} distinct pairs` }).commit();
  readme.addRow({ name: "intervals", meaning: `level ${fit.level}; each model's interval is in the models sheet` }).commit();
  for (const c of columns) readme.addRow({ name: c.name, meaning: c.meaning }).commit();
  readme.commit();
  await wb.commit();
}

/** The scores.json document. */
export function fitDocument(fit: RatingFit, votes: VotesFile, provenance: FitProvenance, models = modelRecords(fit), rows = scoreRows(fit)) {
  return {
    schema: FIT_SCHEMA,
    created_at: new Date().toISOString(),
    command: provenance.command,
    votes: {
      file: provenance.votesFile,
      sha256: votes.sha256,
      format: votes.format,
      ...(votes.sheet ? { sheet: votes.sheet } : {}),
      columns: votes.columns,
      ...(provenance.question !== undefined ? { question: provenance.question } : {}),
      questions: votes.questions,
      rows_read: votes.rowsRead,
      skipped_other_questions: votes.skippedOtherQuestions,
      notes: votes.notes,
    },
    images_dir: provenance.imagesDir,
    summary: { votes: fit.summary.votes, images: fit.summary.images, distinct_pairs: fit.summary.pairs, repeated_votes: fit.summary.repeatedVotes, equal_votes: fit.summary.equalVotes },
    scale: fit.scale,
    level: fit.level,
    models,
    model_agreement_spearman: fit.modelAgreement,
    ...(provenance.groundTruthModel ? { ground_truth: { file: FIT_FILES.groundTruth, model: provenance.groundTruthModel, columns: GROUND_TRUTH_COLUMNS } } : {}),
    columns: scoreColumns(fit).map((c) => ({ name: c.name, meaning: c.meaning })),
    images: rows,
  };
}

/** Write the run folder `<outputDir>/<runId>/` whole; returns its path. */
export async function writeFitRun(outputDir: string, runId: string, fit: RatingFit, votes: VotesFile, provenance: FitProvenance): Promise<string> {
  const staged = await StagedOutput.begin(outputDir);
  try {
    const rows = scoreRows(fit);
    const models = modelRecords(fit);
    const columns = scoreColumns(fit).map((c) => c.name);
    await writeFile(await staged.path(`${runId}/${FIT_FILES.csv}`), csvText(rows, columns));
    await writeWorkbook(await staged.path(`${runId}/${FIT_FILES.xlsx}`), fit, rows, models, provenance);
    await writeFile(await staged.path(`${runId}/${FIT_FILES.json}`), JSON.stringify(fitDocument(fit, votes, provenance, models, rows), null, 2) + "\n");
    if (provenance.groundTruthModel) {
      await writeFile(await staged.path(`${runId}/${FIT_FILES.groundTruth}`), csvText(groundTruthRows(fit, provenance.groundTruthModel), GROUND_TRUTH_COLUMNS));
    }
    const [dir] = await staged.commit([runId]);
    return dir!;
  } catch (e) {
    await staged.abort();
    throw e;
  }
}
