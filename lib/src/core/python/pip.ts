/**
 * The project's pip calls. pip reads the user's own configuration (index, find-links, constraints) unchanged;
 * only these calls get fast-fail options, and configured indexes that do not answer are left out of this
 * call. With pip's defaults an unreachable PyPI costs 5 retries with back-off per package: a JupyterLab
 * install took 11 min 39 s wall for 13 s of CPU on a machine whose packages come from a local index.
 */
import path from "node:path";
import { PythonEnvError, runSync, tail } from "./venv";

/** Keeps pip's cache inside the project, beside the response cache. */
export const PIP_CACHE_DIR = path.join(".cache", "pip");

const PIP_QUIET = ["--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-warn-script-location"] as const;

/**
 * Retry options for one pip call (on the command line, so they win over PIP_DEFAULT_TIMEOUT / PIP_RETRIES for
 * this call only). Silent indexes are already left out, so a remote index still in play gets two short
 * retries and local ones none.
 */
export function pipRetryArgs(indexes: string[]): string[] {
  return indexes.some((u) => /^https?:/i.test(u)) ? ["--retries", "2", "--timeout", "15"] : ["--retries", "0", "--timeout", "5"];
}

export interface PipIndexPlan {
  /**
   * Environment for this pip call only: PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_NO_INDEX replace the
   * configured values key by key (pip: environment over files). A command-line --extra-index-url would be
   * appended to the configured list instead, keeping a silent index in play.
   */
  env: Record<string, string>;
  /** Index URLs from pip's configuration that did not answer and are left out of this call. */
  unreachable: string[];
  indexes: string[];
}

/** `pip config list` → the index URLs pip would use (environment > install section > global). */
export function configuredIndexes(configList: string): { index: string; extra: string[]; noIndex: boolean } {
  const rank = (section: string) => (section === ":env:" ? 3 : section === "install" ? 2 : section === "global" ? 1 : 0);
  const best = new Map<string, { r: number; value: string }>();
  for (const line of configList.split("\n")) {
    const m = /^(:env:|[\w-]+)\.([\w-]+)='(.*)'$/.exec(line.trim());
    if (!m) continue;
    const [, section, key, value] = m;
    const r = rank(section);
    if (r && (best.get(key)?.r ?? 0) < r) best.set(key, { r, value });
  }
  const split = (s: string | undefined) => (s ?? "").split(/\s+/).filter(Boolean);
  return {
    index: best.get("index-url")?.value ?? "https://pypi.org/simple",
    extra: split(best.get("extra-index-url")?.value),
    noIndex: /^(1|true|yes|on)$/i.test(best.get("no-index")?.value ?? ""),
  };
}

/**
 * Which indexes answer, probed once with the venv's Python (urllib honours the proxy variables pip honours),
 * 3 s each. Any HTTP status counts as reachable; only name, connection and timeout errors do not.
 */
export function probeIndexes(python: string, urls: string[], env: NodeJS.ProcessEnv): Set<string> {
  const code = [
    "import sys,json,ssl,os,urllib.request,urllib.error,urllib.parse",
    "res={}",
    "for u in json.loads(sys.argv[1]):",
    "  if u.startswith('file:'):",
    "    res[u]=os.path.isdir(urllib.request.url2pathname(urllib.parse.urlparse(u).path)); continue",
    "  try:",
    "    urllib.request.urlopen(urllib.request.Request(u, method='HEAD'), timeout=3); res[u]=True",
    "  except urllib.error.HTTPError: res[u]=True",
    "  except urllib.error.URLError as e: res[u]=isinstance(e.reason, ssl.SSLError)",
    "  except Exception: res[u]=False",
    "print(json.dumps(res))",
  ].join("\n");
  const r = runSync(python, ["-I", "-c", code, JSON.stringify(urls)], { env, timeout: 10_000 + urls.length * 4_000 });
  try {
    const res = JSON.parse(r.stdout.trim()) as Record<string, boolean>;
    return new Set(urls.filter((u) => res[u]));
  } catch {
    return new Set(urls); // the probe itself failed: let pip decide, with its fast-failing options
  }
}

export function pipIndexPlan(python: string, env: NodeJS.ProcessEnv): PipIndexPlan {
  const list = runSync(python, ["-m", "pip", "config", "list"], { env, timeout: 30_000 });
  const cfg = configuredIndexes(list.stdout ?? "");
  const all = cfg.noIndex ? [] : [cfg.index, ...cfg.extra];
  if (!all.length) return { env: {}, unreachable: [], indexes: [] };
  const up = probeIndexes(python, all, env);
  const reachable = all.filter((u) => up.has(u));
  const unreachable = all.filter((u) => !up.has(u));
  if (!unreachable.length) return { env: {}, unreachable, indexes: all };
  // Left out of this call only; find-links and constraints from pip's configuration still apply.
  const planEnv: Record<string, string> = reachable.length
    ? // an empty PIP_EXTRA_INDEX_URL counts as unset (the configured extras would stay): repeat the index instead
      { PIP_INDEX_URL: reachable[0], PIP_EXTRA_INDEX_URL: reachable.slice(1).join(" ") || reachable[0] }
    : { PIP_NO_INDEX: "1" };
  return { env: planEnv, unreachable, indexes: reachable };
}

export interface PipResult {
  seconds: number;
  plan: PipIndexPlan;
  freeze: string[];
}

/** Install a pinned requirements file with the venv's own pip (`root`-relative names in messages). */
export function pipInstall(root: string, python: string, requirementsFile: string, env: NodeJS.ProcessEnv, log: (l: string) => void): PipResult {
  const started = Date.now();
  const plan = pipIndexPlan(python, env);
  if (plan.unreachable.length) log(`  pip: not answering, left out of this install: ${plan.unreachable.join(", ")}`);
  const args = ["-m", "pip", "install", ...PIP_QUIET, ...pipRetryArgs(plan.indexes), "--cache-dir", path.join(root, PIP_CACHE_DIR), "--prefer-binary", "-r", requirementsFile];
  const r = runSync(python, args, { env: { ...env, ...plan.env }, timeout: 60 * 60_000 });
  const rel = path.relative(root, requirementsFile);
  if (r.status !== 0) {
    throw new PythonEnvError(
      `pip could not install ${rel} into ${path.relative(root, path.dirname(path.dirname(python)))}/ (indexes: ${plan.indexes.join(", ") || "none reachable"}):\n${tail(r.stderr || r.stdout, 15)}`,
      "pip-failed",
      `${path.relative(root, python)} -m pip install -r ${rel}   # once pip reaches a package index (see: pip config list)`,
    );
  }
  const freeze = runSync(python, ["-m", "pip", "freeze", "--disable-pip-version-check"], { env }).stdout.trim().split("\n").filter(Boolean);
  return { seconds: (Date.now() - started) / 1000, plan, freeze };
}
