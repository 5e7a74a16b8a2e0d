import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { spearman } from "../../lib/src/compare/statistics";
import { demoRatings, generateDemoData } from "../../lib/src/prepare/demo";
import { tempDir } from "../helpers/tmp";

const cli = path.resolve(__dirname, "..", "..", "lib", "bin", "streetsafe.js");

test("the demo votes, through `npx streetsafe pairwise fit`, recover the demo rule's order", async () => {
  const dir = tempDir();
  const demo = await generateDemoData({ outDir: path.join(dir, "demo"), count: 60, size: 64 });
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [cli, "pairwise", "fit", "--votes", "demo/votes.csv", "--images", "demo/images", "--question", "safer", "--bootstrap", "200"], { cwd: dir, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(out.code, 0, out.stderr);
  const run = readdirSync(path.join(dir, "results", "pairwise"))[0]!;
  const doc = JSON.parse(readFileSync(path.join(dir, "results", "pairwise", run, "scores.json"), "utf8"));
  const rule = new Map(demoRatings(demo.count, 42).map((r) => [r.image, r.ruleScore]));
  assert.equal(doc.images.length, 60);
  for (const col of ["bt_score", "trueskill_score", "q_score"]) {
    const rho = spearman(doc.images.map((r: Record<string, number>) => r[col]), doc.images.map((r: { image: string }) => rule.get(r.image)!));
    assert.ok(rho !== null && rho > 0.9, `${col}: Spearman with rule_score ${rho}`);
  }
});
