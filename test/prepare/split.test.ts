import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLeakage, splitByImage, summarizeSplits } from "../../lib/src/prepare/split";
import { SPLIT_NAMES, type GroundTruthItem } from "../../lib/src/core/types";

function items(n: number, score = (i: number) => 1 + (i % 10)): GroundTruthItem[] {
  return Array.from({ length: n }, (_, i) => ({ image: `img_${String(i).padStart(3, "0")}.jpg`, score: score(i), reasons: [], source: { file: "gt.csv", row: i + 2 } }));
}

test("split sizes follow the ratios exactly and cover every image once", () => {
  const s = splitByImage(items(200));
  assert.deepEqual([s.train.length, s.val.length, s.test.length], [140, 30, 30]);
  const all = SPLIT_NAMES.flatMap((n) => s[n].map((it) => it.image));
  assert.equal(new Set(all).size, 200);
  assert.ok(checkLeakage(s).disjoint);
});

test("split is reproducible with a seed and changes with another seed", () => {
  const a = splitByImage(items(100), { seed: 7 });
  const b = splitByImage(items(100), { seed: 7 });
  const c = splitByImage(items(100), { seed: 8 });
  assert.deepEqual(a.test.map((i) => i.image), b.test.map((i) => i.image));
  assert.notDeepEqual(a.test.map((i) => i.image), c.test.map((i) => i.image));
});

test("split is stratified: each score keeps its share in every split", () => {
  const s = splitByImage(items(400), { valRatio: 0.25, testRatio: 0.25 });
  for (const name of ["val", "test"] as const) {
    const hist = summarizeSplits(s).find((r) => r.split === name)!.histogram;
    for (let score = 1; score <= 10; score++) assert.equal(hist[score], 10, `${name} score ${score}`);
  }
});

test("identical content under two names never lands in two splits", () => {
  const list = items(60);
  const hash = new Map(list.map((it) => [it.image, it.image]));
  // img_000 and img_001 have the same bytes: one content group.
  hash.set("img_001.jpg", "img_000.jpg");
  for (let seed = 0; seed < 20; seed++) {
    const s = splitByImage(list, { seed, contentHash: hash });
    const where = (img: string) => SPLIT_NAMES.find((n) => s[n].some((it) => it.image === img));
    assert.equal(where("img_000.jpg"), where("img_001.jpg"));
    assert.ok(checkLeakage(s, hash).disjoint);
  }
});

test("leakage check reports shared names and shared content", () => {
  const [a, b, c] = items(3);
  const r1 = checkLeakage({ train: [a, b], val: [], test: [b] });
  assert.equal(r1.disjoint, false);
  assert.deepEqual(r1.sharedNames, [{ image: b.image, splits: ["train", "test"] }]);
  const r2 = checkLeakage({ train: [a], val: [], test: [c] }, new Map([[a.image, "h"], [c.image, "h"]]));
  assert.equal(r2.disjoint, false);
  assert.equal(r2.sharedContent[0].sha256, "h");
});

test("bad ratios and tiny inputs are refused with the flag named", () => {
  assert.throws(() => splitByImage(items(10), { valRatio: 0.6, testRatio: 0.5 }), /--val-ratio \+ --test-ratio/);
  assert.throws(() => splitByImage(items(10), { testRatio: -0.1 }), /--test-ratio/);
  assert.throws(() => splitByImage(items(2)), /at least 3/);
});

test("small sets still get at least one val and one test image", () => {
  const s = splitByImage(items(5));
  assert.ok(s.val.length >= 1 && s.test.length >= 1 && s.train.length >= 1);
});
