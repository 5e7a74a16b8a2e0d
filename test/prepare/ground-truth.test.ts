import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import ExcelJS from "exceljs";
import { InputError, type Problem, type ProblemKind } from "../../lib/src/core/errors";
import { loadGroundTruth, loadGroundTruthOrThrow, normaliseImagePath, type LoadResult } from "../../lib/src/prepare/ground-truth";

const FIX = path.join(__dirname, "..", "fixtures", "ground-truth");
const fx = (name: string) => path.join(FIX, name);

const TMP = mkdtempSync(path.join(tmpdir(), "streetsafe-gt-"));
after(() => rmSync(TMP, { recursive: true, force: true }));
let tmpCount = 0;
function tmpFile(name: string, content: string | Buffer): string {
  const dir = path.join(TMP, String(tmpCount++));
  mkdirSync(dir);
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

interface SheetSpec {
  name: string;
  rows: ExcelJS.CellValue[][];
  /** 1-based row of the first entry in `rows` (default 1). */
  startRow?: number;
  state?: "visible" | "hidden";
}
async function workbook(name: string, sheets: SheetSpec[]): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name, s.state ? { state: s.state } : {});
    s.rows.forEach((cells, i) => {
      const row = ws.getRow((s.startRow ?? 1) + i);
      cells.forEach((v, j) => {
        if (v !== null && v !== undefined) row.getCell(j + 1).value = v;
      });
      row.commit();
    });
  }
  const file = path.join(TMP, `${tmpCount++}-${name}`);
  await wb.xlsx.writeFile(file);
  return file;
}

/** Problems as [kind, row, column] for compact table asserts. */
function where(r: LoadResult): [ProblemKind, number | undefined, string | undefined][] {
  return r.problems.map((p) => [p.kind, p.row, p.column]);
}
function only(r: LoadResult, kind: ProblemKind): Problem {
  const ps = r.problems.filter((p) => p.kind === kind);
  assert.equal(ps.length, 1, `expected one ${kind}, got ${JSON.stringify(r.problems)}`);
  return ps[0]!;
}
const scores = (r: LoadResult) => Object.fromEntries(r.items.map((i) => [i.image, i.score]));

// ---------------------------------------------------------------------------------------------
// CSV / TSV

test("basic CSV: numbers, labelled text scores, reasons from the column or the text", async () => {
  const r = await loadGroundTruth(fx("basic.csv"));
  assert.deepEqual(r.problems, []);
  assert.equal(r.format, "csv");
  assert.deepEqual(r.columns, { image: "image", score: "score", reasons: "reasons" });
  assert.equal(r.rowsRead, 4);
  assert.deepEqual(scores(r), { "1.jpg": 7, "2.jpg": 3, "3.jpg": 5, "4.jpg": 8 });
  assert.deepEqual(r.items[0]!.reasons, ["wide sidewalks", "good lighting"]);
  assert.deepEqual(r.items[1]!.reasons, []);
  assert.deepEqual(r.items[3]!.reasons, ["Busy, well lit street"]);
  assert.deepEqual(r.items[2]!.source, { file: fx("basic.csv"), row: 4 });
});

test("UTF-8 BOM + semicolon CSV with CRLF, decimal comma and a quoted ';'", async () => {
  const file = fx("semicolon-bom.csv");
  assert.deepEqual([...readFileSync(file).subarray(0, 3)], [0xef, 0xbb, 0xbf], "fixture must keep its BOM");
  const r = await loadGroundTruth(file);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.columns, { image: "Image Name", score: "Safety Score", reasons: "Comments" });
  assert.deepEqual(scores(r), { "12.jpg": 7.5, "13.jpg": 4 });
  assert.deepEqual(r.items[1]!.reasons, ["dark", "narrow"]);
});

test("TSV with file_name / rating / Explanation and a backslash path", async () => {
  const r = await loadGroundTruth(fx("scores.tsv"));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.columns, { image: "file_name", score: "rating", reasons: "Explanation" });
  assert.deepEqual(scores(r), { "imgs/a.jpg": 6, "imgs/b.jpg": 9 });
  assert.deepEqual(r.items[0]!.reasons, ["quiet street"]);
});

test("tab-separated .txt and UTF-16 (Excel 'Unicode text') are read", async () => {
  const txt = tmpFile("scores.txt", "image\tscore\na.jpg\t4\n");
  assert.deepEqual(scores(await loadGroundTruth(txt)), { "a.jpg": 4 });
  const utf16 = tmpFile("unicode.txt", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("image\tscore\r\nb.jpg\t6\r\n", "utf16le")]));
  const r = await loadGroundTruth(utf16);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(scores(r), { "b.jpg": 6 });
});

test("every row problem is collected with its row and column; empty rows are skipped silently", async () => {
  const r = await loadGroundTruth(fx("problems.csv"));
  assert.deepEqual(where(r), [
    ["empty-image", 3, "image"],
    ["empty-score", 4, "score"],
    ["non-numeric-score", 5, "score"],
    ["out-of-range-score", 6, "score"],
    ["path-escape", 7, "image"],
    ["duplicate-conflict", 9, "score"],
  ]);
  for (const p of r.problems) assert.equal(p.file, fx("problems.csv"));
  assert.match(only(r, "out-of-range-score").message, /11.*1–10/);
  assert.match(only(r, "non-numeric-score").message, /no score found/);
  assert.match(only(r, "duplicate-conflict").message, /"dup\.jpg".*row 9: 6, row 10: 2/);
  assert.deepEqual(scores(r), { "ok.jpg": 5 });
  assert.equal(r.rowsRead, 8);
});

test("image paths: absolute Windows/POSIX reduced to the name, relative ones normalised", async () => {
  const r = await loadGroundTruth(fx("windows-paths.csv"));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.items.map((i) => i.image),
    ["12.jpg", "13.jpg", "sub/dir/14.jpg", "sub/15.jpg", "16.jpg"],
  );
});

const pathCases: [string, string | ProblemKind][] = [
  ["C:\\data\\imgs\\12.jpg", "12.jpg"],
  ["c:/data/12.jpg", "12.jpg"],
  ["\\\\server\\share\\12.jpg", "12.jpg"],
  ["/home/x/12.jpg", "12.jpg"],
  ["~/pics/12.jpg", "12.jpg"],
  ["file:///home/x/my%20pic.jpg", "my pic.jpg"],
  ["imgs\\12.jpg", "imgs/12.jpg"],
  ["./12.jpg", "12.jpg"],
  [" 12.jpg ", "12.jpg"],
  ["a/b/../12.jpg", "a/12.jpg"],
  ["../12.jpg", "path-escape"],
  ["a/../../12.jpg", "path-escape"],
  ["..\\12.jpg", "path-escape"],
  ["", "empty-image"],
  ["   ", "empty-image"],
  ["imgs/", "empty-image"],
  ["C:\\", "empty-image"],
];
for (const [input, expected] of pathCases) {
  test(`normaliseImagePath(${JSON.stringify(input)}) → ${expected}`, () => {
    const r = normaliseImagePath(input);
    if (expected.includes(".")) assert.deepEqual(r, { ok: true, value: expected });
    else assert.equal(r.ok ? "ok" : r.kind, expected);
  });
}

test("empty file and header-only file → empty-file", async () => {
  assert.deepEqual(where(await loadGroundTruth(fx("empty.csv"))), [["empty-file", undefined, undefined]]);
  assert.deepEqual(where(await loadGroundTruth(fx("header-only.csv"))), [["empty-file", undefined, undefined]]);
  assert.deepEqual(where(await loadGroundTruth(tmpFile("blank.csv", "\n\n  \n"))), [["empty-file", undefined, undefined]]);
});

test("missing columns → one missing-column problem naming the columns found", async () => {
  const r = await loadGroundTruth(tmpFile("cols.csv", "name,value\na.jpg,4\n"));
  assert.deepEqual(where(r), [["missing-column", 1, undefined]]);
  assert.match(r.problems[0]!.message, /image column.*score column.*"name", "value"/);
  const r2 = await loadGroundTruth(tmpFile("cols.csv", "image,value\na.jpg,4\n"));
  assert.match(only(r2, "missing-column").message, /^no a score column .*columns found: "image", "value"/);
});

// [image header, score header, reasons header]
const flexibleNames: [string, string, string?][] = [
  ["image", "score"],
  ["Image", "Score"],
  ["IMAGE_PATH", "safety_score", "Reasons"],
  ["Image Path", "Perceived Safety", "reason"],
  ["imagepath", "Safety", "Explanation"],
  ["image_name", "rating", "rationale"],
  ["Image Name", "Label Score", "Comments"],
  ["filename", "expected_response"],
  ["File Name", "Expected Response"],
  ["file", "response"],
  ["path", "answer"],
  ["img", "output"],
  [" Image ", "Score (1-10)"],
];
for (const [img, score, reasons] of flexibleNames) {
  test(`recognises columns ${JSON.stringify([img, score, reasons ?? null])}`, async () => {
    const header = [img, score, ...(reasons ? [reasons] : [])].map((h) => `"${h}"`).join(",");
    const r = await loadGroundTruth(tmpFile("names.csv", `${header}\na.jpg,6${reasons ? ",why" : ""}\n`));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.columns, { image: img.trim(), score, ...(reasons ? { reasons } : {}) });
    assert.deepEqual(r.items[0]!.reasons, reasons ? ["why"] : []);
  });
}

test("a numeric score column wins over a response-text column", async () => {
  const r = await loadGroundTruth(tmpFile("both.csv", "image,expected_response,score\na.jpg,Score: 2,8\n"));
  assert.deepEqual(r.problems, []);
  assert.equal(r.columns.score, "score");
  assert.deepEqual(scores(r), { "a.jpg": 8 });
});

// ---------------------------------------------------------------------------------------------
// Duplicates

test("duplicates: identical scores merge silently; conflicts are one problem per image (default 'error')", async () => {
  const r = await loadGroundTruth(fx("conflicts.csv"));
  assert.deepEqual(where(r), [["duplicate-conflict", 2, "score"]]);
  assert.match(r.problems[0]!.message, /"a\.jpg" has 3 rows with different scores \(row 2: 4, row 4: 6, row 6: 8\)/);
  assert.deepEqual(scores(r), { "b.jpg": 7 });
  assert.deepEqual(r.items[0]!.reasons, ["lit", "wide"]);
  assert.equal(r.merged, 1);
});

test("duplicates: 'mean' averages and unions reasons", async () => {
  const r = await loadGroundTruth(fx("conflicts.csv"), { onConflict: "mean" });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(scores(r), { "a.jpg": 6, "b.jpg": 7 });
  assert.deepEqual(r.items[0]!.reasons, ["dark", "narrow", "busy"]);
  assert.deepEqual(r.items[0]!.source.row, 2);
  assert.equal(r.merged, 3);
});

test("duplicates: 'first' keeps the first row", async () => {
  const r = await loadGroundTruth(fx("conflicts.csv"), { onConflict: "first" });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(scores(r), { "a.jpg": 4, "b.jpg": 7 });
  assert.deepEqual(r.items[0]!.reasons, ["dark"]);
  assert.equal(r.merged, 3);
});

test("duplicates are found after path normalisation", async () => {
  const r = await loadGroundTruth(tmpFile("dup.csv", "image,score\nC:\\x\\a.jpg,4\n/y/a.jpg,5\n"));
  assert.deepEqual(where(r), [["duplicate-conflict", 2, "score"]]);
});

// ---------------------------------------------------------------------------------------------
// JSON

test("JSON manifest {items: [...]}: reasons lists and strings, string scores, Windows paths", async () => {
  const r = await loadGroundTruth(fx("manifest.json"));
  assert.deepEqual(r.problems, []);
  assert.equal(r.format, "json");
  assert.deepEqual(r.columns, { image: "image_path", score: "score", reasons: "reasons" });
  assert.deepEqual(scores(r), { "images/1.jpg": 7, "images/2.jpg": 3, "3.jpg": 6 });
  assert.deepEqual(r.items[0]!.reasons, ["sidewalks", "low traffic"]);
  assert.deepEqual(r.items[2]!.reasons, ["dark", "empty"]);
  assert.deepEqual(r.items[2]!.source, { file: fx("manifest.json"), row: 2 });
});

test("JSON top-level array with flexible keys", async () => {
  const r = await loadGroundTruth(fx("array.json"));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.columns, { image: "image", score: "safety_score", reasons: "explanation" });
  assert.deepEqual(scores(r), { "x.jpg": 4, "y.jpg": 8 });
  assert.deepEqual(r.items[1]!.reasons, ["busy", "bright"]);
});

test("JSON item problems name items[i].field and use the item index as row", async () => {
  const r = await loadGroundTruth(fx("manifest-problems.json"));
  assert.deepEqual(where(r), [
    ["empty-score", 1, "items[1].score"],
    ["non-numeric-score", 2, "items[2].score"],
    ["out-of-range-score", 3, "items[3].score"],
    ["empty-image", 4, "items[4].image_path"],
    ["path-escape", 5, "items[5].image_path"],
    ["invalid-json", 6, "items[6].reasons"],
    ["invalid-json", 7, "items[7]"],
  ]);
  assert.match(r.problems[2]!.message, /12.*1–10/);
  assert.deepEqual(scores(r), { "a.jpg": 5 });
  assert.equal(r.rowsRead, 8);
});

test("JSON file-level problems: syntax error with line, wrong shape, no items", async () => {
  const bad = await loadGroundTruth(tmpFile("bad.json", '{\n  "items": [\n    {"score": 7,}\n  ]\n}\n'));
  assert.deepEqual(where(bad), [["invalid-json", undefined, undefined]]);
  assert.match(bad.problems[0]!.message, /line 3/);
  const shape = await loadGroundTruth(tmpFile("shape.json", '{"rows": []}'));
  assert.deepEqual(where(shape), [["invalid-json", undefined, undefined]]);
  const none = await loadGroundTruth(tmpFile("none.json", '{"items": []}'));
  assert.deepEqual(where(none), [["empty-file", undefined, undefined]]);
  const topArrayProblem = await loadGroundTruth(tmpFile("arr.json", '[{"image_path": "a.jpg", "score": 0}]'));
  assert.deepEqual(where(topArrayProblem), [["out-of-range-score", 0, "[0].score"]]);
});

// ---------------------------------------------------------------------------------------------
// Files and options

test("unsupported and unreadable files", async () => {
  const xls = await loadGroundTruth(tmpFile("old.xls", "x"));
  assert.deepEqual(where(xls), [["unsupported-file", undefined, undefined]]);
  assert.match(xls.problems[0]!.message, /save it as \.xlsx/);
  assert.deepEqual(where(await loadGroundTruth(tmpFile("data.parquet", "x"))), [["unsupported-file", undefined, undefined]]);
  assert.deepEqual(where(await loadGroundTruth(path.join(TMP, "nope.csv"))), [["unreadable-file", undefined, undefined]]);
  assert.deepEqual(where(await loadGroundTruth(tmpFile("broken.xlsx", "not a zip"))), [["unreadable-file", undefined, undefined]]);
});

test("invalid options are reported, not thrown", async () => {
  const r = await loadGroundTruth(fx("basic.csv"), { scale: { min: 10, max: 1 } });
  assert.deepEqual(where(r), [["invalid-option", undefined, undefined]]);
  const r2 = await loadGroundTruth(fx("basic.csv"), { onConflict: "median" as never });
  assert.deepEqual(where(r2), [["invalid-option", undefined, undefined]]);
});

test("a custom scale applies to numbers and text", async () => {
  const r = await loadGroundTruth(tmpFile("s.csv", "image,score\na.jpg,70\nb.jpg,Score: 80/100\nc.jpg,7/10\n"), { scale: { min: 0, max: 100 } });
  assert.deepEqual(where(r), [["non-numeric-score", 4, "score"]]);
  assert.deepEqual(scores(r), { "a.jpg": 70, "b.jpg": 80 });
});

test("loadGroundTruthOrThrow throws one InputError with every problem", async () => {
  await assert.rejects(loadGroundTruthOrThrow(fx("problems.csv")), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.problems.length, 6);
    assert.match(e.message, /6 problems in the ground truth/);
    assert.match(e.message, /problems\.csv, row 6, column "score": score 11 is outside the scale 1–10 \[out-of-range-score\]/);
    return true;
  });
  const ok = await loadGroundTruthOrThrow(fx("basic.csv"));
  assert.equal(ok.items.length, 4);
});

// ---------------------------------------------------------------------------------------------
// XLSX

test("XLSX: numbers, rich text, formulas, hyperlinks; date and error cells reported", async () => {
  const file = await workbook("cells.xlsx", [
    { name: "Notes", rows: [["Made by hand"], ["nothing to see"]] },
    {
      name: "Ratings",
      startRow: 3,
      rows: [
        [{ richText: [{ text: "Image " }, { font: { bold: true }, text: "Path" }] }, "Score", "Reasons"],
        ["a.jpg", 7, "lit; busy"],
        ["b.jpg", { richText: [{ text: "Safety Score: " }, { text: "4" }] }, null],
        ["c.jpg", { formula: "3+3", result: 6 }, null],
        [{ text: "d.jpg", hyperlink: "file:///x/d.jpg" }, "5", null],
        [{ formula: '"e"&".jpg"', result: "e.jpg" }, { formula: "1/0", result: { error: "#DIV/0!" } }, null],
        ["f.jpg", new Date(Date.UTC(2024, 6, 10)), null],
        [null, null, null],
        ["g.jpg", 0, null],
      ],
    },
  ]);
  const r = await loadGroundTruth(file);
  assert.equal(r.format, "xlsx");
  assert.equal(r.sheet, "Ratings");
  assert.deepEqual(r.columns, { image: "Image Path", score: "Score", reasons: "Reasons" });
  assert.deepEqual(where(r), [
    ["non-numeric-score", 8, "Score"],
    ["non-numeric-score", 9, "Score"],
    ["out-of-range-score", 11, "Score"],
  ]);
  for (const p of r.problems) assert.equal(p.sheet, "Ratings");
  assert.match(r.problems[0]!.message, /#DIV\/0!/);
  assert.match(r.problems[1]!.message, /date.*"7\/10"/);
  assert.deepEqual(scores(r), { "a.jpg": 7, "b.jpg": 4, "c.jpg": 6, "d.jpg": 5 });
  assert.deepEqual(r.items[0]!.reasons, ["lit", "busy"]);
  assert.equal(r.rowsRead, 7);
});

test("XLSX: sheet option, case-insensitive match, missing sheet lists the sheets", async () => {
  const file = await workbook("sheets.xlsx", [
    { name: "First", rows: [["image", "score"], ["a.jpg", 3]] },
    { name: "Second", rows: [["image", "score"], ["a.jpg", 9]] },
  ]);
  assert.deepEqual(scores(await loadGroundTruth(file)), { "a.jpg": 3 });
  const second = await loadGroundTruth(file, { sheet: "second" });
  assert.equal(second.sheet, "Second");
  assert.deepEqual(scores(second), { "a.jpg": 9 });
  const missing = await loadGroundTruth(file, { sheet: "Third" });
  assert.deepEqual(where(missing), [["missing-sheet", undefined, undefined]]);
  assert.equal(missing.problems[0]!.sheet, "Third");
  assert.match(missing.problems[0]!.message, /"First", "Second"/);
});

test("XLSX without sheet option: passes over sheets whose response column holds no scores", async () => {
  const file = await workbook("tasks.xlsx", [
    { name: "Stats", rows: [["Metric", "Value"], ["Images", 2]] },
    { name: "Hidden", state: "hidden", rows: [["image", "score"], ["a.jpg", 1]] },
    {
      name: "Binary",
      rows: [["Image", "Expected Response"], ["a.jpg", "Classification: SAFE"], ["b.jpg", "Classification: UNSAFE"]],
    },
    { name: "Scores", rows: [["Image", "Expected Response"], ["a.jpg", "Safety Score: 8\nReasoning: wide sidewalks"], ["b.jpg", "Score: 3/10"]] },
  ]);
  const r = await loadGroundTruth(file);
  assert.deepEqual(r.problems, []);
  assert.equal(r.sheet, "Scores");
  assert.deepEqual(scores(r), { "a.jpg": 8, "b.jpg": 3 });
  assert.deepEqual(r.items[0]!.reasons, ["wide sidewalks"]);
  assert.match(r.notes.join("\n"), /passed over "Binary" \(0 of 2/);
  // Asked for explicitly, the classification sheet is loaded and every row reported.
  const binary = await loadGroundTruth(file, { sheet: "Binary" });
  assert.deepEqual(where(binary), [
    ["non-numeric-score", 2, "Expected Response"],
    ["non-numeric-score", 3, "Expected Response"],
  ]);
});

test("XLSX image × task-type rows: only safety-score task rows are kept", async () => {
  const file = await workbook("overview.xlsx", [
    {
      name: "Overview",
      rows: [
        ["ID", "Image", "Task Type", "Expected Response"],
        [1, "a.jpg", "binary_classification", "Classification: SAFE"],
        [2, "a.jpg", "safety_score", "Safety Score: 7\nReasoning: lit"],
        [3, "b.jpg", "detailed_analysis", "Pedestrian Safety: 3\nOverall Score: 20/50"],
        [4, "b.jpg", "safety_score", "Safety Score: 2"],
        [5, "c.jpg", "risk_assessment", "HIGH RISK: trucks"],
      ],
    },
  ]);
  const r = await loadGroundTruth(file);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(scores(r), { "a.jpg": 7, "b.jpg": 2 });
  assert.equal(r.rowsRead, 5);
  assert.equal(r.skipped, 3);
  assert.equal(r.items[1]!.source.row, 5);
  assert.match(r.notes.join("\n"), /skipped 3 rows of other task types/);
});

test("XLSX: no sheet with image and score columns → one missing-column listing each sheet's columns", async () => {
  const file = await workbook("nocols.xlsx", [
    { name: "A", rows: [["Image", "Count"], ["a.jpg", 3]] },
    { name: "B", rows: [] },
  ]);
  const r = await loadGroundTruth(file);
  assert.deepEqual(where(r), [["missing-column", undefined, undefined]]);
  assert.match(r.problems[0]!.message, /"A" \("Image", "Count"\); "B" \(empty\)/);
  const empty = await loadGroundTruth(await workbook("empty.xlsx", [{ name: "Sheet1", rows: [] }]));
  assert.deepEqual(where(empty), [["empty-file", undefined, undefined]]);
  const headerOnly = await loadGroundTruth(await workbook("header.xlsx", [{ name: "S", rows: [["image", "score"]] }]));
  assert.deepEqual(where(headerOnly), [["empty-file", undefined, undefined]]);
});

// ---------------------------------------------------------------------------------------------
// The original project's data (only where ../shared exists; a clone without it skips these)

const REAL = path.resolve(__dirname, "..", "..", "..", "shared", "datasets", "safellm-gisense-30");
const altReal = "/work/shared/datasets/safellm-gisense-30";
const realDir = existsSync(REAL) ? REAL : existsSync(altReal) ? altReal : undefined;
const skipReal = realDir ? false : "shared dataset safellm-gisense-30 not present";

test("real workbook loads: the 'Safety Score' sheet, 23 images, one exact duplicate merged", { skip: skipReal }, async () => {
  const r = await loadGroundTruth(path.join(realDir!, "vlm_safety_training_data.xlsx"));
  assert.deepEqual(r.problems, []);
  assert.equal(r.sheet, "Safety Score");
  assert.equal(r.rowsRead, 24);
  assert.equal(r.items.length, 23);
  assert.equal(r.merged, 1); // 27.jpg appears twice, both 7
  for (const it of r.items) {
    assert.ok(Number.isInteger(it.score) && it.score >= 1 && it.score <= 10, `${it.image}: ${it.score}`);
    assert.ok(it.reasons.length >= 1, `${it.image} has reasons`);
    assert.match(it.image, /^\d+\.jpg$/);
  }
  assert.equal(r.items.find((i) => i.image === "27.jpg")!.reasons.length, 2);
  // The workbook's scores agree with the JSON manifests of the same project.
  const manifest = new Map<string, number>();
  for (const split of ["train", "val", "test"]) {
    const m = await loadGroundTruth(path.join(realDir!, "annotations", `safety_v1_${split}.json`));
    for (const it of m.items) manifest.set(path.posix.basename(it.image), it.score);
  }
  for (const it of r.items) assert.equal(it.score, manifest.get(it.image), it.image);
  // Other task sheets are not scores on the 1–10 scale and are reported as such when asked for.
  const detailed = await loadGroundTruth(path.join(realDir!, "vlm_safety_training_data.xlsx"), { sheet: "Detailed Analysis" });
  assert.equal(detailed.items.length, 0);
  assert.ok(detailed.problems.length > 0 && detailed.problems.every((p) => p.kind === "non-numeric-score" && /out of 50/.test(p.message)));
});

test("real JSON manifests load with 0 problems", { skip: skipReal }, async () => {
  const counts: Record<string, number> = {};
  const all = new Set<string>();
  for (const split of ["train", "val", "test"]) {
    const r = await loadGroundTruth(path.join(realDir!, "annotations", `safety_v1_${split}.json`));
    assert.deepEqual(r.problems, [], split);
    counts[split] = r.items.length;
    for (const it of r.items) {
      all.add(it.image);
      assert.ok(it.score >= 1 && it.score <= 10);
      assert.ok(it.reasons.length >= 1);
    }
  }
  assert.deepEqual(counts, { train: 24, val: 3, test: 3 });
  assert.equal(all.size, 30);
});

test("JSON duplicates: conflicts name the items; identical ones merge", async () => {
  const json = JSON.stringify({
    items: [
      { image_path: "a.jpg", score: 4 },
      { image_path: "b.jpg", score: 6, reasons: ["x"] },
      { image_path: "a.jpg", score: 5 },
      { image_path: "b.jpg", score: 6, reasons: ["y"] },
    ],
  });
  const r = await loadGroundTruth(tmpFile("dups.json", json));
  assert.deepEqual(where(r), [["duplicate-conflict", 0, "items[0].score"]]);
  assert.match(r.problems[0]!.message, /\(items\[0\]: 4, items\[2\]: 5\)/);
  assert.deepEqual(r.items, [{ image: "b.jpg", score: 6, reasons: ["x", "y"], source: { file: r.file, row: 1 } }]);
  assert.equal(r.merged, 1);
});
