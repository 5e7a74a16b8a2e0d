/**
 * `analyze`: a run folder's charts as standalone HTML pages (plotly.js inlined: they open offline, one
 * file at a time) in `plots/`, an index page linking them, and a PNG of each chart where a headless
 * Chromium is available (playwright-core drives the system's Chromium; it downloads no browser).
 *
 * The whole `plots/` folder is staged and moved into place at the end, so a failed analyze leaves the
 * previous charts as they were and a re-run never mixes old and new charts.
 */
import { existsSync, promises as fs, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pLimit from "p-limit";
import type { Figure } from "../core/figure";
import { plotlyScriptTag } from "../core/display";
import { escapeHtml } from "../core/html";
import { StagedOutput, writeFileAtomic } from "../core/atomic-output";
import { BAR_METRICS, blandAltman, confusionHeatmap, metricBars, scatterPredictedVsExpected, signedErrorHistogram, type BarMetric } from "./plots";
import { modelRecords, readRun, type RunData } from "./run-folder/read";
import { isBaseline, reportWarnings } from "./reports";
import { RUN_FILES } from "./run-folder/schema";

/** Where the system Chromium is looked for when CHROMIUM_PATH is not set. */
export const DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags for a headless Chromium in containers and CI: no sandbox (root), no GPU, no network chatter. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
] as const;

/** How long one chart may take to load and draw in the browser. */
const RENDER_TIMEOUT_MS = 60_000;
/** Charts rendered at once (each page parses ~5 MB of plotly.js). */
const RENDER_CONCURRENCY = 3;

/** One chart of a run: its figure, its page title, and its file name inside plots/ (without extension). */
export interface RunChart {
  /** File name stem in plots/ (`metric_mae`, `scatter_gpt4`, …). */
  name: string;
  title: string;
  /** Section of the index page. */
  group: string;
  /** The model of a per-model chart; null for charts of every model. */
  model: string | null;
  figure: Figure;
}

/** File-name-safe stem of a model name, unique among `used`. */
function slug(name: string, used: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "model";
  let s = base;
  for (let i = 2; used.has(s.toLowerCase()); i++) s = `${base}_${i}`;
  used.add(s.toLowerCase());
  return s;
}

/**
 * Every chart of a run: metric bars (MAE, RMSE, Acc@1, Acc@2, QWK) with CI whiskers, the signed-error
 * histogram, and per model (with at least one valid answer) the predicted-vs-expected scatter,
 * Bland–Altman plot and confusion heatmap. `withoutValid` lists models that got no per-model charts.
 */
export function runCharts(data: RunData): { charts: RunChart[]; withoutValid: string[] } {
  const models = Object.keys(data.metrics.models);
  const baselines = data.run.models.map((m) => m.name).concat(models).filter((m) => isBaseline(data.run, m));
  const charts: RunChart[] = [];
  const level = `${Math.round(data.metrics.bootstrap.level * 100)}%`;
  for (const metric of Object.keys(BAR_METRICS) as BarMetric[]) {
    charts.push({ name: `metric_${metric}`, title: `${BAR_METRICS[metric].label} per model with ${level} CI`, group: `Metrics (common images, ${level} bootstrap CIs)`, model: null, figure: metricBars(data.metrics, metric, { baselines }) });
  }
  charts.push({ name: "signed_error_histogram", title: "Signed error per model", group: "Errors of every model", model: null, figure: signedErrorHistogram(data.records, { models }) });
  const used = new Set<string>();
  const withoutValid: string[] = [];
  for (const model of models) {
    if (modelRecords(data.records, model).valid.length === 0) {
      withoutValid.push(model);
      continue;
    }
    const s = slug(model, used);
    const group = `Model ${model}`;
    const scale = data.run.scale;
    charts.push({ name: `scatter_${s}`, title: `${model}: predicted vs expected`, group, model, figure: scatterPredictedVsExpected(data.records, model, scale) });
    charts.push({ name: `bland_altman_${s}`, title: `${model}: Bland–Altman`, group, model, figure: blandAltman(data.records, model, scale) });
    charts.push({ name: `confusion_${s}`, title: `${model}: confusion of rounded scores`, group, model, figure: confusionHeatmap(data.records, model, scale) });
  }
  return { charts, withoutValid };
}

const PAGE_STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}.meta{color:#666;font-size:13px;margin:0 0 16px}
.warning{background:#fff3cd;border:1px solid #e0b200;padding:6px 10px;margin:6px 0;border-radius:4px}
ul{line-height:1.7}a{color:#2f5f8f}`;

/**
 * A chart as a complete offline HTML page: plotly.js inlined, the chart in `#chart`. When the chart
 * has been drawn the page sets `data-rendered` on <body> (or `data-render-error` with the reason).
 */
export function chartPage(chart: RunChart, run: { run_id: string }): string {
  const height = Number(chart.figure.layout.height ?? 460);
  const spec = JSON.stringify({ data: chart.figure.data, layout: chart.figure.layout, config: { responsive: true, displaylogo: false } }).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(chart.title)} · streetsafe run ${escapeHtml(run.run_id)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(chart.title)}</h1>
<p class="meta">streetsafe comparison run ${escapeHtml(run.run_id)} · <a href="index.html">all charts</a></p>
${plotlyScriptTag()}
<div id="chart" class="streetsafe-chart" style="width:100%;height:${height}px"></div>
<script type="text/javascript">(function(){
var s=${spec};
function done(){document.body.setAttribute("data-rendered","true");}
function fail(e){document.body.setAttribute("data-render-error",String(e&&e.message||e));}
try{window.Plotly.newPlot("chart",s.data,s.layout,s.config).then(done,fail);}catch(e){fail(e);}
})();</script>
</body>
</html>
`;
}

function indexPage(data: RunData, charts: { chart: RunChart; png: boolean }[], withoutValid: string[], pngNote: string | null): string {
  const groups = new Map<string, { chart: RunChart; png: boolean }[]>();
  for (const c of charts) groups.set(c.chart.group, [...(groups.get(c.chart.group) ?? []), c]);
  const sections = [...groups.entries()]
    .map(
      ([group, items]) =>
        `<h2>${escapeHtml(group)}</h2>\n<ul>\n${items
          .map(({ chart, png }) => `<li><a class="chart-link" href="${escapeHtml(chart.name)}.html">${escapeHtml(chart.title)}</a>${png ? ` · <a href="${escapeHtml(chart.name)}.png">PNG</a>` : ""}</li>`)
          .join("\n")}\n</ul>`,
    )
    .join("\n");
  const warnings = reportWarnings(data).map((w) => `<p class="warning"><b>⚠ WARNING:</b> ${escapeHtml(w)}</p>`);
  const notes = withoutValid.map((m) => `<p class="warning">No per-model charts for "${escapeHtml(m)}": it has no valid answer.</p>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Charts · streetsafe run ${escapeHtml(data.run.run_id)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>Charts of comparison run ${escapeHtml(data.run.run_id)}</h1>
<p class="meta">${data.metrics.n_images} test images · ${data.metrics.common.n} answered by every model · each chart is a standalone page that opens offline${pngNote ? ` · ${escapeHtml(pngNote)}` : ""} · report: <a href="../${RUN_FILES.reportMd}">${RUN_FILES.reportMd}</a>, <a href="../${RUN_FILES.reportTxt}">${RUN_FILES.reportTxt}</a></p>
${[...warnings, ...notes].join("\n")}
${sections}
</body>
</html>
`;
}

/** The Chromium to use: $CHROMIUM_PATH if set, else /usr/bin/chromium; null (with why) when absent. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): { path: string | null; why: string } {
  const wanted = env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH;
  const from = env.CHROMIUM_PATH?.trim() ? "CHROMIUM_PATH" : "the default path";
  try {
    if (existsSync(wanted) && statSync(wanted).isFile()) return { path: wanted, why: `${wanted} (${from})` };
  } catch {
    // unreadable: treated as absent
  }
  return { path: null, why: `no headless Chromium at ${wanted} (${from}); install it (Debian: apt-get install chromium) or set CHROMIUM_PATH` };
}

/**
 * Open each chart page in one headless Chromium and screenshot its chart. Throws when a chart fails to
 * draw or its page reports a JavaScript error: a PNG of a broken chart must not be published.
 */
export async function renderChartPngs(pages: { html: string; png: string }[], executablePath: string): Promise<void> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 2 });
    const limit = pLimit(RENDER_CONCURRENCY);
    await Promise.all(
      pages.map((p) =>
        limit(async () => {
          const page = await context.newPage();
          const errors: string[] = [];
          // A script error stops the wait at once instead of after the timeout.
          const scriptFailed = new Promise<never>((_, reject) => {
            page.on("pageerror", (e) => {
              errors.push(e.message);
              reject(new Error(e.message));
            });
          });
          scriptFailed.catch(() => {}); // handled below through `errors`
          try {
            await page.goto(pathToFileURL(p.html).href, { waitUntil: "load", timeout: RENDER_TIMEOUT_MS });
            await Promise.race([page.waitForSelector("body[data-rendered], body[data-render-error]", { timeout: RENDER_TIMEOUT_MS }), scriptFailed]).catch((e: Error) => {
              if (errors.length === 0) errors.push(e.message.split("\n")[0]);
            });
            const renderError = await page.getAttribute("body", "data-render-error");
            if (renderError !== null) errors.push(renderError);
            if (errors.length === 0 && (await page.locator("#chart .main-svg").count()) === 0) errors.push("no svg.main-svg in #chart");
            if (errors.length > 0) throw new Error(`chart ${path.basename(p.html)} did not render: ${errors.join("; ")}`);
            await writeFileAtomic(p.png, await page.locator("#chart").screenshot({ animations: "disabled" }));
          } finally {
            await page.close();
          }
        }),
      ),
    );
  } finally {
    await browser.close();
  }
}

export interface AnalyzeOptions {
  /** PNGs: true = required (error without Chromium), false = none, "auto" (default) = where Chromium is available. */
  png?: boolean | "auto";
  /** Progress and notes, one line each (the CLI passes console.log). */
  log?: (line: string) => void;
}

export interface AnalyzeResult {
  runDir: string;
  plotsDir: string;
  /** plots/index.html */
  index: string;
  /** Every file written, index first. */
  files: string[];
  charts: { name: string; title: string; html: string; png: string | null }[];
  /** Why there are no PNGs (Chromium absent, --no-png, …); null when every chart has one. */
  pngNote: string | null;
}

/** Write `<runDir>/plots/`: a standalone HTML page per chart, index.html, and PNGs where possible. */
export async function analyzeRun(runDir: string, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
  const log = opts.log ?? (() => {});
  const png = opts.png ?? "auto";
  const data = await readRun(runDir);
  const { charts, withoutValid } = runCharts(data);

  let chromiumPath: string | null = null;
  let pngNote: string | null = null;
  if (png === false) pngNote = "PNG export turned off";
  else {
    const found = findChromium();
    if (found.path) chromiumPath = found.path;
    else if (png === true) throw new Error(`PNGs were required but there is ${found.why}`);
    else pngNote = `PNGs skipped: ${found.why}`;
  }

  const staged = await StagedOutput.begin(runDir);
  try {
    const pages = [];
    for (const chart of charts) {
      const html = await staged.path(path.join(RUN_FILES.plots, `${chart.name}.html`));
      await fs.writeFile(html, chartPage(chart, data.run));
      pages.push({ chart, html, png: html.replace(/\.html$/, ".png") });
    }
    let rendered = false;
    if (chromiumPath) {
      log(`rendering ${pages.length} PNGs with ${chromiumPath} …`);
      try {
        await renderChartPngs(pages, chromiumPath);
        rendered = true;
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0];
        // A chart that does not draw is a bug to fix; a browser that cannot start is only a missing extra.
        if (png === true || /did not render/.test(msg)) throw e;
        pngNote = `PNGs skipped: Chromium at ${chromiumPath} could not be used (${msg})`;
      }
    }
    const indexFile = await staged.path(path.join(RUN_FILES.plots, "index.html"));
    await fs.writeFile(indexFile, indexPage(data, pages.map((p) => ({ chart: p.chart, png: rendered })), withoutValid, pngNote));
    await staged.commit([RUN_FILES.plots]);
  } catch (e) {
    await staged.abort();
    throw e;
  }
  if (pngNote) log(pngNote);

  const plotsDir = path.join(runDir, RUN_FILES.plots);
  const chartFiles = charts.map((c) => ({
    name: c.name,
    title: c.title,
    html: path.join(plotsDir, `${c.name}.html`),
    png: pngNote === null ? path.join(plotsDir, `${c.name}.png`) : null,
  }));
  const index = path.join(plotsDir, "index.html");
  return {
    runDir,
    plotsDir,
    index,
    files: [index, ...chartFiles.flatMap((c) => (c.png ? [c.html, c.png] : [c.html]))],
    charts: chartFiles,
    pngNote,
  };
}
