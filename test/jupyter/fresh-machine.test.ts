/**
 * A fresh machine (issue 9): the Jupyter bootstrap with an empty temporary HOME and TMPDIR and a PATH holding no
 * `jupyter` builds the project's own `.venv/`, registers tslab inside it, executes a notebook and exports a
 * standalone report — and afterwards nothing exists outside the project that was not there before: HOME and
 * TMPDIR are empty, and the real user's and the system's Jupyter and Python folders are unchanged.
 *
 * Which project: the repository itself when it has no Jupyter set up yet (CI, a new user's first `npm test`:
 * the setup the later tests need happens here, once, as on a fresh machine); otherwise a scratch project
 * in <root>/.cache/ (the requirements, notebook 01 and a link to node_modules) so that the whole bootstrap is
 * still exercised. Building the venv costs ~30–50 s on 2 cores, so doing it a second time on CI would add that.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { standaloneProblems } from "../../lib/src/core/standalone-html";
import { readValidStamp, venvLayout } from "../../lib/src/core/python/venv";
import { REQUIREMENTS } from "../../lib/src/core/python";
import { ensureJupyter } from "../../lib/src/jupyter/ensure";
import { executeNotebook } from "../../lib/src/jupyter/execute";
import { changedSince, freshEnv, listAll, userAndSystemJupyterDirs } from "../helpers/fresh-env";

const repo = path.resolve(__dirname, "..", "..");
const NOTEBOOK = "01_prepare_data.ipynb";

function scratchProject(): string {
  mkdirSync(path.join(repo, ".cache"), { recursive: true });
  const dir = mkdtempSync(path.join(repo, ".cache", "fresh-machine-"));
  mkdirSync(path.join(dir, "python"));
  copyFileSync(path.join(repo, REQUIREMENTS.jupyter), path.join(dir, REQUIREMENTS.jupyter));
  mkdirSync(path.join(dir, "notebooks"));
  copyFileSync(path.join(repo, "notebooks", NOTEBOOK), path.join(dir, "notebooks", NOTEBOOK));
  symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

test("fresh machine: the project's own .venv, a notebook executed and exported, nothing written outside the project", { timeout: 20 * 60_000 }, (t) => {
  const repoHasJupyter = readValidStamp(repo, "jupyter", path.join(repo, REQUIREMENTS.jupyter)) !== null;
  const project = repoHasJupyter ? scratchProject() : repo;
  const work = mkdtempSync(path.join(repo, ".cache", "fresh-machine-run-"));
  const fresh = freshEnv();
  after(() => {
    fresh.remove();
    rmSync(work, { recursive: true, force: true });
    if (project !== repo) rmSync(project, { recursive: true, force: true });
  });
  t.diagnostic(`bootstrapping ${project === repo ? "the repository itself (no Jupyter set up yet)" : `a scratch project ${path.relative(repo, project)}`}`);
  assert.equal(fresh.env.PATH!.split(path.delimiter).some((d) => existsSync(path.join(d, "jupyter"))), false, "no jupyter on PATH");
  const watched = userAndSystemJupyterDirs();
  const started = Date.now() - 1000;

  const log: string[] = [];
  let t0 = Date.now();
  const j = ensureJupyter(project, { env: fresh.env, log: (l) => log.push(l) });
  const setupSeconds = (Date.now() - t0) / 1000;
  for (const line of log) t.diagnostic(line);
  assert.equal(j.kind, "venv");
  assert.equal(j.installed, true);
  assert.equal(j.python, venvLayout(project).python);
  assert.match(log.join("\n"), /setting up the project's Python environment/);
  const kernel = JSON.parse(readFileSync(path.join(project, ".venv", "share", "jupyter", "kernels", "tslab", "kernel.json"), "utf8")) as { argv: string[] };
  assert.equal(kernel.argv[0], path.join(project, "node_modules", ".bin", "tslab"), "the kernelspec inside the venv starts this project's tslab");

  const again: string[] = [];
  const second = ensureJupyter(project, { env: fresh.env, log: (l) => again.push(l) });
  assert.equal(second.installed, false, "the second bootstrap is a stamp hit");
  assert.deepEqual(again, [], "and says nothing");

  t0 = Date.now();
  const run = executeNotebook(j, path.join(project, "notebooks", NOTEBOOK), { outDir: work, env: { STREETSAFE_DATA_DIR: path.join(work, "data") } });
  const executed = JSON.parse(readFileSync(run.executed, "utf8")) as { cells: { outputs?: { output_type: string }[] }[] };
  assert.deepEqual(executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error"), []);
  assert.deepEqual(standaloneProblems(readFileSync(run.html, "utf8"), { root: project, home: fresh.home, tmp: fresh.tmp }), []);

  assert.deepEqual(listAll(fresh.home), [], "nothing under the temporary HOME");
  assert.deepEqual(listAll(fresh.tmp), [], "nothing left in TMPDIR");
  assert.deepEqual(changedSince(watched, started), [], "the user's and the system's Jupyter and Python folders are unchanged");
  t.diagnostic(`setup ${setupSeconds.toFixed(1)} s; ${NOTEBOOK} executed in ${run.executeSeconds.toFixed(1)} s, exported in ${run.exportSeconds.toFixed(1)} s (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
});
