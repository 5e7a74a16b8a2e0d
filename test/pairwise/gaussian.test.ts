import { test } from "node:test";
import assert from "node:assert/strict";
import { erfc, millsRatio, normalCdf, normalPdf, normalPpf, normalSf } from "../../lib/src/pairwise/math/gaussian";
import { REF, closeRel } from "../helpers/pairwise-reference";

test("normal CDF, upper tail and Mills ratio match scipy.stats.norm to 1e-13 relative", () => {
  const { x, cdf, sf, mills } = REF.normal as { x: number[]; cdf: number[]; sf: number[]; mills: number[] };
  // near the smallest normal double (1e-308) the last digits go: allow 1e-11 there
  const tol = (v: number) => (v < 1e-290 ? 1e-11 : 1e-13);
  x.forEach((xi, k) => {
    if (cdf[k] > 0) closeRel(normalCdf(xi), cdf[k], tol(cdf[k]), `Φ(${xi})`);
    if (sf[k] > 0) closeRel(normalSf(xi), sf[k], tol(sf[k]), `Q(${xi})`);
    closeRel(millsRatio(xi), mills[k], 1e-13, `R(${xi})`);
  });
});

test("normal quantile matches scipy.stats.norm.ppf to 1e-13 relative and inverts the CDF", () => {
  const { p, ppf } = REF.normal as { p: number[]; ppf: number[] };
  p.forEach((pk, k) => {
    const x = normalPpf(pk);
    if (ppf[k] === 0) assert.ok(Math.abs(x) < 1e-15, `Φ⁻¹(0.5) = ${x}`);
    else closeRel(x, ppf[k], 1e-13, `Φ⁻¹(${pk})`);
  });
  assert.equal(normalPpf(0), -Infinity);
  assert.equal(normalPpf(1), Infinity);
  assert.throws(() => normalPpf(1.5), RangeError);
});

test("erfc and the density at a few textbook points", () => {
  closeRel(erfc(0), 1, 1e-16);
  closeRel(erfc(1), 0.157299207050285130658, 1e-14); // Abramowitz & Stegun table 7.1
  closeRel(erfc(-1), 1.842700792949714869342, 1e-15);
  closeRel(normalPdf(0), 1 / Math.sqrt(2 * Math.PI), 1e-16);
  assert.equal(millsRatio(-60), Infinity, "R(−60) = 1/φ(60) overflows to +∞, never NaN");
  assert.ok(!Number.isNaN(millsRatio(1e6)));
});
