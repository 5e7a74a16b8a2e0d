/**
 * How a path of this machine is written where others read it (reports, notebooks' outputs, run folders,
 * error messages): relative to the repository when inside it, `~/…` under the home folder, else relative to
 * the repository with `..` — never absolute, so a shared report names no user, folder layout or machine.
 * `resolveProjectPath` reads such a path back.
 */
import os from "node:os";
import path from "node:path";

/** The repository this library belongs to (lib/src/core or lib/dist/core → the repository root). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");

export interface PathBase {
  /** The repository (default PROJECT_ROOT). */
  root?: string;
  /** The home folder (default os.homedir()). */
  home?: string;
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** `p` (absolute, or relative to the working folder) as written for readers: `data/splits/test.csv`, `~/gt.xlsx`, `../x`. */
export function displayPath(p: string, base: PathBase = {}): string {
  const root = path.resolve(base.root ?? PROJECT_ROOT);
  const home = base.home ?? os.homedir();
  const abs = path.resolve(p);
  if (inside(root, abs)) return path.relative(root, abs) || ".";
  if (home && home !== path.sep && inside(home, abs)) {
    const rel = path.relative(home, abs);
    return rel ? `~/${rel.split(path.sep).join("/")}` : "~";
  }
  return path.relative(root, abs);
}

/** The absolute path of something written by displayPath (an absolute path, from older files, stays as it is). */
export function resolveProjectPath(p: string, base: PathBase = {}): string {
  if (p === "~" || p.startsWith("~/")) return path.join(base.home ?? os.homedir(), p.slice(1));
  return path.resolve(base.root ?? PROJECT_ROOT, p);
}

/** A path read from a file written by displayPath, or from an older file holding it absolute, as displayPath writes it. */
export function displayStoredPath(stored: string, base: PathBase = {}): string {
  return displayPath(resolveProjectPath(stored, base), base);
}
