/**
 * The project's own Python: one virtual environment in `<root>/.venv`, made with `python3 -m venv`, holding
 * what the steps need from Python (Jupyter for the notebooks, torch/transformers/peft/onnx for the local
 * Qwen2-VL route). Nothing is written outside the project: no `pip install --user`, no user site-packages.
 *
 * A requirement set ("part") is installed once and remembered in a stamp file inside the venv that holds
 * the requirements file's sha256: a second run reads two small files and starts no process.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export const VENV_DIR = ".venv";
/** ipykernel 7.4 and IPython 9 (python/requirements-jupyter.txt) need Python 3.11. */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

export interface PythonInfo {
  /** The interpreter as found (absolute). */
  path: string;
  version: [number, number, number];
  /** sys.base_prefix: /usr for Debian's python3 (apt can add python3-venv to it). */
  basePrefix: string;
}

export interface VenvLayout {
  dir: string;
  bin: string;
  python: string;
}

/** A setup problem of the project's Python; `fix` is the exact command that fixes it. */
export class PythonEnvError extends Error {
  constructor(
    message: string,
    readonly code: "no-python" | "no-ensurepip" | "venv-failed" | "pip-failed" | "foreign-venv",
    readonly fix: string,
  ) {
    super(`${message}\nFix: ${fix}`);
    this.name = "PythonEnvError";
  }
}

export function runSync(cmd: string, args: string[], opts: Omit<SpawnSyncOptions, "encoding"> = {}) {
  return spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts, encoding: "utf8" });
}

export function venvLayout(root: string): VenvLayout {
  const dir = path.join(root, VENV_DIR);
  const bin = path.join(dir, process.platform === "win32" ? "Scripts" : "bin");
  return { dir, bin, python: path.join(bin, process.platform === "win32" ? "python.exe" : "python") };
}

/**
 * The environment every project Python process runs with: the user site (`~/.local`) switched off, no
 * inherited PYTHONPATH/PYTHONHOME, pip's self-check off. Keys named in `extra` are added last.
 */
export function pythonProcessEnv(base: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONNOUSERSITE: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", ...extra };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

/** Ask an interpreter who it is; -I (isolated): no PYTHON* variables, no user site, HOME not consulted. */
export function pythonInfo(python: string, env: NodeJS.ProcessEnv = process.env): PythonInfo | null {
  const r = runSync(python, ["-I", "-c", "import sys,json;print(json.dumps([sys.executable,list(sys.version_info[:3]),sys.base_prefix]))"], { env, timeout: 20_000 });
  if (r.status !== 0) return null;
  try {
    const [exe, version, basePrefix] = JSON.parse(r.stdout.trim()) as [string, [number, number, number], string];
    return { path: exe || python, version, basePrefix };
  } catch {
    return null;
  }
}

function recentEnough(v: [number, number, number]): boolean {
  return v[0] > MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] >= MIN_PYTHON[1]);
}

/** The first Python ≥ 3.11: STREETSAFE_PYTHON, then python3 on PATH, then Debian's /usr/bin/python3, … */
export function findPython(env: NodeJS.ProcessEnv = process.env): PythonInfo | null {
  const candidates = [env.STREETSAFE_PYTHON, "python3", "/usr/bin/python3", "python3.13", "python3.12", "python3.11", "python"];
  for (const c of candidates) {
    if (!c) continue;
    const info = pythonInfo(c, env);
    if (info && recentEnough(info.version)) return info;
  }
  return null;
}

/** The fix when no Python ≥ 3.11 is found. */
export const NO_PYTHON_FIX = "sudo apt-get install -y python3 python3-venv   # or set STREETSAFE_PYTHON to a Python ≥ 3.11";

/**
 * Make `<root>/.venv`, or reuse a working one. A broken venv that streetsafe made (it holds a stamp) is
 * recreated; a broken one that someone else made is left alone with the command that clears it.
 */
export function createVenv(root: string, python: PythonInfo, env: NodeJS.ProcessEnv): void {
  const v = venvLayout(root);
  if (existsSync(path.join(v.dir, "pyvenv.cfg"))) {
    if (pythonInfo(v.python, env)) return;
    if (stampsIn(v.dir).length === 0) {
      throw new PythonEnvError(`${VENV_DIR}/ exists but its Python does not run, and streetsafe did not make it`, "foreign-venv", `rm -rf ${VENV_DIR}   # then run the command again`);
    }
    rmSync(v.dir, { recursive: true, force: true });
  } else if (existsSync(v.dir)) {
    rmSync(v.dir, { recursive: true, force: true }); // half made: ensurepip failed after the folder was created
  }
  const r = runSync(python.path, ["-m", "venv", v.dir], { env, timeout: 300_000 });
  if (r.status === 0 && pythonInfo(v.python, env)) return;
  const out = `${r.stdout}${r.stderr}`;
  rmSync(v.dir, { recursive: true, force: true });
  if (/ensurepip is not\s+available|No module named ensurepip|No module named venv/.test(out)) {
    const [maj, min] = python.version;
    throw new PythonEnvError(
      `${python.path} cannot make a virtual environment: its venv/ensurepip module is missing`,
      "no-ensurepip",
      python.basePrefix === "/usr" ? `sudo apt-get install -y python${maj}.${min}-venv` : `install the venv module for ${python.path} (Python ${maj}.${min})`,
    );
  }
  throw new PythonEnvError(`${python.path} -m venv ${VENV_DIR} failed:\n${tail(out)}`, "venv-failed", `${python.path} -m venv ${VENV_DIR}`);
}

// ------------------------------------------------------------------------------------------------- stamps

export interface Stamp {
  version: 1;
  part: string;
  requirementsSha256: string;
  venv: string;
  python: string;
  pythonVersion: string;
  installedAt: string;
  installSeconds: number;
  pipFreeze: string[];
  /** What the part's own setup recorded (e.g. the tslab binary its kernelspec names). */
  extra?: Record<string, string>;
}

const stampFile = (venvDir: string, part: string) => path.join(venvDir, `.streetsafe-${part}.json`);

function stampsIn(venvDir: string): string[] {
  return ["jupyter", "train"].filter((p) => existsSync(stampFile(venvDir, p)));
}

export function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** The stamp of `part` when it still holds for these requirements at this place, else null. No process starts. */
export function readValidStamp(root: string, part: string, requirementsFile: string): Stamp | null {
  const v = venvLayout(root);
  const file = stampFile(v.dir, part);
  if (!existsSync(file) || !existsSync(v.python)) return null; // existsSync follows the link: base Python gone → rebuild
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as Stamp;
    if (s.version !== 1 || s.part !== part || s.venv !== v.dir || s.requirementsSha256 !== fileSha256(requirementsFile)) return null;
    return s;
  } catch {
    return null;
  }
}

export function writeStamp(root: string, part: string, requirementsFile: string, s: Omit<Stamp, "version" | "part" | "venv" | "requirementsSha256">): Stamp {
  const v = venvLayout(root);
  const stamp: Stamp = { version: 1, part, venv: v.dir, requirementsSha256: fileSha256(requirementsFile), ...s };
  writeFileSync(stampFile(v.dir, part), JSON.stringify(stamp, null, 2) + "\n");
  return stamp;
}

export function removeStamp(root: string, part: string): void {
  rmSync(stampFile(venvLayout(root).dir, part), { force: true });
}

// ------------------------------------------------------------------------------------------------- apt

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Root only, the one documented exception: Debian's packages. Returns whether apt-get install succeeded. */
export function aptInstall(packages: string[], log: (l: string) => void): boolean {
  if (!isRoot() || runSync("apt-get", ["--version"]).status !== 0) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  log(`  apt-get install -y ${packages.join(" ")}`);
  runSync("apt-get", ["update", "-qq"], { env, stdio: "inherit", timeout: 600_000 });
  return runSync("apt-get", ["install", "-y", "-qq", ...packages], { env, stdio: "inherit", timeout: 1_200_000 }).status === 0;
}

export function tail(text: string | null | undefined, lines = 40): string {
  return (text ?? "").trim().split("\n").slice(-lines).join("\n");
}
