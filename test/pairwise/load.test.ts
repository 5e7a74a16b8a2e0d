import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import { InputError } from "../../lib/src/core/errors";
import { loadVotes, loadVotesOrThrow } from "../../lib/src/pairwise/votes/load";
import { EQUAL, LEFT, RIGHT } from "../../lib/src/pairwise/votes/vote-set";
import { tempDir } from "../helpers/tmp";

const dir = tempDir();
const images = path.join(dir, "images");
mkdirSync(path.join(images, "sub"), { recursive: true });
for (const n of ["a.jpg", "b.jpg", "c.png", "sub/d.jpg", "notes.txt"]) writeFileSync(path.join(images, n), "x");
writeFileSync(path.join(dir, "outside.jpg"), "x");
symlinkSync(path.join(dir, "outside.jpg"), path.join(images, "link.jpg"));

function file(name: string, text: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

test("a CSV of votes: winners, repeated pairs kept, sha256 and columns recorded", async () => {
  const f = file("ok.csv", "left,right,winner\na.jpg,b.jpg,left\nb.jpg,a.jpg,left\na.jpg,b.jpg,equal\nc.png,sub/d.jpg,right\n");
  const r = await loadVotesOrThrow(f, { images });
  assert.equal(r.format, "csv");
  assert.equal(r.votes.count, 4);
  assert.deepEqual(r.votes.images, ["a.jpg", "b.jpg", "c.png", "sub/d.jpg"]);
  assert.deepEqual([...r.votes.outcome], [LEFT, LEFT, EQUAL, RIGHT]);
  assert.deepEqual([...r.voteRows], [2, 3, 4, 5]);
  assert.match(r.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(r.columns, { left: "left", right: "right", winner: "winner" });
});

test("TSV with a BOM and Windows line ends; semicolon CSV noted", async () => {
  const tsv = await loadVotesOrThrow(file("ok.tsv", "\uFEFFImage A\tImage B\tChoice\r\na.jpg\tb.jpg\tb\r\n"), { images });
  assert.deepEqual([...tsv.votes.outcome], [RIGHT]);
  const semi = await loadVotesOrThrow(file("semi.csv", "left;right;winner\na.jpg;b.jpg;tie\n"), { images });
  assert.deepEqual([...semi.votes.outcome], [EQUAL]);
  assert.ok(semi.notes.some((n) => /separated by ";"/.test(n)), semi.notes.join("; "));
});

test("images: missing, unsupported, outside the folder and links out of it are problems at the row that first named them", async () => {
  const f = file(
    "bad-images.csv",
    ["left,right,winner", "a.jpg,b.jpg,left", "a.jpg,missing.jpg,left", "notes.txt,a.jpg,right", "../outside.jpg,a.jpg,left", "link.jpg,b.jpg,left", "b.jpg,missing.jpg,right"].join("\n"),
  );
  const r = await loadVotes(f, { images });
  assert.deepEqual(
    r.problems.map((p) => [p.row, p.column, p.kind]),
    [
      [3, "right", "missing-image"],
      [4, "left", "unsupported-image-format"],
      [5, "left", "path-escape"],
      [6, "left", "path-escape"],
    ],
  );
  assert.match(r.problems[0]!.message, /"missing.jpg" not found .*\(in 2 votes\)/);
  assert.match(r.problems[3]!.message, /link to a file outside/);
  await assert.rejects(loadVotesOrThrow(f, { images }), (e: unknown) => e instanceof InputError && e.problems.length === 4 && /4 problems in the votes/.test(e.message));
});

test("row problems and image problems come in one list, in row order", async () => {
  const f = file("mixed.csv", "left,right,winner\na.jpg,a.jpg,left\nb.jpg,gone.jpg,left\nc.png,b.jpg,maybe\n");
  const r = await loadVotes(f, { images });
  assert.deepEqual(r.problems.map((p) => [p.row, p.kind]), [[2, "self-comparison"], [3, "missing-image"], [4, "invalid-winner"]]);
});

test("names are replaced by the file found; two spellings of one file are one image (and a vote between them a problem)", async () => {
  const f = file("spellings.csv", "left,right,winner\nimages/a.jpg,b.jpg,left\na.jpg,b.jpg,right\nd.jpg,sub/d.jpg,left\n");
  const r = await loadVotes(f, { images });
  // "d.jpg" is not in the folder (only sub/d.jpg is), so it is missing: dropping folders only goes one way
  assert.deepEqual(r.problems.map((p) => [p.row, p.kind]), [[4, "missing-image"]]);
  const ok = await loadVotes(file("spellings2.csv", "left,right,winner\nimages/a.jpg,b.jpg,left\na.jpg,b.jpg,right\nimages/b.jpg,b.jpg,left\n"), { images });
  assert.deepEqual(ok.problems.map((p) => [p.row, p.kind]), [[4, "self-comparison"]]);
  assert.deepEqual(ok.votes.images, ["a.jpg", "b.jpg"]);
  assert.equal(ok.votes.count, 2);
  assert.ok(ok.notes.some((n) => /found under another path/.test(n)));
});

test("question filter: Place Pulse style study_question; without a filter mixed questions are refused", async () => {
  const f = file("pp.csv", "left,right,choice,study_question\na.jpg,b.jpg,left,safer\na.jpg,c.png,right,livelier\nb.jpg,c.png,equal,Safer\n");
  const mixed = await loadVotes(f, { images });
  assert.deepEqual(mixed.problems.map((p) => p.kind), ["mixed-questions"]);
  const safer = await loadVotesOrThrow(f, { images, question: "safer" });
  assert.equal(safer.votes.count, 2);
  assert.equal(safer.skippedOtherQuestions, 1);
  assert.deepEqual(safer.votes.images, ["a.jpg", "b.jpg", "c.png"]);
});

test("XLSX: the first sheet with left, right and winner columns, or the one named; problems carry the sheet", async () => {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet("README").addRow(["these are votes"]);
  const s = wb.addWorksheet("votes");
  s.addRow(["left", "right", "winner"]);
  s.addRow(["a.jpg", "b.jpg", "right"]);
  s.addRow(["a.jpg", "a.jpg", "left"]);
  const f = path.join(dir, "votes.xlsx");
  await wb.xlsx.writeFile(f);
  const r = await loadVotes(f, { images });
  assert.equal(r.sheet, "votes");
  assert.deepEqual(r.problems.map((p) => [p.sheet, p.row, p.column, p.kind]), [["votes", 3, "right", "self-comparison"]]);
  assert.deepEqual([...r.votes.outcome], [RIGHT]);
  const missing = await loadVotes(f, { images, sheet: "ratings" });
  assert.equal(missing.problems[0]!.kind, "missing-sheet");
  const readme = await loadVotes(f, { images, sheet: "README" });
  assert.equal(readme.problems[0]!.kind, "missing-column");
});

test("files that cannot be votes: unsupported type, missing file, empty file, header only, no vote columns", async () => {
  const kinds = async (f: string) => (await loadVotes(f, { images })).problems.map((p) => p.kind);
  assert.deepEqual(await kinds(file("votes.json", "[]")), ["unsupported-file"]);
  assert.deepEqual(await kinds(path.join(dir, "nope.csv")), ["unreadable-file"]);
  assert.deepEqual(await kinds(file("empty.csv", "")), ["empty-file"]);
  assert.deepEqual(await kinds(file("header.csv", "left,right,winner\n")), ["empty-file"]);
  assert.deepEqual(await kinds(file("scores.csv", "image,score\na.jpg,3\n")), ["missing-column"]);
  assert.match((await loadVotes(file("votes.xls", "x"), { images })).problems[0]!.message, /save it as \.xlsx/);
});
