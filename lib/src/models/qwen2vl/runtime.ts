/**
 * The slice of transformers.js (v3, onnxruntime-node) the local Qwen2-VL model uses, typed locally (its
 * own .d.ts are loose in places), and loading it from a local folder with no network.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

export interface TfTensor {
  readonly dims: number[];
  readonly type: string;
  readonly data: ArrayLike<number | bigint>;
  slice(...slices: (number | [number, number] | null)[]): TfTensor;
  to(type: string): TfTensor;
  tolist(): unknown[];
}
export interface TfTensorCtor {
  new (type: string, data: ArrayLike<number | bigint> | bigint[] | number[], dims: number[]): TfTensor;
}
export interface TfTokenizer {
  (text: string): { input_ids: TfTensor; attention_mask: TfTensor };
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[] | bigint[], opts?: { skip_special_tokens?: boolean }): string;
}
export interface TfImageProcessor {
  (image: unknown): Promise<{ pixel_values: TfTensor; image_grid_thw: TfTensor }>;
  max_pixels?: number;
  min_pixels?: number;
  size?: unknown;
  do_resize?: boolean;
  config: Record<string, unknown>;
}
export interface TfProcessor {
  tokenizer: TfTokenizer;
  image_processor: TfImageProcessor;
  apply_chat_template(messages: unknown[], opts: Record<string, unknown>): string;
}
export interface TfModel {
  sessions: Record<string, unknown>;
  generate(opts: Record<string, unknown>): Promise<{ sequences: TfTensor; past_key_values: Record<string, TfTensor> }>;
  forward(inputs: Record<string, unknown>): Promise<Record<string, TfTensor>>;
  get_rope_index(input_ids: TfTensor, image_grid_thw: TfTensor | null, video_grid_thw: TfTensor | null, attention_mask: TfTensor): [TfTensor, TfTensor];
  dispose(): Promise<unknown>;
}
export interface Runtime {
  Tensor: TfTensorCtor;
  /** Concatenation along a dimension (transformers.js `cat`). */
  cat(tensors: TfTensor[], dim: number): TfTensor;
  RawImage: new (data: Uint8ClampedArray, width: number, height: number, channels: 3) => unknown;
  processor: TfProcessor;
  model: TfModel;
  chatTemplate: string | undefined;
}

export async function loadRuntime(dir: string, dtypes: Record<string, string>, device: "cpu" | "cuda"): Promise<Runtime> {
  const tf = await import("@huggingface/transformers");
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  const options = { local_files_only: true };
  const processor = (await tf.AutoProcessor.from_pretrained(dir, options)) as unknown as TfProcessor;
  if (!processor.tokenizer || !processor.image_processor) {
    throw new Error("preprocessor_config.json does not describe a Qwen2VLProcessor (processor_class)");
  }
  const model = (await tf.Qwen2VLForConditionalGeneration.from_pretrained(dir, {
    ...options,
    dtype: dtypes as Record<string, "fp32">,
    device,
  })) as unknown as TfModel;
  // The chat template: inside tokenizer_config.json (DESIGN.md), or a separate file newer exports write.
  let chatTemplate: string | undefined;
  const tokenizerConfig = JSON.parse(await fs.readFile(path.join(dir, "tokenizer_config.json"), "utf8")) as { chat_template?: unknown };
  if (!tokenizerConfig.chat_template) {
    for (const [file, read] of [
      ["chat_template.json", (s: string) => (JSON.parse(s) as { chat_template?: string }).chat_template],
      ["chat_template.jinja", (s: string) => s],
    ] as const) {
      try {
        chatTemplate = read(await fs.readFile(path.join(dir, file), "utf8"));
        if (chatTemplate) break;
      } catch {
        /* not there */
      }
    }
    if (!chatTemplate) throw new Error("no chat template (tokenizer_config.json has no chat_template, and there is no chat_template.json)");
  }
  return {
    Tensor: tf.Tensor as unknown as TfTensorCtor,
    cat: tf.cat as unknown as Runtime["cat"],
    RawImage: tf.RawImage as unknown as Runtime["RawImage"],
    processor,
    model,
    chatTemplate,
  };
}
