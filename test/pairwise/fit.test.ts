import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import sharp from "sharp";
import { InputError } from "../../lib/src/core/errors";
import { loadGroundTruthOrThrow } from "../../lib/src/prepare";
import { prepare } from "../../lib/src/prepare/run";
import { fitRatings } from "../../lib/src/pairwise/fit/ratings";
import { groundTruthRows, scoreRows } from "../../lib/src/pairwise/fit/table";
import { runFit } from "../../lib/src/pairwise/fit/run";
import { formatFitSummary } from "../../lib/src/pairwise/fit/summary";
import { simulateVotes } from "../../lib/src/pairwise/simulate";
import { voteSetFrom, LEFT, RIGHT, EQUAL } from "../../lib/src/pairwise/votes/vote-set";
import { tempDir } from "../helpers/tmp";

const dir = tempDir();

/** 40 real (tiny) JPEGs and simulated votes on them, written as a user's files. */
async function study(n = 40, k = 10) {
  const imagesDir = path.join(dir, "images");
  mkdirSync(imagesDir, { recursive: true });
  const names = Array.from({ length: n }, (_, i) => `street_${String(i + 1).padStart(2, "0")}.jpg`);
  const latent = names.map((_, i) => (i - n / 2) / 8);
  for (const [i, name] of names.entries()) {
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: (i * 6) % 255, g: 120, b: 90 } } }).jpeg().toFile(path.join(imagesDir, name));
  }
  const votes = simulateVotes(names, latent, { comparisonsPerImage: k, equalBand: 0.1, seed: 3 });
  const word = ["left", "right", "equal"];
  const lines = ["left,right,winner,question"];
  for (let v = 0; v < votes.count; v++) lines.push(`${votes.images[votes.left[v]!]},${votes.images[votes.right[v]!]},${word[votes.outcome[v]!]},safer`);
  const votesFile = path.join(dir, "votes.csv");
  writeFileSync(votesFile, lines.join("\n") + "\n");
  return { imagesDir, names, latent, votesFile, votes };
}

test("fitRatings: three models with intervals, each mapped to 1–10 by its stated rule; intervals contain the score", () => {
  const v = voteSetFrom([
    { left: "a", right: "b", outcome: LEFT },
    { left: "b", right: "c", outcome: LEFT },
    { left: "c", right: "a", outcome: RIGHT },
    { left: "a", right: "c", outcome: EQUAL },
    { left: "b", right: "a", outcome: RIGHT },
  ]);
  const fit = fitRatings(v, { qScore: { bootstrap: { iterations: 200 } } });
  for (const m of [fit.bradleyTerry!.mapped, fit.trueSkill!.mapped, fit.qScore!.mapped]) {
    for (let i = 0; i < 3; i++) {
      assert.ok(m.scores[i]! >= 1 && m.scores[i]! <= 10);
      assert.ok(m.lower![i]! <= m.scores[i]! + 1e-12 && m.scores[i]! <= m.upper![i]! + 1e-12, `${m.rule.kind}: ${m.lower![i]} ≤ ${m.scores[i]} ≤ ${m.upper![i]}`);
    }
  }
  assert.equal(fit.bradleyTerry!.mapped.rule.kind, "win-probability");
  assert.equal(fit.qScore!.mapped.rule.kind, "linear");
  assert.deepEqual(fit.summary, { votes: 5, images: 3, pairs: 3, repeatedVotes: 2, equalVotes: 1 });
  const rows = scoreRows(fit);
  assert.deepEqual(rows.map((r) => [r.image, r.n_votes, r.wins, r.losses, r.ties]), [["a", 4, 3, 0, 1], ["b", 3, 1, 2, 0], ["c", 3, 0, 2, 1]]);
  const only = fitRatings(v, { models: ["q-score"], mapping: "quantile", qScore: { bootstrap: false } });
  assert.equal(only.bradleyTerry, undefined);
  assert.equal(only.qScore!.mapped.rule.kind, "quantile");
  assert.ok(!("bt_theta" in scoreRows(only)[0]!));
  assert.equal(scoreRows(only)[0]!.q_raw_lower, null, "no bootstrap, no interval");
});

test("pairwise fit: votes file → run folder (CSV, XLSX, JSON) with rules and parameters; ground truth that prepare accepts", async () => {
  const s = await study();
  const out = path.join(dir, "results");
  const logs: string[] = [];
  const r = await runFit({ votes: s.votesFile, images: s.imagesDir, question: "safer", outputDir: out, groundTruthModel: "bradley-terry", qScore: { bootstrap: { iterations: 200 } }, command: ["streetsafe", "pairwise", "fit"], log: (l) => logs.push(l) });
  assert.match(path.basename(r.runDir), /^fit-\d{4}-/);
  assert.deepEqual(readdirSync(r.runDir).sort(), ["ground_truth.csv", "scores.csv", "scores.json", "scores.xlsx"]);
  assert.deepEqual(readdirSync(out), [path.basename(r.runDir)], "no staging folder left behind");
  assert.ok(logs.some((l) => /read \d+ votes on 40 images/.test(l)));

  const doc = JSON.parse(readFileSync(path.join(r.runDir, "scores.json"), "utf8"));
  assert.equal(doc.schema, "streetsafe.pairwise.fit/1");
  assert.equal(doc.summary.images, 40);
  assert.equal(doc.images.length, 40);
  assert.equal(doc.votes.question, "safer");
  assert.match(doc.votes.sha256, /^[0-9a-f]{64}$/);
  for (const p of [doc.votes.file, doc.images_dir]) assert.ok(!path.isAbsolute(p) && p.endsWith(path.basename(p)), `shown relative: ${p}`);
  assert.equal(doc.models["bradley-terry"].prior_sd, 3);
  assert.match(doc.models["bradley-terry"].mapping.formula, /σ/);
  assert.equal(doc.models.trueskill.mu, 25);
  assert.match(doc.models["q-score"].interval, /200 resamples/);
  assert.ok(doc.model_agreement_spearman["bradley-terry~trueskill"] > 0.9);

  const csv = readFileSync(path.join(r.runDir, "scores.csv"), "utf8").split("\n");
  assert.equal(csv[0], "image,n_votes,wins,losses,ties,bt_theta,bt_se,bt_score,bt_score_lower,bt_score_upper,trueskill_mu,trueskill_sigma,trueskill_score,trueskill_score_lower,trueskill_score_upper,q_raw,q_raw_lower,q_raw_upper,q_score,q_score_lower,q_score_upper");
  assert.ok(csv[1]!.startsWith("street_01.jpg,"));

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path.join(r.runDir, "scores.xlsx"));
  assert.deepEqual(wb.worksheets.map((w) => w.name), ["scores", "models", "README"]);
  assert.equal(wb.getWorksheet("scores")!.rowCount, 41);

  // the ground truth feeds step 1 unchanged: prepare loads it, splits by image, writes fine-tuning files
  const gt = await loadGroundTruthOrThrow(path.join(r.runDir, "ground_truth.csv"));
  assert.equal(gt.items.length, 40);
  assert.ok(gt.items.every((it) => it.score >= 1 && it.score <= 10));
  const byName = new Map(gt.items.map((it) => [it.image, it.score]));
  assert.ok(byName.get("street_40.jpg")! > byName.get("street_01.jpg")!, "the latent order survives the round trip");
  const prepared = await prepare({ groundTruth: path.join(r.runDir, "ground_truth.csv"), images: s.imagesDir, dataDir: path.join(dir, "data"), imageMaxSide: 64 });
  assert.equal(prepared.images.length, 40);

  const summary = formatFitSummary(r);
  assert.match(summary, /Bradley–Terry\s+highest street_\d+\.jpg/);
  assert.match(summary, /run folder: /);
});

test("bad votes: InputError with every problem, and nothing written", async () => {
  const s = await study(12, 4);
  const bad = path.join(dir, "bad.csv");
  writeFileSync(bad, "left,right,winner\nstreet_01.jpg,street_01.jpg,left\nstreet_02.jpg,nowhere.jpg,right\nstreet_03.jpg,street_04.jpg,perhaps\n");
  const out = path.join(dir, "bad-results");
  await assert.rejects(runFit({ votes: bad, images: s.imagesDir, outputDir: out }), (e: unknown) => e instanceof InputError && e.problems.length === 3);
  assert.equal(existsSync(out), false, "not even the output folder");
});

test("ground-truth rows: two decimals, the interval beside, sorted; a model not fitted is refused", () => {
  const v = voteSetFrom([
    { left: "x10.jpg", right: "x9.jpg", outcome: LEFT },
    { left: "x9.jpg", right: "x2.jpg", outcome: LEFT },
    { left: "x2.jpg", right: "x10.jpg", outcome: RIGHT },
  ]);
  const fit = fitRatings(v, { models: ["bradley-terry"] });
  const rows = groundTruthRows(fit, "bradley-terry");
  assert.deepEqual(rows.map((r) => r.image), ["x2.jpg", "x9.jpg", "x10.jpg"]);
  for (const r of rows) {
    assert.equal(r.safety_score, Math.round((r.safety_score as number) * 100) / 100);
    assert.ok((r.score_lower as number) <= (r.safety_score as number) && (r.safety_score as number) <= (r.score_upper as number));
  }
  assert.throws(() => groundTruthRows(fit, "trueskill"), /not fitted/);
});
