import { ensureJupyter, type Jupyter } from "../../lib/src/jupyter/ensure";

/**
 * The repository's own Jupyter, through the real bootstrap: a stamp read when `.venv/` is set up, else the
 * whole setup (a machine without it: CI, a new user's first `npm test`), whose log is then printed.
 */
export function repositoryJupyter(root: string): Jupyter {
  const log: string[] = [];
  const j = ensureJupyter(root, { log: (l) => log.push(l) });
  if (j.installed) console.log(log.join("\n"));
  return j;
}
