/**
 * Quiet commands (issue 9, item 5): `npx streetsafe …` prints no npm warning (an .npmrc with keys npm does not
 * know made every npm and npx command warn twice), and every install script in the tree is reviewed in
 * package.json's allowScripts (onnxruntime-node's CUDA download denied), so `npm install` has nothing to warn about.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const npmVersion = spawnSync("npm", ["--version"], { encoding: "utf8" }).stdout.trim();
const [major, minor] = npmVersion.split(".").map(Number);
const hasAllowScripts = major > 11 || (major === 11 && minor >= 19);

test("npx streetsafe --help prints no npm warning", () => {
  const r = spawnSync("npx", ["streetsafe", "--help"], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: streetsafe/);
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /npm (warn|WARN)/);
  assert.equal(existsSync(path.join(root, ".npmrc")), false, "no project .npmrc (README: troubleshooting)");
});

test("package.json's allowScripts reviews every install script; onnxruntime-node's is denied", { skip: hasAllowScripts ? false : `npm ${npmVersion} has no allowScripts` }, () => {
  const allow = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).allowScripts as Record<string, boolean>;
  assert.equal(allow["onnxruntime-node"], false);
  const r = spawnSync("npm", ["install-scripts", "ls"], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/);
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /npm (warn|WARN)/);
});
