/** Versions of the packages that shape a run's numbers, recorded in run.json. */
import { readFileSync } from "node:fs";
import path from "node:path";

const PACKAGES = ["openai", "sharp", "@huggingface/transformers", "onnxruntime-node", "exceljs", "nodejs-polars"];

export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  out.streetsafe = readVersion(path.join(__dirname, "..", "..", "package.json")) ?? "unknown";
  for (const p of PACKAGES) {
    try {
      out[p] = readVersion(require.resolve(`${p}/package.json`)) ?? "unknown";
    } catch {
      out[p] = findVersion(p) ?? "not installed";
    }
  }
  return out;
}

function readVersion(file: string): string | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")).version;
  } catch {
    return undefined;
  }
}

/** For packages whose exports hide package.json: walk up from the resolved entry point. */
function findVersion(pkg: string): string | undefined {
  try {
    let dir = path.dirname(require.resolve(pkg));
    while (dir !== path.dirname(dir)) {
      const v = readVersion(path.join(dir, "package.json"));
      if (v && path.basename(dir) === pkg.split("/").pop()) return v;
      dir = path.dirname(dir);
    }
  } catch {
    // not installed
  }
  return undefined;
}
