import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseCsvText, streamCsvFile } from "../../lib/src/core/table/csv";
import { decodeFileChunks, decodeText } from "../../lib/src/core/table/text";
import { tempDir } from "../helpers/tmp";

const dir = tempDir();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const encodings: [string, Buffer][] = [
  ["utf-8", Buffer.from("a,b\ncafé,1\n", "utf8")],
  ["utf-8 with BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a,b\ncafé,1\n", "utf8")])],
  ["utf-16le", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a,b\ncafé,1\n", "utf16le")])],
  ["utf-16be", Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from("a,b\ncafé,1\n", "utf16le").swap16()])],
  ["windows-1252", Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x2c, 0x31, 0x0a])],
];

for (const [name, bytes] of encodings) {
  test(`a streamed file decodes as the whole bytes do, with the same notes: ${name}`, async () => {
    const file = path.join(dir, `${name}.csv`);
    writeFileSync(file, bytes);
    const wholeNotes: string[] = [];
    const whole = decodeText(bytes, wholeNotes);
    const notes: string[] = [];
    assert.equal((await collect(decodeFileChunks(file, notes))).join(""), whole);
    assert.deepEqual(notes, wholeNotes);
    assert.equal(whole, "a,b\ncafé,1\n");
  });
}

test("streamed CSV rows equal the whole-text parse: delimiter detected, quotes, embedded newlines, empty lines, record numbers", async () => {
  const text = 'left;right;winner\n"a;1.jpg";b.jpg;left\n\nc.jpg;"d\nx.jpg";equal\ne.jpg;f.jpg\n';
  const file = path.join(dir, "semi.csv");
  writeFileSync(file, text);
  const notes: string[] = [];
  const rows = await collect(streamCsvFile(file, ".csv", notes));
  assert.deepEqual(rows, parseCsvText(text, ";"));
  assert.deepEqual(rows[1], { row: 2, cells: ["a;1.jpg", "b.jpg", "left"] });
  assert.deepEqual(rows[3], { row: 4, cells: ["c.jpg", "d\nx.jpg", "equal"] });
  assert.deepEqual(notes, ['columns separated by ";"']);
});

test("a large CSV streams in many chunks and keeps every record", async () => {
  const lines = ["left\tright\twinner"];
  for (let i = 0; i < 60_000; i++) lines.push(`img_${i}.jpg\timg_${i + 1}.jpg\t${i % 3 === 0 ? "left" : "right"}`);
  const file = path.join(dir, "big.tsv");
  writeFileSync(file, lines.join("\r\n"));
  let n = 0;
  let last: unknown;
  for await (const r of streamCsvFile(file, ".tsv", [])) {
    n++;
    last = r;
  }
  assert.equal(n, 60_001);
  assert.deepEqual(last, { row: 60_001, cells: ["img_59999.jpg", "img_60000.jpg", "right"] });
});

test("a CSV csv-parse cannot read throws from the stream", async () => {
  const file = path.join(dir, "bad.csv");
  writeFileSync(file, 'a,b\n"x,y\n');
  await assert.rejects(collect(streamCsvFile(file, ".csv", [])), /Quote Not Closed|quote/i);
});
