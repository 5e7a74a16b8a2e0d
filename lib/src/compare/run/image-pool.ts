/**
 * Prepared images shared by the models of one run: an image is prepared once, when the first model asks
 * for it, and released when the last model that needs it has answered (so memory follows the requests in
 * flight, not the test set).
 */
import path from "node:path";
import { prepareImage } from "../../core/image";
import type { PreparedImage } from "../../core/types";
import type { TestItem } from "../test-set";

export class ImagePool {
  private readonly images = new Map<string, { prepared?: Promise<PreparedImage>; users: number }>();

  /** `work`: every model's items still to ask; each item counts one user of its image. */
  constructor(
    work: readonly { items: readonly Pick<TestItem, "image">[] }[],
    private readonly imagesDir: string,
    private readonly maxSide: number | undefined,
  ) {
    for (const w of work) {
      for (const it of w.items) {
        const e = this.images.get(it.image);
        if (e) e.users++;
        else this.images.set(it.image, { users: 1 });
      }
    }
  }

  /** The prepared image of `item` (prepared on first use). */
  acquire(item: Pick<TestItem, "image">): Promise<PreparedImage> {
    const e = this.images.get(item.image)!;
    e.prepared ??= prepareImage(path.join(this.imagesDir, item.image), { maxSide: this.maxSide });
    return e.prepared;
  }

  /** One user of `item`'s image is done with it; the last one frees it. */
  release(item: Pick<TestItem, "image">): void {
    const e = this.images.get(item.image)!;
    if (--e.users === 0) this.images.delete(item.image);
  }
}
