/** The report's sections, as blocks: overall table, paired tests, expected scores, per model, cost, reproducibility. */
import { latestRecords, type ModelMetricsJson, type PredictionRecord, type RunData } from "../../compare";
import { BATCH_DISCOUNT, PRICE_NOTE } from "../../openai/prices";
import { displayStoredPath } from "../../core/project-path";
import { table, type Block } from "./blocks";
import { BEST_WORST_COUNT, bestAndWorst, CONSTANT_BASELINE, displayName, modelCost, ranModels, reportWarnings, skippedModels, summariseModel } from "./facts";
import { fmtCoef, fmtError, fmtP, fmtRate, fmtScore, fmtSignedError, fmtUsd, NA, plural, signedError, withCi } from "./format";

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
    `test set: ${displayStoredPath(ts.file)}${ts.sheet ? ` (sheet ${ts.sheet})` : ""}, images ${displayStoredPath(ts.images_dir)}, n = ${ts.n}${ts.limit !== null ? ` (limit ${ts.limit})` : ""}, sha256 ${ts.sha256}`,
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

export function reportBlocks(data: RunData): Block[] {
  const { run, metrics } = data;
  const head: Block[] = [
    { kind: "title", text: `streetsafe model comparison — run ${run.run_id}` },
    {
      kind: "para",
      text: `${metrics.n_images} test images from ${displayStoredPath(run.test_set.file)} (sha256 ${run.test_set.sha256.slice(0, 12)}…), ${plural(ranModels(data).length, "model")} compared, ${plural(skippedModels(data).length, "model")} skipped. Created ${run.created_at}.`,
    },
  ];
  const warnings = reportWarnings(data).map((text): Block => ({ kind: "warning", text }));
  return [...head, ...warnings, ...overallSection(data), ...pairedSection(data), ...expectedScoreSection(data), ...perModelSection(data), ...costSection(data), ...reproducibilitySection(data)];
}
