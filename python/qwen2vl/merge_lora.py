#!/usr/bin/env python3
"""Merge a LoRA adapter into its Qwen2-VL base model (peft ``merge_and_unload``) and save a full HF folder.

Input: ``--adapter DIR`` — train_lora.py's output folder, one of its ``checkpoint-<step>/`` folders, or a
LLaMA-Factory adapter folder (all hold ``adapter_config.json`` + ``adapter_model.safetensors``).
``--base-model`` defaults to the adapter's ``base_model_name_or_path``.

Output (written to a temporary folder beside ``--out`` and renamed at the end): ``model.safetensors``
(shards past 2 GB), ``config.json``, ``generation_config.json``, tokenizer files with the chat template
(inside ``tokenizer_config.json`` and as ``chat_template.jinja``), ``preprocessor_config.json``.
This is also what ``llamafactory-cli export qwen2vl_lora_merge.yaml`` produces, so export_onnx.py takes
either.

The training pixel cap (``image_max_pixels`` in train_lora.py's train_results.json) becomes the merged
folder's ``max_pixels``, so the export and streetsafe's inference resize images as training did.

Merging is done in fp32 by default (bf16 base weights are upcast, adapters added, nothing rounded twice);
``--dtype bf16`` halves the folder size.
Prints JSON lines: {"event": "done", "dir": ..., "seconds": ..., "max_abs_logit_delta_vs_unmerged": ...}.
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from qwen_common import QWEN2VL_CHAT_TEMPLATE, Timer, emit, log, read_json, replace_folder, run_script, write_json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", type=Path, required=True, help="folder with adapter_config.json + adapter_model.safetensors")
    p.add_argument("--base-model", help="hub id or folder; default: the adapter's base_model_name_or_path")
    p.add_argument("--out", type=Path, required=True, help="merged model folder (replaced if it exists)")
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--no-check", action="store_true", help="skip the merged-vs-adapter logits check")
    p.add_argument("--max-shard-size", default="2GB")
    return p.parse_args(argv)


def copy_processor_files(base: str, out: Path) -> None:
    """Tokenizer + image processor + chat template of the base model, into ``out``."""
    from transformers import AutoImageProcessor, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    if not getattr(tok, "chat_template", None):
        tok.chat_template = QWEN2VL_CHAT_TEMPLATE
    tok.save_pretrained(out)
    tc_path = out / "tokenizer_config.json"
    tc = read_json(tc_path)
    tc["chat_template"] = tok.chat_template
    write_json(tc_path, tc)
    (out / "chat_template.jinja").write_text(tok.chat_template, encoding="utf-8")
    AutoImageProcessor.from_pretrained(base).save_pretrained(out)
    base_dir = Path(base)
    # Keep the base's own preprocessor_config.json keys (processor_class, min/max_pixels) when it is a folder.
    if (base_dir / "preprocessor_config.json").exists():
        merged = read_json(out / "preprocessor_config.json")
        merged.update({k: v for k, v in read_json(base_dir / "preprocessor_config.json").items() if k not in merged})
        write_json(out / "preprocessor_config.json", merged)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with Timer() as timer:
        import torch
        from peft import PeftModel
        from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

        adapter_cfg = read_json(args.adapter / "adapter_config.json")
        base = args.base_model or adapter_cfg.get("base_model_name_or_path")
        if not base:
            raise SystemExit("--base-model is needed: the adapter does not name its base model")
        dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
        model = Qwen2VLForConditionalGeneration.from_pretrained(base, dtype=torch.float32)
        model = PeftModel.from_pretrained(model, str(args.adapter)).eval()

        # A quick check that merging changed nothing: the logits of a short random-token prompt.
        probe = None
        if not args.no_check:
            vocab = model.base_model.model.config.text_config.vocab_size
            ids = torch.randint(0, min(vocab, 1000), (1, 16), generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                probe = (ids, model(input_ids=ids).logits)
        merged = model.merge_and_unload().eval()
        delta = None
        if probe is not None:
            with torch.no_grad():
                delta = float((merged(input_ids=probe[0]).logits - probe[1]).abs().max())
        merged = merged.to(dtype)

        out: Path = args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            merged.save_pretrained(tmp, max_shard_size=args.max_shard_size)
            try:
                GenerationConfig.from_pretrained(base).save_pretrained(tmp)
            except OSError:
                log("the base model has no generation_config.json; writing none")
            copy_processor_files(base, tmp)
            # The pixel cap the adapter was trained with becomes the merged model's (export_onnx.py and
            # streetsafe's Node model read max_pixels from there), so inference resizes as training did.
            trained = args.adapter / "train_results.json"
            if not trained.exists():
                trained = args.adapter.parent / "train_results.json"
            max_pixels = read_json(trained).get("image_max_pixels") if trained.exists() else None
            if max_pixels:
                pp = read_json(tmp / "preprocessor_config.json")
                pp["max_pixels"] = int(max_pixels)
                if isinstance(pp.get("size"), dict):
                    pp["size"]["longest_edge"] = int(max_pixels)
                write_json(tmp / "preprocessor_config.json", pp)
            write_json(tmp / "merge_info.json", {"base_model": base, "adapter": str(args.adapter), "dtype": args.dtype,
                                                 "image_max_pixels": int(max_pixels) if max_pixels else None,
                                                 "adapter_config": adapter_cfg})
            replace_folder(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # an interrupted or failed merge leaves nothing behind
            raise
    emit("done", dir=str(out), base_model=base, dtype=args.dtype, seconds=round(timer.seconds, 2),
         max_abs_logit_delta_vs_unmerged=delta)
    return 0


if __name__ == "__main__":
    run_script(main)
