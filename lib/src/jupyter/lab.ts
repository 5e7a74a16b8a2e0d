/**
 * `npm run lab`: JupyterLab from the project's Jupyter on notebooks/, the TypeScript kernel by default, bound to
 * 127.0.0.1 with a token, nothing fetched from the network (no news feed, no update check, no extension
 * manager), its state in <root>/.jupyter. Ctrl-C stops the server and its kernels.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { displayPath } from "../core/project-path";
import { isRoot, VENV_DIR } from "../core/python";
import type { Jupyter } from "./ensure";

export interface LabOptions {
  /** Folder the lab opens (default <root>/notebooks). */
  dir?: string;
  /** Port; 0 or absent: a free one. */
  port?: number;
  token?: string;
  /** Tests: window.jupyterapp in the page (LabApp.expose_app_in_browser). */
  exposeApp?: boolean;
  /** Extra environment for the server and its kernels. */
  env?: Record<string, string>;
  /** Where the server's own log goes (default: this process's stderr). */
  onLog?: (chunk: string) => void;
  readyTimeoutMs?: number;
}

export interface Lab {
  url: string;
  /** url with ?token=…: what a user opens. */
  urlWithToken: string;
  token: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM (jupyter_server shuts its kernels down), SIGKILL after 10 s. Resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function labArgs(o: { dir: string; port: number; token: string; exposeApp?: boolean }): string[] {
  return [
    "-m", "jupyterlab",
    "--no-browser",
    "--ServerApp.ip=127.0.0.1",
    `--ServerApp.port=${o.port}`,
    "--ServerApp.port_retries=0",
    `--ServerApp.root_dir=${o.dir}`,
    `--IdentityProvider.token=${o.token}`,
    "--MappingKernelManager.default_kernel_name=tslab",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    // The extension manager would query PyPI and pip-install into the pinned .venv; jupyter-lsp's
    // autodetection runs `npm prefix -g`, which writes ~/.npm/_logs. tslab notebooks need neither.
    "--LabApp.extension_manager=readonly",
    "--LanguageServerManager.autodetect=False",
    ...(o.exposeApp ? ["--LabApp.expose_app_in_browser=True"] : []),
    // jupyter_server refuses to start as root without it (CI containers run as root).
    ...(isRoot() ? ["--allow-root"] : []),
  ];
}

/**
 * Defaults for the venv's JupyterLab (app-level overrides.d; a user can still change them in the lab):
 * never ask to fetch Jupyter news or check for updates — `LabApp.news_url=None` alone still shows the
 * "notified about official Jupyter news?" toast in 4.6.
 */
function writeLabOverrides(j: Jupyter): void {
  if (j.kind !== "venv") return; // a Jupyter already on the machine is not ours to write into
  const dir = path.join(j.root, VENV_DIR, "share", "jupyter", "lab", "settings", "overrides.d");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "streetsafe.json"), JSON.stringify({ "@jupyterlab/apputils-extension:notification": { fetchNews: "false", checkForUpdates: false } }, null, 2) + "\n");
}

export async function startLab(j: Jupyter, opts: LabOptions = {}): Promise<Lab> {
  if (!j.hasLab) throw new Error(`the Jupyter in use (${j.describe}) has no JupyterLab: let the project set up ${VENV_DIR}/ (see README, "Requirements")`);
  writeLabOverrides(j);
  const dir = opts.dir ?? path.join(j.root, "notebooks");
  const port = opts.port || (await freePort());
  const token = opts.token ?? randomBytes(24).toString("hex");
  // Its own process group: the terminal's Ctrl-C reaches only this process, which stops the server with
  // SIGTERM — handled cleanly by jupyter_server (kernels shut down; a SIGINT to the group instead left a
  // KeyboardInterrupt traceback and stale runtime files). stdin is not a TTY, so it never asks to confirm.
  const child = spawn(j.python, labArgs({ dir, port, token, exposeApp: opts.exposeApp }), {
    cwd: dir,
    env: { ...j.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit); // this process ends for any other reason: do not leave the server behind
  const logChunk = opts.onLog ?? ((s: string) => process.stderr.write(s));
  child.stdout!.setEncoding("utf8").on("data", logChunk);
  child.stderr!.setEncoding("utf8").on("data", logChunk);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => {
      process.off("exit", killOnExit);
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  const url = `http://127.0.0.1:${port}/`;
  const lab: Lab = {
    url,
    urlWithToken: `${url}lab?token=${token}`,
    token,
    port,
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`JupyterLab exited (status ${child.exitCode}) before it served ${url}`);
    try {
      const r = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` }, signal: AbortSignal.timeout(2000) });
      if (r.ok) return lab;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await lab.stop();
      throw new Error(`JupyterLab did not answer on ${url} within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The `lab` command: start, print the URL with its token, stop on Ctrl-C (SIGINT) or SIGTERM; a second Ctrl-C
 * kills it at once. Resolves with the exit status (130 after Ctrl-C).
 */
export async function runLabCommand(j: Jupyter, opts: LabOptions & { log?: (l: string) => void } = {}): Promise<number> {
  const log = opts.log ?? console.log;
  // The server's own log stays quiet; its warnings and errors (a kernel that died, a port in use) are shown.
  const onLog = (chunk: string) => {
    for (const line of chunk.split("\n")) if (/^\[(E|C|W) /.test(line) && !/received signal 15/.test(line)) process.stderr.write(`${line}\n`);
  };
  const lab = await startLab(j, { onLog, ...opts });
  log(`JupyterLab on ${displayPath(opts.dir ?? path.join(j.root, "notebooks"))}/ with the TypeScript kernel (${j.describe}):`);
  log(`  ${lab.urlWithToken}`);
  log("Ctrl-C stops it.");
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      lab.child.kill("SIGKILL");
      return;
    }
    signalled = true;
    log(`\n${sig === "SIGINT" ? "Ctrl-C" : sig}: stopping JupyterLab …`);
    void lab.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await lab.exited;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return signalled ? 130 : (code ?? 1);
}
