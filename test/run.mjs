#!/usr/bin/env node
// `npm test`: every test/**/*.test.ts, in path order, one file at a time, through tsx. Node 20's test
// runner does not expand globs itself, and a shell's ** depends on the shell. Arguments narrow the run
// to files whose path contains one of them: `npm test -- prepare/ models/cache`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const testDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(testDir);
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".test.ts") ? [path.join(dir, e.name)] : []));
const wanted = process.argv.slice(2);
const files = walk(testDir)
  .map((f) => path.relative(root, f).split(path.sep).join("/"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${wanted.join(" ")}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
