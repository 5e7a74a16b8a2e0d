/**
 * The project's tslab as the Jupyter kernel "TypeScript" (name `tslab`), registered inside the project: into
 * the venv (`--sys-prefix` → .venv/share/jupyter/kernels/tslab) or, for a Jupyter already on the machine, into
 * the project's JUPYTER_DATA_DIR (`--prefix <root>/.jupyter` → .jupyter/share/jupyter/kernels/tslab). Never a
 * per-user install: nothing goes into HOME even where JUPYTER_DATA_DIR would not be honoured.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { runSync, tail } from "../core/python";

/** node_modules/.bin/tslab, absolute: the kernelspec starts exactly this project's tslab. */
export function tslabBinary(root: string): string {
  return path.join(root, "node_modules", ".bin", "tslab");
}

/** Where the kernelspec goes: the venv (`--sys-prefix`) or a project folder (`--prefix`); both hold share/jupyter/kernels. */
export type KernelTarget = { kind: "sys-prefix" | "prefix"; prefix: string };

export function kernelJsonPath(target: KernelTarget): string {
  return path.join(target.prefix, "share", "jupyter", "kernels", "tslab", "kernel.json");
}

/** True when the kernelspec at `kernelJson` starts `tslab` (what a stamp is trusted on). */
export function kernelStartsTslab(kernelJson: string, tslab: string): boolean {
  try {
    const spec = JSON.parse(readFileSync(kernelJson, "utf8")) as { argv?: string[] };
    return spec.argv?.[0] === tslab && existsSync(tslab);
  } catch {
    return false;
  }
}

/**
 * `tslab install` (1.0.22 runs its python/install.py with the given Python → jupyter_client's
 * KernelSpecManager.install_kernel_spec; --binary becomes argv[0]; it also installs `jslab`). Returns the
 * kernel.json written.
 */
export function installTslabKernel(root: string, python: string, target: KernelTarget, env: NodeJS.ProcessEnv): string {
  const tslab = tslabBinary(root);
  if (!existsSync(tslab)) throw new Error(`tslab not found at ${path.relative(root, tslab)}; run npm install first`);
  const where = target.kind === "sys-prefix" ? ["--sys-prefix"] : [`--prefix=${target.prefix}`];
  const r = runSync(process.execPath, [tslab, "install", `--python=${python}`, `--binary=${tslab}`, ...where], { env, cwd: root, timeout: 120_000 });
  const kernelJson = kernelJsonPath(target);
  if (r.status !== 0 || !existsSync(kernelJson)) throw new Error(`registering the tslab kernel failed:\n${tail(`${r.stdout}${r.stderr}`)}`);
  if (!kernelStartsTslab(kernelJson, tslab)) throw new Error(`the tslab kernelspec ${path.relative(root, kernelJson)} does not start ${path.relative(root, tslab)}`);
  return kernelJson;
}
