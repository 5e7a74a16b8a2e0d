/**
 * `analyze` (lib/src/analyze/run.ts, cli/commands/analyze.ts): standalone chart pages, the index, PNGs, and
 * — in a real headless Chromium driven by playwright-core — every chart linked from plots/index.html
 * rendering with its data traces and no page error.
 * The browser tests need Debian's chromium at /usr/bin/chromium (or CHROMIUM_PATH); .ci/run installs it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { analyzeRun } from "../../lib/src/analyze/run";
import { findChromium, launchChromium, renderChartPngs } from "../../lib/src/analyze/png";
import { runCharts } from "../../lib/src/analyze/run-charts";
import { analyzePlan, resolveRunDir } from "../../lib/src/cli/commands/analyze";
import { main } from "../../lib/src/cli/main";
import { tempDir } from "../helpers/tmp";
import { SYN_MODELS, syntheticRunData, writeSyntheticRun } from "../helpers/synthetic-run";

const chromium = findChromium();
const noBrowser = chromium.path ? false : `${chromium.why} — the browser tests need it (CI installs chromium)`;

/** A results folder with two runs; the newer one is the synthetic run. */
function resultsWithRuns(): { results: string; runDir: string } {
  const results = tempDir("streetsafe-analyze-");
  const older = path.join(results, "20260101T000000Z");
  const runDir = path.join(results, "20260105T100000Z");
  for (const d of [older, runDir]) {
    mkdirSync(d);
    writeSyntheticRun(d);
  }
  return { results, runDir };
}

const EXPECTED_CHARTS = [
  "metric_mae",
  "metric_rmse",
  "metric_acc1",
  "metric_acc2",
  "metric_qwk",
  "signed_error_histogram",
  ...SYN_MODELS.flatMap((m) => [`scatter_${m}`, `bland_altman_${m}`, `confusion_${m}`]),
];

test("analyzePlan: flags → plan (table)", () => {
  const cases: [Parameters<typeof analyzePlan>[0], ReturnType<typeof analyzePlan>][] = [
    [{ resultsDir: "results/model_comparison", png: true }, { resultsDir: "results/model_comparison", run: null, png: "auto" }],
    [{ resultsDir: "r", run: "20260105T100000Z", png: false }, { resultsDir: "r", run: "20260105T100000Z", png: false }],
    [{ resultsDir: "r", run: "  ", png: true }, { resultsDir: "r", run: null, png: "auto" }],
  ];
  for (const [flags, plan] of cases) assert.deepEqual(analyzePlan(flags), plan);
});

test("resolveRunDir: latest by default, a name under --results-dir, a path, or a clear error", async () => {
  const { results, runDir } = resultsWithRuns();
  assert.equal(await resolveRunDir({ resultsDir: results, run: null, png: false }), runDir);
  assert.equal(await resolveRunDir({ resultsDir: results, run: "20260101T000000Z", png: false }), path.join(results, "20260101T000000Z"));
  assert.equal(await resolveRunDir({ resultsDir: "elsewhere", run: runDir, png: false }), runDir);
  await assert.rejects(resolveRunDir({ resultsDir: results, run: "2099", png: false }), /--run 2099: no such run folder/);
});

test("analyzeRun without PNGs: one standalone offline page per chart, an index linking them, stale charts gone", async () => {
  const { runDir } = resultsWithRuns();
  mkdirSync(path.join(runDir, "plots"));
  writeFileSync(path.join(runDir, "plots", "scatter_old-model.html"), "stale");
  const res = await analyzeRun(runDir, { png: false });
  assert.equal(res.pngNote, "PNG export turned off");
  assert.deepEqual(res.charts.map((c) => c.name), EXPECTED_CHARTS);
  assert.deepEqual(readdirSync(res.plotsDir).sort(), [...EXPECTED_CHARTS.map((c) => `${c}.html`), "index.html"].sort(), "only this run's charts");
  assert.deepEqual(readdirSync(runDir).filter((f) => f.startsWith(".staging")), [], "no staging folder left");
  for (const c of res.charts) {
    const html = readFileSync(c.html, "utf8");
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /plotly\.js v\d/, `${c.name}: plotly.js inlined`);
    assert.doesNotMatch(html, /<script[^>]+src=/, `${c.name}: no external script`);
    assert.ok(html.includes(`<title>${c.title.replace(/&/g, "&amp;")}`), `${c.name}: titled`);
  }
  const index = readFileSync(res.index, "utf8");
  for (const c of EXPECTED_CHARTS) assert.ok(index.includes(`href="${c}.html"`), `index links ${c}`);
  assert.match(index, /WARNING:<\/b> model &quot;gpt4o-mini-ft&quot; answered 27 of 30/);
  assert.match(index, /qwen2vl-ft&quot; was SKIPPED/);
  assert.equal(res.files[0], res.index);
});

test("a model with no valid answer gets no per-model charts, and the index says so", async () => {
  const data = syntheticRunData();
  data.records = data.records.map((r) => (r.model === "gpt4o-mini-ft" ? { ...r, predicted: null, error: "server down" } : r));
  const { charts, withoutValid } = runCharts(data);
  assert.deepEqual(withoutValid, ["gpt4o-mini-ft"]);
  assert.ok(!charts.some((c) => c.model === "gpt4o-mini-ft"));
  const dir = tempDir("streetsafe-analyze-");
  writeSyntheticRun(dir, data);
  const res = await analyzeRun(dir, { png: false });
  assert.match(readFileSync(res.index, "utf8"), /No per-model charts for "gpt4o-mini-ft": it has no valid answer/);
});

test("without Chromium, PNGs are skipped with one clear line (auto) or refused (required)", async () => {
  const { runDir } = resultsWithRuns();
  const saved = process.env.CHROMIUM_PATH;
  process.env.CHROMIUM_PATH = "/nonexistent/chromium";
  try {
    assert.equal(findChromium().path, null);
    const lines: string[] = [];
    const res = await analyzeRun(runDir, { log: (l) => lines.push(l) });
    assert.match(res.pngNote!, /^PNGs skipped: no headless Chromium at \/nonexistent\/chromium \(CHROMIUM_PATH\)/);
    assert.deepEqual(lines, [res.pngNote]);
    assert.ok(res.charts.every((c) => c.png === null));
    await assert.rejects(analyzeRun(runDir, { png: true }), /PNGs were required but there is no headless Chromium/);
  } finally {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
  }
});

test("npx streetsafe analyze --no-png picks the latest run and prints where the plots are", async () => {
  const { results, runDir } = resultsWithRuns();
  const out: string[] = [];
  const log = console.log;
  const exitBefore = process.exitCode; // node:test sets it when an earlier test failed
  process.exitCode = undefined;
  let exitCode: typeof process.exitCode;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    await main(["analyze", "--results-dir", results, "--no-png"]);
  } finally {
    console.log = log;
    exitCode = process.exitCode;
    process.exitCode = exitBefore;
  }
  assert.equal(exitCode ?? 0, 0);
  assert.ok(out.includes(`run: ${runDir}`), out.join("\n"));
  assert.ok(out.includes(`open ${path.join(runDir, "plots", "index.html")}`), out.join("\n"));
  assert.ok(existsSync(path.join(runDir, "plots", "metric_mae.html")));
  assert.ok(!existsSync(path.join(results, "20260101T000000Z", "plots")), "the older run is untouched");
});

test("analyzeRun renders a PNG of every chart with the system Chromium", { skip: noBrowser, timeout: 5 * 60_000 }, async () => {
  const { runDir } = resultsWithRuns();
  const res = await analyzeRun(runDir, { png: true });
  assert.equal(res.pngNote, null);
  for (const c of res.charts) {
    assert.ok(c.png, `${c.name} has a PNG`);
    const png = readFileSync(c.png);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${c.name}: PNG signature`);
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 800 && height >= 600, `${c.name}: ${width}×${height} is a full chart`);
  }
  const index = readFileSync(res.index, "utf8");
  for (const c of res.charts) assert.ok(index.includes(`href="${c.name}.png"`), `index links ${c.name}.png`);
});

test("every chart linked from plots/index.html renders in headless Chromium with data traces and no page error", { skip: noBrowser, timeout: 5 * 60_000 }, async () => {
  const { runDir } = resultsWithRuns();
  const res = await analyzeRun(runDir, { png: false });
  const browser = await launchChromium(chromium.path!);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) errors.push(`network request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(res.index).href);
    // Browser-side code as strings: the project compiles without the DOM library.
    const links = (await page.evaluate(`[...document.querySelectorAll("a.chart-link")].map((a) => a.href)`)) as string[];
    assert.equal(links.length, EXPECTED_CHARTS.length, "the index links every chart");
    for (const href of links) {
      await page.goto(href);
      await page.waitForSelector("body[data-rendered], body[data-render-error]", { timeout: 60_000 });
      const state = (await page.evaluate(`(() => {
        const gd = document.getElementById("chart");
        return {
          renderError: document.body.getAttribute("data-render-error"),
          svgs: document.querySelectorAll("#chart svg.main-svg").length,
          traceNodes: document.querySelectorAll("#chart .cartesianlayer .trace, #chart .heatmaplayer .hm").length,
          traces: (gd._fullData || []).filter((t) => t.visible !== false).length,
          points: document.querySelectorAll("#chart .point, #chart .hm image").length,
        };
      })()`)) as { renderError: string | null; svgs: number; traceNodes: number; traces: number; points: number };
      const name = path.basename(href);
      assert.equal(state.renderError, null, `${name}: render error`);
      assert.ok(state.svgs > 0, `${name}: an svg.main-svg`);
      assert.ok(state.traces > 0 && state.traceNodes > 0, `${name}: data traces drawn (${JSON.stringify(state)})`);
      assert.ok(state.points > 0, `${name}: marks drawn (${JSON.stringify(state)})`);
    }
    assert.deepEqual(errors, [], "no page errors and no network requests");
  } finally {
    await browser.close();
  }
});

test("a chart page that fails in the browser is an error, not a PNG", { skip: noBrowser, timeout: 2 * 60_000 }, async () => {
  const dir = tempDir("streetsafe-analyze-");
  const html = path.join(dir, "broken.html");
  writeFileSync(html, `<!DOCTYPE html><html><body><div id="chart"></div><script>throw new Error("boom");</script></body></html>`);
  const started = Date.now();
  await assert.rejects(renderChartPngs([{ html, png: path.join(dir, "broken.png") }], chromium.path!), /chart broken\.html did not render: .*boom/);
  assert.ok(Date.now() - started < 30_000, "fails at once, not after the render timeout");
  assert.ok(!existsSync(path.join(dir, "broken.png")));
});
