/**
 * PNGs of the chart pages, where a headless Chromium is available (playwright-core drives the system's
 * Chromium; it downloads no browser). A chart that fails to draw is an error: a PNG of a broken chart
 * must not be published.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pLimit from "p-limit";
import type { Browser } from "playwright-core";
import { writeFileAtomic } from "../core/atomic-output";

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
 * Open each chart page in one headless Chromium and screenshot its chart. Throws when a chart fails to
 * draw or its page reports a JavaScript error: a PNG of a broken chart must not be published.
 */
export async function renderChartPngs(pages: { html: string; png: string }[], executablePath: string): Promise<void> {
  const browser = await launchChromium(executablePath);
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
