/**
 * Votes aggregated per unordered pair {a, b} (a < b by image id): how often a won, b won, or they tied.
 *
 * The aggregation sorts one Float64Array key per vote — key = (a·n + b)·4 + code — with the native numeric
 * sort (no comparator), then reads runs. It needs 8 bytes a vote transiently and returns arrays sized by the
 * number of distinct pairs. Keys stay exact integers while n² · 4 < 2⁵³, i.e. for fewer than 47 million
 * images.
 */
import { EQUAL, LEFT, type VoteSet } from "./vote-set";

// outcome codes as plain module constants: the hot loops below then read no imported bindings
const O_LEFT: number = LEFT;
const O_EQUAL: number = EQUAL;

export interface PairCounts {
  nImages: number;
  /** Number of distinct unordered pairs. */
  count: number;
  /** Lower image id of each pair. */
  a: Int32Array;
  /** Higher image id of each pair. */
  b: Int32Array;
  /** Votes won by a, by b, and equal votes, per pair. */
  winsA: Float64Array;
  winsB: Float64Array;
  ties: Float64Array;
}

const MAX_IMAGES = 47_000_000;

export function aggregatePairs(votes: VoteSet): PairCounts {
  const n = votes.images.length;
  if (n > MAX_IMAGES) throw new RangeError(`too many images for pair keys (${n} > ${MAX_IMAGES})`);
  const m = votes.count;
  const keys = new Float64Array(m);
  for (let v = 0; v < m; v++) {
    const l = votes.left[v];
    const r = votes.right[v];
    const o = votes.outcome[v];
    const lowFirst = l < r;
    const a = lowFirst ? l : r;
    const b = lowFirst ? r : l;
    // code: 0 = a won, 1 = b won, 2 = tie
    const code = o === O_EQUAL ? 2 : (o === O_LEFT) === lowFirst ? 0 : 1;
    keys[v] = (a * n + b) * 4 + code;
  }
  keys.sort();
  let pairs = 0;
  for (let v = 0; v < m; v++) if (v === 0 || Math.floor(keys[v] / 4) !== Math.floor(keys[v - 1] / 4)) pairs++;
  const out: PairCounts = {
    nImages: n,
    count: pairs,
    a: new Int32Array(pairs),
    b: new Int32Array(pairs),
    winsA: new Float64Array(pairs),
    winsB: new Float64Array(pairs),
    ties: new Float64Array(pairs),
  };
  let p = -1;
  let prev = -1;
  for (let v = 0; v < m; v++) {
    const pairKey = Math.floor(keys[v] / 4);
    const code = keys[v] - pairKey * 4;
    if (pairKey !== prev) {
      p++;
      prev = pairKey;
      out.a[p] = Math.floor(pairKey / n);
      out.b[p] = pairKey - out.a[p] * n;
    }
    if (code === 0) out.winsA[p]++;
    else if (code === 1) out.winsB[p]++;
    else out.ties[p]++;
  }
  return out;
}

/** Per-image neighbour lists (CSR) of the comparison graph, for connectivity checks. */
export interface Adjacency {
  start: Int32Array;
  neighbour: Int32Array;
  /** Pair index of each adjacency entry. */
  pair: Int32Array;
}

export function adjacency(pc: PairCounts): Adjacency {
  const n = pc.nImages;
  const deg = new Int32Array(n + 1);
  for (let p = 0; p < pc.count; p++) {
    deg[pc.a[p] + 1]++;
    deg[pc.b[p] + 1]++;
  }
  for (let i = 0; i < n; i++) deg[i + 1] += deg[i];
  const start = deg.slice();
  const fill = deg.slice(0, n);
  const neighbour = new Int32Array(2 * pc.count);
  const pair = new Int32Array(2 * pc.count);
  for (let p = 0; p < pc.count; p++) {
    const a = pc.a[p];
    const b = pc.b[p];
    neighbour[fill[a]] = b;
    pair[fill[a]++] = p;
    neighbour[fill[b]] = a;
    pair[fill[b]++] = p;
  }
  return { start, neighbour, pair };
}
