#!/usr/bin/env python3
"""Write a tiny random-weight Qwen2-VL as a Hugging Face model folder (nothing is downloaded).

Used by the tests (the whole local route on CPU in a few minutes) and usable wherever a real checkpoint is
(``--base-model DIR`` of train_lora.py, merge_lora.py, export_onnx.py, parity_torch.py): config.json, model.safetensors, generation_config.json, tokenizer files
(chat template inside tokenizer_config.json and as chat_template.jinja) and preprocessor_config.json.

- Architecture: the real Qwen2VLForConditionalGeneration class from transformers, built from a small config
  (same structure as Qwen2-VL-2B: GQA, M-RoPE, biases on q/k/v, tied embeddings, a ViT with 2D rotary and a
  2×2 patch merger), weights random from a fixed seed.
- Tokenizer: byte-level BPE trained here with the ``tokenizers`` library on a built-in corpus (plus any
  ``--corpus`` files), with Qwen2's pre-tokenizer split (digits one by one, so "10" is "1" then "0"),
  NFC normaliser and ByteLevel decoder, and Qwen2-VL's special tokens (<|endoftext|>, <|im_start|>,
  <|im_end|>, <|vision_start|>, <|vision_end|>, <|image_pad|>, <|video_pad|>, …) as added tokens at the end
  of the vocabulary, in Qwen's order.
- Chat template: Qwen2-VL-Instruct's.

Prints one JSON line: {"event": "done", "dir": ..., "params": ..., "vocab_size": ..., "seconds": ...}.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from qwen_common import (
    DEFAULT_IMAGE_MIN_PIXELS,
    QWEN2VL_CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    Timer,
    emit,
    run_script,
    write_json,
)

# Qwen2's pre-tokenizer split (as in Qwen2's tokenizer.json).
QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Built-in training text for the tokenizer: streetsafe's prompts and reply format, plus plain English.
BUILTIN_CORPUS = [
    "You rate street-view photographs for perceived safety.",
    "Imagine you are a pedestrian standing where the photo was taken and judge how safe you would feel walking there.",
    "Use a whole-number scale from 1 to 10: 1 means very unsafe (you would avoid walking here), "
    "10 means very safe (you would walk here comfortably at any time); values in between are graded steps.",
    "Judge only what is visible in the image, for example lighting, upkeep and cleanliness, signs of neglect or "
    "vandalism, sidewalks and traffic, people and activity, openness and lines of sight, greenery.",
    "Reply with exactly one JSON object and nothing else, in this form:",
    '{"score": <integer from 1 to 10>, "reasons": ["<short reason>", ...]}',
    '"score" must be a whole number between 1 and 10 inclusive. "reasons" is a list of short phrases naming what '
    "in the image drove the score; it may be empty.",
    "Rate the perceived safety of this street scene on the 1-10 scale. Reply with the JSON object only.",
    '{"score":7,"reasons":["well lit street","clean sidewalks","people walking"]}',
    '{"score":3,"reasons":["graffiti on walls","litter on the ground","poor lighting"]}',
    '{"score":5,"reasons":["trees and greenery","parked cars","empty street"]}',
    "The quick brown fox jumps over the lazy dog. A street with shops, cafes, benches and bicycles.",
    "You are a helpful assistant. Which of the two images looks safer? The first image or the second image.",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="model folder to write (replaced if it exists)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=640, help="BPE vocabulary before the special tokens")
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--vision-depth", type=int, default=2)
    p.add_argument("--vision-embed-dim", type=int, default=32)
    p.add_argument("--vision-heads", type=int, default=2)
    p.add_argument("--intermediate-size", type=int, help="MLP width (default 2 x hidden)")
    p.add_argument("--vision-mlp-ratio", type=int, default=2)
    p.add_argument("--model-vocab-size", type=int,
                   help="embedding rows (>= the tokenizer's size; Qwen2-VL-2B pads to 151936)")
    p.add_argument("--init-std", type=float,
                   help="normal init of all matrices (default 0.08 / 0.12, wide for a tiny model; use 0.02 at real sizes)")
    p.add_argument("--max-pixels", type=int, default=112 * 112, help="preprocessor max_pixels")
    p.add_argument("--corpus", type=Path, nargs="*", default=[],
                   help="extra tokenizer training text: .json sharegpt files (their message texts) or plain text")
    return p.parse_args(argv)


def corpus_lines(extra: list[Path]) -> list[str]:
    lines = list(BUILTIN_CORPUS)
    for path in extra:
        if path.suffix == ".json":
            for example in json.loads(path.read_text(encoding="utf-8")):
                for m in example.get("messages", []):
                    lines.append(m["content"].replace("<image>", ""))
        else:
            lines.extend(path.read_text(encoding="utf-8").splitlines())
    return lines


def build_tokenizer(vocab_size: int, lines: list[str]):
    """A Qwen2-style byte-level BPE ``tokenizers.Tokenizer`` trained on ``lines``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator(lines, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return tok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with Timer() as timer:
        import torch
        from transformers import (
            GenerationConfig,
            Qwen2Tokenizer,
            Qwen2VLConfig,
            Qwen2VLForConditionalGeneration,
        )
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        head_dim = args.hidden_size // args.heads
        if head_dim % 2 or (head_dim // 2) < 3:
            raise SystemExit("hidden-size / heads must be even and at least 6")
        # M-RoPE splits head_dim/2 rotary frequencies over (t, h, w); Qwen2-VL-2B uses [16, 24, 24] of 64.
        half = head_dim // 2
        t_sec = max(1, round(half * 16 / 64))
        h_sec = (half - t_sec) // 2
        mrope_section = [t_sec, h_sec, half - t_sec - h_sec]

        raw = build_tokenizer(args.vocab_size, corpus_lines(args.corpus))
        tokenizer = Qwen2Tokenizer(
            tokenizer_object=raw,
            bos_token=None,
            eos_token="<|im_end|>",
            pad_token="<|endoftext|>",
            unk_token=None,
            additional_special_tokens=[t for t in SPECIAL_TOKENS if t != "<|endoftext|>"],
            clean_up_tokenization_spaces=False,
            split_special_tokens=False,
            model_max_length=32768,
        )
        tokenizer.chat_template = QWEN2VL_CHAT_TEMPLATE
        vocab = len(tokenizer)
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
        for d in "0123456789":
            if len(tokenizer.encode(d, add_special_tokens=False)) != 1:
                raise SystemExit(f"tiny tokenizer: digit {d} is not one token")
        if tokenizer.encode("10", add_special_tokens=False) != [tokenizer.convert_tokens_to_ids("1"), tokenizer.convert_tokens_to_ids("0")]:
            raise SystemExit('tiny tokenizer: "10" must be "1" then "0"')

        config = Qwen2VLConfig(
            text_config=dict(
                vocab_size=max(vocab, args.model_vocab_size or 0),
                hidden_size=args.hidden_size,
                intermediate_size=args.intermediate_size or 2 * args.hidden_size,
                num_hidden_layers=args.layers,
                num_attention_heads=args.heads,
                num_key_value_heads=args.kv_heads,
                max_position_embeddings=4096,
                rms_norm_eps=1e-6,
                rope_scaling={"type": "mrope", "mrope_section": mrope_section, "rope_theta": 1_000_000.0},
                bos_token_id=ids["<|endoftext|>"],
                eos_token_id=ids["<|im_end|>"],
                pad_token_id=ids["<|endoftext|>"],
                max_window_layers=args.layers,
                use_sliding_window=False,
            ),
            vision_config=dict(
                depth=args.vision_depth,
                embed_dim=args.vision_embed_dim,
                hidden_size=args.hidden_size,
                num_heads=args.vision_heads,
                mlp_ratio=args.vision_mlp_ratio,
                in_channels=3,
                patch_size=14,
                spatial_merge_size=2,
                temporal_patch_size=2,
            ),
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
            tie_word_embeddings=True,  # as Qwen2-VL-2B
        )
        torch.manual_seed(args.seed)
        model = Qwen2VLForConditionalGeneration(config).eval()
        # A wider init than the default 0.02 so the random model's logits are not all alike (parity then
        # compares a non-trivial distribution and greedy replies vary with the image).
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() >= 2:
                    p.normal_(0.0, args.init_std or (0.08 if "embed_tokens" in name else 0.12))
        n_params = sum(p.numel() for p in model.parameters())

        out: Path = args.out
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp)
        GenerationConfig(
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
            pad_token_id=ids["<|endoftext|>"],
            do_sample=False,
        ).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        # transformers 5 writes the template to chat_template.jinja; keep it in tokenizer_config.json too
        # (transformers.js reads it there).
        tc_path = tmp / "tokenizer_config.json"
        tc = json.loads(tc_path.read_text(encoding="utf-8"))
        tc["chat_template"] = QWEN2VL_CHAT_TEMPLATE
        write_json(tc_path, tc)
        (tmp / "chat_template.jinja").write_text(QWEN2VL_CHAT_TEMPLATE, encoding="utf-8")
        image_processor = Qwen2VLImageProcessorPil(
            min_pixels=DEFAULT_IMAGE_MIN_PIXELS, max_pixels=args.max_pixels,
            patch_size=14, temporal_patch_size=2, merge_size=2,
        )
        image_processor.save_pretrained(tmp)
        pp_path = tmp / "preprocessor_config.json"
        pp = json.loads(pp_path.read_text(encoding="utf-8"))
        pp.update({"processor_class": "Qwen2VLProcessor", "min_pixels": DEFAULT_IMAGE_MIN_PIXELS, "max_pixels": args.max_pixels})
        write_json(pp_path, pp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    emit("done", dir=str(out), params=n_params, vocab_size=vocab, mrope_section=mrope_section,
         seconds=round(timer.seconds, 2))
    return 0


if __name__ == "__main__":
    run_script(main)
