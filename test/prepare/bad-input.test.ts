/**
 * The bad-input corpus (issue 6, item 4): `streetsafe prepare` on each kind of broken input exits
 * non-zero with a message naming the file, row and column (where the input has them) and leaves no
 * output and no staging folder; the valid-but-odd inputs (BOM, semicolons, PNG with alpha, a huge
 * image) are prepared correctly instead.
 *
 * Ground truths are committed in test/fixtures/bad-input/ (see its README.md); binary inputs — images,
 * a truncated JPEG, a "pixel bomb" header, the workbooks — are generated here, so nothing big is committed.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import sharp from "sharp";
import { prepareImage } from "../../lib/src/core/image";
import { tempDir } from "../helpers/tmp";

const repo = path.resolve(__dirname, "..", "..");
const cli = path.join(repo, "lib", "bin", "streetsafe.js");
const fixtures = path.join(__dirname, "..", "fixtures", "bad-input");
const root = tempDir("streetsafe-bad-input-");
const images = path.join(root, "images");
const HUGE = { width: 8000, height: 6000 };

/** A JPEG whose header claims `side`×`side` pixels (far above the decoder's pixel limit). */
function claimSize(jpeg: Buffer, side: number): Buffer {
  const b = Buffer.from(jpeg);
  for (let i = 2; i + 9 < b.length; ) {
    const marker = b[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc2) {
      b.writeUInt16BE(side, i + 5);
      b.writeUInt16BE(side, i + 7);
      return b;
    }
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error("no SOF marker");
}

async function workbook(file: string, sheets: Record<string, (string | number)[][]>): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) wb.addWorksheet(name).addRows(rows);
  await wb.xlsx.writeFile(file);
  return file;
}

let alphaPng: Buffer;

before(async () => {
  mkdirSync(images);
  for (let i = 1; i <= 12; i++) {
    const name = `img${String(i).padStart(2, "0")}.jpg`;
    await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 20 * i, g: 255 - 15 * i, b: (37 * i) % 256 } } })
      .jpeg()
      .toFile(path.join(images, name));
  }
  const jpeg = await sharp(path.join(images, "img01.jpg")).jpeg({ quality: 90 }).toBuffer();
  writeFileSync(path.join(images, "corrupt.jpg"), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(path.join(images, "bomb.jpg"), claimSize(jpeg, 30_000));
  copyFileSync(path.join(fixtures, "not-an-image.jpg"), path.join(images, "not-an-image.jpg"));
  writeFileSync(path.join(root, "outside.jpg"), jpeg); // a real image, but outside the images folder
  // Left half opaque red, right half fully transparent.
  const w = 200, h = 100;
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) px.set([220, 30, 30, 255], (y * w + x) * 4);
  alphaPng = await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
  writeFileSync(path.join(images, "alpha.png"), alphaPng);
  await sharp({ create: { ...HUGE, channels: 3, background: { r: 90, g: 120, b: 60 } } }).jpeg().toFile(path.join(images, "huge.jpg"));
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function prepareCli(groundTruth: string, dataDir: string, extra: string[] = []): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, "prepare", "--ground-truth", groundTruth, "--images", images, "--data-dir", dataDir, ...extra],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface BadCase {
  /** The ground truth: a fixture name, or a function making it (workbooks). */
  input: string | (() => Promise<string>);
  extra?: string[];
  /** Every line that must be in stderr (each names file, and row/column where the input has them). */
  messages: RegExp[];
}

const fixture = (name: string) => path.join(fixtures, name);

const BAD: Record<string, BadCase> = {
  "missing column": {
    input: "missing-column.csv",
    messages: [/missing-column\.csv, row 1: no a score column \(.*\) found; columns found: "image", "comment" \[missing-column\]/],
  },
  "empty file": { input: "empty.csv", messages: [/empty\.csv: the file is empty \[empty-file\]/] },
  "header without rows": { input: "header-only.csv", messages: [/header-only\.csv.*: there is a header but no data rows \[empty-file\]/] },
  "wrong sheet": {
    input: () => workbook(path.join(root, "wrong-sheet.xlsx"), { ratings: [["image", "score"], ["img01.jpg", 7]] }),
    extra: ["--sheet", "scores"],
    messages: [/wrong-sheet\.xlsx, sheet "scores": no sheet "scores"; the workbook has: "ratings" \[missing-sheet\]/],
  },
  "no sheet with image and score columns": {
    input: () => workbook(path.join(root, "no-columns.xlsx"), { notes: [["photo", "comment"], ["img01.jpg", "fine"]], summary: [["n"], [1]] }),
    messages: [/no-columns\.xlsx: no sheet has both an image column .* and a score column .*; sheets and their columns: .*notes.*"photo", "comment".*\[missing-column\]/],
  },
  "non-numeric scores": {
    input: "non-numeric-score.csv",
    messages: [
      /non-numeric-score\.csv, row 3, column "score": "seven" is not a score.*\[non-numeric-score\]/,
      /non-numeric-score\.csv, row 4, column "score": the score is empty \[empty-score\]/,
      /non-numeric-score\.csv, row 5, column "score": .*N\/A.*\[(non-numeric|empty)-score\]/,
    ],
  },
  "out-of-range scores": {
    input: "out-of-range-score.csv",
    messages: [
      /out-of-range-score\.csv, row 3, column "score": score 11 is outside the scale 1–10 \[out-of-range-score\]/,
      /out-of-range-score\.csv, row 4, column "score": score 0 is outside the scale 1–10 \[out-of-range-score\]/,
      /out-of-range-score\.csv, row 5, column "score": .*-3.* \[(out-of-range|non-numeric)-score\]/,
    ],
  },
  "conflicting duplicates": {
    input: "conflicting-duplicates.csv",
    messages: [/conflicting-duplicates\.csv, row \d, column "score": image "img01\.jpg" has 2 rows with different scores .*\[duplicate-conflict\]/],
  },
  "missing image": {
    input: "missing-image.csv",
    messages: [/missing-image\.csv, row 3, column "image": image "ghost\.jpg" not found in .* \[missing-image\]/],
  },
  "corrupt JPEG (truncated)": {
    input: "corrupt-jpeg.csv",
    messages: [/corrupt-jpeg\.csv, row 3, column "image": "corrupt\.jpg" is not a decodable image \(.*premature end.*\) \[undecodable-image\]/i],
  },
  "a text file named .jpg": {
    input: "text-named-jpg.csv",
    messages: [/text-named-jpg\.csv, row 3, column "image": "not-an-image\.jpg" is not a decodable image .*\[undecodable-image\]/],
  },
  "a pixel bomb (header claims 30000×30000)": {
    input: "pixel-bomb.csv",
    messages: [/pixel-bomb\.csv, row 3, column "image": "bomb\.jpg" is not a decodable image \(.*pixel limit.*\) \[undecodable-image\]/],
  },
  "paths escaping the images folder": {
    input: "path-escape.csv",
    messages: [
      /path-escape\.csv, row 3, column "image": image path "\.\.\/outside\.jpg" leads outside the images folder.*\[path-escape\]/,
      /path-escape\.csv, row 4, column "image": image path "sub\/\.\.\/\.\.\/outside\.jpg" leads outside the images folder.*\[path-escape\]/,
    ],
  },
  "JSON that does not parse": {
    input: "broken-manifest.json",
    messages: [/broken-manifest\.json: not valid JSON: .*line 2.*\[invalid-json\]/],
  },
  "manifest items of the wrong type": {
    input: "manifest-wrong-types.json",
    messages: [
      /manifest-wrong-types\.json, row 1, column "items\[1\]\.score": "high" is not a score.*\[non-numeric-score\]/,
      /manifest-wrong-types\.json, row 2, column "items\[2\]\.image_path": image_path is missing \[empty-image\]/,
    ],
  },
  "an unsupported ground-truth file type": {
    input: "ratings.pdf",
    messages: [/ratings\.pdf: unsupported file type "\.pdf"; use \.csv, \.tsv, \.txt, \.xlsx or \.json \[unsupported-file\]/],
  },
};

for (const [kind, c] of Object.entries(BAD)) {
  test(`bad input: ${kind} → exit 2, the place named, nothing written`, async () => {
    const gt = typeof c.input === "string" ? fixture(c.input) : await c.input();
    const dataDir = path.join(tempDir(), "out");
    const r = await prepareCli(gt, dataDir, c.extra);
    assert.equal(r.code, 2, `exit status\n${r.stderr}`);
    for (const m of c.messages) assert.match(r.stderr, m);
    assert.match(r.stderr, /nothing was written/);
    assert.equal(r.stdout, "", "no summary printed");
    // No outputs and no .staging-* folder (the folder itself may be left, empty).
    assert.deepEqual(existsSync(dataDir) ? readdirSync(dataDir) : [], [], "nothing left in --data-dir");
  });
}

test("corpus: at least 12 kinds, and every committed fixture is used", () => {
  assert.ok(Object.keys(BAD).length >= 12);
  const used = new Set([...Object.values(BAD).map((c) => c.input), "not-an-image.jpg", "bom-semicolons.csv", "alpha-png.csv", "huge-image.csv", "README.md"]);
  for (const f of readdirSync(fixtures)) assert.ok(used.has(f), `${f} is not used by a case`);
});

/** rows of a split CSV: image → score. */
function splitScores(dataDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of ["train", "val", "test"]) {
    const lines = readFileSync(path.join(dataDir, "splits", `${name}.csv`), "utf8").trim().split("\n").slice(1);
    for (const l of lines) out.set(l.split(",")[0]!, Number(l.split(",")[1]));
  }
  return out;
}

function preparedRows(dataDir: string): Map<string, { sha256: string; width: number; height: number }> {
  const lines = readFileSync(path.join(dataDir, "prepared_images.csv"), "utf8").trim().split("\n").slice(1);
  return new Map(lines.map((l) => l.split(",")).map(([image, sha256, width, height]) => [image!, { sha256: sha256!, width: Number(width), height: Number(height) }]));
}

test("odd but valid: a CSV with a BOM, semicolons and CRLF line ends is read as written", async () => {
  const dataDir = tempDir();
  const r = await prepareCli(fixture("bom-semicolons.csv"), dataDir);
  assert.equal(r.code, 0, r.stderr);
  const expected = new Map(
    readFileSync(fixture("bom-semicolons.csv"), "utf8").replace(/^\uFEFF/, "").trim().split(/\r\n/).slice(1).map((l) => [l.split(";")[0]!, Number(l.split(";")[1])] as const),
  );
  assert.equal(expected.size, 12);
  assert.deepEqual(splitScores(dataDir), expected);
  const test = readFileSync(path.join(dataDir, "splits", "train.csv"), "utf8");
  assert.match(test, /^image,score,reasons\n/, "the header's BOM is not carried into the outputs");
  assert.match(test, /,row \d\d\n/, "reasons come through");
});

test("odd but valid: a PNG with alpha is flattened on white and prepared like any image", async () => {
  const dataDir = tempDir();
  const r = await prepareCli(fixture("alpha-png.csv"), dataDir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(splitScores(dataDir).get("alpha.png"), 6);
  const prepared = await prepareImage(alphaPng);
  const row = preparedRows(dataDir).get("alpha.png")!;
  assert.deepEqual(row, { sha256: prepared.sha256, width: 200, height: 100 });
  const { data, info } = await sharp(prepared.jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, "no alpha channel left");
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  const [r0, g0, b0] = at(20, 50);
  assert.ok(r0! > 180 && g0! < 80 && b0! < 80, `opaque part stays red: ${at(20, 50)}`);
  assert.ok(at(180, 50).every((v) => v > 245), `transparent part becomes white: ${at(180, 50)}`);
});

test("odd but valid: a huge image (8000×6000) is scaled to the 768 px cap", async () => {
  const dataDir = tempDir();
  const r = await prepareCli(fixture("huge-image.csv"), dataDir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(splitScores(dataDir).get("huge.jpg"), 3);
  const row = preparedRows(dataDir).get("huge.jpg")!;
  assert.deepEqual([row.width, row.height], [768, 576]);
});
