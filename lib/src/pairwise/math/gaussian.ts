/**
 * The standard normal distribution: density, CDF, upper tail, Mills ratio and quantile, accurate to about
 * 1e-15 relative in the range TrueSkill and the pair planner use (|x| up to ~38, where Φ(−x) underflows).
 *
 * Written here (not taken from a package) because TrueSkill's truncated-Gaussian updates need the ratio
 * φ(x)/Φ(x) far into the lower tail, where `pdf(x) / cdf(x)` is 0/0; the Mills-ratio continued fraction
 * keeps it finite. Methods:
 * - erf(z) for z < 2 by the all-positive series erf(z) = 2/√π · e^(−z²) · Σ 2ⁿ z^(2n+1) / (1·3·…·(2n+1))
 *   (no cancellation);
 * - erfc(z) for z ≥ 2 by the continued fraction erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …))))
 *   evaluated with the modified Lentz algorithm;
 * - in the normal tails (|x| ≥ 2√2) Q(x) = φ(x)·R(x) with the Mills-ratio continued fraction
 *   R(x) = 1/(x + 1/(x + 2/(x + …))), so x is never divided by √2 (that rounding would cost 1e-13 at x = 30);
 * - the quantile by the Abramowitz & Stegun 26.2.23 starting value, polished by Halley steps on the CDF.
 */

const SQRT2 = Math.SQRT2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * e^(−z²) without the rounding error of z² (which is |z²|·2⁻⁵³ relative, 1e-13 at z = 20): split
 * z = h + l with h = z rounded to 1/16 (so h² is exact), e^(−z²) = e^(−h²) · e^(−l(z + h)).
 */
function expNegSquare(z: number): number {
  const h = Math.round(z * 16) / 16;
  return Math.exp(-h * h) * Math.exp(-(z - h) * (z + h));
}

/** Standard normal density φ(x), with the same exact-square split applied to x²/2. */
export function normalPdf(x: number): number {
  const h = Math.round(x * 16) / 16;
  return (Math.exp(-0.5 * h * h) * Math.exp(-0.5 * (x - h) * (x + h))) / SQRT_2PI;
}

/** erf(z) for 0 ≤ z < ~3 by the positive series (see module comment). */
function erfSeries(z: number): number {
  const z2 = z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (2 * z2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return 2 * INV_SQRT_PI * expNegSquare(z) * sum;
}

/** e^(z²)·erfc(z)·√π for z ≥ 2: the continued fraction 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))). */
function erfcScaledCf(z: number): number {
  return lentzReciprocal(z, 0.5, 500);
}

/**
 * 1/(x + s/(x + 2s/(x + 3s/(x + …)))), the partial numerators a_k = k·s, by the modified Lentz method:
 * s = 1/2 gives erfc's continued fraction, s = 1 the Mills ratio's.
 */
function lentzReciprocal(x: number, s: number, maxTerms: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < maxTerms; k++) {
    const a = k * s;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** Complementary error function erfc(z) = 1 − erf(z), accurate in relative terms in the upper tail. */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) return 1 - erfSeries(z);
  if (z > 27.3) return 0; // e^(−z²) underflows
  return expNegSquare(z) * INV_SQRT_PI * erfcScaledCf(z);
}

/** Mills ratio by its continued fraction R(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))), for x ≥ 2√2. */
function millsCf(x: number): number {
  return lentzReciprocal(x, 1, 1000);
}

const TAIL = 2 * SQRT2;

/** Upper tail Q(x) = 1 − Φ(x) = P(Z > x). In the tails Q = φ(x)·R(x), so x is never divided by √2. */
export function normalSf(x: number): number {
  if (x >= TAIL) return normalPdf(x) * millsCf(x);
  if (x <= -TAIL) return 1 - normalPdf(x) * millsCf(-x);
  return 0.5 * erfc(x / SQRT2);
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return normalSf(-x);
}

/**
 * Mills ratio R(x) = Q(x)/φ(x) = (1 − Φ(x))/φ(x), finite wherever φ(x) > 0 (R(x) ~ 1/x for large x).
 * For x ≥ 2√2 it comes from the continued fraction without forming the tiny Q and φ.
 */
export function millsRatio(x: number): number {
  if (x >= TAIL) return millsCf(x);
  return normalSf(x) / normalPdf(x);
}

/**
 * Standard normal quantile Φ⁻¹(p) for 0 < p < 1 (±Infinity at 0 and 1). Starting value from Abramowitz &
 * Stegun 26.2.23 (|error| < 4.5e-4), then Halley steps on Φ(x) − p until the step is below 1e-15.
 */
export function normalPpf(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normalPpf: p must be in [0, 1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const lower = p < 0.5;
  const q = lower ? p : 1 - p; // tail probability, ≤ 0.5
  const t = Math.sqrt(-2 * Math.log(q));
  let x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  x = -x; // x solves Φ(x) = q with x ≤ 0
  for (let i = 0; i < 8; i++) {
    const err = normalCdf(x) - q;
    const pdf = normalPdf(x);
    if (pdf === 0) break;
    const u = err / pdf;
    const step = u / (1 + 0.5 * x * u); // Halley: f'' / f' = −x for the normal CDF
    x -= step;
    if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return lower ? x : -x;
}
