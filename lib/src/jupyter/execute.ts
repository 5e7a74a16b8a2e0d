/**
 * Execute one notebook headless with the project's Jupyter and export it to an HTML report that stands alone:
 * nbconvert's lab template loads require.js and MathJax from a CDN (and mermaid or the widget manager when a
 * notebook has them); the `streetsafe` template (lib/nbconvert-templates) drops those loaders, and Markdown
 * images are embedded. Charts carry plotly.js inline (core/display.ts).
 */
import path from "node:path";
import { runSync, tail } from "../core/python";
import type { Jupyter } from "./ensure";

/** Folder holding the `streetsafe` nbconvert template (lib/src/jupyter or lib/dist/jupyter → lib/nbconvert-templates). */
export const TEMPLATES_DIR = path.resolve(__dirname, "..", "..", "nbconvert-templates");

export interface ExecuteOptions {
  outDir: string;
  /** Per-cell timeout, seconds (default 900). */
  cellTimeout?: number;
  /** Extra environment for the kernel (STREETSAFE_DATA_DIR, …). */
  env?: Record<string, string>;
}

export interface NotebookRun {
  notebook: string;
  executed: string;
  html: string;
  /** Execution and export together. */
  seconds: number;
  executeSeconds: number;
  exportSeconds: number;
}

/** nbconvert's arguments for a standalone HTML export. */
export function standaloneHtmlArgs(templatesDir = TEMPLATES_DIR): string[] {
  return ["--to", "html", `--TemplateExporter.extra_template_basedirs=${templatesDir}`, "--template", "streetsafe", "--HTMLExporter.embed_images=True"];
}

/** Execute `notebookPath` (in its own folder) into opts.outDir, then export it; throws with the failing cell. */
export function executeNotebook(j: Jupyter, notebookPath: string, opts: ExecuteOptions): NotebookRun {
  const env = { ...j.env, ...opts.env };
  const nb = path.basename(notebookPath);
  const started = Date.now();
  const exec = runSync(
    j.python,
    ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=tslab", `--ExecutePreprocessor.timeout=${opts.cellTimeout ?? 900}`, "--output-dir", opts.outDir, notebookPath],
    { cwd: path.dirname(notebookPath), env },
  );
  if (exec.status !== 0) throw new Error(`notebook ${nb} failed:\n${cellError(exec.stderr || exec.stdout || String(exec.error ?? ""))}`);
  const executeSeconds = (Date.now() - started) / 1000;
  const executed = path.join(opts.outDir, nb);
  const html = runSync(j.python, ["-m", "nbconvert", ...standaloneHtmlArgs(), "--output-dir", opts.outDir, executed], { env, cwd: opts.outDir });
  if (html.status !== 0) throw new Error(`HTML export of ${nb} failed:\n${tail(html.stderr)}`);
  const seconds = (Date.now() - started) / 1000;
  return { notebook: nb, executed, html: executed.replace(/\.ipynb$/, ".html"), seconds, executeSeconds, exportSeconds: seconds - executeSeconds };
}

/** nbclient's message names the failing cell and its error; Python's traceback before it is noise. */
function cellError(text: string): string {
  const at = text.indexOf("An error occurred while executing the following cell");
  return at >= 0 ? text.slice(at).trim() : tail(text);
}
