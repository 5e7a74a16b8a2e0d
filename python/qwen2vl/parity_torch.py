#!/usr/bin/env python3
"""The PyTorch side of streetsafe's parity check: prompts with one or more images through a Hugging Face
Qwen2-VL folder (the merged model an export was made from), with transformers' own Qwen2-VL code.

The Node side (lib/src/models/qwen2vl/check/) writes the cases, runs the same cases through streetsafe's Node
model on the ONNX export, and compares. Each case's prompt is built exactly as the Node model builds it: the
chat template applied to ``[system, user: [image…, text]]`` with the generation prompt, each ``<|image_pad|>``
expanded to t·h·w/4 tokens, the images already at their smart_resize size (PNG, so both sides decode the same
pixels; the processor's own resize is off). Decoding is greedy (no repetition penalty), stopping at
``<|im_end|>`` or ``<|endoftext|>``.

    python parity_torch.py --cases cases.json

``cases.json``: {"model": DIR_OR_HUB_ID, "max_new_tokens": N, "threads": N | null,
                 "cases": [{"id": ..., "images": [png, ...], "system": ..., "user": ...,
                            "logits_out": FILE}, ...]}

Prints JSON lines: {"event": "loaded", "seconds"}, then per case {"event": "case", "id", "reply",
"generated_ids", "input_ids", "image_grid_thw", "argmax", "max_abs_logit", "seconds"} (the first generated
position's full logits go to ``logits_out`` as little-endian float32), then {"event": "done"}.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from qwen_common import IMAGE_PAD, IMAGE_PLACEHOLDER, chat_messages, emit, load_image, read_json, render_prompt, run_script, set_threads


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=Path, required=True, help="the cases file the Node side wrote")
    return p.parse_args(argv)


class TorchRunner:
    """A HF Qwen2-VL folder loaded once; ``run`` answers one prompt (see the module comment)."""

    def __init__(self, model: str) -> None:
        import torch
        from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration

        self.tok = AutoTokenizer.from_pretrained(model)
        self.ip = AutoImageProcessor.from_pretrained(model)
        self.model = Qwen2VLForConditionalGeneration.from_pretrained(model, dtype=torch.float32).eval()

    def run(self, image_paths: list[Path], system: str | None, user: str, *, max_new_tokens: int,
            logits_out: Path) -> dict[str, Any]:
        import numpy as np
        import torch

        t0 = time.perf_counter()
        tok, cfg = self.tok, self.model.config
        # The PNGs already have their smart_resize size: loading them with a cap they meet is a no-op.
        images = []
        for p in image_paths:
            from PIL import Image

            with Image.open(p) as im:
                images.append(load_image(p, max_pixels=max(im.width * im.height, 28 * 28)))
        feats = self.ip(images=images, do_resize=False, return_tensors="pt")
        grid = feats["image_grid_thw"]
        merge = cfg.vision_config.spatial_merge_size
        counts = [int(g.prod()) // (merge * merge) for g in grid]
        if user.count(IMAGE_PLACEHOLDER) != len(images):
            raise SystemExit(f"a case's user text has {user.count(IMAGE_PLACEHOLDER)} {IMAGE_PLACEHOLDER} for {len(images)} images")
        template_text = tok.apply_chat_template(chat_messages(system, user), tokenize=False, add_generation_prompt=True)
        expanded = template_text
        for n in counts:  # what the Node model does with the text, image by image
            expanded = expanded.replace(IMAGE_PAD, "<|placeholder|>" * n, 1)
        expanded = expanded.replace("<|placeholder|>", IMAGE_PAD)
        if expanded != render_prompt(system, user, counts):
            raise SystemExit("the chat template and LLaMA-Factory's qwen2_vl layout (training) disagree on this prompt")
        ids = tok.encode(expanded, add_special_tokens=False)
        input_ids = torch.tensor([ids])
        inputs = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "mm_token_type_ids": (input_ids == cfg.image_token_id).to(torch.int32),
            "pixel_values": feats["pixel_values"],
            "image_grid_thw": grid,
        }
        eos = [tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")]
        with torch.no_grad():
            out = self.model.generate(
                **inputs, do_sample=False, num_beams=1, repetition_penalty=1.0, max_new_tokens=max_new_tokens,
                eos_token_id=eos, pad_token_id=eos[1], output_logits=True, return_dict_in_generate=True,
            )
        generated = out.sequences[0, len(ids):].tolist()
        first = out.logits[0][0].float().numpy()
        logits_out.parent.mkdir(parents=True, exist_ok=True)
        first.astype("<f4").tofile(logits_out)
        return {
            "reply": tok.decode(generated, skip_special_tokens=True).strip(),
            "generated_ids": generated,
            "input_ids": ids,
            "image_grid_thw": grid.tolist(),
            "argmax": int(np.argmax(first)),
            "max_abs_logit": float(np.abs(first).max()),
            "seconds": round(time.perf_counter() - t0, 3),
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = read_json(args.cases)
    set_threads(spec.get("threads"))
    t0 = time.perf_counter()
    runner = TorchRunner(spec["model"])
    emit("loaded", seconds=round(time.perf_counter() - t0, 2))
    for case in spec["cases"]:
        res = runner.run([Path(p) for p in case["images"]], case.get("system"), case["user"],
                         max_new_tokens=int(spec.get("max_new_tokens", 32)), logits_out=Path(case["logits_out"]))
        emit("case", id=case["id"], **res)
    emit("done", seconds=round(time.perf_counter() - t0, 2))
    return 0


if __name__ == "__main__":
    run_script(main)
