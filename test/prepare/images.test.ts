import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, existsSync, symlinkSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { checkImages, storedImageProvider } from "../../lib/src/prepare/images";
import { prepareImage, resolveImagePath, toDataUrl } from "../../lib/src/core/image";
import type { GroundTruthItem } from "../../lib/src/core/types";
import { tempDir } from "../helpers/tmp";

const item = (image: string, row = 2): GroundTruthItem => ({ image, score: 5, reasons: [], source: { file: "gt.csv", row } });

async function solid(w: number, h: number, channels: 3 | 4 = 3, format: "jpeg" | "png" = "jpeg"): Promise<Buffer> {
  const img = sharp({ create: { width: w, height: h, channels, background: channels === 4 ? { r: 200, g: 10, b: 10, alpha: 0.2 } : "#808080" } });
  return format === "png" ? img.png().toBuffer() : img.jpeg().toBuffer();
}

test("prepared images are JPEG, RGB, capped on the longest side, hashed", async () => {
  const p = await prepareImage(await solid(1600, 800), { maxSide: 768 });
  const meta = await sharp(p.jpeg).metadata();
  assert.equal(meta.format, "jpeg");
  assert.equal(meta.channels, 3);
  assert.deepEqual([p.width, p.height], [768, 384]);
  assert.match(p.sha256, /^[0-9a-f]{64}$/);
  assert.ok(toDataUrl(p.jpeg).startsWith("data:image/jpeg;base64,/9j/"));
});

test("small images are not enlarged; alpha is flattened on white", async () => {
  const p = await prepareImage(await solid(100, 50, 4, "png"));
  assert.deepEqual([p.width, p.height], [100, 50]);
  const { data } = await sharp(p.jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[1] > 150, "a mostly transparent red over white is light, not black");
});

test("EXIF orientation is applied", async () => {
  const rotated = await sharp(await solid(200, 100)).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const p = await prepareImage(rotated);
  assert.deepEqual([p.width, p.height], [100, 200]);
});

test("the same input gives the same hash", async () => {
  const buf = await solid(300, 300);
  assert.equal((await prepareImage(buf)).sha256, (await prepareImage(buf)).sha256);
});

test("image paths cannot leave the images folder", () => {
  assert.equal(resolveImagePath("/data/imgs", "../secret.jpg"), null);
  assert.equal(resolveImagePath("/data/imgs", "a/../../b.jpg"), null);
  assert.equal(resolveImagePath("/data/imgs", "sub/a.jpg"), path.resolve("/data/imgs/sub/a.jpg"));
});

test("checkImages reports every bad image with its row and keeps the good ones", async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, "good.jpg"), await solid(64, 64));
  writeFileSync(path.join(dir, "text.jpg"), "this is not an image");
  writeFileSync(path.join(dir, "cut.jpg"), (await solid(400, 400)).subarray(0, 300));
  writeFileSync(path.join(dir, "doc.bmp"), "BM");
  const store = path.join(dir, "store");
  const { records, problems } = await checkImages(
    [item("good.jpg", 2), item("text.jpg", 3), item("cut.jpg", 4), item("missing.jpg", 5), item("doc.bmp", 6), item("../up.jpg", 7)],
    dir,
    { storeDir: store, imageColumn: "image" },
  );
  assert.deepEqual(
    problems.map((p) => [p.row, p.kind, p.column]),
    [
      [3, "undecodable-image", "image"],
      [4, "undecodable-image", "image"],
      [5, "missing-image", "image"],
      [6, "unsupported-image-format", "image"],
      [7, "path-escape", "image"],
    ],
  );
  assert.equal(records.size, 1);
  const rec = records.get("good.jpg")!;
  assert.ok(existsSync(rec.preparedPath!));
  const again = await storedImageProvider(records)(item("good.jpg"));
  assert.equal(again.sha256, rec.sha256);
});

test("a symbolic link inside the images folder that leads outside it is refused", async () => {
  const dir = tempDir();
  const outside = path.join(tempDir(), "secret.jpg");
  writeFileSync(outside, await solid(32, 32));
  symlinkSync(outside, path.join(dir, "link.jpg"));
  const { problems } = await checkImages([item("link.jpg", 2)], dir);
  assert.deepEqual(problems.map((p) => p.kind), ["path-escape"]);
});
