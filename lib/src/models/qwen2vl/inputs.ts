/**
 * One prompt with N images → the tensors Qwen2VLForConditionalGeneration.generate takes.
 *
 * - Images are resized here (qwen2vlImageSize, Qwen's smart_resize) with the processor's own resize off:
 *   transformers.js v3 passes smart_resize's (height, width) on as (width, height), transposing non-square images.
 * - Each image goes through the image processor ON ITS OWN, and `pixel_values` / `image_grid_thw` are
 *   concatenated: transformers.js 3.8's Qwen2VLImageProcessor given a list stacks it into one tensor and reads two
 *   same-size images as the two temporal frames of ONE image (and fails on different sizes). The model class
 *   itself handles several images (features merged in `<|image_pad|>` order, rope index over every grid).
 * - The chat template renders one `<|vision_start|><|image_pad|><|vision_end|>` per `{type: "image"}` part; each
 *   `<|image_pad|>` is then expanded, in order, to t·h·w / merge² tokens of its image — what the processor does
 *   for one image, and what training did (python/qwen2vl/qwen_common.py `render_prompt`).
 */
import sharp from "sharp";
import type { PreparedImage } from "../../core/types";
import { qwen2vlImageSize } from "./image-size";
import type { Runtime, TfTensor } from "./runtime";

/** A part of a user turn: an image (they take the request's images in order) or text. */
export type ChatPart = { type: "image" } | { type: "text"; text: string };
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string | ChatPart[];
}

export interface ResizeRule {
  minPixels: number;
  maxPixels: number;
  factor: number;
}

export interface ModelInputs {
  tensors: Record<string, TfTensor>;
  promptIds: number[];
  imageGridThw: number[][];
  imageSizes: { width: number; height: number }[];
}

const IMAGE_PAD = "<|image_pad|>";
const PLACEHOLDER = "<|placeholder|>";

/** How many `{type: "image"}` parts the messages hold. */
export function imagePartCount(messages: ChatMessage[]): number {
  let n = 0;
  for (const m of messages) if (Array.isArray(m.content)) for (const p of m.content) if (p.type === "image") n++;
  return n;
}

export async function buildInputs(rt: Runtime, images: PreparedImage[], messages: ChatMessage[], resize: ResizeRule): Promise<ModelInputs> {
  const parts = imagePartCount(messages);
  if (parts !== images.length) throw new Error(`the messages hold ${parts} image part${parts === 1 ? "" : "s"} for ${images.length} image${images.length === 1 ? "" : "s"}`);
  const pixelValues: TfTensor[] = [];
  const grids: TfTensor[] = [];
  const imageSizes: { width: number; height: number }[] = [];
  for (const image of images) {
    const target = qwen2vlImageSize(image.width, image.height, resize);
    const { data, info } = await sharp(image.jpeg)
      .removeAlpha()
      .toColourspace("srgb")
      .resize(target.width, target.height, { fit: "fill", kernel: "cubic" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = new rt.RawImage(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, 3);
    const feats = await rt.processor.image_processor(raw);
    pixelValues.push(feats.pixel_values);
    grids.push(feats.image_grid_thw);
    imageSizes.push({ width: info.width, height: info.height });
  }
  let text = rt.processor.apply_chat_template(messages, {
    add_generation_prompt: true,
    ...(rt.chatTemplate ? { chat_template: rt.chatTemplate } : {}),
  });
  const merge = Number(rt.processor.image_processor.config.merge_size ?? 2);
  const imageGridThw = grids.map((g) => (g.tolist()[0] as (bigint | number)[]).map(Number));
  for (const [t, h, w] of imageGridThw) {
    if (!text.includes(IMAGE_PAD)) throw new Error("the chat template wrote fewer <|image_pad|> markers than there are images");
    text = text.replace(IMAGE_PAD, PLACEHOLDER.repeat((t! * h! * w!) / (merge * merge)));
  }
  if (text.includes(IMAGE_PAD)) throw new Error("the chat template wrote more <|image_pad|> markers than there are images");
  text = text.replaceAll(PLACEHOLDER, IMAGE_PAD);
  const tokens = rt.processor.tokenizer(text);
  const tensors: Record<string, TfTensor> = { input_ids: tokens.input_ids, attention_mask: tokens.attention_mask };
  if (images.length > 0) {
    tensors.pixel_values = pixelValues.length === 1 ? pixelValues[0]! : rt.cat(pixelValues, 0);
    tensors.image_grid_thw = grids.length === 1 ? grids[0]! : rt.cat(grids, 0);
  }
  const promptIds = (tokens.input_ids.tolist()[0] as (bigint | number)[]).map(Number);
  return { tensors, promptIds, imageGridThw, imageSizes };
}
