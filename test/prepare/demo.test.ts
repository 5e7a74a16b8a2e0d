import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ExcelJS from "exceljs";
import seedrandom from "seedrandom";
import sharp from "sharp";
import {
  DEMO_CUE_COLUMNS,
  DEMO_MARKER_FILE,
  DEMO_RULE_DESCRIPTION,
  type SceneCues,
  demoRatings,
  demoReasons,
  demoScoreRule,
  demoVotes,
  DEMO_EQUAL_BAND,
  DEMO_VOTE_ROUNDS,
  DEMO_VOTES_DESCRIPTION,
  ensureDemoData,
  generateDemoData,
  renderSceneSvg,
  sampleCues,
} from "../../lib/src/prepare/demo";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "streetsafe-demo-test-"));
}

/** All cell values of every sheet, as plain data. */
async function workbookValues(file: string): Promise<Record<string, unknown[][]>> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  const out: Record<string, unknown[][]> = {};
  wb.eachSheet((ws) => {
    const rows: unknown[][] = [];
    ws.eachRow({ includeEmpty: true }, (row) => {
      rows.push((row.values as unknown[]).slice(1));
    });
    out[ws.name] = rows;
  });
  return out;
}

/** Entries next to `dir` whose names start with its base name (staging / old leftovers). */
function siblings(dir: string): string[] {
  const base = path.basename(dir);
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent) || !fs.statSync(parent).isDirectory()) return [];
  return fs.readdirSync(parent).filter((n) => n.startsWith(base));
}

const BASE_CUES: SceneCues = {
  timeOfDay: "night",
  streetLights: 6,
  streetLightsWorking: 3,
  litWindows: 0.5,
  sidewalkWidth: 2.5,
  sidewalkCracks: 1,
  greenery: 1,
  graffiti: 1,
  litter: 1,
  cars: 3,
  people: 3,
  fence: "none",
  layoutSeed: 1,
};

test("generates images, workbook and README like user data", async () => {
  const root = tmpDir();
  const outDir = path.join(root, "demo");
  const progress: number[] = [];
  const res = await generateDemoData({ outDir, count: 12, onProgress: (d, t) => { assert.equal(t, 12); progress.push(d); } });
  assert.equal(res.outDir, outDir);
  assert.equal(res.count, 12);
  assert.equal(res.imagesDir, path.join(outDir, "images"));
  assert.equal(res.groundTruthPath, path.join(outDir, "ground_truth.xlsx"));
  assert.equal(res.votesPath, path.join(outDir, "votes.csv"));
  const votes = fs.readFileSync(res.votesPath, "utf8").trim().split("\n");
  assert.equal(votes[0], "left,right,winner,question");
  assert.deepEqual(votes.slice(1), demoVotes(demoRatings(12, 42), 42).map((v) => [v.left, v.right, v.winner, v.question].join(",")));
  assert.deepEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));

  const images = fs.readdirSync(res.imagesDir).sort();
  assert.deepEqual(images, Array.from({ length: 12 }, (_, i) => `scene_${String(i + 1).padStart(3, "0")}.jpg`));
  for (const name of images.slice(0, 3)) {
    const meta = await sharp(path.join(res.imagesDir, name)).metadata();
    assert.equal(meta.format, "jpeg");
    assert.equal(meta.width, 400);
    assert.equal(meta.height, 400);
  }
  const readme = fs.readFileSync(path.join(outDir, "README.md"), "utf8");
  assert.match(readme, /SYNTHETIC/);
  assert.match(readme, /seed 42/);
  assert.match(readme, /sd 0\.7/);
  assert.match(readme, /votes\.csv/);
  assert.match(readme, /Thurstone's Case V/);
  assert.ok(fs.existsSync(path.join(outDir, DEMO_MARKER_FILE)));
  assert.deepEqual(siblings(outDir), ["demo"], "no staging folder left behind");

  const wb = await workbookValues(res.groundTruthPath);
  assert.deepEqual(Object.keys(wb), ["README", "ratings"]);
  const readmeText = wb.README!.map((r) => r.join(" ")).join("\n");
  assert.match(readmeText, /SYNTHETIC DEMO DATA/);
  assert.match(readmeText, /streetsafe/);
  assert.match(readmeText, /seed 42/);
  const [header, ...rows] = wb.ratings!;
  assert.deepEqual(header!.slice(0, 3), ["image", "safety_score", "reasons"]);
  for (const c of DEMO_CUE_COLUMNS) assert.ok(header!.includes(c.header), c.header);
  for (const h of ["cue_time_of_day", "cue_street_lights", "cue_litter", "cue_graffiti", "cue_people", "cue_fence"])
    assert.ok(header!.includes(h), h);
  assert.equal(rows.length, 12);
  const expected = demoRatings(12, 42);
  rows.forEach((row, i) => {
    assert.equal(row[0], images[i]);
    const score = row[1] as number;
    assert.ok(Number.isInteger(score) && score >= 1 && score <= 10, `score ${score}`);
    assert.equal(score, expected[i]!.safetyScore);
    const reasons = String(row[2]).split("; ");
    assert.ok(reasons.length >= 1 && reasons.length <= 3 && reasons.every((r) => r.length > 0));
    assert.ok(["day", "dusk", "night"].includes(row[header!.indexOf("cue_time_of_day")] as string));
  });
  fs.rmSync(root, { recursive: true, force: true });
});

test("same seed and count give identical data; another seed differs", async () => {
  const root = tmpDir();
  const a = await generateDemoData({ outDir: path.join(root, "a"), count: 12, seed: 7, size: 160 });
  const b = await generateDemoData({ outDir: path.join(root, "b"), count: 12, seed: 7, size: 160 });
  const c = await generateDemoData({ outDir: path.join(root, "c"), count: 12, seed: 8, size: 160 });
  assert.deepEqual(await workbookValues(a.groundTruthPath), await workbookValues(b.groundTruthPath));
  for (const name of fs.readdirSync(a.imagesDir)) {
    assert.ok(fs.readFileSync(path.join(a.imagesDir, name)).equals(fs.readFileSync(path.join(b.imagesDir, name))), name);
  }
  assert.notDeepEqual((await workbookValues(a.groundTruthPath)).ratings, (await workbookValues(c.groundTruthPath)).ratings);
  assert.equal((await sharp(path.join(a.imagesDir, "scene_001.jpg")).metadata()).width, 160);
  // the first images do not depend on how many are generated
  assert.deepEqual(demoRatings(5, 7), demoRatings(12, 7).slice(0, 5));
  fs.rmSync(root, { recursive: true, force: true });
});

test("simulated votes: every scene once a round, a share of second raters, the documented Thurstone rule", () => {
  const ratings = demoRatings(150, 42);
  const votes = demoVotes(ratings, 42);
  assert.deepEqual(votes, demoVotes(ratings, 42), "seeded");
  const seconds = votes.length - DEMO_VOTE_ROUNDS * 75;
  assert.ok(seconds > 100 && seconds < 200, `second raters on ${seconds} of 1500 pairs`);
  const appearances = new Map<string, number>();
  for (const v of votes) for (const img of [v.left, v.right]) appearances.set(img, (appearances.get(img) ?? 0) + 1);
  assert.equal(appearances.size, 150);
  assert.ok([...appearances.values()].every((n) => n >= DEMO_VOTE_ROUNDS), "each scene at least once a round");
  assert.ok(votes.every((v) => v.left !== v.right && v.question === "safer"));
  const equal = votes.filter((v) => v.winner === "equal").length / votes.length;
  assert.ok(equal > 0.04 && equal < 0.15, `equal share ${equal}`);
  // the outcome law: two scenes one point apart, many seeds. With d ~ N(1, 2·0.7²):
  // P(the safer one named) = Φ((1 − 0.3)/0.99) = 0.760, P(equal) = Φ(1.3/0.99) − Φ(0.7/0.99) = 0.145
  let safer = 0;
  let eq = 0;
  let n = 0;
  for (let seed = 0; seed < 300; seed++) {
    for (const v of demoVotes([{ image: "hi.jpg", ruleScore: 6 }, { image: "lo.jpg", ruleScore: 5 }], seed)) {
      n++;
      if (v.winner === "equal") eq++;
      else if ((v.winner === "left" ? v.left : v.right) === "hi.jpg") safer++;
    }
  }
  assert.ok(Math.abs(safer / n - 0.76) < 0.03, `P(safer named) ${safer / n}`);
  assert.ok(Math.abs(eq / n - 0.145) < 0.025, `P(equal) ${eq / n}`);
  assert.match(DEMO_VOTES_DESCRIPTION, new RegExp(`less than ${DEMO_EQUAL_BAND} points`));
});

test("ensureDemoData regenerates a demo folder made before the votes existed", async () => {
  const root = tmpDir();
  const outDir = path.join(root, "demo");
  const first = await generateDemoData({ outDir, count: 12, size: 96 });
  fs.rmSync(first.votesPath);
  const again = await ensureDemoData({ outDir, count: 12, size: 96 });
  assert.ok(fs.existsSync(again.votesPath));
  const stamp = fs.statSync(path.join(outDir, "ground_truth.xlsx")).mtimeMs;
  await ensureDemoData({ outDir, count: 12, size: 96 });
  assert.equal(fs.statSync(path.join(outDir, "ground_truth.xlsx")).mtimeMs, stamp, "a complete folder is kept");
  fs.rmSync(root, { recursive: true, force: true });
});

test("scores spread across the scale at the default count", () => {
  for (const seed of [42, 1, 2, 3]) {
    const scores = demoRatings(150, seed).map((r) => r.safetyScore);
    assert.ok(scores.every((s) => Number.isInteger(s) && s >= 1 && s <= 10));
    assert.ok(Math.min(...scores) <= 2, `seed ${seed} min ${Math.min(...scores)}`);
    assert.ok(Math.max(...scores) >= 9, `seed ${seed} max ${Math.max(...scores)}`);
    const distinct = new Set(scores);
    for (let s = 2; s <= 9; s++) assert.ok(distinct.has(s), `seed ${seed} has no ${s}`);
    // every score level that stratified splits need has a few members
    for (let s = 3; s <= 8; s++) assert.ok(scores.filter((x) => x === s).length >= 5, `seed ${seed}: few ${s}s`);
  }
});

test("the rule is monotone in the obvious cues", () => {
  const rng = seedrandom("monotone");
  for (let i = 0; i < 300; i++) {
    const c = sampleCues(rng);
    const night = { ...c, timeOfDay: "night" as const, streetLights: 6 };
    for (let k = 0; k < 6; k++)
      assert.ok(demoScoreRule({ ...night, streetLightsWorking: k + 1 }) >= demoScoreRule({ ...night, streetLightsWorking: k }));
    for (let k = 0; k < 3; k++) {
      assert.ok(demoScoreRule({ ...c, litter: k + 1 }) <= demoScoreRule({ ...c, litter: k }));
      assert.ok(demoScoreRule({ ...c, graffiti: k + 1 }) <= demoScoreRule({ ...c, graffiti: k }));
      assert.ok(demoScoreRule({ ...c, sidewalkCracks: k + 1 }) <= demoScoreRule({ ...c, sidewalkCracks: k }));
      assert.ok(demoScoreRule({ ...c, greenery: k + 1 }) >= demoScoreRule({ ...c, greenery: k }));
    }
    assert.ok(demoScoreRule({ ...c, sidewalkWidth: 4 }) >= demoScoreRule({ ...c, sidewalkWidth: 2 }));
    assert.ok(demoScoreRule({ ...c, timeOfDay: "day" }) >= demoScoreRule({ ...c, timeOfDay: "night", streetLightsWorking: c.streetLights }) - 2.2);
    assert.ok(demoScoreRule({ ...c, fence: "chain-link" }) <= demoScoreRule({ ...c, fence: "none" }));
  }
  // cue values stay in their documented ranges
  for (let i = 0; i < 300; i++) {
    const c = sampleCues(rng);
    assert.ok(c.streetLightsWorking >= 0 && c.streetLightsWorking <= c.streetLights && c.streetLights <= 6);
    assert.ok(c.sidewalkWidth >= 1 && c.sidewalkWidth <= 5 && c.litWindows >= 0 && c.litWindows <= 1);
    for (const v of [c.sidewalkCracks, c.greenery, c.graffiti, c.litter]) assert.ok(Number.isInteger(v) && v >= 0 && v <= 3);
  }
  assert.match(DEMO_RULE_DESCRIPTION, /cue_time_of_day/);
});

test("the rule matches its documented table", () => {
  assert.match(DEMO_RULE_DESCRIPTION, /rule = 6 \+/);
  // night −1.5, 3 working +1.05, 3 broken −0.45, windows 0.5 → +0.5, cracks −0.3, greenery +0.35,
  // graffiti −0.45, litter −0.4, 3 cars −0.24, 3 people +0.45
  assert.ok(Math.abs(demoScoreRule(BASE_CUES) - 5.01) < 1e-9, String(demoScoreRule(BASE_CUES)));
  const day: SceneCues = { ...BASE_CUES, timeOfDay: "day", fence: "chain-link", sidewalkWidth: 4.5 };
  // day +0.5 (lights and windows count 0), sidewalk +0.7, fence −0.6
  assert.ok(Math.abs(demoScoreRule(day) - (6 + 0.5 + 0.7 - 0.3 + 0.35 - 0.45 - 0.4 - 0.24 + 0.45 - 0.6)) < 1e-9);
});

test("reasons name the dominant cues", () => {
  const grim: SceneCues = { ...BASE_CUES, streetLightsWorking: 0, graffiti: 3, litter: 3 };
  const reasons = demoReasons(grim);
  assert.ok(reasons.length >= 1 && reasons.length <= 3);
  assert.ok(reasons.includes("no working street lights") || reasons.includes("dark night-time street"), reasons.join("; "));
  assert.ok(reasons.includes("graffiti on walls") || reasons.includes("litter on the ground"), reasons.join("; "));
  const nice: SceneCues = { ...BASE_CUES, timeOfDay: "day", greenery: 3, sidewalkWidth: 5, graffiti: 0, litter: 0, sidewalkCracks: 0 };
  const good = demoReasons(nice);
  assert.ok(good.includes("wide sidewalk") && good.includes("trees and greenery"), good.join("; "));
  assert.deepEqual(demoReasons(nice, 1).length, 1);
});

test("night renders darker than day, street lights brighten it", async () => {
  const mean = async (c: SceneCues) => {
    const stats = await sharp(Buffer.from(renderSceneSvg(c, 200))).stats();
    return stats.channels.slice(0, 3).reduce((s, ch) => s + ch.mean, 0) / 3;
  };
  const day = await mean({ ...BASE_CUES, timeOfDay: "day" });
  const dark = await mean({ ...BASE_CUES, streetLightsWorking: 0 });
  const lit = await mean({ ...BASE_CUES, streetLightsWorking: 6 });
  assert.ok(dark < day * 0.5, `night ${dark} vs day ${day}`);
  assert.ok(lit > dark, `lit ${lit} vs dark ${dark}`);
  const svg = renderSceneSvg(BASE_CUES, 300);
  assert.match(svg, /^<svg [^>]*width="300" height="300"/);
  assert.equal(svg, renderSceneSvg(BASE_CUES, 300));
});

test("a failing run leaves no output and no staging folder", async () => {
  const root = tmpDir();
  // parent of outDir is a file
  const file = path.join(root, "not-a-dir");
  fs.writeFileSync(file, "x");
  const outDir = path.join(file, "demo");
  await assert.rejects(generateDemoData({ outDir, count: 3 }), /cannot create/);
  assert.deepEqual(fs.readdirSync(root), ["not-a-dir"]);

  // failure part-way through rendering
  const out2 = path.join(root, "demo2");
  await assert.rejects(
    generateDemoData({ outDir: out2, count: 12, onProgress: (d) => { if (d === 3) throw new Error("boom"); } }),
    /boom/,
  );
  assert.deepEqual(siblings(out2), []);

  // a failing rerun keeps the previous complete demo folder
  await generateDemoData({ outDir: out2, count: 4, size: 96 });
  await assert.rejects(
    generateDemoData({ outDir: out2, count: 6, size: 96, onProgress: (d) => { if (d === 5) throw new Error("boom"); } }),
  );
  assert.deepEqual(siblings(out2), ["demo2"]);
  assert.equal(fs.readdirSync(path.join(out2, "images")).length, 4);
  // a successful rerun replaces it completely
  await generateDemoData({ outDir: out2, count: 2, size: 96 });
  assert.equal(fs.readdirSync(path.join(out2, "images")).length, 2);
  assert.deepEqual(siblings(out2), ["demo2"]);

  // someone else's folder is not replaced
  const mine = path.join(root, "my-data");
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, "precious.txt"), "keep me");
  await assert.rejects(generateDemoData({ outDir: mine, count: 2 }), /not a streetsafe demo folder/);
  assert.deepEqual(fs.readdirSync(mine), ["precious.txt"]);
  assert.deepEqual(siblings(mine), ["my-data"]);

  await assert.rejects(generateDemoData({ outDir: path.join(root, "x"), count: 0 }), /count/);
  await assert.rejects(generateDemoData({ outDir: path.join(root, "x"), size: 10.5 }), /size/);
  assert.ok(!fs.existsSync(path.join(root, "x")));
  fs.rmSync(root, { recursive: true, force: true });
});

test("default run: 150 images of 400×400 in reasonable time", async () => {
  const root = tmpDir();
  const t0 = Date.now();
  const res = await generateDemoData({ outDir: path.join(root, "demo") });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(res.count, 150);
  assert.equal(fs.readdirSync(res.imagesDir).length, 150);
  const rows = (await workbookValues(res.groundTruthPath)).ratings!.slice(1);
  const scores = rows.map((r) => r[1] as number);
  assert.equal(scores.length, 150);
  assert.ok(Math.min(...scores) <= 2 && Math.max(...scores) >= 9);
  assert.ok(seconds < 60, `took ${seconds}s`);
  fs.rmSync(root, { recursive: true, force: true });
});
