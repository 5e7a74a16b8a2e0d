import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fitTrueSkill, quality1vs1, rate1vs1, trueSkillParams, trueSkillWinProbability, vDraw, vWin, wDraw, wWin } from "../../lib/src/pairwise/ratings/trueskill";
import { EQUAL, LEFT, RIGHT, VoteSetBuilder } from "../../lib/src/pairwise/votes/vote-set";
import { REF, close } from "../helpers/pairwise-reference";

const DEFAULT = { mu: 25, sigma: 25 / 3 };
// test/fixtures/pairwise/trueskill-reference.json: ts-trueskill 5.1.0 (full factor-graph message passing), made by
// test/fixtures/pairwise/make_trueskill_reference.mjs. Its Gaussian functions are ~1e-7 approximations, hence 1e-5.
const TS_REF = JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", "pairwise", "trueskill-reference.json"), "utf8"));

test("defaults are those of the trueskill Python package", () => {
  const p = trueSkillParams();
  close(p.mu, 25, 0);
  close(p.sigma, 25 / 3, 1e-15);
  close(p.beta, 25 / 6, 1e-15);
  close(p.tau, 25 / 300, 1e-15);
  close(p.drawProbability, 0.1, 0);
  // calc_draw_margin(0.10, beta, 2) = Φ⁻¹(0.55)·√2·β
  close(p.drawMargin, 0.12566134685507416 * Math.SQRT2 * (25 / 6), 1e-14);
});

// sublee/trueskill docs/index.rst ("1:1 competition game"): r1, r2 = Rating(), Rating()
test("documented 1-vs-1 example: the winner goes to (29.396, 7.171), the loser to (20.604, 7.171)", () => {
  const [w, l] = rate1vs1(DEFAULT, DEFAULT);
  close(Number(w.mu.toFixed(3)), 29.396, 0, "winner mu");
  close(Number(w.sigma.toFixed(3)), 7.171, 0, "winner sigma");
  close(Number(l.mu.toFixed(3)), 20.604, 0, "loser mu");
  close(Number(l.sigma.toFixed(3)), 7.171, 0, "loser sigma");
});

test("documented draw example: both go to (25.000, 6.458); draw quality 44.7 %", () => {
  const [a, b] = rate1vs1(DEFAULT, DEFAULT, true);
  for (const r of [a, b]) {
    close(Number(r.mu.toFixed(3)), 25, 0, "mu");
    close(Number(r.sigma.toFixed(3)), 6.458, 0, "sigma");
  }
  close(Number((quality1vs1(DEFAULT, DEFAULT) * 100).toFixed(1)), 44.7, 0, "quality %");
});

// PyPI trueskill 0.2.1 description: r1, r2 = Rating(25, 8.333), Rating(30, 8.333); rate_1vs1(r1, r2)
test("documented upset example: (25, 8.333) beating (30, 8.333) gives (30.768, 7.030) and (24.232, 7.030)", () => {
  const [w, l] = rate1vs1({ mu: 25, sigma: 8.333 }, { mu: 30, sigma: 8.333 });
  assert.deepEqual([w.mu, w.sigma, l.mu, l.sigma].map((x) => x.toFixed(3)), ["30.768", "7.030", "24.232", "7.030"]);
});

test("a 40-game sequence with draws matches an independent scipy implementation to 1e-10", () => {
  const { games, final } = REF.trueskill as { games: [number, number, number][]; final: [number, number][] };
  const b = new VoteSetBuilder(["p0", "p1", "p2", "p3", "p4"]);
  // reference outcome: 0 = a won, 1 = b won, 2 = draw; as votes with a on the left
  for (const [a, bb, o] of games) b.add(a, bb, o === 0 ? LEFT : o === 1 ? RIGHT : EQUAL);
  const r = fitTrueSkill(b.build());
  final.forEach(([mu, sigma], i) => {
    close(r.mu[i], mu, 1e-10, `mu[${i}]`);
    close(r.sigma[i], sigma, 1e-10, `sigma[${i}]`);
    close(r.conservative[i], mu - 3 * sigma, 1e-9, `conservative[${i}]`);
  });
  assert.equal(r.order, "vote order");
});

test("extreme upsets and far draws stay finite and match scipy", () => {
  const { upset_10_beats_40_sigma_1: up, draw_10_30_sigma_2: dr } = REF.trueskill as Record<string, [number, number][]>;
  const [w, l] = rate1vs1({ mu: 10, sigma: 1 }, { mu: 40, sigma: 1 });
  close(w.mu, up[0][0], 1e-9, "upset winner mu");
  close(w.sigma, up[0][1], 1e-9, "upset winner sigma");
  close(l.mu, up[1][0], 1e-9, "upset loser mu");
  const [a, b] = rate1vs1({ mu: 10, sigma: 2 }, { mu: 30, sigma: 2 }, true);
  close(a.mu, dr[0][0], 1e-9, "draw low mu");
  close(a.sigma, dr[0][1], 1e-9, "draw low sigma");
  close(b.mu, dr[1][0], 1e-9, "draw high mu");
  // far beyond what 0/0 in pdf/cdf could survive
  const [w2, l2] = rate1vs1({ mu: 0, sigma: 1 }, { mu: 500, sigma: 1 });
  assert.ok(Number.isFinite(w2.mu) && Number.isFinite(w2.sigma) && w2.sigma > 0 && w2.mu > 0 && l2.mu < 500);
  const [x, y] = rate1vs1({ mu: 0, sigma: 3 }, { mu: 300, sigma: 3 }, true);
  assert.ok(Number.isFinite(x.mu) && Number.isFinite(y.sigma) && x.mu > 0 && y.mu < 300);
});

test("v and w: win/draw limits and symmetry", () => {
  close(vWin(50), 0, 1e-12, "v for a certain win");
  close(wWin(50), 0, 1e-12);
  close(vWin(-50), 50.02, 0.01, "v ≈ −x for a huge upset");
  close(wWin(-50), 1, 1e-3);
  close(vDraw(0, 0.3), 0, 1e-15, "draw of equals moves no mean");
  close(vDraw(1.2, 0.3), -vDraw(-1.2, 0.3), 1e-15, "v_draw is odd");
  close(wDraw(1.2, 0.3), wDraw(-1.2, 0.3), 1e-15, "w_draw is even");
});

test("votes are processed in order: reordering changes the ratings; the stronger image ends higher", () => {
  const order1 = new VoteSetBuilder(["a", "b", "c"]);
  order1.add("a", "b", LEFT);
  order1.add("b", "c", LEFT);
  order1.add("c", "a", LEFT);
  const order2 = new VoteSetBuilder(["a", "b", "c"]);
  order2.add("c", "a", LEFT);
  order2.add("b", "c", LEFT);
  order2.add("a", "b", LEFT);
  const r1 = fitTrueSkill(order1.build());
  const r2 = fitTrueSkill(order2.build());
  assert.notEqual(r1.mu[0], r2.mu[0]);
  const many = new VoteSetBuilder(["strong", "weak"]);
  for (let k = 0; k < 30; k++) many.add(k % 2 ? "strong" : "weak", k % 2 ? "weak" : "strong", k % 2 ? LEFT : RIGHT);
  const r = fitTrueSkill(many.build());
  assert.ok(r.mu[0] > r.mu[1] + 15 && r.sigma[0] < 25 / 3 / 1.5, `${r.mu} ${r.sigma}`);
  assert.ok(trueSkillWinProbability({ mu: r.mu[0], sigma: r.sigma[0] }, { mu: r.mu[1], sigma: r.sigma[1] }) > 0.9);
});

test("drawProbability 0 refuses equal votes; invalid options are rejected", () => {
  const b = new VoteSetBuilder(["a", "b"]);
  b.add("a", "b", EQUAL);
  assert.throws(() => fitTrueSkill(b.build(), { drawProbability: 0 }), /equal/);
  assert.throws(() => trueSkillParams({ drawProbability: 1 }), RangeError);
  assert.throws(() => trueSkillParams({ sigma: -1 }), RangeError);
});


test("3000 votes among 60 images with draws match ts-trueskill (an independent port) to 1e-5", () => {
  const b = new VoteSetBuilder(Array.from({ length: 60 }, (_, i) => `i${i}`));
  for (const [l, r, o] of TS_REF.votes3000.votes as [number, number, 0 | 1 | 2][]) b.add(l, r, o);
  const r = fitTrueSkill(b.build());
  (TS_REF.votes3000.final as [number, number][]).forEach(([mu, sigma], i) => {
    close(r.mu[i], mu, 1e-5, `mu[${i}]`);
    close(r.sigma[i], sigma, 1e-5, `sigma[${i}]`);
  });
  (TS_REF.sequence40 as [number, number][]).forEach(([mu, sigma], i) => {
    close(mu, REF.trueskill.final[i][0], 1e-5, `ts-trueskill vs scipy, mu[${i}]`);
    close(sigma, REF.trueskill.final[i][1], 1e-5, `ts-trueskill vs scipy, sigma[${i}]`);
  });
});
