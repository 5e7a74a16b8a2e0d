/**
 * Ridge regression on standardised features, closed form: w = (XᵀX + λI)⁻¹ Xᵀ(y − ȳ).
 * Small dense problems only (a handful of features), solved by Gaussian elimination with pivoting.
 */
export interface RidgeModel {
  features: string[];
  means: number[];
  scales: number[];
  weights: number[];
  intercept: number;
  lambda: number;
}

export function fitRidge(rows: number[][], y: number[], features: string[], lambda = 1): RidgeModel {
  const n = rows.length, k = features.length;
  if (n === 0) throw new Error("ridge: no training rows");
  const means = features.map((_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  // A constant feature gets scale 1 (its standardised column is all zeros and its weight stays 0).
  const scales = features.map((_, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - means[j]) ** 2, 0) / n) || 1);
  const z = rows.map((r) => r.map((v, j) => (v - means[j]) / scales[j]));
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const a = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => z.reduce((s, r) => s + r[i] * r[j], 0) + (i === j ? lambda : 0)));
  const b = Array.from({ length: k }, (_, i) => z.reduce((s, r, t) => s + r[i] * (y[t] - yMean), 0));
  return { features, means, scales, weights: solve(a, b), intercept: yMean, lambda };
}

export function predictRidge(m: RidgeModel, x: number[]): number {
  return m.intercept + x.reduce((s, v, j) => s + m.weights[j] * ((v - m.means[j]) / m.scales[j]), 0);
}

function solve(a: number[][], b: number[]): number[] {
  const k = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let j = c; j <= k; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row, i) => row[k] / row[i]);
}
