/**
 * When the venv cannot get its Jupyter (here: pip finds no such package), a Jupyter already on the machine is
 * used only if it passes the smoke test, and it is left as it is: its kernelspec goes into the project's
 * .jupyter/share/jupyter, and the user's and the system's Jupyter and Python folders do not change. Where no Jupyter
 * passes (CI has none), the error lists what was tried and ends with the command that fixes it.
 *
 * On a machine like the issue's — Debian's nbconvert 6.5 next to a user-site nbconvert 7 in ~/.local that
 * breaks it — the project's environment (user site off, Jupyter's folders in the project) is what makes Debian's
 * Jupyter pass.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PythonEnvError, REQUIREMENTS } from "../../lib/src/core/python";
import { ensureJupyter, systemJupyterPythons } from "../../lib/src/jupyter/ensure";
import { jupyterEnv } from "../../lib/src/jupyter/dirs";
import { changedSince, userAndSystemJupyterDirs } from "../helpers/fresh-env";

const repo = path.resolve(__dirname, "..", "..");

test("no venv Jupyter: a smoke-tested Jupyter of the machine, untouched — or an error with the fixing command", { timeout: 10 * 60_000 }, (t) => {
  mkdirSync(path.join(repo, ".cache"), { recursive: true });
  const project = mkdtempSync(path.join(repo, ".cache", "fallback-"));
  after(() => rmSync(project, { recursive: true, force: true }));
  mkdirSync(path.join(project, "python"));
  writeFileSync(path.join(project, REQUIREMENTS.jupyter), "streetsafe-no-such-package==1.0\n");
  symlinkSync(path.join(repo, "node_modules"), path.join(project, "node_modules"), "dir");
  const watched = [...userAndSystemJupyterDirs(), "/usr/lib/python3/dist-packages"];
  const started = Date.now() - 1000;
  const candidates = systemJupyterPythons(jupyterEnv(project));
  t.diagnostic(`Jupyters on this machine: ${candidates.join(", ") || "none"}`);

  const log: string[] = [];
  let j: ReturnType<typeof ensureJupyter> | null = null;
  let error: unknown = null;
  try {
    j = ensureJupyter(project, { log: (l) => log.push(l), allowApt: false });
  } catch (e) {
    error = e;
  }
  for (const line of log) t.diagnostic(line);
  if (j) {
    assert.equal(j.kind, "system");
    assert.ok(candidates.includes(j.python), j.python);
    const spec = JSON.parse(readFileSync(path.join(project, ".jupyter", "share", "jupyter", "kernels", "tslab", "kernel.json"), "utf8")) as { argv: string[] };
    assert.equal(spec.argv[0], path.join(project, "node_modules", ".bin", "tslab"), "the kernelspec is the project's, in .jupyter/share/jupyter");
    assert.match(log.join("\n"), /passed the smoke test/);
  } else {
    assert.ok(error instanceof PythonEnvError, String(error));
    assert.equal(error.code, "pip-failed");
    assert.match(error.message, /no Jupyter to run the notebooks with\. Tried:\n {2}- \.venv\/: pip could not install python\/requirements-jupyter\.txt/);
    assert.match(error.message, /\nFix: \.venv\/bin\/python -m pip install -r python\/requirements-jupyter\.txt/);
  }
  assert.equal(existsSync(path.join(project, ".venv", ".streetsafe-jupyter.json")), false, "no stamp for a venv without Jupyter");
  assert.deepEqual(changedSince(watched, started), [], "the user's and the system's Jupyter and Python folders are unchanged");
});
