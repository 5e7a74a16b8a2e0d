/**
 * Jupyter for the notebooks, inside the project: the venv's Jupyter with the project's tslab kernel
 * (ensure.ts), headless execution with standalone HTML export (execute.ts, notebook-runner.ts), JupyterLab (lab.ts).
 */
export { ensureJupyter, type EnsureJupyterOptions, type Jupyter } from "./ensure";
export { executeNotebook, standaloneHtmlArgs, TEMPLATES_DIR, type ExecuteOptions, type NotebookRun } from "./execute";
export { listNotebooks, runNotebooks, type RunNotebooksOptions } from "./notebook-runner";
export { runLabCommand, startLab, type Lab, type LabOptions } from "./lab";
export { jupyterDirs, jupyterEnv, JUPYTER_DIR } from "./dirs";
