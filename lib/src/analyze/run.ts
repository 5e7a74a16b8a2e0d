/**
 * Guide step 5, `analyze`: a run folder's charts as standalone HTML pages (plotly.js inlined: they open offline, one
 * file at a time) in `plots/`, an index page linking them, and a PNG of each chart where a headless
 * Chromium is available (playwright-core drives the system's Chromium; it downloads no browser).
 *
 * The whole `plots/` folder is staged and moved into place at the end, so a failed analyze leaves the
 * previous charts as they were and a re-run never mixes old and new charts.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { readRun, RUN_FILES, type RunData } from "../compare";
import { StagedOutput } from "../core/atomic-output";
import { chartPage, indexPage } from "./pages";
import { ChartRenderer, findChromium, renderChartPngs } from "./png";
import { runCharts, type RunChart } from "./run-charts";

export interface AnalyzeOptions {
  /** PNGs: true = required (error without Chromium), false = none, "auto" (default) = where Chromium is available. */
  png?: boolean | "auto";
  /** Progress and notes, one line each (the CLI passes console.log). */
  log?: (line: string) => void;
  /** A renderer already starting (`ChartRenderer.start`, e.g. while compare's statistics ran); analyzeRun closes it. */
  renderer?: Promise<ChartRenderer>;
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
  let renderer = opts.renderer;
  try {
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
    // The browser starts while the chart pages are written.
    if (chromiumPath) {
      renderer ??= ChartRenderer.start(chromiumPath);
      renderer.catch(() => {}); // awaited in writePlots, where a renderer that could not start becomes a note
    }
    return await writePlots(runDir, data, charts, withoutValid, { png, log, chromiumPath, pngNote, renderer: chromiumPath ? renderer : undefined });
  } finally {
    // The renderer (started here or handed in) is closed whether or not it was used.
    await renderer?.then((r) => r.close(), () => {});
  }
}

async function writePlots(
  runDir: string,
  data: RunData,
  charts: RunChart[],
  withoutValid: string[],
  o: { png: boolean | "auto"; log: (l: string) => void; chromiumPath: string | null; pngNote: string | null; renderer: Promise<ChartRenderer> | undefined },
): Promise<AnalyzeResult> {
  const { png, log, chromiumPath } = o;
  let pngNote = o.pngNote;
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
        await renderChartPngs(
          pages.map((p) => ({ name: `${p.chart.name}.html`, figure: p.chart.figure, png: p.png })),
          await o.renderer!,
        );
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
