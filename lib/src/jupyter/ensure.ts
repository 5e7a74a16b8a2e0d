/**
 * `ensureJupyter(root)`: a Jupyter that executes this project's notebooks with its tslab kernel, in this order:
 *   1. the project's `.venv/` already set up for python/requirements-jupyter.txt (a stamp read, no process);
 *   2. set up `.venv/` (lib/src/core/python: python3 -m venv, the pinned requirements by the venv's own pip,
 *      as root on Debian python3-venv first when missing), then the tslab kernelspec inside the venv and the
 *      smoke test, before the stamp is written;
 *   3. a Jupyter already on the machine, only when it passes the smoke test (its kernelspec goes into
 *      <root>/.jupyter/share/jupyter; the Jupyter itself is never modified);
 *   4. root only, when no venv can be made: Debian's Jupyter packages, then the same smoke test;
 *   5. otherwise a PythonEnvError naming the exact command that fixes it.
 * Never `pip install --user`, never a write to HOME, /usr (except 2/4's apt as root) or another project.
 */
import { existsSync, readFileSync } from "node:fs";
import { aptInstall, ensurePythonPart, isRoot, pythonInfo, PythonEnvError, runSync, VENV_DIR, venvLayout } from "../core/python";
import { jupyterDirs, jupyterEnv, makeJupyterDirs } from "./dirs";
import { installTslabKernel, kernelJsonPath, kernelStartsTslab, tslabBinary } from "./kernel";
import { smokeTest } from "./smoke-test";

export interface Jupyter {
  kind: "venv" | "system";
  root: string;
  /** Runs `-m nbconvert` (and `-m jupyterlab` when hasLab); absolute. */
  python: string;
  /** The environment of every Jupyter process of the project (dirs.ts). */
  env: NodeJS.ProcessEnv;
  hasLab: boolean;
  /** True when this call set it up (false: `.venv/`'s stamp held and no process was started). */
  installed: boolean;
  /** One line for the log: which Jupyter and why. */
  describe: string;
}

export interface EnsureJupyterOptions {
  log?: (line: string) => void;
  /** The environment to start from (tests: a temporary HOME, a PATH without jupyter). */
  env?: NodeJS.ProcessEnv;
  /** Consider a Jupyter already on the machine when the venv cannot be set up (default true). */
  allowSystem?: boolean;
  /** As root: apt-get Debian's python3-venv, or its Jupyter packages, when no venv can be made (default true). */
  allowApt?: boolean;
}

/** Debian 12's headless Jupyter (no JupyterLab package: `npm run lab` needs the venv). */
const DEBIAN_JUPYTER = ["jupyter-nbconvert", "jupyter-client", "python3-ipykernel", "python3-nbclient"];

export function ensureJupyter(root: string, opts: EnsureJupyterOptions = {}): Jupyter {
  const log = opts.log ?? console.log;
  makeJupyterDirs(root);
  const env = jupyterEnv(root, opts.env ?? process.env);
  const allowApt = opts.allowApt ?? true;
  const tried: string[] = [];
  let venvError: PythonEnvError;
  try {
    return venvJupyter(root, env, allowApt, log);
  } catch (e) {
    if (!(e instanceof PythonEnvError)) throw e;
    venvError = e;
    tried.push(`${VENV_DIR}/: ${indent(withoutFix(e))}`);
  }
  if (opts.allowSystem ?? true) {
    for (const py of systemJupyterPythons(env)) {
      const found = trySystem(root, py, env, log);
      if (found) return found;
      tried.push(`the Jupyter of ${py}: did not pass the smoke test (ignored, left as it is)`);
    }
  }
  const noVenv = venvError.code === "no-python" || venvError.code === "no-ensurepip" || venvError.code === "venv-failed";
  if (noVenv && allowApt && isRoot()) {
    log(`no virtual environment can be made here; installing Debian's Jupyter packages (running as root)`);
    if (aptInstall(DEBIAN_JUPYTER, log)) {
      const found = trySystem(root, "/usr/bin/python3", env, log);
      if (found) return found;
      tried.push(`Debian's ${DEBIAN_JUPYTER.join(" ")}: did not pass the smoke test`);
    } else tried.push(`apt-get install ${DEBIAN_JUPYTER.join(" ")}: failed`);
  }
  throw new PythonEnvError(`no Jupyter to run the notebooks with. Tried:\n  - ${tried.join("\n  - ")}`, venvError.code, venvError.fix);
}

function venvJupyter(root: string, env: NodeJS.ProcessEnv, allowApt: boolean, log: (l: string) => void): Jupyter {
  const v = venvLayout(root);
  const tslab = tslabBinary(root);
  const kernel = { kind: "sys-prefix", prefix: v.dir } as const;
  const py = ensurePythonPart(root, "jupyter", {
    env,
    log,
    allowApt,
    // The stamp is trusted only while the venv's kernelspec starts this project's tslab.
    stillValid: (s) => s.extra?.tslab === tslab && kernelStartsTslab(kernelJsonPath(kernel), tslab),
    afterInstall: ({ python }) => {
      installTslabKernel(root, python, kernel, env);
      const smoke = smokeTest(root, python, env);
      if (!smoke.ok) throw new Error(`the Jupyter in ${VENV_DIR}/ could not run a TypeScript cell with the tslab kernel:\n${smoke.detail}`);
      log(`  TypeScript kernel (tslab) registered in ${VENV_DIR}/; one TypeScript cell ran in ${smoke.seconds.toFixed(1)} s`);
      return { tslab, smokeSeconds: smoke.seconds.toFixed(1) };
    },
  });
  const when = py.installed ? "just set up" : `set up ${py.stamp.installedAt.slice(0, 10)}`;
  return { kind: "venv", root, python: py.python, env, hasLab: true, installed: py.installed, describe: `${VENV_DIR}/ (Python ${py.stamp.pythonVersion}, ${when})` };
}

/** Interpreters of the Jupyters on PATH (the shebang of jupyter-nbconvert / jupyter), then Debian's python3. */
export function systemJupyterPythons(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const name of ["jupyter-nbconvert", "jupyter"]) {
    const which = runSync("sh", ["-c", `command -v ${name}`], { env }).stdout?.trim();
    if (!which || !existsSync(which)) continue;
    const first = readFileSync(which, "utf8").split("\n", 1)[0];
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (m) out.push(m[1].endsWith("/env") && m[2] ? m[2] : m[1]);
  }
  out.push("/usr/bin/python3");
  return [...new Set(out)].filter((p) => runSync(p, ["-m", "nbconvert", "--version"], { env, timeout: 30_000 }).status === 0);
}

function trySystem(root: string, python: string, venvEnv: NodeJS.ProcessEnv, log: (l: string) => void): Jupyter | null {
  // The kernelspec lives in the project's JUPYTER_DATA_DIR (user level): it must win over a `tslab` spec that
  // the system Jupyter may carry in its own share/jupyter (another tslab, another project).
  const env = { ...venvEnv, JUPYTER_PREFER_ENV_PATH: "0" };
  if (!pythonInfo(python, env)) return null;
  try {
    installTslabKernel(root, python, { kind: "prefix", prefix: jupyterDirs(root).base }, env);
  } catch {
    return null;
  }
  const smoke = smokeTest(root, python, env);
  if (!smoke.ok) return null;
  const hasLab = runSync(python, ["-m", "jupyterlab", "--version"], { env, timeout: 30_000 }).status === 0;
  log(`using the Jupyter of ${python}: it passed the smoke test (${smoke.seconds.toFixed(1)} s)`);
  return { kind: "system", root, python, env, hasLab, installed: true, describe: `${python} (already on this machine; smoke test passed)` };
}

// A system interpreter is named as it is (/usr/bin/python3): it is no path of the user's or the project's.
const withoutFix = (e: PythonEnvError) => e.message.split("\nFix: ")[0];
const indent = (s: string) => s.split("\n").join("\n    ");
