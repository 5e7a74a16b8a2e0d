/**
 * The in-memory form of pairwise votes: typed arrays, one entry per vote, images as integer ids.
 *
 * A vote is (left, right, outcome) with outcome LEFT (the left image won), RIGHT or EQUAL. Repeated pairs
 * are kept as separate votes, in the order they were added (TrueSkill depends on that order). Memory is
 * 9 bytes a vote plus one string per image; the rating models aggregate votes per unordered pair
 * (see pair-counts.ts) so their working memory grows with the number of distinct pairs, not votes.
 */

export const LEFT = 0;
export const RIGHT = 1;
export const EQUAL = 2;
/** 0 = the left image won, 1 = the right image won, 2 = equal (a tie). */
export type Outcome = typeof LEFT | typeof RIGHT | typeof EQUAL;

export interface VoteSet {
  /** Image names; an image's id is its index here. Images may have no votes. */
  readonly images: readonly string[];
  /** Image id shown on the left (first), one per vote. */
  readonly left: Int32Array;
  /** Image id shown on the right (second), one per vote. */
  readonly right: Int32Array;
  /** Outcome per vote: LEFT, RIGHT or EQUAL. */
  readonly outcome: Uint8Array;
  /** Number of votes (= the arrays' length). */
  readonly count: number;
}

/** Collects votes into growable typed arrays and interns image names. */
export class VoteSetBuilder {
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private left = new Int32Array(1024);
  private right = new Int32Array(1024);
  private outcome = new Uint8Array(1024);
  private n = 0;

  /** `images`: names to register first, in this order (e.g. every image of a study, voted or not). */
  constructor(images: Iterable<string> = []) {
    for (const name of images) this.imageId(name);
  }

  /** The id of an image name, registering it if new. */
  imageId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  get count(): number {
    return this.n;
  }

  /** Add one vote; images by name or by id (an id must be registered already). */
  add(left: string | number, right: string | number, outcome: Outcome): void {
    const l = typeof left === "number" ? this.checkedId(left) : this.imageId(left);
    const r = typeof right === "number" ? this.checkedId(right) : this.imageId(right);
    if (l === r) throw new RangeError(`a vote compares image "${this.names[l]}" with itself`);
    if (outcome !== LEFT && outcome !== RIGHT && outcome !== EQUAL) throw new RangeError(`outcome must be 0, 1 or 2, got ${outcome}`);
    if (this.n === this.left.length) this.grow();
    this.left[this.n] = l;
    this.right[this.n] = r;
    this.outcome[this.n] = outcome;
    this.n++;
  }

  private checkedId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.names.length) throw new RangeError(`unknown image id ${id}`);
    return id;
  }

  private grow(): void {
    const size = this.left.length * 2;
    const l = new Int32Array(size);
    l.set(this.left);
    const r = new Int32Array(size);
    r.set(this.right);
    const o = new Uint8Array(size);
    o.set(this.outcome);
    this.left = l;
    this.right = r;
    this.outcome = o;
  }

  /** The votes collected so far, as a VoteSet with arrays trimmed to size (copies). */
  build(): VoteSet {
    return {
      images: [...this.names],
      left: this.left.slice(0, this.n),
      right: this.right.slice(0, this.n),
      outcome: this.outcome.slice(0, this.n),
      count: this.n,
    };
  }
}

/** A VoteSet from plain records (tests, small inputs). */
export function voteSetFrom(records: Iterable<{ left: string; right: string; outcome: Outcome }>, images: Iterable<string> = []): VoteSet {
  const b = new VoteSetBuilder(images);
  for (const r of records) b.add(r.left, r.right, r.outcome);
  return b.build();
}

/** Per-image vote totals: wins, losses and ties (equal votes), as counts. */
export interface ImageTotals {
  wins: Int32Array;
  losses: Int32Array;
  ties: Int32Array;
}

export function imageTotals(votes: VoteSet): ImageTotals {
  const n = votes.images.length;
  const wins = new Int32Array(n);
  const losses = new Int32Array(n);
  const ties = new Int32Array(n);
  for (let v = 0; v < votes.count; v++) {
    const l = votes.left[v];
    const r = votes.right[v];
    const o = votes.outcome[v];
    if (o === LEFT) {
      wins[l]++;
      losses[r]++;
    } else if (o === RIGHT) {
      wins[r]++;
      losses[l]++;
    } else {
      ties[l]++;
      ties[r]++;
    }
  }
  return { wins, losses, ties };
}
