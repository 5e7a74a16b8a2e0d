/** Paths as readers see them (core/project-path.ts): never absolute, and read back to the same file. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { displayPath, displayStoredPath, PROJECT_ROOT, resolveProjectPath } from "../../lib/src/core/project-path";
import { standaloneProblems } from "../../lib/src/core/standalone-html";

const base = { root: "/home/ana/streetsafe", home: "/home/ana" };

test("displayPath: repository-relative, ~ under home, .. elsewhere; resolveProjectPath reads each back (table)", () => {
  const cases: [string, string][] = [
    ["/home/ana/streetsafe/data/splits/test.csv", "data/splits/test.csv"],
    ["/home/ana/streetsafe", "."],
    ["/home/ana/ratings/gt.xlsx", "~/ratings/gt.xlsx"],
    ["/home/ana", "~"],
    ["/home/anabel/x.csv", "../../anabel/x.csv"],
    ["/srv/data/images", "../../../srv/data/images"],
  ];
  for (const [abs, shown] of cases) {
    assert.equal(displayPath(abs, base), shown, abs);
    assert.equal(resolveProjectPath(shown, base), abs, shown);
  }
  assert.equal(resolveProjectPath("/old/absolute/run.csv", base), "/old/absolute/run.csv", "older files' absolute paths stay");
  assert.equal(displayStoredPath("/home/ana/streetsafe/data/x.csv", base), "data/x.csv");
  assert.equal(displayStoredPath("data/x.csv", base), "data/x.csv");
  assert.ok(isRepository(PROJECT_ROOT), "the repository is found from the library's own place");
});

function isRepository(root: string): boolean {
  return existsSync(`${root}/package.json`) && existsSync(`${root}/lib/src/core/project-path.ts`);
}

test("standaloneProblems: network loads and absolute machine paths are named; relative paths are not (table)", () => {
  const where = { root: "/work/repo", home: "/home/ana", tmp: "/tmp" };
  const cases: [string, RegExp | null][] = [
    ['<script src="https://cdnjs.cloudflare.com/require.js"></script>', /script with a src/],
    ['<script src="local.js"></script>', /script with a src/],
    ["<script>Plotly.newPlot('a', [])</script>", null],
    ['<link rel="stylesheet" href="//cdn.example/x.css">', /stylesheet/],
    ['<img src="data:image/png;base64,AAAA">', null],
    ['<img src="http://example.com/a.png">', /image from the network/],
    ["<style>@import url(https://fonts.example/x.css)</style>", /CSS import/],
    ["<p>test set: /work/repo/data/splits/test.csv</p>", /repository/],
    ["<p>test set: data/splits/test.csv</p>", null],
    ["<p>skipped: no file at /home/ana/models/x.json</p>", /home folder/],
    ["<p>~/models/x.json</p>", null],
    ["<p>images ../../tmp/run/images</p>", null],
    ["<p>file:///tmp/run/a.png</p>", /temp folder/],
    ["<p>/tmpfoo/x and /work/repository</p>", null],
  ];
  for (const [html, want] of cases) {
    const p = standaloneProblems(html, where);
    if (want) assert.ok(p.some((m) => want.test(m)), `${html} → ${p.join("; ")}`);
    else assert.deepEqual(p, [], html);
  }
});
