/**
 * Training (python/qwen2vl/qwen_common.py `smart_resize`) and inference (lib qwen2vlImageSize) resize every image to
 * the same size — with JavaScript's rounding on both sides — over many sizes and pixel caps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensurePythonPart } from "../../lib/src/core/python";
import { qwen2vlImageSize } from "../../lib/src/models/qwen2vl";

const root = path.resolve(__dirname, "..", "..");

test("smart_resize in Python equals qwen2vlImageSize in TypeScript", () => {
  const sizes: [number, number][] = [];
  for (let w = 20; w <= 1200; w += 37) for (let h = 30; h <= 900; h += 53) sizes.push([w, h]);
  sizes.push([400, 400], [1, 50], [28, 28], [14, 14], [4000, 3000], [182, 70], [70, 182]);
  const caps = [12_544, 50_176, 262_144, 1_003_520];
  const py = ensurePythonPart(root, "train", { log: () => undefined });
  const code = "import json,sys\nfrom qwen_common import smart_resize\nsizes,caps=json.load(sys.stdin)\nprint(json.dumps([[list(smart_resize(w,h,max_pixels=c)) for (w,h) in sizes] for c in caps]))";
  const r = spawnSync(py.python, ["-c", code], { cwd: path.join(root, "python", "qwen2vl"), input: JSON.stringify([sizes, caps]), encoding: "utf8", env: py.env });
  assert.equal(r.status, 0, r.stderr);
  const fromPython = JSON.parse(r.stdout) as [number, number][][];
  let n = 0;
  caps.forEach((maxPixels, ci) =>
    sizes.forEach(([w, h], si) => {
      const ts = qwen2vlImageSize(w, h, { minPixels: 56 * 56, maxPixels });
      assert.deepEqual(fromPython[ci]![si], [ts.width, ts.height], `${w}×${h} under ${maxPixels}`);
      n++;
    }),
  );
  assert.ok(n > 2000, `${n} cases`);
});
