/**
 * The only proof that a Jupyter works for this project: execute a one-cell notebook with the tslab kernel.
 * Run on the venv before its stamp is written, and on any Jupyter already on the machine before it is used.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runSync, tail } from "../core/python";
import { jupyterDirs } from "./dirs";

const MARK = "streetsafe-smoke";

export interface SmokeResult {
  ok: boolean;
  seconds: number;
  /** "ok", or the end of what failed. */
  detail: string;
}

function smokeNotebook(): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: [{ id: "smoke", cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: `const n: number = 6 * 7;\nconsole.log("${MARK} " + n);` }],
  });
}

/** `python -m nbconvert --execute` of the one-cell notebook, in a scratch folder under <root>/.jupyter. */
export function smokeTest(root: string, python: string, env: NodeJS.ProcessEnv, timeoutS = 120): SmokeResult {
  const started = Date.now();
  const dir = mkdtempSync(path.join(jupyterDirs(root).base, "smoke-"));
  try {
    const nb = path.join(dir, "smoke.ipynb");
    writeFileSync(nb, smokeNotebook());
    const r = runSync(
      python,
      ["-m", "nbconvert", "--to", "notebook", "--execute", "--stdout", "--ExecutePreprocessor.kernel_name=tslab", `--ExecutePreprocessor.timeout=${timeoutS}`, nb],
      { env, cwd: dir, timeout: (timeoutS + 60) * 1000 },
    );
    const ok = r.status === 0 && r.stdout.includes(`${MARK} 42`);
    const why = `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` || r.stdout;
    return { ok, seconds: (Date.now() - started) / 1000, detail: ok ? "ok" : tail(why, 12) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
