/** Jupyter for the notebooks: a Jupyter executor, the project's tslab kernel, running the notebooks headless. */
export { ensureJupyter, executeNotebook, hasNbconvert, listNotebooks, MANUAL_JUPYTER_INSTALL, registerTslabKernel, runNotebooks, type NotebookRun, type RunNotebooksOptions } from "./notebook-runner";
