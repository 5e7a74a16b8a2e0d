/**
 * A path as results, logs and reports show it, never the machine's absolute layout: relative to the working
 * folder (the repository) when inside it, else from the home folder with `~`, else relative to the working
 * folder with `..` steps.
 */
import os from "node:os";
import path from "node:path";

export function shownPath(p: string, cwd = process.cwd()): string {
  const full = path.resolve(cwd, p);
  const rel = path.relative(cwd, full);
  if (rel === "") return ".";
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) return rel.split(path.sep).join("/");
  const home = os.homedir();
  const fromHome = path.relative(home, full);
  if (home && fromHome && !fromHome.startsWith("..") && !path.isAbsolute(fromHome)) return `~/${fromHome.split(path.sep).join("/")}`;
  return rel.split(path.sep).join("/");
}
