/**
 * Every notebook runs top to bottom headless, the way `npm start` runs it — through the real bootstrap (on a
 * machine without the project's Jupyter, `ensureJupyter` builds `.venv/` here) — without an error output,
 * and its HTML report stands alone: nothing loaded from the network, no absolute path of this machine, and it
 * renders in Chromium with the network off (tables present, charts drawn), as do the chart pages of the
 * comparison run the notebooks made.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { findChromium, launchChromium } from "../../lib/src/analyze/png";
import { standaloneProblems } from "../../lib/src/core/standalone-html";
import type { Jupyter } from "../../lib/src/jupyter/ensure";
import { executeNotebook } from "../../lib/src/jupyter/execute";
import { listNotebooks } from "../../lib/src/jupyter/notebook-runner";
import { repositoryJupyter } from "../helpers/jupyter";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const outDir = tempDir("streetsafe-nb-");
const dataDir = tempDir("streetsafe-nb-data-");
const resultsDir = tempDir("streetsafe-nb-results-");
const modelsDir = tempDir("streetsafe-nb-models-");
const chromium = findChromium();
let jupyter: Jupyter;

before(() => {
  jupyter = repositoryJupyter(root);
});

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

for (const nb of listNotebooks(root)) {
  test(`notebook ${nb} executes headless without errors; its report stands alone`, { timeout: 20 * 60_000 }, () => {
    const run = executeNotebook(jupyter, path.join(root, "notebooks", nb), { outDir, env: { STREETSAFE_DATA_DIR: dataDir, STREETSAFE_RESULTS_DIR: resultsDir, STREETSAFE_MODELS_DIR: modelsDir } });
    const executed = JSON.parse(readFileSync(run.executed, "utf8")) as { cells: { outputs?: Output[] }[] };
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    const errors = outputs.filter((o) => o.output_type === "error" || (o.name === "stderr" && /Error|error TS/.test(String(o.text))));
    assert.deepEqual(errors, [], `error outputs in ${nb}`);
    assert.ok(outputs.length > 0, "the notebook produced output");
    const html = readFileSync(run.html, "utf8");
    const source = readFileSync(path.join(root, "notebooks", nb), "utf8");
    if (source.includes("show.table(")) assert.match(html, /<table class="streetsafe-table"/, "a rendered table in the HTML export");
    if (source.includes("show.plot(")) {
      assert.match(html, /Plotly\.newPlot/, "a chart in the HTML export");
      assert.match(html, /plotly\.js v\d/, "plotly.js is inlined, so the report opens offline");
    }
    assert.deepEqual(standaloneProblems(html), [], `${nb}'s report: nothing from the network (no require.js, MathJax, CDN), no absolute path`);
  });
}

/** The exported reports, then the chart pages of the newest comparison run the notebooks wrote. */
function reportPages(): string[] {
  const pages = readdirSync(outDir).filter((f) => f.endsWith(".html")).sort().map((f) => path.join(outDir, f));
  const runs = existsSync(resultsDir) ? readdirSync(resultsDir).filter((d) => existsSync(path.join(resultsDir, d, "plots"))).sort() : [];
  const plots = runs.length ? path.join(resultsDir, runs.at(-1)!, "plots") : null;
  if (plots) pages.push(...readdirSync(plots).filter((f) => f.endsWith(".html")).sort().map((f) => path.join(plots, f)));
  return pages;
}

test("the chart pages of the notebooks' comparison run name no absolute path and load nothing from the network", () => {
  const charts = reportPages().filter((p) => p.startsWith(resultsDir));
  assert.ok(charts.length > 5, `chart pages of the run (${charts.length})`);
  assert.deepEqual(charts.flatMap((p) => standaloneProblems(readFileSync(p, "utf8")).map((m) => `${path.basename(p)}: ${m}`)), []);
});

test("reports and chart pages render in Chromium with the network off: tables present, charts drawn, no request off the disk", { timeout: 10 * 60_000, skip: chromium.path ? false : chromium.why }, async () => {
  const pages = reportPages();
  assert.ok(pages.length >= listNotebooks(root).length, "the notebooks' reports");
  const browser = await launchChromium(chromium.path!);
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
    const offDisk: string[] = [];
    await context.route("**/*", (route) => {
      const u = route.request().url();
      if (/^(file|data|blob):/.test(u)) return route.continue();
      offDisk.push(u);
      return route.abort();
    });
    for (const file of pages) {
      const name = path.relative(path.dirname(outDir), file);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 120_000 });
      const html = readFileSync(file, "utf8");
      const charts = (html.match(/Plotly\.newPlot\("/g) ?? []).length; // streetsafe's calls; plotly.js itself says newPlot(gd, …)
      if (charts) {
        // every chart drawn: as many plot divs as calls, each with an svg holding a trace (heatmaps draw .hm)
        await page.waitForFunction(
          (n) => {
            const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ querySelector(s: string): unknown }> } }).document;
            const plots = Array.from(doc.querySelectorAll(".js-plotly-plot"));
            return plots.length >= n && plots.every((p) => p.querySelector(".main-svg .trace, .heatmaplayer .hm") !== null);
          },
          charts,
          { timeout: 60_000 },
        );
      }
      if (html.includes('class="streetsafe-table"')) assert.ok((await page.locator("table.streetsafe-table tr").count()) > 1, `${name}: a table with rows`);
      assert.deepEqual(errors, [], `${name}: script errors`);
      await page.close();
    }
    assert.deepEqual(offDisk, [], "requests off the disk");
  } finally {
    await browser.close();
  }
});

test("committed notebooks carry no outputs", () => {
  for (const nb of listNotebooks(root)) {
    const d = JSON.parse(readFileSync(path.join(root, "notebooks", nb), "utf8")) as { cells: { outputs?: unknown[]; execution_count?: unknown }[] };
    for (const c of d.cells) {
      assert.deepEqual(c.outputs ?? [], [], `${nb} has stale outputs`);
      assert.equal(c.execution_count ?? null, null, `${nb} has an execution count`);
    }
  }
});
