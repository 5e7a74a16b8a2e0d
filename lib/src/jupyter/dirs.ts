/**
 * Where Jupyter keeps its state for this project: every folder that Jupyter, JupyterLab, jupyter_server,
 * nbconvert/nbclient, IPython and tslab's installer would otherwise create under HOME points into
 * `<root>/.jupyter/` (git-ignored), and the user's own Jupyter settings cannot leak in.
 *
 * Measured with an empty temporary HOME: without these variables a bootstrap, an executed notebook and a
 * JupyterLab session leave `~/.ipython/`, `~/.jupyter/migrated`, `~/.jupyter/lab/workspaces/…` and
 * `~/.local/share/jupyter/{nbsignatures.db,notebook_secret,runtime/…}`; with them HOME stays empty
 * (test/jupyter/fresh-machine.test.ts checks it).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { pythonProcessEnv } from "../core/python";

export const JUPYTER_DIR = ".jupyter";

export interface JupyterDirs {
  /** `<root>/.jupyter` */
  base: string;
  config: string;
  data: string;
  runtime: string;
  ipython: string;
  labSettings: string;
  labWorkspaces: string;
}

export function jupyterDirs(root: string): JupyterDirs {
  const base = path.join(root, JUPYTER_DIR);
  return {
    base,
    config: path.join(base, "config"),
    // Laid out as a prefix's share/jupyter, so `tslab install --prefix <base>` writes its kernelspec here.
    data: path.join(base, "share", "jupyter"),
    runtime: path.join(base, "runtime"),
    ipython: path.join(base, "ipython"),
    labSettings: path.join(base, "lab", "user-settings"),
    labWorkspaces: path.join(base, "lab", "workspaces"),
  };
}

/** Variables a user may have set for their own Jupyter that would make the project's read or write elsewhere. */
const INHERITED_JUPYTER_VARS = ["JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "JUPYTER_ALLOW_INSECURE_WRITES"] as const;

/**
 * The environment of every Jupyter process of the project (nbconvert, the smoke test, JupyterLab and the
 * kernels they start): the project Python's own (user site off, no PYTHONPATH) plus Jupyter's folders in
 * `.jupyter/`. PATH starts with node_modules/.bin; the folder of the node running this is added at its end,
 * so the tslab kernel (`#!/usr/bin/env node`) finds a Node even when none is on PATH (the order of the
 * user's PATH stays: their python3 is still the first one).
 */
export function jupyterEnv(root: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const d = jupyterDirs(root);
  const env = pythonProcessEnv(base, {
    JUPYTER_CONFIG_DIR: d.config, // ~/.jupyter: jupyter_server config, the `migrated` marker
    JUPYTER_DATA_DIR: d.data, // ~/.local/share/jupyter: user kernelspecs, nbsignatures.db, notebook_secret
    JUPYTER_RUNTIME_DIR: d.runtime, // ~/.local/share/jupyter/runtime: kernel-*.json, jpserver-*.json, cookie secret
    IPYTHONDIR: d.ipython, // ~/.ipython (tslab's installer imports IPython)
    JUPYTERLAB_SETTINGS_DIR: d.labSettings, // ~/.jupyter/lab/user-settings
    JUPYTERLAB_WORKSPACES_DIR: d.labWorkspaces, // ~/.jupyter/lab/workspaces
    JUPYTER_PLATFORM_DIRS: "1", // jupyter_core 5: no "migrating to platformdirs" warning on every call
    JUPYTER_PREFER_ENV_PATH: "1", // the venv's share/jupyter (the tslab kernelspec) before any user-level folder
  });
  for (const k of INHERITED_JUPYTER_VARS) delete env[k];
  const bin = path.join(root, "node_modules", ".bin");
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((p) => p && p !== bin);
  env.PATH = [bin, ...dirs, ...(dirs.includes(path.dirname(process.execPath)) ? [] : [path.dirname(process.execPath)])].join(path.delimiter);
  return env;
}

export function makeJupyterDirs(root: string): JupyterDirs {
  const d = jupyterDirs(root);
  for (const dir of [d.config, d.data, d.runtime, d.ipython, d.labSettings, d.labWorkspaces]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return d;
}
