/**
 * Every notebook runs top to bottom headless, the way `npm start` runs it, without an error output.
 * Needs Jupyter's nbconvert (installed by .ci/run, or by npm start's own ensureJupyter) and a built lib.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ensureJupyter, executeNotebook, listNotebooks, registerTslabKernel } from "../../lib/src/jupyter/notebook-runner";
import { tempDir } from "../helpers/tmp";

const root = path.resolve(__dirname, "..", "..");
const outDir = tempDir("streetsafe-nb-");
const dataDir = tempDir("streetsafe-nb-data-");
const resultsDir = tempDir("streetsafe-nb-results-");
const modelsDir = tempDir("streetsafe-nb-models-");

before(() => {
  ensureJupyter(() => {});
  registerTslabKernel(root, () => {});
});

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

for (const nb of listNotebooks(root)) {
  test(`notebook ${nb} executes headless without errors`, { timeout: 20 * 60_000 }, () => {
    const run = executeNotebook(root, nb, { root, outDir, env: { STREETSAFE_DATA_DIR: dataDir, STREETSAFE_RESULTS_DIR: resultsDir, STREETSAFE_MODELS_DIR: modelsDir } });
    const executed = JSON.parse(readFileSync(run.executed, "utf8")) as { cells: { outputs?: Output[] }[] };
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    const errors = outputs.filter((o) => o.output_type === "error" || (o.name === "stderr" && /Error|error TS/.test(String(o.text))));
    assert.deepEqual(errors, [], `error outputs in ${nb}`);
    assert.ok(outputs.length > 0, "the notebook produced output");
    const html = readFileSync(run.html, "utf8");
    const source = readFileSync(path.join(root, "notebooks", nb), "utf8");
    if (source.includes("show.table(")) assert.match(html, /<table class="streetsafe-table"/, "a rendered table in the HTML export");
    if (source.includes("show.plot(")) {
      assert.match(html, /Plotly\.newPlot/, "a chart in the HTML export");
      assert.match(html, /plotly\.js v\d/, "plotly.js is inlined, so the report opens offline");
    }
    assert.doesNotMatch(html, /<script[^>]+src="https?:[^"]*plotly/, "no plotly.js from a CDN");
  });
}

test("committed notebooks carry no outputs", () => {
  for (const nb of listNotebooks(root)) {
    const d = JSON.parse(readFileSync(path.join(root, "notebooks", nb), "utf8")) as { cells: { outputs?: unknown[]; execution_count?: unknown }[] };
    for (const c of d.cells) {
      assert.deepEqual(c.outputs ?? [], [], `${nb} has stale outputs`);
      assert.equal(c.execution_count ?? null, null, `${nb} has an execution count`);
    }
  }
});
