import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InputError } from "../../lib/src/core/errors";
import { listImageFiles } from "../../lib/src/core/image";
import { formatPlanSummary, runPairPlan } from "../../lib/src/pairwise/plan/run";
import { tempDir } from "../helpers/tmp";

const dir = tempDir();
const images = path.join(dir, "images");
mkdirSync(path.join(images, "sub"), { recursive: true });
mkdirSync(path.join(images, ".staging-1"));
const names = Array.from({ length: 30 }, (_, i) => `img_${i + 1}.jpg`);
for (const n of names) writeFileSync(path.join(images, n), "x");
writeFileSync(path.join(images, "sub", "extra.png"), "x");
writeFileSync(path.join(images, "notes.txt"), "x");
writeFileSync(path.join(images, ".staging-1", "hidden.jpg"), "x");
writeFileSync(path.join(dir, "outside.jpg"), "x");
symlinkSync(path.join(dir, "outside.jpg"), path.join(images, "link.jpg"));
const out = path.join(dir, "results");

function csvRows(planDir: string): string[][] {
  return readFileSync(path.join(planDir, "plan.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
}

test("the images of a folder: supported formats, sub-folders, name order; hidden entries and links out left out", async () => {
  const listed = await listImageFiles(images);
  assert.equal(listed.length, 31);
  assert.equal(listed[0], "img_1.jpg");
  assert.equal(listed[1], "img_2.jpg", "numbers in names in numeric order");
  assert.ok(listed.includes("sub/extra.png"));
  assert.ok(!listed.some((f) => f.includes("hidden") || f === "link.jpg" || f === "notes.txt"));
});

test("random plan: k comparisons per image, pairs × 2 orders = requests, written as plan.csv + plan.json", async () => {
  const r = await runPairPlan({ method: "random", images, perImage: 6, seed: 5, outputDir: out, command: ["streetsafe", "pairwise", "plan"] });
  assert.equal(r.plan.size, 93, "31 images × 6 / 2");
  assert.equal(r.requests, 2 * r.plan.size);
  const rows = csvRows(r.planDir);
  assert.deepEqual(rows[0], ["pair", "left", "right"]);
  assert.equal(rows.length - 1, r.plan.size);
  const doc = JSON.parse(readFileSync(path.join(r.planDir, "plan.json"), "utf8"));
  assert.equal(doc.requests, 186);
  assert.deepEqual(doc.per_image, { min: 6, max: 6 });
  assert.match(formatPlanSummary(r), /93 pairs × 2 orders = 186 requests/);
  const again = await runPairPlan({ method: "random", images, perImage: 6, seed: 5, outputDir: out });
  assert.deepEqual(csvRows(again.planDir), rows, "seeded");
});

test("adaptive plan from votes: the budget, avoiding voted pairs, the least-known images covered first", async () => {
  // votes only among the first 10 images: the other 21 are unknown and must be covered
  const lines = ["left,right,winner"];
  for (let i = 1; i <= 10; i++) for (let j = i + 1; j <= 10; j++) lines.push(`img_${i}.jpg,img_${j}.jpg,${i < j ? "left" : "right"}`);
  const votes = path.join(dir, "votes.csv");
  writeFileSync(votes, lines.join("\n"));
  const r = await runPairPlan({ method: "adaptive", images, votes, budget: 20, outputDir: out });
  assert.equal(r.plan.size, 20);
  assert.equal(r.alreadyVoted, 0);
  const rows = csvRows(r.planDir);
  assert.deepEqual(rows[0], ["pair", "left", "right", "gain"]);
  const touched = new Set(rows.slice(1).flatMap((row) => [row[1], row[2]]));
  for (let i = 11; i <= 30; i++) assert.ok(touched.has(`img_${i}.jpg`), `unvoted img_${i}.jpg gets a comparison`);
  const ts = await runPairPlan({ method: "adaptive", images, votes, budget: 10, model: "trueskill", outputDir: out });
  assert.equal(ts.document.model, "trueskill");
});

test("voted plan: the distinct pairs humans judged, all or a seeded budget of them", async () => {
  const votes = path.join(dir, "repeats.csv");
  writeFileSync(votes, "left,right,winner\nimg_1.jpg,img_2.jpg,left\nimg_2.jpg,img_1.jpg,left\nimg_3.jpg,img_4.jpg,equal\nimg_5.jpg,img_6.jpg,right\n");
  const all = await runPairPlan({ method: "voted", images, votes, outputDir: out });
  assert.equal(all.plan.size, 3, "a pair voted twice is asked once (in both orders)");
  assert.equal(all.alreadyVoted, 3);
  const some = await runPairPlan({ method: "voted", images, votes, budget: 2, outputDir: out });
  assert.equal(some.plan.size, 2);
});

test("plan options and bad votes are refused before anything is written (table)", async () => {
  const cases: [Parameters<typeof runPairPlan>[0], RegExp][] = [
    [{ method: "random", images }, /needs comparisons per image/],
    [{ method: "random", images, perImage: 2, budget: 10 }, /not --budget/],
    [{ method: "adaptive", images }, /needs a budget/],
    [{ method: "adaptive", images, budget: 5, perImage: 3 }, /--per-image applies to random plans/],
    [{ method: "voted", images }, /needs the votes/],
    [{ method: "random", images, perImage: 0 }, /≥ 1/],
    [{ method: "random", images: path.join(images, "sub"), perImage: 1 }, /at least two/],
  ];
  for (const [opts, message] of cases) await assert.rejects(runPairPlan({ ...opts, outputDir: out }), message, JSON.stringify(opts));
  const bad = path.join(dir, "bad-votes.csv");
  writeFileSync(bad, "left,right,winner\nimg_1.jpg,missing.jpg,left\n");
  const nothing = path.join(dir, "nothing");
  await assert.rejects(runPairPlan({ method: "voted", images, votes: bad, outputDir: nothing }), InputError);
  assert.equal(existsSync(nothing), false);
});
