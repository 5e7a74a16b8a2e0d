/**
 * PNGs of the chart pages, where a headless Chromium is available (playwright-core drives the system's
 * Chromium; it downloads no browser). A chart that fails to draw is an error: a PNG of a broken chart
 * must not be published.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { writeFileAtomic } from "../core/atomic-output";
import type { Figure } from "../core/figure";
import { trace } from "../core/trace";

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

/** How long the renderer's page may take to load plotly.js, and all charts to export. */
const RENDER_TIMEOUT_MS = 60_000;
/** A chart's width in its own page (analyze/pages.ts): the 1100 px viewport less the body's 24 px margins. */
const CHART_PNG_WIDTH = 1100 - 2 * 24;
/** Height of a figure that sets none (Plotly's own default is 450; the chart pages use 460). */
const DEFAULT_CHART_HEIGHT = 460;
/** The plotly.js bundle of the renderer page (see ChartRenderer.start). */
const RENDER_BUNDLE = "plotly.js-cartesian-dist-min";
/** PNG pixels per CSS pixel (retina-sharp, as the earlier screenshots at deviceScaleFactor 2 were). */
const PNG_SCALE = 2;

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
 * A headless Chromium that leaves nothing behind: even with playwright's fresh profile, Chromium writes
 * `~/.config/chromium/Crash Reports/…` and `~/.cache/dconf/user`; its XDG folders point into a temp folder
 * that goes when the browser does.
 */
export async function launchChromium(executablePath: string, extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const xdg = mkdtempSync(path.join(os.tmpdir(), "streetsafe-chromium-"));
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(xdg, "config"), XDG_CACHE_HOME: path.join(xdg, "cache") };
  try {
    const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs], env });
    browser.on("disconnected", () => rmSync(xdg, { recursive: true, force: true }));
    return browser;
  } catch (e) {
    rmSync(xdg, { recursive: true, force: true });
    throw e;
  }
}

/**
 * PNGs of charts from ONE headless page: Chromium starts once, plotly.js is parsed once, and each figure
 * goes to plotly's own PNG exporter (`Plotly.toImage`) at the size its chart page gives it — instead of
 * one page per chart, each parsing ~5 MB of plotly.js again, and a screenshot of each (measured in
 * the prototype: ~32 s for a 3-model run's PNGs on 2 cores). `start` may be called early (compare starts it
 * when the last answer is in) so the browser's start-up overlaps the statistics and reports.
 */
export class ChartRenderer {
  private closed = false;
  private constructor(
    private readonly browser: import("playwright-core").Browser,
    private readonly page: import("playwright-core").Page,
    private readonly pageErrors: string[],
    private readonly dir: string,
  ) {}

  static async start(executablePath: string): Promise<ChartRenderer> {
    // A file page that loads plotly.js by <script src>: Chromium compiles a script file off the main
    // thread, about twice as fast as the same script inline (measured: 2.5–3.8 vs 5–8.5 s on 2 loaded cores).
    // The bundle is plotly's cartesian one (1.4 MB, the same version as the pages' full 4.8 MB bundle):
    // every trace type the charts use is in it, and `png` refuses a figure whose type is not.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "streetsafe-charts-"));
    const html = path.join(dir, "render.html");
    await fs.writeFile(html, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head><body><script src="${pathToFileURL(require.resolve(RENDER_BUNDLE)).href}"></script></body></html>\n`);
    let browser: import("playwright-core").Browser | undefined;
    try {
      browser = await launchChromium(executablePath);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(pathToFileURL(html).href, { waitUntil: "load", timeout: RENDER_TIMEOUT_MS });
      if (!(await page.evaluate(`typeof window.Plotly === "object"`))) throw new Error(`plotly.js did not load in the renderer page${pageErrors.length ? `: ${pageErrors.join("; ")}` : ""}`);
      trace("png: renderer ready");
      return new ChartRenderer(browser, page, pageErrors, dir);
    } catch (e) {
      await browser?.close().catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** One PNG per figure, in order. Throws naming the first chart that did not render. */
  async png(charts: readonly { name: string; figure: Figure }[]): Promise<Buffer[]> {
    // An unknown trace type would be dropped silently, leaving an empty chart: refuse it instead.
    const known = new Set((await this.page.evaluate(`Object.keys(window.Plotly.PlotSchema.get().traces)`)) as string[]);
    for (const c of charts) {
      const missing = c.figure.data.map((t) => String(t["type"] ?? "scatter")).find((t) => !known.has(t));
      if (missing) throw new Error(`chart ${c.name} did not render: trace type "${missing}" is not in the PNG renderer's plotly bundle (${RENDER_BUNDLE})`);
    }
    const specs = charts.map((c) => ({ data: c.figure.data, layout: { ...c.figure.layout, width: CHART_PNG_WIDTH, height: Number(c.figure.layout.height ?? DEFAULT_CHART_HEIGHT) } }));
    // Browser-side code as a string: the project compiles without the DOM library.
    const results = (await this.page.evaluate(
      `Promise.all(${JSON.stringify(specs).replace(/</g, "\\u003c")}.map((s) =>
        Promise.resolve().then(() => window.Plotly.toImage({ data: s.data, layout: s.layout }, { format: "png", width: s.layout.width, height: s.layout.height, scale: ${PNG_SCALE} }))
          .then((url) => ({ url: url }), (e) => ({ error: String((e && e.message) || e) }))))`,
    )) as ({ url: string } | { error: string })[];
    trace(`png: ${charts.length} charts exported`);
    return charts.map((chart, i) => {
      const r = results[i]!;
      if ("error" in r || this.pageErrors.length) throw new Error(`chart ${chart.name} did not render: ${"error" in r ? r.error : this.pageErrors.join("; ")}`);
      return Buffer.from(r.url.slice(r.url.indexOf(",") + 1), "base64");
    });
  }

  /** Close the browser (again: nothing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.browser.close().catch(() => {});
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Write each chart's PNG (atomically) with `renderer`, or with one started here and closed after. Throws
 * when a chart fails to draw or the page reports a JavaScript error: a PNG of a broken chart must not be
 * published.
 */
export async function renderChartPngs(pages: readonly { name: string; figure: Figure; png: string }[], renderer: ChartRenderer | string): Promise<void> {
  const r = typeof renderer === "string" ? await ChartRenderer.start(renderer) : renderer;
  try {
    const pngs = await r.png(pages);
    await Promise.all(pages.map((p, i) => writeFileAtomic(p.png, pngs[i]!)));
  } finally {
    if (typeof renderer === "string") await r.close();
  }
}
