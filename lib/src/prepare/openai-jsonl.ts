/**
 * OpenAI chat fine-tuning JSONL: one `{"messages": [system, user, assistant]}` object per line.
 * The file is streamed line by line (one image's base64 in memory at a time), so a split of
 * thousands of images writes with flat memory.
 */
import { toDataUrl } from "../core/image";
import { openLineWriter } from "../core/line-writer";
import { assistantTarget } from "../prompt/prompts";
import { promptMessages, type ImageDetail, type OpenAIChatMessage } from "../prompt/messages";
import type { Scale } from "../core/scale";
import type { GroundTruthItem, PreparedImage } from "../core/types";

export type ImageProvider = (item: GroundTruthItem) => Promise<PreparedImage>;

export interface OpenAIWriteOptions {
  /** true: each user turn carries the image as a base64 data URL; false: text-only user turns. */
  withImages: boolean;
  /** `image_url.detail`; default "low" (85 tokens per image on GPT-4o-class models). */
  detail?: ImageDetail;
  scale: Scale;
}

/** One training example; `image` must be given exactly when the file is a with-images file. */
export function openAIExample(
  item: GroundTruthItem,
  image: PreparedImage | null,
  opts: OpenAIWriteOptions,
): { messages: OpenAIChatMessage[] } {
  if (opts.withImages && !image) throw new Error("a with-images example needs its image");
  if (!opts.withImages && image) throw new Error("a text-only example must not be given an image");
  const prompt = image
    ? promptMessages(opts.scale, { dataUrl: toDataUrl(checkedJpeg(image)), detail: opts.detail ?? "low" })
    : promptMessages(opts.scale);
  return { messages: [...prompt, { role: "assistant", content: assistantTarget(item) }] };
}

/**
 * Write one split as OpenAI chat fine-tuning JSONL to `path` (the caller passes a staging path).
 * With images, `images` must be a provider; each image is fetched, encoded, written and released
 * before the next one. On failure the partial file is removed and the error rethrown.
 */
export async function writeOpenAIJsonl(
  path: string,
  items: GroundTruthItem[],
  images: ImageProvider | null,
  opts: OpenAIWriteOptions,
): Promise<{ examples: number; bytes: number }> {
  if (opts.withImages && !images) {
    throw new Error("writeOpenAIJsonl: withImages is set but no image provider was given; refusing to write a text-only file");
  }
  const out = await openLineWriter(path);
  let examples = 0;
  try {
    for (const item of items) {
      const image = opts.withImages ? await images!(item) : null;
      await out.write(JSON.stringify(openAIExample(item, image, opts)));
      examples++;
    }
    const bytes = await out.close();
    return { examples, bytes };
  } catch (err) {
    await out.abort();
    throw err;
  }
}

function checkedJpeg(image: PreparedImage): Buffer {
  const b = image.jpeg;
  if (!Buffer.isBuffer(b) || b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) {
    throw new Error(`prepared image ${image.sha256 || "(no sha256)"} is not JPEG data`);
  }
  return b;
}
