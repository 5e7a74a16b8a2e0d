/**
 * How numbers read in the reports (a reader publishes these): errors (points) 2 decimals; rates as
 * percentages with 1 decimal; correlations and kappa 3 decimals; p-values 3 decimals or "<0.001"; USD 4
 * decimals; "n/a" where a statistic is undefined (never 0, never NaN); never "-0.00".
 */

export const NA = "n/a";

export function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s; // never print "-0.00"
}

/** An error in points (MAE, RMSE, bias, …): 2 decimals. */
export function fmtError(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : fixed(v, 2);
}

/** A share in [0, 1] as a percentage with one decimal (0.7333 → "73.3%"). */
export function fmtRate(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : `${fixed(100 * v, 1)}%`;
}

/** A correlation or kappa: 3 decimals. */
export function fmtCoef(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : fixed(v, 3);
}

export function fmtP(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  return v < 0.001 ? "<0.001" : fixed(v, 3);
}

export function fmtUsd(v: number | null | undefined): string {
  return v === null || v === undefined ? NA : `$${fixed(v, 4)}`;
}

/** A score as given: integers as integers, others with 2 decimals. */
export function fmtScore(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  return Number.isInteger(v) ? String(v) : fixed(v, 2);
}

/** A signed error in points with 2 decimals and its sign ("+0.50", "-1.25", "0.00"). */
export function fmtSignedError(v: number | null | undefined): string {
  if (v === null || v === undefined) return NA;
  const s = fixed(v, 2);
  return v > 0 && s !== "0.00" ? `+${s}` : s;
}

/** One image's error: as exact as the scores (integers stay integers). */
export function signedError(v: number): string {
  const s = Number.isInteger(v) ? String(v) : fixed(v, 2);
  return v > 0 ? `+${s}` : s;
}

export function withCi(v: number | null, ci: [number, number] | null | undefined, f: (x: number | null) => string): string {
  if (v === null) return NA;
  return ci ? `${f(v)} [${f(ci[0])}, ${f(ci[1])}]` : `${f(v)} [CI ${NA}]`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
