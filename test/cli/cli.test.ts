import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildProgram } from "../../lib/src/cli/main";

const root = path.resolve(__dirname, "..", "..");

test("npm start and npm run lab call CLI commands that exist", () => {
  const scripts = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts as Record<string, string>;
  for (const [script, want] of [["start", "notebooks"], ["lab", "lab"]]) {
    const m = /streetsafe\.js (\S+)/.exec(scripts[script]);
    assert.ok(m, scripts[script]);
    assert.equal(m[1], want, `npm ${script}`);
    assert.ok(buildProgram().commands.some((c) => c.name() === m[1]), `unknown command "${m[1]}" in npm ${script}`);
  }
});

test("the CLI has every command the design names", () => {
  const names = buildProgram().commands.map((c) => c.name());
  for (const c of ["demo-data", "prepare", "finetune", "predict", "compare", "analyze", "notebooks", "lab"]) assert.ok(names.includes(c), c);
});

test("README documents every CLI command", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  for (const c of buildProgram().commands) assert.match(readme, new RegExp("`" + c.name() + "[ `]"), c.name());
});
