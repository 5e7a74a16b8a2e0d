import { test } from "node:test";
import assert from "node:assert/strict";
import type { Plain } from "../../lib/src/core/table/cells";
import { readVoteTable, type VoteReadOptions } from "../../lib/src/pairwise/votes/validate";
import { EQUAL, LEFT, RIGHT } from "../../lib/src/pairwise/votes/vote-set";

type CellValue = Plain;

/** A table as a CSV reader would give it (header = row 1, data rows from row 2), read as votes. */
function loadVotes(t: { headers: string[]; rows: CellValue[][]; file: string; sheet?: string }, opts: VoteReadOptions = {}) {
  const table = { headerRow: 1, headers: t.headers, rows: t.rows.map((cells, i) => ({ row: i + 2, cells })) };
  return readVoteTable(table, { file: t.file, ...(t.sheet ? { sheet: t.sheet } : {}) }, opts);
}

function table(headers: string[], rows: CellValue[][], file = "votes.csv") {
  return { file, headers, rows };
}

test("winner cells: words, synonyms, image names and the side's header (one line per case)", () => {
  const cases: [CellValue, number][] = [
    ["left", LEFT], ["LEFT", LEFT], [" Left ", LEFT], ["l", LEFT], ["first", LEFT], ["A", LEFT], ["image_a", LEFT],
    ["right", RIGHT], ["R", RIGHT], ["second", RIGHT], ["b", RIGHT], ["Right image", RIGHT],
    ["equal", EQUAL], ["Tie", EQUAL], ["draw", EQUAL], ["same", EQUAL], ["neither", EQUAL], ["no preference", EQUAL], ["=", EQUAL],
    ["x.jpg", LEFT], ["y.jpg", RIGHT],
  ];
  for (const [cell, expected] of cases) {
    const r = loadVotes(table(["left", "right", "winner"], [["x.jpg", "y.jpg", cell]]));
    assert.deepEqual(r.problems, [], `winner ${JSON.stringify(cell)}`);
    assert.equal(r.votes.outcome[0], expected, `winner ${JSON.stringify(cell)}`);
  }
  // Place Pulse style columns: winner names the column of the winning side
  const pp = loadVotes(table(["agent_a", "agent_b", "winner"], [["1", "2", "agent_b"], ["3", "4", "agent_a"], ["5", "6", "draw"]]));
  assert.deepEqual(pp.problems, []);
  assert.deepEqual([...pp.votes.outcome], [RIGHT, LEFT, EQUAL]);
  // an image name takes precedence over a word: images called "b" and "a"
  const named = loadVotes(table(["left", "right", "winner"], [["b", "a", "a"]]));
  assert.equal(named.votes.outcome[0], RIGHT);
});

test("numeric winners need their coding; with it 0 / 1 / 0.5 work", () => {
  const rows: CellValue[][] = [["x", "y", 0], ["x", "y", "1"], ["x", "y", 0.5]];
  const bare = loadVotes(table(["left", "right", "winner"], rows));
  assert.equal(bare.problems.length, 3);
  assert.ok(bare.problems.every((p) => p.kind === "ambiguous-winner" && p.column === "winner"));
  assert.match(bare.problems[0]!.message, /--numeric-winner/);
  const coded = loadVotes(table(["left", "right", "winner"], rows), { numericWinner: { left: 0, right: 1, equal: 0.5 } });
  assert.deepEqual(coded.problems, []);
  assert.deepEqual([...coded.votes.outcome], [LEFT, RIGHT, EQUAL]);
  const other = loadVotes(table(["left", "right", "winner"], [["x", "y", 2]]), { numericWinner: { left: 0, right: 1 } });
  assert.equal(other.problems[0]!.kind, "invalid-winner");
  // numeric image ids are names, not codes
  const ids = loadVotes(table(["left", "right", "winner"], [[17, 23, 23]]));
  assert.deepEqual(ids.problems, []);
  assert.equal(ids.votes.outcome[0], RIGHT);
  assert.deepEqual(ids.votes.images, ["17", "23"]);
});

test("every problem is reported at once, with file, row and column", () => {
  const r = loadVotes(
    table(["Left image", "Right image", "Choice"], [
      ["a.jpg", "b.jpg", "left"], // ok (row 2)
      ["", "b.jpg", "left"], // empty left (row 3)
      ["a.jpg", "a.jpg", "equal"], // self comparison (row 4)
      ["a.jpg", "c.jpg", ""], // empty winner (row 5)
      ["a.jpg", "c.jpg", "d.jpg"], // winner is neither side (row 6)
      [null, null, null], // fully empty row: skipped silently (row 7)
      ["c.jpg", "", "maybe"], // two problems on one row (row 8)
    ]),
  );
  const got = r.problems.map((p) => [p.row, p.column, p.kind]);
  assert.deepEqual(got, [
    [3, "Left image", "empty-image"],
    [4, "Right image", "self-comparison"],
    [5, "Choice", "empty-winner"],
    [6, "Choice", "invalid-winner"],
    [8, "Right image", "empty-image"],
    [8, "Choice", "invalid-winner"],
  ]);
  assert.ok(r.problems.every((p) => p.file === "votes.csv"));
  assert.match(r.problems[0]!.message, /left image is empty/);
  assert.match(r.problems[3]!.message, /"d.jpg" names neither side/);
  assert.equal(r.rowsRead, 6);
  assert.equal(r.votes.count, 1, "valid rows are still returned");
});

test("missing columns are named with what was found; empty tables are a problem", () => {
  const r = loadVotes(table(["image", "score"], [["a", 3]]));
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.kind, "missing-column");
  assert.equal(r.problems[0]!.row, 1);
  assert.match(r.problems[0]!.message, /no a left-image column .* no a right-image column .* no a winner column .*columns found: "image", "score"/);
  const given = loadVotes(table(["a", "b", "w"], []), { columns: { winner: "outcome" } });
  assert.match(given.problems[0]!.message, /winner column "outcome" is not in the header/);
  const empty = loadVotes(table(["left", "right", "winner"], [[null, "", " "]]));
  assert.equal(empty.problems[0]!.kind, "empty-file");
  const xlsx = loadVotes({ ...table(["left", "right", "winner"], [["a", "a", "left"]], "votes.xlsx"), sheet: "Votes" });
  assert.equal(xlsx.problems[0]!.sheet, "Votes");
});

test("questions: filter by question (case-insensitive); mixing questions is refused; unknown ones reported", () => {
  // Place Pulse 2.0 votes_clean.csv columns
  const headers = ["left", "right", "study_id", "voter_uniqueid", "choice", "study_question"];
  const rows: CellValue[][] = [
    ["p1", "p2", "s", "v1", "left", "safer"],
    ["p1", "p3", "s", "v1", "right", "more beautiful"],
    ["p2", "p3", "s", "v2", "equal", "Safer"],
    ["p2", "p1", "s", "v3", "left", "livelier"],
  ];
  const mixed = loadVotes(table(headers, rows));
  assert.equal(mixed.columns.question, "study_question");
  assert.equal(mixed.columns.winner, "choice");
  const mix = mixed.problems.find((p) => p.kind === "mixed-questions");
  assert.ok(mix, "pooled questions are a problem");
  assert.match(mix!.message, /"safer" ×2, "more beautiful" ×1, "livelier" ×1/);
  const safer = loadVotes(table(headers, rows), { question: "SAFER" });
  assert.deepEqual(safer.problems, []);
  assert.equal(safer.votes.count, 2);
  assert.equal(safer.skippedOtherQuestions, 2);
  assert.deepEqual(safer.questions, { safer: 2, "more beautiful": 1, livelier: 1 });
  const two = loadVotes(table(headers, rows), { question: ["safer", "livelier"] });
  assert.equal(two.votes.count, 3);
  const unknown = loadVotes(table(headers, rows), { question: "wealthier" });
  assert.equal(unknown.problems.find((p) => p.kind === "unknown-question")?.column, "study_question");
  const noColumn = loadVotes(table(["left", "right", "winner"], [["a", "b", "left"]]), { question: "safer" });
  assert.equal(noColumn.problems[0]!.kind, "missing-column");
  const emptyQ = loadVotes(table(["left", "right", "winner", "question"], [["a", "b", "left", ""]]));
  assert.equal(emptyQ.problems[0]!.kind, "empty-question");
});

test("repeated pairs stay separate votes, in order; image ids follow first appearance; rows are kept per vote", () => {
  const r = loadVotes(table(["left", "right", "winner"], [["a", "b", "left"], ["b", "a", "left"], ["x", "", "left"], ["a", "b", "left"], ["c", "a", "tie"]]));
  assert.equal(r.votes.count, 4);
  assert.deepEqual(r.votes.images, ["a", "b", "c"], "an image on a rejected row gets no id");
  assert.deepEqual([...r.votes.left], [0, 1, 0, 2]);
  assert.deepEqual([...r.votes.outcome], [LEFT, LEFT, LEFT, EQUAL]);
  assert.deepEqual([...r.voteRows], [2, 3, 5, 6]);
  assert.deepEqual(r.firstSeen, [{ row: 2, column: "left" }, { row: 2, column: "right" }, { row: 6, column: "left" }]);
});

test("image cells follow the project's path rules: absolute paths to names, .. out of the folder refused", () => {
  const r = loadVotes(
    table(["left", "right", "winner"], [
      ["./a.jpg", "a.jpg", "left"],
      ["../x.jpg", "b.jpg", "right"],
      ["sub\\c.jpg", "b.jpg", "sub\\c.jpg"],
      ["C:\\photos\\d.jpg", "/home/me/e.jpg", "right"],
    ]),
  );
  assert.deepEqual(r.problems.map((p) => [p.row, p.column, p.kind]), [[2, "right", "self-comparison"], [3, "left", "path-escape"]]);
  assert.deepEqual(r.votes.images, ["sub/c.jpg", "b.jpg", "d.jpg", "e.jpg"]);
  assert.equal(r.votes.outcome[0], LEFT, "a winner given by its path as written");
});
