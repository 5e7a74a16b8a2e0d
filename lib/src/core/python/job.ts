/**
 * One Python job of the project (a script in `python/`) run in the project's venv as a child process, the way
 * the local Qwen2-VL route drives its training, merge, export and parity scripts:
 *
 * - the script prints JSON lines on stdout (`{"event": …}`), passed to `onEvent` as they come; anything else on
 *   stdout and all of stderr (the human log, tracebacks) goes to `logFile` when given, and its tail is kept for
 *   the error message;
 * - abort (`signal`): SIGINT to the child once (the scripts stop cleanly — training writes a checkpoint — and
 *   exit 130), a second abort sends SIGINT again (the scripts abort at once). The child runs in its own process
 *   group, so a terminal's Ctrl-C reaches it only through here, exactly once;
 * - the child watches its stdin (STREETSAFE_PARENT_WATCH): if this process dies, the pipe closes and the child
 *   stops as on Ctrl-C, so no job runs on orphaned;
 * - what the job says (its log, its error) names paths relative to the repository, or with `~`: no machine path
 *   lands in a record or a log;
 * - Hugging Face downloads go to the project's `.cache/huggingface` unless the user set HF_HOME (so a machine's
 *   existing cache is used by setting HF_HOME, and nothing else is written outside the project).
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { ProjectPython } from "./index";

/** The repository root (this file is lib/{src,dist}/core/python/job.*). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
/** The project's hub cache when HF_HOME is not set. */
export const HF_CACHE_DIR = path.join(".cache", "huggingface");

export interface JobEvent {
  event: string;
  [key: string]: unknown;
}

export interface PythonJobOptions {
  /** The repository root (scripts are `<root>/<script>`, the hub cache is under it); default PROJECT_ROOT. */
  root?: string;
  /** Working directory; default the root (so relative paths in arguments and in the files written stay relative). */
  cwd?: string;
  /** Added to the venv's environment. */
  env?: Record<string, string>;
  onEvent?: (event: JobEvent) => void;
  /** stderr (and non-JSON stdout) is appended here. */
  logFile?: string;
  signal?: AbortSignal;
}

export interface PythonJobResult {
  /** Exit status (130: stopped on request); null when killed by a signal. */
  code: number | null;
  events: JobEvent[];
  /** The last `error` event's message, else the stderr tail when the exit status is not 0. */
  error: string | null;
  seconds: number;
  interrupted: boolean;
}

/** HF_HOME for a child: the user's when set, else the project's own cache folder. */
export function hubCacheEnv(root: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.HF_HOME ? {} : { HF_HOME: path.join(root, HF_CACHE_DIR) };
}

export function runPythonJob(py: ProjectPython, script: string, args: string[], opts: PythonJobOptions = {}): Promise<PythonJobResult> {
  const root = opts.root ?? PROJECT_ROOT;
  const started = performance.now();
  const log = opts.logFile ? openLog(opts.logFile) : null;
  const env = { ...py.env, ...hubCacheEnv(root, py.env), PYTHONUNBUFFERED: "1", STREETSAFE_PARENT_WATCH: "1", ...opts.env };
  const child = spawn(py.python, [path.join(root, script), ...args], { cwd: opts.cwd ?? root, env, stdio: ["pipe", "pipe", "pipe"], detached: true });
  const events: JobEvent[] = [];
  let tail = "";
  let pending = "";
  let interrupts = 0;
  const keepTail = (raw: string) => {
    const text = withoutMachinePaths(raw, root);
    log?.write(text);
    tail = (tail + text).slice(-4000);
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const event = parseEvent(line);
      if (!event) {
        if (line.trim()) keepTail(line + "\n");
        continue;
      }
      events.push(event);
      opts.onEvent?.(event);
    }
  });
  child.stderr.setEncoding("utf8").on("data", keepTail);
  child.stdin.on("error", () => undefined); // the child may exit before we close its stdin
  const onAbort = () => {
    interrupts++;
    if (child.exitCode === null) child.kill("SIGINT");
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort);
  return new Promise((resolve, reject) => {
    child.on("error", (err) => {
      opts.signal?.removeEventListener("abort", onAbort);
      log?.end();
      reject(err);
    });
    child.on("close", (code) => {
      opts.signal?.removeEventListener("abort", onAbort);
      log?.end();
      const lastError = [...events].reverse().find((e) => e.event === "error");
      const error = lastError ? withoutMachinePaths(String(lastError.message), root) : code === 0 ? null : tailLines(tail, 15) || `exited with ${code}`;
      resolve({ code, events, error, seconds: (performance.now() - started) / 1000, interrupted: interrupts > 0 || code === 130 });
    });
  });
}

/** `<root>/x` → `x`, `<home>/x` → `~/x` (the repository first: it may sit inside the home folder). */
export function withoutMachinePaths(text: string, root: string, home = process.env.HOME): string {
  let out = text.split(`${root}${path.sep}`).join("").split(root).join(".");
  if (home && home.length > 1) out = out.split(home).join("~");
  return out;
}

function parseEvent(line: string): JobEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === "object" && typeof (v as JobEvent).event === "string" ? (v as JobEvent) : null;
  } catch {
    return null;
  }
}

function openLog(file: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  return createWriteStream(file, { flags: "a" });
}

function tailLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join("\n");
}
