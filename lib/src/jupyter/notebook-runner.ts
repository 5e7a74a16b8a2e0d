/**
 * `npm start`: make sure a Jupyter executor exists, register the project's tslab as a kernel,
 * and execute the notebooks headless in order, writing each executed notebook and its HTML export
 * to results/reports/.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export interface RunNotebooksOptions {
  root: string;
  /** Notebook file names to run (default: every notebooks/*.ipynb, in name order). */
  only?: string[];
  outDir?: string;
  /** Per-cell timeout, seconds. */
  cellTimeout?: number;
  /** Extra environment for the kernels (e.g. STREETSAFE_GROUND_TRUTH). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface NotebookRun {
  notebook: string;
  executed: string;
  html: string;
  seconds: number;
}

const DEBIAN_PACKAGES = ["jupyter-nbconvert", "jupyter-client", "python3-ipykernel", "python3-nbclient"];
const PIP_PACKAGES = ["nbconvert", "nbclient", "jupyter_client", "ipykernel"];
export const MANUAL_JUPYTER_INSTALL =
  `sudo apt-get install -y ${DEBIAN_PACKAGES.join(" ")}   # Debian/Ubuntu\n` +
  `  or: python3 -m pip install ${PIP_PACKAGES.join(" ")}`;

function run(cmd: string, args: string[], opts: Omit<SpawnSyncOptions, "encoding"> = {}) {
  return spawnSync(cmd, args, { ...opts, encoding: "utf8" });
}

export function hasNbconvert(): boolean {
  const r = run("jupyter", ["nbconvert", "--version"]);
  return r.status === 0;
}

/** Install a Jupyter executor when missing: pip where it reaches an index, else apt as root, else explain. */
export function ensureJupyter(log: (l: string) => void = console.log): void {
  if (hasNbconvert()) return;
  log("jupyter nbconvert not found; installing a Jupyter executor …");
  const pip = run("python3", ["-m", "pip", "install", "--user", ...PIP_PACKAGES], { stdio: "inherit", timeout: 600_000 });
  if (pip.status === 0 && hasNbconvert()) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && run("apt-get", ["--version"]).status === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    run("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    const apt = run("apt-get", ["install", "-y", "-qq", ...DEBIAN_PACKAGES], { stdio: "inherit", env });
    if (apt.status === 0 && hasNbconvert()) return;
  }
  throw new Error(`could not install Jupyter's nbconvert automatically. Install it with:\n  ${MANUAL_JUPYTER_INSTALL}\nthen run npm start again.`);
}

/** The Python that runs `jupyter` (its shebang), so the kernelspec lands where that Jupyter looks. */
function jupyterPython(): string {
  const which = run("sh", ["-c", "command -v jupyter"]).stdout?.trim();
  if (which && existsSync(which)) {
    const first = readFileSync(which, "utf8").split("\n", 1)[0];
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (m) return m[1].endsWith("/env") && m[2] ? m[2] : m[1];
  }
  return "python3";
}

/** Register the project's own tslab (absolute path) as the `tslab` kernel for this user. */
export function registerTslabKernel(root: string, log: (l: string) => void = console.log): void {
  const tslab = path.join(root, "node_modules", ".bin", "tslab");
  if (!existsSync(tslab)) throw new Error(`tslab not found at ${tslab}; run npm install first`);
  const r = run(tslab, ["install", `--python=${jupyterPython()}`, `--binary=${tslab}`, "--user"]);
  if (r.status !== 0) throw new Error(`registering the tslab kernel failed:\n${r.stdout}${r.stderr}`);
  log("registered the tslab kernel (TypeScript) for Jupyter");
}

export function listNotebooks(root: string): string[] {
  const dir = path.join(root, "notebooks");
  return readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort();
}

/** Execute one notebook with nbconvert and export it to HTML; throws with the cell error when it fails. */
export function executeNotebook(root: string, notebook: string, opts: RunNotebooksOptions): NotebookRun {
  const outDir = opts.outDir ?? path.join(root, "results", "reports");
  const started = Date.now();
  const env = { ...process.env, ...opts.env, PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}` };
  const exec = run(
    "jupyter",
    [
      "nbconvert", "--to", "notebook", "--execute",
      "--ExecutePreprocessor.kernel_name=tslab",
      `--ExecutePreprocessor.timeout=${opts.cellTimeout ?? 900}`,
      "--output-dir", outDir,
      path.join(root, "notebooks", notebook),
    ],
    { cwd: path.join(root, "notebooks"), env, maxBuffer: 64 * 1024 * 1024 },
  );
  if (exec.status !== 0) throw new Error(`notebook ${notebook} failed:\n${cellError(exec.stderr || exec.stdout)}`);
  const executed = path.join(outDir, notebook);
  const html = run("jupyter", ["nbconvert", "--to", "html", "--output-dir", outDir, executed], { env });
  if (html.status !== 0) throw new Error(`HTML export of ${notebook} failed:\n${tail(html.stderr)}`);
  return { notebook, executed, html: executed.replace(/\.ipynb$/, ".html"), seconds: (Date.now() - started) / 1000 };
}

export function runNotebooks(opts: RunNotebooksOptions): NotebookRun[] {
  const log = opts.log ?? console.log;
  ensureJupyter(log);
  registerTslabKernel(opts.root, log);
  const runs: NotebookRun[] = [];
  for (const nb of opts.only ?? listNotebooks(opts.root)) {
    log(`executing notebooks/${nb} …`);
    const r = executeNotebook(opts.root, nb, opts);
    log(`  done in ${r.seconds.toFixed(1)}s → ${path.relative(opts.root, r.executed)}, ${path.relative(opts.root, r.html)}`);
    runs.push(r);
  }
  return runs;
}

/** nbclient's message names the failing cell and its error; Python's traceback before it is noise. */
function cellError(text: string | null | undefined): string {
  const t = text ?? "";
  const at = t.indexOf("An error occurred while executing the following cell");
  return at >= 0 ? t.slice(at).trim() : tail(t);
}

function tail(text: string | null | undefined, lines = 40): string {
  return (text ?? "").trim().split("\n").slice(-lines).join("\n");
}
