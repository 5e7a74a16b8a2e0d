/**
 * Connectivity of the comparison graph, for the Bradley–Terry identifiability checks.
 *
 * Zermelo (1929) / Ford (1957): the Bradley–Terry maximum-likelihood estimate exists (finite, unique up to
 * the common shift) iff for every split of the images into two non-empty groups, some image of each group
 * has beaten some image of the other — i.e. the directed "i beat j" graph is strongly connected. A tie,
 * counted as half a win each way, is an edge in both directions.
 */
import { adjacency, type PairCounts } from "../votes/pair-counts";

export interface Components {
  /** Number of components. */
  count: number;
  /** Component index of each image (0-based, components ordered by first image). */
  of: Int32Array;
  /** Size of each component. */
  sizes: number[];
}

/** Connected components of the undirected comparison graph (images with no votes are singletons). */
export function weakComponents(pc: PairCounts): Components {
  const n = pc.nImages;
  const adj = adjacency(pc);
  const of = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  const stack = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    if (of[s] >= 0) continue;
    const c = sizes.length;
    let top = 0;
    stack[top++] = s;
    of[s] = c;
    let size = 0;
    while (top > 0) {
      const v = stack[--top];
      size++;
      for (let e = adj.start[v]; e < adj.start[v + 1]; e++) {
        const w = adj.neighbour[e];
        if (of[w] < 0) {
          of[w] = c;
          stack[top++] = w;
        }
      }
    }
    sizes.push(size);
  }
  return { count: sizes.length, of, sizes };
}

/**
 * Strongly connected components of the win graph (edge i → j when i beat or tied j at least once), by an
 * iterative Tarjan algorithm (no recursion, so 100k+ images do not overflow the stack).
 */
export function winComponents(pc: PairCounts): Components {
  const n = pc.nImages;
  const adj = adjacency(pc);
  const has = (e: number, from: number): boolean => {
    const p = adj.pair[e];
    const fromIsA = pc.a[p] === from;
    return pc.ties[p] > 0 || (fromIsA ? pc.winsA[p] > 0 : pc.winsB[p] > 0);
  };
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const callV = new Int32Array(n);
  const callE = new Int32Array(n);
  const of = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  let sp = 0;
  let counter = 0;
  for (let s = 0; s < n; s++) {
    if (index[s] >= 0) continue;
    let depth = 0;
    callV[0] = s;
    callE[0] = adj.start[s];
    index[s] = low[s] = counter++;
    stack[sp++] = s;
    onStack[s] = 1;
    while (depth >= 0) {
      const v = callV[depth];
      let e = callE[depth];
      let descended = false;
      for (; e < adj.start[v + 1]; e++) {
        if (!has(e, v)) continue;
        const w = adj.neighbour[e];
        if (index[w] < 0) {
          callE[depth] = e + 1;
          depth++;
          callV[depth] = w;
          callE[depth] = adj.start[w];
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          onStack[w] = 1;
          descended = true;
          break;
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
      }
      if (descended) continue;
      // v is finished
      if (low[v] === index[v]) {
        const c = sizes.length;
        let size = 0;
        let w: number;
        do {
          w = stack[--sp];
          onStack[w] = 0;
          of[w] = c;
          size++;
        } while (w !== v);
        sizes.push(size);
      }
      depth--;
      if (depth >= 0) {
        const parent = callV[depth];
        low[parent] = Math.min(low[parent], low[v]);
      }
    }
  }
  return { count: sizes.length, of, sizes };
}
