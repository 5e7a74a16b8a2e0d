/**
 * A fresh machine's environment for a child process: an empty temporary HOME and TMPDIR, and a PATH on which
 * no `jupyter` exists (a PATH folder that holds one is replaced by a folder of links to everything else in
 * it: on Debian /usr/bin holds both jupyter and node). `listAll` and `changedSince` show what appeared.
 *
 * Carried over from the real HOME, as a user's own setup: pip's configuration file (the local wheel index;
 * with a temporary HOME pip would see only the unreachable public index) and RUSTUP_HOME/CARGO_HOME (pip's
 * user agent runs `rustc --version` when rustc is on PATH, and rustup's proxy, finding no ~/.rustup, creates
 * ~/.rustup/settings.toml in an empty HOME).
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface FreshEnv {
  env: NodeJS.ProcessEnv;
  home: string;
  tmp: string;
  remove(): void;
}

const hasJupyter = (dir: string) => {
  try {
    accessSync(path.join(dir, "jupyter"), constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** PATH without `jupyter`: folders holding one are replaced by link folders (under `shims`) without jupyter*. */
export function pathWithoutJupyter(shims: string, p = process.env.PATH ?? ""): string {
  const out: string[] = [];
  const real = new Set<string>();
  for (const dir of p.split(path.delimiter).filter(Boolean)) {
    if (!existsSync(dir)) continue;
    const key = (() => {
      try {
        return statSync(dir).ino + ":" + statSync(dir).dev;
      } catch {
        return dir;
      }
    })();
    if (real.has(key)) continue; // /bin and /usr/bin are one folder on Debian 12
    real.add(key);
    if (!hasJupyter(dir)) {
      out.push(dir);
      continue;
    }
    const shim = path.join(shims, String(out.length));
    mkdirSync(shim, { recursive: true });
    for (const name of readdirSync(dir)) if (!name.startsWith("jupyter")) symlinkSync(path.join(dir, name), path.join(shim, name));
    out.push(shim);
  }
  return out.join(path.delimiter);
}

function userPipConfig(): Record<string, string> {
  const home = os.homedir();
  const candidates = [process.env.PIP_CONFIG_FILE, path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, ".config"), "pip", "pip.conf"), path.join(home, ".pip", "pip.conf")];
  const found = candidates.find((c) => c && existsSync(c));
  return found ? { PIP_CONFIG_FILE: found } : {};
}

function userToolHomes(): Record<string, string> {
  const out: Record<string, string> = {};
  const rustup = process.env.RUSTUP_HOME ?? path.join(os.homedir(), ".rustup");
  if (existsSync(rustup)) out.RUSTUP_HOME = rustup;
  const cargo = process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo");
  if (existsSync(cargo)) out.CARGO_HOME = cargo;
  return out;
}

export function freshEnv(): FreshEnv {
  const base = mkdtempSync(path.join(os.tmpdir(), "streetsafe-fresh-"));
  const home = path.join(base, "home");
  const tmp = path.join(base, "tmp");
  mkdirSync(home);
  mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, PATH: pathWithoutJupyter(path.join(base, "shims")), ...userPipConfig(), ...userToolHomes() };
  for (const k of ["XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR", "PYTHONUSERBASE"]) delete env[k];
  return { env, home, tmp, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** Every file and folder under dir, relative, sorted ([] when dir is missing). */
export function listAll(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(path.relative(dir, path.join(d, e.name)));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Entries under `roots` created or changed after `sinceMs` (links not followed): where a Jupyter or pip
 * bootstrap that escaped its project would write — the real user's Jupyter and Python folders, /usr/local,
 * the system's Jupyter data.
 */
export function changedSince(roots: string[], sinceMs: number): string[] {
  const hits: string[] = [];
  const walk = (p: string, depth: number) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.mtimeMs > sinceMs || st.ctimeMs > sinceMs) hits.push(p);
    if (st.isDirectory() && depth < 12) for (const name of readdirSync(p)) walk(path.join(p, name), depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return hits;
}

/** The folders changedSince watches for a Jupyter or pip bootstrap. */
export function userAndSystemJupyterDirs(): string[] {
  const home = os.homedir();
  return [
    path.join(home, ".local"),
    path.join(home, ".jupyter"),
    path.join(home, ".ipython"),
    "/usr/local/share/jupyter",
    "/usr/local/lib",
    "/usr/local/bin",
    "/usr/share/jupyter",
    "/etc/jupyter",
  ];
}
