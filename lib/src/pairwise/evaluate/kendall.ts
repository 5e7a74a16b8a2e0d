/**
 * Kendall's τ-b between paired values, ties allowed: Knight's (1966) O(n log n) algorithm ("A computer
 * method for calculating Kendall's tau with ungrouped data", JASA 61(314), 436–439) — sort by (x, y),
 * count the ties, then count the exchanges a merge sort on y needs (the discordant pairs). Checked against
 * scipy.stats.kendalltau and the O(n²) definition (test/pairwise/evaluate.test.ts). compare/statistics.ts
 * has Pearson and Spearman; this is the one rank statistic it does not have.
 */

function checkPaired(x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new RangeError(`x and y must have the same length (${x.length} ≠ ${y.length})`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) throw new TypeError(`x[${i}] or y[${i}] is not a finite number`);
  }
}

/**
 * Kendall's τ-b = (n_c − n_d) / √((n0 − n1)(n0 − n2)), with n0 = n(n−1)/2, n1 / n2 the pairs tied in x / y.
 * O(n log n) by Knight's algorithm. `null` when n < 2 or a side is constant (scipy returns NaN there).
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  checkPaired(x, y);
  return kendallUnchecked(x, y);
}

function kendallUnchecked(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n < 2) return null;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => x[a] - x[b] || y[a] - y[b]);
  // ties in x (n1) and joint ties in (x, y) (n3), from runs in the (x, y) order
  let n1 = 0;
  let n3 = 0;
  let runX = 1;
  let runXY = 1;
  for (let k = 1; k <= n; k++) {
    const sameX = k < n && x[idx[k]] === x[idx[k - 1]];
    const sameXY = sameX && y[idx[k]] === y[idx[k - 1]];
    if (sameXY) runXY++;
    else {
      n3 += (runXY * (runXY - 1)) / 2;
      runXY = 1;
    }
    if (sameX) runX++;
    else {
      n1 += (runX * (runX - 1)) / 2;
      runX = 1;
    }
  }
  // merge sort the y values in this order, counting exchanges (discordant pairs)
  let a = new Float64Array(n);
  for (let k = 0; k < n; k++) a[k] = y[idx[k]];
  let b = new Float64Array(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[j] < a[i]) {
          b[k++] = a[j++];
          swaps += mid - i;
        } else b[k++] = a[i++];
      }
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  // ties in y (n2), from runs in the sorted y
  let n2 = 0;
  let run = 1;
  for (let k = 1; k <= n; k++) {
    if (k < n && a[k] === a[k - 1]) run++;
    else {
      n2 += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denom = Math.sqrt(n0 - n1) * Math.sqrt(n0 - n2);
  if (denom === 0) return null;
  const concordMinusDiscord = n0 - n1 - n2 + n3 - 2 * swaps;
  return Math.max(-1, Math.min(1, concordMinusDiscord / denom));
}
