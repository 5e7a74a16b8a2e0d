/**
 * The linear algebra the Bradley–Terry fit needs: preconditioned conjugate gradients for sparse symmetric
 * positive definite systems, and the diagonal of the inverse of a dense SPD matrix by Cholesky.
 */

/** y ← A x for a symmetric positive definite operator. */
export type Operator = (x: Float64Array, y: Float64Array) => void;

export interface CgResult {
  x: Float64Array;
  iterations: number;
  converged: boolean;
  relativeResidual: number;
}

/** Scratch vectors for repeated solves of one size (avoids garbage in loops of many solves). */
export class CgWorkspace {
  readonly r: Float64Array;
  readonly z: Float64Array;
  readonly p: Float64Array;
  readonly q: Float64Array;
  constructor(readonly n: number) {
    this.r = new Float64Array(n);
    this.z = new Float64Array(n);
    this.p = new Float64Array(n);
    this.q = new Float64Array(n);
  }
}

/**
 * Jacobi-preconditioned conjugate gradients for A x = b (A SPD given as an operator, `diag` its diagonal).
 * Stops when ‖r‖ ≤ tol·‖b‖. `x` (solution, overwritten) and `ws` may be passed in to reuse memory.
 */
export function conjugateGradient(
  apply: Operator,
  b: Float64Array,
  diag: Float64Array,
  tol = 1e-10,
  maxIterations = 10_000,
  ws: CgWorkspace = new CgWorkspace(b.length),
  x: Float64Array = new Float64Array(b.length),
): CgResult {
  const n = b.length;
  x.fill(0);
  const { r, z, p, q } = ws;
  r.set(b);
  let bnorm = 0;
  for (let i = 0; i < n; i++) bnorm += b[i] * b[i];
  bnorm = Math.sqrt(bnorm);
  if (bnorm === 0) return { x, iterations: 0, converged: true, relativeResidual: 0 };
  for (let i = 0; i < n; i++) {
    z[i] = r[i] / diag[i];
    p[i] = z[i];
  }
  let rz = 0;
  for (let i = 0; i < n; i++) rz += r[i] * z[i];
  let it = 0;
  let rel = 1;
  for (; it < maxIterations; it++) {
    apply(p, q);
    let pq = 0;
    for (let i = 0; i < n; i++) pq += p[i] * q[i];
    if (!(pq > 0)) break; // not SPD in this direction (should not happen)
    const alpha = rz / pq;
    let rr = 0;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * q[i];
      rr += r[i] * r[i];
    }
    rel = Math.sqrt(rr) / bnorm;
    if (rel <= tol) return { x, iterations: it + 1, converged: true, relativeResidual: rel };
    let rzNew = 0;
    for (let i = 0; i < n; i++) {
      z[i] = r[i] / diag[i];
      rzNew += r[i] * z[i];
    }
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
  }
  return { x, iterations: it, converged: rel <= tol, relativeResidual: rel };
}

/**
 * diag(A⁻¹) of a dense SPD matrix (row-major n×n, overwritten by its Cholesky factor), in ~n³/2 flops:
 * A = L Lᵀ, then (A⁻¹)_ii = ‖L⁻¹ e_i‖², with L⁻¹ e_i by forward substitution from row i.
 */
export function diagonalOfInverse(a: Float64Array, n: number): Float64Array {
  // in-place Cholesky, lower triangle, row-major
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j];
    for (let k = 0; k < j; k++) s -= a[rj + k] * a[rj + k];
    if (!(s > 0)) throw new RangeError(`matrix is not positive definite (pivot ${j}: ${s})`);
    const d = Math.sqrt(s);
    a[rj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j];
      for (let k = 0; k < j; k++) t -= a[ri + k] * a[rj + k];
      a[ri + j] = t / d;
    }
  }
  const out = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = i; k < n; k++) {
      const rk = k * n;
      let t = k === i ? 1 : 0;
      for (let m = i; m < k; m++) t -= a[rk + m] * y[m];
      y[k] = t / a[rk + k];
      sum += y[k] * y[k];
    }
    out[i] = sum;
  }
  return out;
}
