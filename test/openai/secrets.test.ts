/**
 * Secrets (issue 6, item 5): a full run with a sentinel API key — demo data → prepare → compare against
 * the loopback server (the key from OPENAI_API_KEY, then from a file named by OPENAI_API_KEY_FILE) →
 * reports and plots → notebooks 03 and 04 executed headless — leaves the key in no file of the project:
 * not in data/, results/, models/, the response cache, the executed notebooks or their HTML, nor in
 * anything the CLI printed. A rejected key that the server echoes back (its 401 does) is scrubbed from
 * the recorded error. `.gitignore` keeps `.env` and key files out of the repository.
 *
 * The run happens in a temporary project folder (its own models/models.json, notebooks/, a link to
 * node_modules), so the defaults — data/, results/, models/, .cache/ — all land inside it. The server
 * runs in a child process: the notebooks are executed synchronously by nbconvert (the repository's .venv/).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureJupyter } from "../../lib/src/jupyter/ensure";
import { executeNotebook } from "../../lib/src/jupyter/execute";
import { redact, REDACTED } from "../../lib/src/openai/keys";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
/** The key the server accepts; every file is searched for it. */
const SENTINEL = `sk-SENTINEL-${randomBytes(12).toString("hex")}`;
/** A key the server rejects and echoes back in its 401 message; it contains the sentinel. */
const REVOKED = `${SENTINEL}-revoked`;
const project = tempDir("streetsafe-secrets-");
const secrets = tempDir("streetsafe-secrets-keys-");
const keyFile = path.join(secrets, "openai_api_key.txt");
const printed: string[] = [];
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ apiKey: SENTINEL });
  writeFileSync(keyFile, `${SENTINEL}\n`);
  mkdirSync(path.join(project, "models"));
  copyFileSync(path.join(repo, "models", "models.json"), path.join(project, "models", "models.json"));
  mkdirSync(path.join(project, "notebooks"));
  // The notebooks that call models with the key (05 only reads the run folder scanned below).
  for (const nb of ["03_model_inference.ipynb", "04_compare_models.ipynb"]) {
    if (existsSync(path.join(repo, "notebooks", nb))) copyFileSync(path.join(repo, "notebooks", nb), path.join(project, "notebooks", nb));
  }
  symlinkSync(path.join(repo, "node_modules"), path.join(project, "node_modules"), "dir");
});
after(() => server?.close());

/** The CLI in the project folder with only the key settings given (none inherited from this process). */
function streetsafe(args: string[], keyEnv: Record<string, string>): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_BASE_URL: server.url, ...keyEnv };
  for (const k of ["OPENAI_API_KEY", "OPENAI_API_KEY_FILE", "AZURE_OPENAI_API_KEY"]) if (!(k in keyEnv)) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: project, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      printed.push(stdout, stderr);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** Every regular file under `dir` (links not followed) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string, skip: (p: string) => boolean = () => false): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (skip(p)) continue;
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(path.relative(project, p));
    }
  };
  walk(dir);
  return hits;
}

const latestRun = () => {
  const dir = path.join(project, "results", "model_comparison");
  return path.join(dir, readdirSync(dir).sort().at(-1)!);
};

test("a full run with a sentinel key leaves it in no file and no output", { timeout: 15 * 60_000 }, async (t) => {
  const ok = (r: { code: number; out: string }) => assert.equal(r.code, 0, r.out);
  const withKey = { OPENAI_API_KEY: SENTINEL };
  ok(await streetsafe(["demo-data", "--out", "data/demo", "--count", "40", "--seed", "4"], withKey));
  ok(await streetsafe(["prepare", "--ground-truth", "data/demo/ground_truth.xlsx", "--images", "data/demo/images"], withKey));

  // The key from OPENAI_API_KEY: gpt4 runs against the loopback server; answers are cached.
  const fromEnv = await streetsafe(["compare", "--models", "gpt4", "image-stats"], withKey);
  ok(fromEnv);
  const statsAfterEnv = await server.stats();
  assert.ok(statsAfterEnv.chat > 0 && statsAfterEnv.requests.every((r) => r.authorized), "gpt4 was asked with the key");
  assert.match(fromEnv.out, /every model answered every image/);

  // The key from a file named by OPENAI_API_KEY_FILE, without the cache so that requests are made.
  const fromFile = await streetsafe(["compare", "--models", "gpt4", "--no-cache", "--no-plots"], { OPENAI_API_KEY_FILE: keyFile });
  ok(fromFile);
  const statsAfterFile = await server.stats();
  assert.ok(statsAfterFile.chat > statsAfterEnv.chat && statsAfterFile.requests.every((r) => r.authorized), "asked with the key from the file");

  // A key the server rejects and echoes back (401 "Incorrect API key provided: <key>").
  await streetsafe(["compare", "--models", "gpt4", "--no-cache", "--no-plots"], { OPENAI_API_KEY: REVOKED });
  const rejected = readFileSync(path.join(latestRun(), "predictions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { model: string; error: string | null });
  const errors = rejected.filter((r) => r.model === "gpt4").map((r) => r.error ?? "");
  assert.ok(errors.length > 0 && errors.every((e) => e.startsWith("HTTP 401") && e.includes(`Incorrect API key provided: ${REDACTED}`)), errors[0]);
  assert.ok((await server.stats()).requests.some((r) => !r.authorized), "the rejected key reached the server");

  // The notebooks, executed headless with the key in their environment, by the project's Jupyter.
  {
    const jupyter = ensureJupyter(repo, { log: (l) => t.diagnostic(l) });
    const env = {
      OPENAI_API_KEY: SENTINEL,
      OPENAI_BASE_URL: server.url,
      STREETSAFE_DATA_DIR: path.join(project, "data"),
      STREETSAFE_RESULTS_DIR: path.join(project, "results", "model_comparison"),
    };
    // Without cached answers, so that the notebooks call the server with the key themselves.
    rmSync(path.join(project, ".cache"), { recursive: true, force: true });
    const before = (await server.stats()).chat;
    for (const nb of readdirSync(path.join(project, "notebooks")).sort()) {
      const run = executeNotebook(jupyter, path.join(project, "notebooks", nb), { outDir: path.join(project, "results", "reports"), env });
      t.diagnostic(`${nb}: ${run.seconds.toFixed(1)} s`);
    }
    assert.ok((await server.stats()).chat > before, "the notebooks asked the server with the key");
    assert.ok(readdirSync(path.join(project, "results", "reports")).some((f) => f.endsWith(".html")));
  }

  // What the run left: the project folder holds everything (the key file lives elsewhere).
  for (const d of ["data", "results", "models", ".cache"]) assert.ok(existsSync(path.join(project, d)), `${d}/ was written`);
  assert.ok(readdirSync(path.join(project, ".cache", "responses")).length > 0, "the response cache has entries");
  assert.ok(existsSync(path.join(latestRun(), "report.md")));
  const skip = (p: string) => p === path.join(project, "node_modules");
  assert.deepEqual(filesContaining(project, SENTINEL, skip), [], "files containing the key");
  assert.deepEqual(filesContaining(path.join(repo, "notebooks"), SENTINEL), [], "committed notebooks containing the key");
  assert.ok(!printed.join("\n").includes(SENTINEL), "the CLI printed the key");
});

test("errors that echo credentials are scrubbed, also for keys this process never resolved", () => {
  const token = "sk-never-registered-0123456789";
  const text = `401 from proxy: request headers {"Authorization": "Bearer ${token}", "api-key": "${token}"} url https://user:${token}@example.com/v1`;
  const scrubbed = redact(text);
  assert.ok(!scrubbed.includes(token), scrubbed);
  assert.equal(scrubbed.split(REDACTED).length - 1, 3);
});

test(".gitignore keeps .env and key files out of the repository", (t) => {
  const git = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { cwd: repo, encoding: "utf8" });
  if (git.status !== 0) return t.skip("not a git checkout");
  const lines = readFileSync(path.join(repo, ".gitignore"), "utf8").split(/\r?\n/).map((l) => l.trim());
  for (const pattern of [".env", ".env.*", "*api_key*", "*API_KEY*"]) assert.ok(lines.includes(pattern), `.gitignore has ${pattern}`);
  const ignored = [".env", ".env.local", "notebooks/.env", "data/.env.production", "openai_api_key.txt", "secrets/OPENAI_API_KEY", "models/azure_api_key.json"];
  for (const p of ignored) {
    const r = spawnSync("git", ["check-ignore", "--no-index", "-q", p], { cwd: repo });
    assert.equal(r.status, 0, `${p} is ignored`);
  }
  const committed = spawnSync("git", ["ls-files"], { cwd: repo, encoding: "utf8" }).stdout.split("\n");
  assert.deepEqual(committed.filter((f) => /(^|\/)\.env(\.|$)|api_key/i.test(f)), [], "no key file is committed");
});
