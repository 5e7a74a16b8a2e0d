/**
 * The project's Python environment (`.venv/`), one owner for every step that runs Python: Jupyter for the
 * notebooks (part "jupyter") and the local Qwen2-VL training and export stack (part "train"). Each part is a
 * pinned requirements file in `python/`; `ensurePythonPart` installs it once, and later calls cost a stamp read.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pipInstall } from "./pip";
import {
  aptInstall, createVenv, findPython, isRoot, NO_PYTHON_FIX, pythonInfo, pythonProcessEnv, PythonEnvError,
  readValidStamp, venvLayout, writeStamp, type PythonInfo, type Stamp,
} from "./venv";

export { PIP_CACHE_DIR, pipInstall, pipRetryArgs } from "./pip";
export { HF_CACHE_DIR, hubCacheEnv, PROJECT_ROOT, runPythonJob, withoutMachinePaths, type JobEvent, type PythonJobOptions, type PythonJobResult } from "./job";
export { findPython, MIN_PYTHON, pythonInfo, pythonProcessEnv, PythonEnvError, removeStamp, VENV_DIR, venvLayout, type PythonInfo, type Stamp } from "./venv";
// For parts that run their own tools (lib/src/jupyter): spawning, the root-only apt fallback.
export { aptInstall, isRoot, runSync, tail } from "./venv";

export type PythonPart = "jupyter" | "train";

/** Where each part's pins live, relative to the repository root. */
export const REQUIREMENTS: Record<PythonPart, string> = {
  jupyter: path.join("python", "requirements-jupyter.txt"),
  train: path.join("python", "requirements-train.txt"),
};

export interface ProjectPython {
  /** Absolute path of the venv's python. */
  python: string;
  /** The venv's bin folder (put first on PATH for tools such as `jupyter`). */
  bin: string;
  /** The environment to run it with (user site off; see pythonProcessEnv). */
  env: NodeJS.ProcessEnv;
  stamp: Stamp;
  /** True when this call installed the part (false: the stamp held). */
  installed: boolean;
}

export interface EnsurePythonOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Root only: install Debian's python3-venv when no venv can be made (default true). */
  allowApt?: boolean;
  /** Called after pip, before the stamp is written; its result is kept in the stamp (e.g. a kernelspec). */
  afterInstall?: (py: { python: string; bin: string; env: NodeJS.ProcessEnv }) => Record<string, string> | void;
  /** A stamp that holds is only trusted when this also holds (e.g. the kernelspec still names this tslab). */
  stillValid?: (stamp: Stamp) => boolean;
}

/**
 * Make sure `.venv/` exists and holds `part`'s pinned requirements. Throws PythonEnvError with the exact
 * fixing command when no Python ≥ 3.11 or no venv module can be found (as root, Debian's python3-venv is
 * installed first: the one documented exception to "nothing outside the project").
 */
export function ensurePythonPart(root: string, part: PythonPart, opts: EnsurePythonOptions = {}): ProjectPython {
  const log = opts.log ?? console.log;
  const env = pythonProcessEnv(opts.env ?? process.env);
  const requirements = path.join(root, REQUIREMENTS[part]);
  if (!existsSync(requirements)) throw new Error(`${REQUIREMENTS[part]} is missing from the repository`);
  const v = venvLayout(root);
  const held = readValidStamp(root, part, requirements);
  if (held && (!opts.stillValid || opts.stillValid(held))) return { python: v.python, bin: v.bin, env, stamp: held, installed: false };

  const started = Date.now();
  log(`setting up the project's Python environment (${path.basename(v.dir)}/, ${part}: ${REQUIREMENTS[part]}) …`);
  const python = findPython(env);
  if (!python) throw new PythonEnvError("no Python ≥ 3.11 found (python3, /usr/bin/python3, STREETSAFE_PYTHON)", "no-python", NO_PYTHON_FIX);
  makeVenv(root, python, env, opts.allowApt ?? true, log);
  const pip = pipInstall(root, v.python, requirements, env, log);
  const extra = opts.afterInstall?.({ python: v.python, bin: v.bin, env }) ?? undefined;
  const info = pythonInfo(v.python, env) as PythonInfo;
  const stamp = writeStamp(root, part, requirements, {
    python: python.path,
    pythonVersion: info.version.join("."),
    installedAt: new Date().toISOString(),
    installSeconds: Math.round((Date.now() - started) / 100) / 10,
    pipFreeze: pip.freeze,
    ...(extra ? { extra } : {}),
  });
  log(`  ${part} ready in ${stamp.installSeconds} s (pip ${pip.seconds.toFixed(1)} s)`);
  return { python: v.python, bin: v.bin, env, stamp, installed: true };
}

function makeVenv(root: string, python: PythonInfo, env: NodeJS.ProcessEnv, allowApt: boolean, log: (l: string) => void): void {
  try {
    createVenv(root, python, env);
  } catch (e) {
    if (!(e instanceof PythonEnvError) || e.code !== "no-ensurepip" || !allowApt || !isRoot() || python.basePrefix !== "/usr") throw e;
    const [maj, min] = python.version;
    log(`  ${python.path} has no venv module; installing Debian's python${maj}.${min}-venv (running as root)`);
    if (!aptInstall([`python${maj}.${min}-venv`], log)) throw e;
    createVenv(root, python, env);
  }
}
