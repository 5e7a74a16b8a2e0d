/**
 * The prompt as chat messages (system + user turn, with or without the image): the same for the
 * fine-tuning files and for inference requests, so a fine-tuned model is asked what it was trained on.
 */
import type { Scale } from "../core/scale";
import { systemPrompt, userPrompt } from "./prompts";

export type ImageDetail = "low" | "high" | "auto";

export type OpenAITextPart = { type: "text"; text: string };
export type OpenAIImagePart = { type: "image_url"; image_url: { url: string; detail: ImageDetail } };
export type OpenAIChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | Array<OpenAITextPart | OpenAIImagePart> }
  | { role: "assistant"; content: string };

/**
 * The prompt half of a conversation (system + user), the same for training lines and for inference
 * requests. With `imageDataUrl` the user turn is `[text, image_url]`; without it, a plain string.
 */
export function promptMessages(
  scale: Scale,
  image?: { dataUrl: string; detail?: ImageDetail },
): OpenAIChatMessage[] {
  const system: OpenAIChatMessage = { role: "system", content: systemPrompt(scale) };
  if (!image) return [system, { role: "user", content: userPrompt(scale) }];
  return [
    system,
    {
      role: "user",
      content: [
        { type: "text", text: userPrompt(scale) },
        { type: "image_url", image_url: { url: image.dataUrl, detail: image.detail ?? "low" } },
      ],
    },
  ];
}
