/**
 * JupyterLab (`npm run lab`, lib/src/jupyter/lab.ts) in a real browser: the lab on a free port, headless Debian
 * Chromium driven by playwright-core opens notebooks/01_prepare_data.ipynb, runs every cell with the TypeScript
 * kernel, waits until the kernel is idle and every code cell has run, and finds the Polars table and the Plotly
 * chart rendered in the page. The screenshots stay in results/test-artifacts/. Then the command itself: the URL
 * with its token on 127.0.0.1, the token required, and Ctrl-C stopping it.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { findChromium, launchChromium } from "../../lib/src/analyze/png";
import type { Jupyter } from "../../lib/src/jupyter/ensure";
import { startLab } from "../../lib/src/jupyter/lab";
import { repositoryJupyter } from "../helpers/jupyter";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const NOTEBOOK = "01_prepare_data.ipynb";
const chromium = findChromium();
let jupyter: Jupyter;

before(() => {
  jupyter = repositoryJupyter(root);
});

/** What runs inside the page (window.jupyterapp: LabApp.expose_app_in_browser). */
interface LabWindow {
  jupyterapp: {
    commands: { execute(id: string): Promise<unknown> };
    shell: { currentWidget: null | { sessionContext?: { kernelDisplayName: string; session?: { kernel?: { status: string } } }; content?: { widgets: { model: { type: string; executionCount?: number | null } }[] } } };
  };
}

/** The kernel's state and the cells' progress in the notebook in front, from JupyterLab's own models. */
function notebookState(page: Page) {
  return page.evaluate(() => {
    const w = (globalThis as unknown as LabWindow).jupyterapp?.shell.currentWidget;
    const cells = w?.content?.widgets.filter((c) => c.model.type === "code") ?? [];
    return {
      kernel: w?.sessionContext?.kernelDisplayName ?? null,
      status: w?.sessionContext?.session?.kernel?.status ?? null,
      code: cells.length,
      ran: cells.filter((c) => typeof c.model.executionCount === "number").length,
    };
  });
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 500));
    last = await read();
  }
  return last;
}

test("JupyterLab: 01_prepare_data runs with the TypeScript kernel and shows its table and chart", { timeout: 10 * 60_000, skip: chromium.path ? false : chromium.why }, async (t) => {
  const tmp = tempDir("streetsafe-lab-");
  const artifacts = path.join(root, "results", "test-artifacts");
  mkdirSync(artifacts, { recursive: true });
  const nbFile = path.join(root, "notebooks", NOTEBOOK);
  const sha = () => createHash("sha256").update(readFileSync(nbFile)).digest("hex");
  const before = sha();
  // Opening a notebook makes JupyterLab write a checkpoint beside it (git-ignored); the test takes its own away.
  const checkpoints = path.join(root, "notebooks", ".ipynb_checkpoints");
  const hadCheckpoints = existsSync(checkpoints);
  // The test's own lab settings: no autosave, so the committed notebook gets no outputs.
  const settings = path.join(tmp, "user-settings", "@jupyterlab", "docmanager-extension");
  mkdirSync(settings, { recursive: true });
  writeFileSync(path.join(settings, "plugin.jupyterlab-settings"), JSON.stringify({ autosave: false }));
  const serverLog: string[] = [];
  const t0 = Date.now();
  const lab = await startLab(jupyter, {
    exposeApp: true,
    onLog: (s) => serverLog.push(s),
    env: { JUPYTERLAB_SETTINGS_DIR: path.join(tmp, "user-settings"), JUPYTERLAB_WORKSPACES_DIR: path.join(tmp, "workspaces"), STREETSAFE_DATA_DIR: path.join(tmp, "data") },
  });
  const at = (from: number) => ((Date.now() - from) / 1000).toFixed(1);
  t.diagnostic(`lab ready after ${at(t0)} s`);
  const browser = await launchChromium(chromium.path!);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const offHost: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(lab.url) && !/^(data|blob):/.test(r.url())) offHost.push(r.url());
    });
    await page.goto(`${lab.url}lab/tree/${NOTEBOOK}?token=${lab.token}`);
    await page.waitForSelector(".jp-NotebookPanel .jp-Notebook .jp-Cell", { timeout: 120_000 });
    const ready = await waitFor("the TypeScript kernel to be idle", () => notebookState(page), (s) => s.status === "idle", 180_000);
    assert.equal(ready.kernel, "TypeScript", "the notebook opened with the TypeScript kernel");
    t.diagnostic(`kernel idle after ${at(t0)} s`);

    await page.evaluate(() => (globalThis as unknown as LabWindow).jupyterapp.commands.execute("notebook:run-all-cells"));
    // Every code cell has an execution count (a queued one has none) and the kernel is idle again.
    const done = await waitFor("all cells to run", () => notebookState(page), (s) => s.code > 0 && s.ran === s.code && s.status === "idle", 6 * 60_000);
    t.diagnostic(`${done.code} code cells ran by ${at(t0)} s`);

    const errors = await page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output.jp-mod-error, .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]').allInnerTexts();
    assert.deepEqual(errors.filter((s) => /Error|error TS/.test(s)), [], "no error output");
    const table = page.locator(".jp-OutputArea-output table.streetsafe-table").first();
    await table.waitFor({ state: "attached", timeout: 30_000 });
    assert.ok((await page.locator(".jp-OutputArea-output table.streetsafe-table tr").count()) > 1, "a Polars table with rows");
    const chart = page.locator(".jp-OutputArea-output .js-plotly-plot").first();
    await chart.waitFor({ state: "attached", timeout: 30_000 });
    await chart.scrollIntoViewIfNeeded();
    // plotly.js draws into .main-svg; a chart with data has a trace group. Polled, not a visibility wait: SVG
    // groups report no box while content-visibility skips an off-screen cell.
    await waitFor("the Plotly chart to be drawn", () => chart.evaluate((el) => el.querySelectorAll(".main-svg .trace").length), (n) => n > 0, 30_000);
    await page.screenshot({ path: path.join(artifacts, "lab-01_prepare_data.png") });
    await table.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, "lab-01_prepare_data-table.png") });
    // JupyterLab's debugger extension rejects "No active debugger session" for kernels without a debugger (tslab).
    assert.deepEqual(pageErrors.filter((m) => !/^No active debugger session$/.test(m)), [], "no script error in the page");
    assert.deepEqual(offHost, [], "the page loads nothing from outside the lab server");
    assert.equal(await page.getByText("official Jupyter news").count(), 0, "no news prompt");
    t.diagnostic(`screenshots: ${path.relative(root, artifacts)}/lab-01_prepare_data.png, lab-01_prepare_data-table.png`);
  } catch (e) {
    const page = browser.contexts()[0]?.pages()[0];
    if (page) {
      await page.screenshot({ path: path.join(artifacts, "lab-failure.png") }).catch(() => {});
      writeFileSync(path.join(artifacts, "lab-failure.html"), await page.content().catch(() => ""));
    }
    t.diagnostic(serverLog.join("").split("\n").slice(-30).join("\n"));
    throw e;
  } finally {
    await browser.close();
    await lab.stop();
    if (!hadCheckpoints) rmSync(checkpoints, { recursive: true, force: true });
  }
  assert.equal(sha(), before, "the committed notebook is unchanged (no autosave)");
});

test("`streetsafe lab` (npm run lab): the URL with its token on 127.0.0.1, the token required, Ctrl-C stops it", { timeout: 5 * 60_000 }, async () => {
  const child = spawn(process.execPath, [path.join(root, "lib", "bin", "streetsafe.js"), "lab"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 180_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /(http:\/\/127\.0\.0\.1:(\d+)\/)lab\?token=([0-9a-f]{48})/.exec(out))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no URL printed:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const [, url, , token] = m;
    assert.match(out, /Ctrl-C stops it/);
    assert.equal((await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } })).status, 200);
    assert.equal((await fetch(`${url}api/sessions`)).status, 403, "nothing without the token");
    child.kill("SIGINT"); // what the terminal's Ctrl-C delivers to the command
    assert.equal(await exited, 130);
    await assert.rejects(fetch(`${url}api/status`, { signal: AbortSignal.timeout(5000) }), "the server is gone");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
