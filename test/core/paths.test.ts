import { test } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import path from "node:path";
import { shownPath } from "../../lib/src/core/paths";

test("shown paths: relative inside the working folder, ~ under home, else relative with .. — never absolute", () => {
  const cwd = path.join(os.homedir(), "project");
  const cases: [string, string][] = [
    [path.join(cwd, "data", "votes.csv"), "data/votes.csv"],
    ["data/votes.csv", "data/votes.csv"],
    [cwd, "."],
    [path.join(os.homedir(), "studies", "votes.csv"), "~/studies/votes.csv"],
  ];
  for (const [p, shown] of cases) assert.equal(shownPath(p, cwd), shown, p);
  const outside = shownPath("/srv/votes.csv", cwd);
  assert.ok(!path.isAbsolute(outside) && outside.endsWith("srv/votes.csv"), outside);
});
