import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fitOptions, parseColumns, parseNumericWinner, planOptions, type PairwiseFitFlags, type PairwisePlanFlags } from "../../lib/src/cli/commands/pairwise";
import { buildProgram } from "../../lib/src/cli/main";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");

const FIT: PairwiseFitFlags = {
  votes: "votes.csv",
  images: "img",
  model: ["all"],
  mapping: "default",
  scale: "1-10",
  level: "0.95",
  priorSd: "3",
  bootstrap: 1000,
  seed: 42,
  outputDir: "results/pairwise",
};

test("pairwise fit: flags → options (one line per case)", () => {
  const cases: [Partial<PairwiseFitFlags>, Record<string, unknown>][] = [
    [{}, { models: ["bradley-terry", "trueskill", "q-score"], mapping: "default", level: 0.95, scale: { min: 1, max: 10 }, bradleyTerry: { priorSd: 3, seed: 42 }, qScore: { bootstrap: { iterations: 1000, seed: 42 } } }],
    [{ model: ["bt"] }, { models: ["bradley-terry"] }],
    [{ model: ["qscore", "trueskill", "qscore"] }, { models: ["q-score", "trueskill"] }],
    [{ priorSd: "none" }, { bradleyTerry: { priorSd: null, seed: 42 } }],
    [{ priorSd: "1.5", seed: 7 }, { bradleyTerry: { priorSd: 1.5, seed: 7 } }],
    [{ bootstrap: 0 }, { qScore: { bootstrap: false } }],
    [{ question: ["safer"] }, { question: "safer" }],
    [{ question: ["safer", "livelier"] }, { question: ["safer", "livelier"] }],
    [{ level: "0.9", scale: "0-100", mapping: "quantile" }, { level: 0.9, scale: { min: 0, max: 100 }, mapping: "quantile" }],
    [{ groundTruthFrom: "trueskill" }, { groundTruthModel: "trueskill" }],
    [{ columns: "left=Image A, right=Image B,winner=Choice" }, { columns: { left: "Image A", right: "Image B", winner: "Choice" } }],
    [{ numericWinner: "1,2,0" }, { numericWinner: { left: 1, right: 2, equal: 0 } }],
    [{ sheet: "votes" }, { sheet: "votes" }],
  ];
  for (const [flags, expected] of cases) {
    const opts = fitOptions({ ...FIT, ...flags }) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(opts[k], v, `${JSON.stringify(flags)} → ${k}`);
    assert.equal(opts.votes, "votes.csv");
    assert.equal(opts.images, "img");
  }
});

test("pairwise fit: flags → error (one line per case)", () => {
  const cases: [Partial<PairwiseFitFlags>, RegExp][] = [
    [{ level: "95" }, /--level must be a number between 0 and 1/],
    [{ level: "" }, /--level/],
    [{ priorSd: "0" }, /--prior-sd must be a positive number or "none"/],
    [{ priorSd: "wide" }, /--prior-sd/],
    [{ scale: "10-1" }, /--scale/],
    [{ groundTruthFrom: "elo" }, /--ground-truth-from must be one of bt, trueskill, qscore/],
    [{ groundTruthFrom: "qscore", model: ["bt"] }, /needs that model fitted \(add --model qscore\)/],
    [{ columns: "winner:Choice" }, /--columns takes left=NAME/],
    [{ numericWinner: "0" }, /--numeric-winner takes LEFT,RIGHT\[,EQUAL\]/],
    [{ numericWinner: "1,1" }, /two or three different numbers/],
  ];
  for (const [flags, message] of cases) assert.throws(() => fitOptions({ ...FIT, ...flags }), message, JSON.stringify(flags));
});

const PLAN: PairwisePlanFlags = { images: "img", method: "random", model: "bt", priorSd: "3", seed: 42, outputDir: "results/pairwise" };

test("pairwise plan: flags → options (one line per case)", () => {
  const cases: [Partial<PairwisePlanFlags>, Record<string, unknown>][] = [
    [{ perImage: 10 }, { method: "random", perImage: 10, seed: 42 }],
    [{ method: "adaptive", budget: 500, votes: "v.csv" }, { method: "adaptive", budget: 500, votes: "v.csv", model: "bradley-terry" }],
    [{ method: "adaptive", budget: 50, model: "trueskill", seed: 3 }, { model: "trueskill", seed: 3 }],
    [{ method: "voted", votes: "v.csv", question: ["safer"] }, { method: "voted", votes: "v.csv", question: "safer" }],
  ];
  for (const [flags, expected] of cases) {
    const opts = planOptions({ ...PLAN, ...flags }) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(opts[k], v, `${JSON.stringify(flags)} → ${k}`);
  }
  assert.equal(parseColumns("question = study").question, "study");
  assert.deepEqual(parseNumericWinner("0, 1"), { left: 0, right: 1 });
});

test("the CLI parses: unknown --model and --method are refused by name", async () => {
  for (const [argv, message] of [
    [["pairwise", "fit", "--votes", "v.csv", "--images", "img", "--model", "elo"], /--model must be one of bt, trueskill, qscore, all/],
    [["pairwise", "plan", "--images", "img", "--method", "greedy"], /--method must be one of random, adaptive, voted/],
    [["pairwise", "plan", "--images", "img", "--per-image", "0"], /--per-image must be an integer ≥ 1/],
    [["pairwise", "fit", "--images", "img"], /required option '--votes <file>'/],
  ] as [string[], RegExp][]) {
    const program = buildProgram();
    let err = "";
    program.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
    for (const c of program.commands) c.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
    for (const c of program.commands.find((c) => c.name() === "pairwise")!.commands) {
      c.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
      c.exitOverride();
    }
    await assert.rejects(program.parseAsync(argv, { from: "user" }));
    assert.match(err, message, argv.join(" "));
  }
});

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, encoding: "utf8" }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test("npx streetsafe pairwise fit / plan end to end; bad votes exit 2 listing every problem and write nothing", async () => {
  const dir = tempDir();
  const images = path.join(dir, "images");
  mkdirSync(images);
  const names = Array.from({ length: 12 }, (_, i) => `s${i + 1}.jpg`);
  for (const n of names) writeFileSync(path.join(images, n), "x");
  const lines = ["left,right,winner,question"];
  for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j++) lines.push(`${names[i]},${names[j]},${(i + j) % 5 === 0 ? "equal" : j > i + 3 ? "right" : "left"},safer`);
  lines.push("s1.jpg,s2.jpg,left,livelier");
  writeFileSync(path.join(dir, "votes.csv"), lines.join("\n"));

  const fit = await run(["pairwise", "fit", "--votes", "votes.csv", "--images", "images", "--question", "safer", "--ground-truth-from", "bt", "--bootstrap", "100"], dir);
  assert.equal(fit.code, 0, fit.stderr);
  assert.match(fit.stdout, /votes: 66 on 12 images, 66 distinct pairs/);
  assert.match(fit.stdout, /run folder: results\/pairwise\/fit-/);
  const runs = readdirSync(path.join(dir, "results", "pairwise"));
  assert.equal(runs.length, 1);
  assert.ok(existsSync(path.join(dir, "results", "pairwise", runs[0]!, "ground_truth.csv")));

  const plan = await run(["pairwise", "plan", "--images", "images", "--per-image", "4"], dir);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /plan: 24 pairs over 12 images .*\n.*24 pairs × 2 orders = 48 requests/);

  const mixed = await run(["pairwise", "fit", "--votes", "votes.csv", "--images", "images", "--output-dir", "out"], dir);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /votes\.csv, row 1, column "question": the votes answer 2 different questions .* \[mixed-questions\]/);
  assert.match(mixed.stderr, /nothing was written/);
  writeFileSync(path.join(dir, "bad.csv"), "left,right,winner\ns1.jpg,s1.jpg,left\ns2.jpg,gone.jpg,left\n../s3.jpg,s4.jpg,right\ns5.jpg,s6.jpg,7\n");
  const bad = await run(["pairwise", "fit", "--votes", "bad.csv", "--images", "images", "--output-dir", "out"], dir);
  assert.equal(bad.code, 2);
  for (const m of [/row 2, column "right": image "s1.jpg" is compared with itself \[self-comparison\]/, /row 3, column "right": image "gone.jpg" not found/, /row 4, column "left": .*leads outside the images folder.*\[path-escape\]/, /row 5, column "winner": winner "7" is a number.*\[ambiguous-winner\]/]) {
    assert.match(bad.stderr, m);
  }
  assert.equal(existsSync(path.join(dir, "out")), false);
});
