/**
 * Reports of a comparison run (lib/src/compare/reports.ts) on a synthetic run folder: what a researcher
 * publishes must carry the coverage warning, the skipped model's reason, the baseline row, the CIs, the
 * five best / worst images, the cost with its price date, and a reproducibility footer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import { parse } from "csv-parse/sync";
import { METRICS_CSV_COLUMNS, bestAndWorst, fmtError, fmtP, fmtRate, fmtSignedError, formatRunReport, metricsWorkbook, writeRunReports } from "../../lib/src/analyze/report";
import { latestRecords, latestRun, readRun, type RunData } from "../../lib/src/compare/run-folder/read";
import { PRICE_NOTE } from "../../lib/src/openai/prices";
import { tempDir } from "../helpers/tmp";
import { SYN_MODELS, SYN_N, SYN_SKIPPED, syntheticRunData, writeSyntheticRun } from "../helpers/synthetic-run";

const root = tempDir("streetsafe-reports-");
const runDir = path.join(root, "20260105T100000Z");
mkdirSync(runDir);
const written = writeSyntheticRun(runDir);

async function reports(): Promise<{ files: string[]; txt: string; md: string; data: RunData }> {
  const data = await readRun(runDir);
  const files = await writeRunReports(runDir, data);
  return { files, data, txt: readFileSync(path.join(runDir, "report.txt"), "utf8"), md: readFileSync(path.join(runDir, "report.md"), "utf8") };
}

/** The report's section for one model (from its heading to the next one). */
function section(report: string, heading: RegExp, next: RegExp): string {
  const start = report.search(heading);
  assert.ok(start >= 0, `no section ${heading}`);
  const rest = report.slice(report.indexOf("\n", start) + 1);
  const end = rest.search(next);
  return end < 0 ? rest : rest.slice(0, end);
}

test("number formats: errors 2 decimals, rates as % with 1 decimal, p-values, no negative zero", () => {
  assert.equal(fmtError(0.48148), "0.48");
  assert.equal(fmtError(-0.001), "0.00");
  assert.equal(fmtError(null), "n/a");
  assert.equal(fmtRate(0.73333), "73.3%");
  assert.equal(fmtRate(1), "100.0%");
  assert.equal(fmtP(0.0004), "<0.001");
  assert.equal(fmtP(0.0834), "0.083");
  assert.equal(fmtSignedError(0.5926), "+0.59");
  assert.equal(fmtSignedError(-0.0001), "0.00");
});

test("readRun reads the folder back; the last line of a model and image wins later", async () => {
  const data = await readRun(runDir);
  assert.equal(data.run.run_id, written.run.run_id);
  assert.equal(data.records.length, written.records.length);
  assert.deepEqual(Object.keys(data.metrics.models), [...SYN_MODELS]);
});

test("writeRunReports writes metrics.csv, metrics.xlsx, report.md and report.txt", async () => {
  const { files } = await reports();
  assert.deepEqual(files.map((f) => path.basename(f)), ["metrics.csv", "metrics.xlsx", "report.md", "report.txt"]);
});

for (const format of ["txt", "md"] as const) {
  test(`report.${format}: coverage warning, skipped reason, baseline row, CI brackets, paired table`, async () => {
    const { txt, md, data } = await reports();
    const r = format === "txt" ? txt : md;
    const warn = format === "txt" ? "!! WARNING:" : "> **⚠ WARNING:**";
    assert.ok(r.includes(`${warn} model "gpt4o-mini-ft" answered 27 of 30 test images (coverage 90.0%; 3 failures)`), "coverage warning");
    const skippedLine = r.split("\n").findIndex((l) => l.startsWith(`${warn} model "qwen2vl-ft" was SKIPPED`));
    assert.ok(skippedLine >= 0, "skipped warning");
    assert.ok(r.replace(/\n\s+/g, " ").replace(/\\_/g, "_").includes(SYN_SKIPPED.reason), "the skip reason is printed");
    assert.ok(!/WARNING[^\n]*"gpt4" answered/.test(r), "no coverage warning for a complete model");

    // Overall table: every model that ran with valid x/y and MAE/RMSE with their CIs, the baseline marked, the skipped model listed.
    for (const name of SYN_MODELS) {
      const m = data.metrics.models[name];
      const label = name === "mean" ? "mean (baseline)" : name;
      const row = r.split("\n").find((l) => l.replace(/^[|\s]+/, "").startsWith(`${label} `) && l.includes(`${m.valid}/${m.n}`));
      assert.ok(row, `overall row of ${name}`);
      assert.ok(row.includes(`${fmtError(m.mae)} [${fmtError(m.ci95.mae![0])}, ${fmtError(m.ci95.mae![1])}]`), `${name} MAE with CI: ${row}`);
      assert.ok(row.includes(`${fmtError(m.rmse)} [${fmtError(m.ci95.rmse![0])}, ${fmtError(m.ci95.rmse![1])}]`), `${name} RMSE with CI`);
      assert.ok(row.includes(fmtRate(m.acc1)) && row.includes(fmtRate(m.acc2)), `${name} Acc@1 and Acc@2`);
    }
    assert.match(r, /mean \(baseline\)\s*\|?\s*30\/30/);
    assert.match(r, /27\/30 \(!\)/, "incomplete coverage is marked in the table too");
    assert.match(r, /qwen2vl-ft\s*\|?\s*skipped/);
    assert.match(r, /\$0\.0150/, "cost in the overall table");

    // Paired comparisons with Holm-adjusted p-values.
    const pair = data.metrics.paired.find((p) => p.a === "gpt4" && p.b === "gpt4o-mini-ft")!;
    const pairRow = r.split("\n").find((l) => /gpt4\s*\|?\s*gpt4o-mini-ft/.test(l))!;
    assert.ok(pairRow.includes(`${fmtSignedError(pair.mae_diff)} [${fmtSignedError(pair.ci95![0])}, ${fmtSignedError(pair.ci95![1])}]`), pairRow);
    assert.ok(pairRow.includes(fmtP(pair.wilcoxon!.p_value)) && pairRow.includes(fmtP(pair.wilcoxon!.p_value_holm)));
    assert.match(r, /Holm/);

    // Expected-score metrics where present.
    assert.match(r, /Expected score from token probabilities/i);
  });

  test(`report.${format}: per model valid x/y, error summary, five best and five worst`, async () => {
    const { txt, md, data } = await reports();
    const r = format === "txt" ? txt : md;
    const latest = latestRecords(data.records);
    for (const name of SYN_MODELS) {
      const heading = format === "txt" ? new RegExp(`^\\* ${name}( \\(baseline\\))? —`, "m") : new RegExp(`^### ${name}( \\(baseline\\))? —`, "m");
      const sec = section(r, heading, format === "txt" ? /^(\* |COST)/m : /^##/m);
      const v = latest.filter((x) => x.model === name && x.predicted !== null) as (typeof latest[number] & { predicted: number })[];
      const abs = v.map((x) => Math.abs(x.predicted - x.expected)).sort((a, b) => a - b);
      assert.match(sec, new RegExp(`valid ${v.length}/${SYN_N}`));
      const mean = abs.reduce((a, b) => a + b, 0) / abs.length;
      const n = abs.length;
      const median = n % 2 === 1 ? abs[(n - 1) / 2] : (abs[n / 2 - 1] + abs[n / 2]) / 2;
      assert.match(sec, new RegExp(`on its ${n} valid images: mean ${fmtError(mean)}, median ${fmtError(median)}`));
      assert.match(sec, new RegExp(`min ${fmtError(abs[0])}, max ${fmtError(abs[abs.length - 1])}`));
      assert.match(sec, /Five best/);
      assert.match(sec, /Five worst/);
      const { best, worst } = bestAndWorst(v);
      assert.equal(best.length, 5);
      assert.equal(worst.length, 5);
      const worstPart = sec.slice(sec.indexOf("Five worst"));
      const bestPart = sec.slice(sec.indexOf("Five best"), sec.indexOf("Five worst"));
      for (const w of worst) assert.ok(worstPart.includes(w.image), `${name}: worst image ${w.image}`);
      for (const b of best) assert.ok(bestPart.includes(b.image), `${name}: best image ${b.image}`);
      assert.equal(Math.abs(worst[0].predicted - worst[0].expected), abs[abs.length - 1], "the worst is the largest error");
    }
    const ft = section(r, format === "txt" ? /^\* gpt4o-mini-ft/m : /^### gpt4o-mini-ft/m, format === "txt" ? /^(\* |COST)/m : /^##/m);
    assert.match(ft, /3 failures/);
    assert.match(ft, /3× no score in the reply/, "failure reasons are counted");
    // The worst of gpt4o-mini-ft: scene_014 expected 2, predicted 8.
    assert.ok(/scene_014\.jpg\s*\|?\s*2\s*\|?\s*8\s*\|?\s*\+6/.test(ft), "worst row with image, expected, predicted and signed error");
  });

  test(`report.${format}: cost with the dated price note and a reproducibility footer`, async () => {
    const { txt, md, data } = await reports();
    const r = (format === "txt" ? txt : md).replace(/\s+/g, " "); // the text report wraps paragraphs
    assert.ok(r.includes(PRICE_NOTE), "PRICE_NOTE");
    assert.match(r, /total[\s|]*\$0\.0168/, "total cost");
    assert.match(r, /n\/a \(no price\)/, "an unpriced baseline says so, not $0");
    assert.ok(r.includes(`run id: ${data.run.run_id}`));
    assert.ok(r.includes(data.run.test_set.sha256), "test-set sha256");
    assert.ok(r.includes(`sha256 ${data.run.prompt.sha256}`), "prompt hash");
    assert.match(r, /seed: 42/);
    assert.match(r, /bootstrap: 300 resamples of images, seed 7, level 0\.95, percentile/);
    assert.match(r, /versions: streetsafe 0\.1\.0, node v20\.20\.2, openai 6\.49\.0/);
  });
}

test("report: an unfinished run and a missing constant baseline are both flagged", () => {
  const data = syntheticRunData();
  data.run.finished_at = null;
  delete (data.metrics.models as Record<string, unknown>).mean;
  const txt = formatRunReport(data, "txt");
  assert.match(txt, /!! WARNING: this run has not finished/);
  assert.match(txt, /!! WARNING: the constant baseline "mean" is missing/);
  assert.match(txt, /mean \(baseline\)\s+not run/, "the baseline row is present even so");
});

test("metrics.csv: one row per model (skipped included) with CI columns and cost", async () => {
  await reports();
  const text = readFileSync(path.join(runDir, "metrics.csv"), "utf8");
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  assert.deepEqual(text.split("\n")[0].split(","), [...METRICS_CSV_COLUMNS]);
  for (const c of ["model", "n", "valid", "failed", "coverage", "mae", "mae_lo", "mae_hi", "rmse_lo", "acc1_hi", "qwk_lo", "cost_usd"]) assert.ok(METRICS_CSV_COLUMNS.includes(c as never), c);
  assert.deepEqual(rows.map((r) => r.model), [...SYN_MODELS, "qwen2vl-ft"]);
  const ft = rows[1];
  const m = written.metrics.models["gpt4o-mini-ft"];
  assert.equal(Number(ft.valid), 27);
  assert.equal(Number(ft.failed), 3);
  assert.equal(Number(ft.coverage), 0.9);
  assert.equal(Number(ft.mae), m.mae);
  assert.equal(Number(ft.mae_lo), m.ci95.mae![0]);
  assert.equal(Number(ft.mae_hi), m.ci95.mae![1]);
  assert.equal(Number(ft.cost_usd), 0.0018);
  assert.equal(rows[2].baseline, "true");
  assert.equal(rows[2].pearson, "", "an undefined correlation is empty, not 0");
  assert.equal(rows[3].status, "skipped");
  assert.equal(rows[3].reason, SYN_SKIPPED.reason);
  assert.equal(rows[3].mae, "");
});

test("metrics.xlsx: metrics, paired, skipped, run and one predictions sheet per model, styled headers, frozen row", async () => {
  await reports();
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path.join(runDir, "metrics.xlsx"));
  assert.deepEqual(
    wb.worksheets.map((w) => w.name),
    ["metrics", "paired", "skipped", "expected_score", "run", "pred gpt4", "pred gpt4o-mini-ft", "pred mean"],
  );
  for (const ws of wb.worksheets) {
    assert.equal(ws.getRow(1).font?.bold, true, `${ws.name}: bold header`);
    assert.equal((ws.views[0] as { state?: string; ySplit?: number }).state, "frozen", `${ws.name}: frozen header`);
    assert.equal((ws.views[0] as { ySplit?: number }).ySplit, 1);
  }
  const metrics = wb.getWorksheet("metrics")!;
  const header = (metrics.getRow(1).values as unknown[]).slice(1);
  assert.deepEqual(header, [...METRICS_CSV_COLUMNS]);
  const col = (name: string) => header.indexOf(name) + 1;
  assert.equal(metrics.getRow(3).getCell(col("model")).value, "gpt4o-mini-ft");
  assert.equal(metrics.getRow(3).getCell(col("coverage")).value, 0.9);
  assert.equal(metrics.getRow(3).getCell(col("coverage")).numFmt, "0.0%");
  assert.equal(metrics.getRow(3).getCell(col("mae")).numFmt, "0.00");
  assert.equal(metrics.getRow(3).getCell(col("mae_lo")).value, written.metrics.models["gpt4o-mini-ft"].ci95.mae![0]);

  const paired = wb.getWorksheet("paired")!;
  assert.equal(paired.rowCount, 1 + written.metrics.paired.length);
  const skipped = wb.getWorksheet("skipped")!;
  assert.equal(skipped.getRow(2).getCell(1).value, "qwen2vl-ft");
  assert.equal(skipped.getRow(2).getCell(2).value, SYN_SKIPPED.reason);

  const pred = wb.getWorksheet("pred gpt4o-mini-ft")!;
  assert.equal(pred.rowCount, 1 + SYN_N, "one row per image (deduplicated)");
  const ph = (pred.getRow(1).values as unknown[]).slice(1);
  const failedRows = [];
  for (let i = 2; i <= pred.rowCount; i++) if (pred.getRow(i).getCell(ph.indexOf("predicted") + 1).value === null) failedRows.push(pred.getRow(i).getCell(ph.indexOf("failure") + 1).value);
  assert.deepEqual(failedRows, ["no score in the reply", "no score in the reply", "no score in the reply"]);
  assert.equal(wb.getWorksheet("pred gpt4")!.rowCount, 1 + SYN_N, "the superseded timeout is not a row");
  // The streamed file holds what the in-memory workbook (notebooks) holds, cell for cell.
  const mem = new ExcelJS.Workbook();
  await mem.xlsx.load(await (await metricsWorkbook(written)).xlsx.writeBuffer());
  assert.deepEqual(mem.worksheets.map((w) => w.name), wb.worksheets.map((w) => w.name));
  for (const ws of mem.worksheets) {
    const other = wb.getWorksheet(ws.name)!;
    assert.equal(other.rowCount, ws.rowCount, ws.name);
    for (let i = 1; i <= ws.rowCount; i++) {
      assert.deepEqual(other.getRow(i).values, ws.getRow(i).values, `${ws.name} row ${i}`);
      ws.getRow(i).eachCell((c, col) => assert.equal(other.getRow(i).getCell(col).numFmt, c.numFmt, `${ws.name} ${i}:${col} format`));
    }
  }
});

test("readRun: a missing file, corrupt JSON and a broken predictions line each get a clear error", async () => {
  const dir = path.join(root, "broken");
  mkdirSync(dir);
  await assert.rejects(readRun(dir), /broken[/\\]run\.json is missing \(the folder is empty\).*npx streetsafe compare/s);
  await assert.rejects(readRun(path.join(root, "nope")), /run folder .*nope does not exist/);
  writeSyntheticRun(dir);
  writeFileSync(path.join(dir, "metrics.json"), "{ not json");
  await assert.rejects(readRun(dir), /metrics\.json is not valid JSON/);
  writeSyntheticRun(dir);
  writeFileSync(path.join(dir, "run.json"), JSON.stringify({ run_id: "x" }));
  await assert.rejects(readRun(dir), /run\.json lacks or has the wrong type for: models \(array\)/);
  writeSyntheticRun(dir);
  const lines = readFileSync(path.join(dir, "predictions.jsonl"), "utf8").trimEnd().split("\n");
  writeFileSync(path.join(dir, "predictions.jsonl"), [...lines.slice(0, 3), "{oops", ...lines.slice(3)].join("\n"));
  await assert.rejects(readRun(dir), /predictions\.jsonl line 4 is not valid JSON/);
  // A last line cut off by a crash is ignored, as the runner's reader does (metrics.json was computed without it).
  writeFileSync(path.join(dir, "predictions.jsonl"), [...lines, '{"model":"gpt4","ima'].join("\n"));
  assert.equal((await readRun(dir)).records.length, lines.length);
});

test("latestRun: the newest folder by name that holds run.json; an error listing what is there otherwise", async () => {
  const results = tempDir("streetsafe-results-");
  await assert.rejects(latestRun(path.join(results, "missing")), /does not exist/);
  await assert.rejects(latestRun(results), /no comparison run in .*it is empty/);
  for (const name of ["20260101T000000Z", "20260103T000000Z"]) {
    mkdirSync(path.join(results, name));
    writeFileSync(path.join(results, name, "run.json"), "{}");
  }
  mkdirSync(path.join(results, "20260109T000000Z")); // started, no run.json yet
  mkdirSync(path.join(results, ".staging-1-abc"));
  writeFileSync(path.join(results, "notes.txt"), "");
  assert.equal(await latestRun(results), path.join(results, "20260103T000000Z"));

  const empty = tempDir("streetsafe-results-");
  mkdirSync(path.join(empty, "scratch"));
  writeFileSync(path.join(empty, "readme.md"), "");
  await assert.rejects(latestRun(empty), /no comparison run in .*it holds readme\.md, scratch\//);
});
