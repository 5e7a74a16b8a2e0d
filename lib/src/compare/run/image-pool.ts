/**
 * Prepared images for the models of one run, as a pipeline ahead of the request slots: when a model's
 * slot starts item i, the images of its next items are queued for preparation (a bounded number at
 * once), so a slot spends its time on its request, not waiting for sharp. A prepared image is shared by
 * the models holding it at the same time and let go when nobody holds it — a model far behind prepares
 * it again — so memory follows the windows in flight, not the test set. Each image's sha256 is kept
 * (64 bytes), for models that never look at the pixels (the constant baseline).
 */
import path from "node:path";
import pLimit from "p-limit";
import { prepareImage } from "../../core/image";
import type { PreparedImage } from "../../core/types";
import type { TestItem } from "../test-set";

/** Images prepared at once: sharp and the file system share libuv's threads (4 by default). */
const PREPARE_CONCURRENCY = 3;
/** How far ahead of the item a slot starts a model's images are queued: at least this, else 2 × its concurrency. */
const PREFETCH_MIN = 8;

export class ImagePool {
  private readonly entries = new Map<string, { prepared: Promise<PreparedImage>; holders: Set<string> }>();
  private readonly shas = new Map<string, string>();
  private readonly limit = pLimit(PREPARE_CONCURRENCY);

  constructor(
    private readonly imagesDir: string,
    private readonly maxSide: number | undefined,
  ) {}

  /**
   * `holder` (a model name) takes `items[i]`'s prepared image, and queues the images of the items after
   * it (`concurrency` sets how far ahead). Pair every call with `release(holder, items[i])`.
   */
  acquire(holder: string, items: readonly Pick<TestItem, "image">[], i: number, concurrency: number): Promise<PreparedImage> {
    const ahead = Math.max(PREFETCH_MIN, 2 * concurrency);
    const own = this.hold(holder, items[i]!.image); // first: the preparations run in the order asked
    for (let k = i + 1; k <= Math.min(items.length - 1, i + ahead); k++) this.hold(holder, items[k]!.image);
    return own;
  }

  /** `holder` is done with `item`'s image; an image nobody holds is let go. */
  release(holder: string, item: Pick<TestItem, "image">): void {
    const e = this.entries.get(item.image);
    if (!e) return;
    e.holders.delete(holder);
    if (e.holders.size === 0) this.entries.delete(item.image);
  }

  /** The sha256 of `item`'s prepared image without keeping the image (prepared now if never before). */
  async sha256(holder: string, item: Pick<TestItem, "image">): Promise<string> {
    const known = this.shas.get(item.image);
    if (known) return known;
    try {
      return (await this.hold(holder, item.image)).sha256;
    } finally {
      this.release(holder, item);
    }
  }

  private hold(holder: string, image: string): Promise<PreparedImage> {
    let e = this.entries.get(image);
    if (!e) {
      const prepared = this.limit(() => prepareImage(path.join(this.imagesDir, image), { maxSide: this.maxSide })).then((p) => {
        this.shas.set(image, p.sha256);
        return p;
      });
      prepared.catch(() => {}); // the slot that awaits it records the failure
      e = { prepared, holders: new Set() };
      this.entries.set(image, e);
    }
    e.holders.add(holder);
    return e.prepared;
  }
}
