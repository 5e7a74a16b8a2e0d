#!/usr/bin/env python3
"""Export a (merged) Qwen2-VL Hugging Face folder to the ONNX layout transformers.js 3.8 loads.

Output folder (built in a temporary folder beside ``--out`` and renamed into place at the end):

    config.json                 transformers.js reads the text settings at the top level (hidden_size,
                                num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim — the
                                empty KV cache is sized from these), the token ids (image_token_id,
                                video_token_id, vision_start_token_id, …) and vision_config.spatial_merge_size;
                                the nested text_config is kept for Python. ``transformers.js_config`` names
                                external-data files and the default dtype.
    generation_config.json      eos = [<|im_end|>, <|endoftext|>], greedy
    preprocessor_config.json    processor_class Qwen2VLProcessor, min_pixels / max_pixels (no ``size``: 3.8
                                would read a transformers-5 ``size`` dict as edge lengths)
    tokenizer.json, tokenizer_config.json (chat template inside), chat_template.json, chat_template.jinja
    onnx/embed_tokens{,_quantized}.onnx
    onnx/vision_encoder{,_quantized}.onnx
    onnx/decoder_model_merged{,_quantized}.onnx   (``_fp16`` too with --dtypes fp16)
    streetsafe_export.json      what was exported, from what, with which checks and sizes

Graph contract: see onnx_modules.py. Checks (``--no-verify`` skips them): every graph is run in
onnxruntime against transformers' own modules on inputs unlike the trace's — other image sizes, two images
in one call, an empty KV cache and a one-token step with a cache — and the largest absolute differences are
reported; fp32 must stay under ``--tolerance`` or the export fails.

Prints JSON lines: {"event": "graph", ...} per exported file, {"event": "verify", ...}, {"event": "done", ...}.
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
from pathlib import Path
from typing import Any

from qwen_common import (
    DEFAULT_IMAGE_MAX_PIXELS,
    DEFAULT_IMAGE_MIN_PIXELS,
    QWEN2VL_CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    Timer,
    emit,
    read_json,
    replace_folder,
    run_script,
    write_json,
)

GRAPHS = ["embed_tokens", "vision_encoder", "decoder_model_merged"]
SUFFIX = {"fp32": "", "q8": "_quantized", "fp16": "_fp16"}  # transformers.js DEFAULT_DTYPE_SUFFIX_MAPPING
EXTERNAL_DATA_THRESHOLD = 1_900_000_000  # protobuf's hard limit is 2 GiB per file
ONNX_IR_VERSION = 9  # onnx 1.14 level: onnxruntime-node 1.21 loads it (newer onnx writes 10+)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="merged HF folder (merge_lora.py / llamafactory-cli export) or hub id")
    p.add_argument("--out", type=Path, required=True, help="export folder (replaced atomically when done)")
    p.add_argument("--dtypes", default="fp32,q8", help="comma list of fp32, q8, fp16 (fp32 is always built first)")
    p.add_argument("--default-dtype", choices=["fp32", "q8", "fp16"],
                   help="transformers.js_config.dtype (what dtype 'auto' loads); default q8 when built, else fp32")
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript")
    p.add_argument("--opset", type=int, default=18)
    p.add_argument("--max-pixels", type=int,
                   help="preprocessor max_pixels; default the training cap of a merged fine-tune (merge_info.json), "
                        "else the model's capped at 262144")
    p.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                   help="weights in <file>.onnx_data: auto = only past ~1.9 GB")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--tolerance", type=float, default=1e-3, help="largest fp32 |Δ| accepted against PyTorch")
    p.add_argument("--threads", type=int)
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------------
# Export


def dummy_inputs(hf_model) -> dict[str, tuple]:
    """Trace inputs deliberately unlike the verification inputs (so a baked shape shows up there)."""
    import torch

    tc = hf_model.config.text_config
    head_dim = tc.hidden_size // tc.num_attention_heads
    b, s, past = 1, 3, 2
    grid = torch.tensor([[1, 4, 6], [1, 2, 2]], dtype=torch.int64)
    n = int(grid.prod(-1).sum())
    kv = [torch.randn(b, tc.num_key_value_heads, past, head_dim) for _ in range(2 * tc.num_hidden_layers)]
    return {
        "embed_tokens": (torch.tensor([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], dtype=torch.int64),),
        "vision_encoder": (torch.randn(n, 3 * 2 * 14 * 14), grid),
        "decoder_model_merged": (
            torch.randn(b, s, tc.hidden_size),
            torch.ones(b, past + s, dtype=torch.int64),
            torch.arange(past, past + s).view(1, 1, -1).expand(3, b, s).contiguous(),
            *kv,
        ),
    }


def io_names(hf_model) -> dict[str, tuple[list[str], list[str], dict[str, dict[int, str]]]]:
    n_layers = hf_model.config.text_config.num_hidden_layers
    past = [f"past_key_values.{i}.{kind}" for i in range(n_layers) for kind in ("key", "value")]
    present = [f"present.{i}.{kind}" for i in range(n_layers) for kind in ("key", "value")]
    dec_axes: dict[str, dict[int, str]] = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {1: "batch_size", 2: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    dec_axes.update({name: {0: "batch_size", 2: "past_sequence_length"} for name in past})
    dec_axes.update({name: {0: "batch_size", 2: "total_sequence_length"} for name in present})
    return {
        "embed_tokens": (["input_ids"], ["inputs_embeds"],
                         {"input_ids": {0: "batch_size", 1: "sequence_length"},
                          "inputs_embeds": {0: "batch_size", 1: "sequence_length"}}),
        "vision_encoder": (["pixel_values", "grid_thw"], ["image_features"],
                           {"pixel_values": {0: "num_patches"}, "grid_thw": {0: "num_images"},
                            "image_features": {0: "num_image_tokens"}}),
        "decoder_model_merged": (["inputs_embeds", "attention_mask", "position_ids", *past], ["logits", *present], dec_axes),
    }


def export_graph(module, args: tuple, path: Path, names, opset: int, exporter: str) -> None:
    import torch

    inputs, outputs, axes = names
    with torch.no_grad():
        if exporter == "torchscript":
            torch.onnx.export(
                module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                opset_version=opset, do_constant_folding=True, dynamo=False,
            )
        else:
            from torch.export import Dim

            dims: dict[str, Any] = {}

            def dim(name: str):
                if name not in dims:
                    dims[name] = Dim(name.replace("-", "_"), min=0 if "past" in name else 1)
                return dims[name]

            shapes: list[Any] = []
            for name in inputs:
                spec = axes.get(name, {})
                shapes.append({i: dim(label) for i, label in spec.items()} or None)
            if len(inputs) > 3 and inputs[3].startswith("past_key_values."):
                shapes = [*shapes[:3], tuple(shapes[3:])]  # Decoder.forward takes the cache as *past
            program = torch.onnx.export(
                module, args, input_names=inputs, output_names=outputs, dynamic_shapes=tuple(shapes),
                opset_version=opset, dynamo=True, optimize=True, external_data=True,
            )
            program.save(str(path), external_data=False)


def tensor_bytes(model) -> int:
    """Bytes of the initializers (ByteSize() is unreliable past protobuf's 2 GiB)."""
    total = 0
    for t in model.graph.initializer:
        total += len(t.raw_data) if t.HasField("raw_data") else t.ByteSize()
    return total


def finalize_onnx(src: Path, dst: Path, external: str) -> tuple[int, bool]:
    """Copy the graph at ``src`` (with any external data) to ``dst`` in the form transformers.js loads.

    Sets the IR version onnxruntime-node 1.21 reads. Past ~1.9 GB of weights (or with ``always``) the weights go
    to ONE file ``<dst name>_data`` beside it (transformers.js' naming; config.json then lists the file under
    ``transformers.js_config.use_external_data_format``). Exporters and the quantizer write into scratch
    folders (the TorchScript exporter puts one file per tensor there for >2 GB models), so nothing stale ends
    up beside ``dst``. Tensors are copied one at a time: a 6 GB decoder never sits in memory twice.
    """
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    model = onnx.load(str(src), load_external_data=False)
    model.ir_version = min(model.ir_version, ONNX_IR_VERSION)
    inits = list(model.graph.initializer)
    sizes = [ExternalDataInfo(t).length if uses_external_data(t) else len(t.raw_data) for t in inits]
    use_external = external == "always" or (external == "auto" and sum(sizes) > EXTERNAL_DATA_THRESHOLD)
    for stale in [dst, *dst.parent.glob(dst.name + "_data*")]:
        stale.unlink(missing_ok=True)
    if not use_external:
        if any(uses_external_data(t) for t in inits):
            onnx.external_data_helper.load_external_data_for_model(model, str(src.parent))
        onnx.save_model(model, str(dst))
    else:
        data_name = dst.name + "_data"
        offset = 0
        with open(dst.parent / data_name, "wb") as out:
            for t in inits:
                if uses_external_data(t):
                    info = ExternalDataInfo(t)
                    with open(src.parent / info.location, "rb") as f:
                        f.seek(info.offset or 0)
                        blob = f.read(info.length) if info.length else f.read()
                elif t.HasField("raw_data") and len(t.raw_data) >= 1024:
                    blob = t.raw_data
                else:
                    continue  # small tensors stay inside the graph
                pad = (-offset) % 4096  # page-aligned, as onnx's own writer does for mmap
                out.write(b"\0" * pad)
                offset += pad
                out.write(blob)
                t.ClearField("raw_data")
                del t.external_data[:]
                for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(len(blob)))):
                    entry = t.external_data.add()
                    entry.key, entry.value = key, value
                t.data_location = onnx.TensorProto.EXTERNAL
                offset += len(blob)
        onnx.save_model(model, str(dst))
    for f in [dst, *dst.parent.glob(dst.name + "_data*")]:
        os.chmod(f, 0o644)
    return file_size(dst), use_external


def file_size(path: Path) -> int:
    return sum(f.stat().st_size for f in [path, *path.parent.glob(path.name + "_data*")] if f.exists())


def scratch_dir(base: Path, name: str) -> Path:
    d = base / f"_scratch_{name}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def quantize_q8(src: Path, dst: Path, graph: str, external: str) -> tuple[int, bool]:
    """Dynamic 8-bit quantization with onnxruntime's tool: weights uint8 per output channel, activations
    quantized at run time (MatMulInteger; Gather for the embedding table).

    uint8 rather than int8 weights: on x86 CPUs without VNNI (AVX2 only, like this machine) onnxruntime's
    u8×s8 kernel can saturate its 16-bit intermediate sums; measured on the tiny model, int8 per-channel
    weights gave max |Δlogit| 1.22 against 0.11 for uint8 (int8 with reduce_range: 0.17).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    scratch = scratch_dir(dst.parent.parent, dst.stem)
    try:
        out = scratch / dst.name
        quantize_dynamic(
            model_input=str(src),
            model_output=str(out),
            op_types_to_quantize=["MatMul", "Gather"] if graph == "embed_tokens" else ["MatMul"],
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QUInt8,
            use_external_data_format=file_size(src) > EXTERNAL_DATA_THRESHOLD,
            extra_options={"MatMulConstBOnly": True},
        )
        return finalize_onnx(out, dst, external)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def convert_fp16(src: Path, dst: Path, external: str) -> tuple[int, bool]:
    """fp16 weights and compute, fp32 inputs and outputs (the same feeds as fp32 work)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    scratch = scratch_dir(dst.parent.parent, dst.stem)
    try:
        model = onnx.load(str(src), load_external_data=True)
        half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
        out = scratch / dst.name
        onnx.save_model(half, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=dst.name + ".data", size_threshold=1024)
        return finalize_onnx(out, dst, external)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# Verification against transformers' own modules


def verification_cases(hf_model) -> dict[str, Any]:
    """Inputs and the reference outputs of transformers' modules (not of the export wrappers)."""
    import torch
    from transformers.cache_utils import DynamicCache

    g = torch.Generator().manual_seed(1)
    tc = hf_model.config.text_config
    vocab = tc.vocab_size
    cases: dict[str, Any] = {"embed_tokens": [], "vision_encoder": [], "decoder_model_merged": []}
    with torch.no_grad():
        ids = torch.randint(0, vocab, (1, 11), generator=g)
        cases["embed_tokens"].append(("ids 1x11", {"input_ids": ids}, [hf_model.model.language_model.embed_tokens(ids)]))
        for label, grid in [
            ("one image 8x8 patches", [[1, 8, 8]]),
            ("one image 10x14 patches", [[1, 10, 14]]),
            ("two images 8x12 + 6x4", [[1, 8, 12], [1, 6, 4]]),
        ]:
            grid_t = torch.tensor(grid, dtype=torch.int64)
            pv = torch.randn(int(grid_t.prod(-1).sum()), 1176, generator=g)
            ref = hf_model.model.visual(pv, grid_thw=grid_t).pooler_output
            cases["vision_encoder"].append((label, {"pixel_values": pv, "grid_thw": grid_t}, [ref]))
        # Decoder: prefill with an empty cache (M-RoPE positions with a 2D block), then a one-token step.
        lm = hf_model.model.language_model
        b, s = 1, 13
        head_dim = tc.hidden_size // tc.num_attention_heads
        emb = torch.randn(b, s, tc.hidden_size, generator=g)
        pos = torch.arange(s).view(1, 1, -1).repeat(3, b, 1)
        pos[1, 0, 3:7] = torch.tensor([3, 3, 4, 4])
        pos[2, 0, 3:7] = torch.tensor([3, 4, 3, 4])
        pos[:, 0, 7:] -= 2
        mask = torch.ones(b, s, dtype=torch.int64)
        empty = {f"past_key_values.{i}.{k}": torch.zeros(b, tc.num_key_value_heads, 0, head_dim)
                 for i in range(tc.num_hidden_layers) for k in ("key", "value")}
        cache = DynamicCache(config=hf_model.config)
        out = lm(inputs_embeds=emb, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
        logits = hf_model.lm_head(out.last_hidden_state)
        presents = []
        for layer in out.past_key_values.layers:
            presents += [layer.keys.clone(), layer.values.clone()]
        cases["decoder_model_merged"].append((
            "prefill 13 tokens, empty cache",
            {"inputs_embeds": emb, "attention_mask": mask, "position_ids": pos, **empty},
            [logits, *presents],
        ))
        emb2 = torch.randn(b, 1, tc.hidden_size, generator=g)
        pos2 = torch.full((3, b, 1), int(pos.max()) + 1)
        mask2 = torch.ones(b, s + 1, dtype=torch.int64)
        past = {f"past_key_values.{i}.{k}": presents[2 * i + j]
                for i in range(tc.num_hidden_layers) for j, k in enumerate(("key", "value"))}
        out2 = lm(inputs_embeds=emb2, attention_mask=mask2, position_ids=pos2, past_key_values=out.past_key_values, use_cache=True)
        logits2 = hf_model.lm_head(out2.last_hidden_state)
        cases["decoder_model_merged"].append((
            "one token, cache of 13",
            {"inputs_embeds": emb2, "attention_mask": mask2, "position_ids": pos2, **past},
            [logits2],
        ))
    return cases


def verify_file(path: Path, cases: list, threads: int | None) -> list[dict[str, Any]]:
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    results = []
    for label, feeds, refs in cases:
        got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})
        worst = 0.0
        scale = 0.0
        for g, r in zip(got, refs):
            r = r.numpy()
            if g.shape != r.shape:
                raise AssertionError(f"{path.name} {label}: output shape {g.shape} != reference {r.shape}")
            worst = max(worst, float(np.abs(g.astype(np.float64) - r).max()) if r.size else 0.0)
            scale = max(scale, float(np.abs(r).max()) if r.size else 0.0)
        results.append({"case": label, "max_abs_diff": worst, "max_abs_ref": scale})
    return results


# ---------------------------------------------------------------------------------------------------
# Side files


def transformers_js_config(hf_config, external: dict[str, int], default_dtype: str) -> dict[str, Any]:
    tc, vc = hf_config.text_config, hf_config.vision_config
    rope = dict(tc.rope_parameters or {})
    section = rope.get("mrope_section", [16, 24, 24])
    heads = tc.num_attention_heads
    top = {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        "hidden_size": tc.hidden_size,
        "intermediate_size": tc.intermediate_size,
        "num_hidden_layers": tc.num_hidden_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": tc.num_key_value_heads,
        "head_dim": tc.hidden_size // heads,
        "hidden_act": tc.hidden_act,
        "vocab_size": tc.vocab_size,
        "max_position_embeddings": tc.max_position_embeddings,
        "rms_norm_eps": tc.rms_norm_eps,
        "rope_theta": rope.get("rope_theta", 1_000_000.0),
        "rope_scaling": {"type": "mrope", "mrope_section": list(section)},
        "tie_word_embeddings": bool(hf_config.tie_word_embeddings),
        "bos_token_id": tc.bos_token_id,
        "eos_token_id": tc.eos_token_id,
        "pad_token_id": tc.pad_token_id,
        "image_token_id": hf_config.image_token_id,
        "video_token_id": hf_config.video_token_id,
        "vision_start_token_id": hf_config.vision_start_token_id,
        "vision_end_token_id": hf_config.vision_end_token_id,
        "vision_token_id": hf_config.vision_start_token_id + 2,  # <|vision_pad|>, as in Qwen's config
        "torch_dtype": "float32",
        "vision_config": {
            "depth": vc.depth,
            "embed_dim": vc.embed_dim,
            "hidden_size": vc.hidden_size,
            "hidden_act": vc.hidden_act,
            "mlp_ratio": vc.mlp_ratio,
            "num_heads": vc.num_heads,
            "in_chans": vc.in_channels,
            "in_channels": vc.in_channels,
            "patch_size": vc.patch_size,
            "spatial_patch_size": vc.patch_size,
            "spatial_merge_size": vc.spatial_merge_size,
            "temporal_patch_size": vc.temporal_patch_size,
        },
        "text_config": tc.to_dict(),
        "transformers.js_config": {"dtype": default_dtype, **({"use_external_data_format": external} if external else {})},
    }
    top["text_config"].pop("transformers_version", None)
    return top


def trained_max_pixels(model_id: str) -> int | None:
    """The pixel cap a merged fine-tune was trained with (merge_lora.py's merge_info.json), else None."""
    info = Path(model_id) / "merge_info.json"
    return int(read_json(info).get("image_max_pixels") or 0) or None if info.exists() else None


def write_side_files(model_id: str, hf_model, tmp: Path, max_pixels: int | None, external: dict[str, int],
                     default_dtype: str) -> dict[str, Any]:
    from transformers import AutoImageProcessor, AutoTokenizer, GenerationConfig

    write_json(tmp / "config.json", transformers_js_config(hf_model.config, external, default_dtype))

    tok = AutoTokenizer.from_pretrained(model_id)
    template = getattr(tok, "chat_template", None) or QWEN2VL_CHAT_TEMPLATE
    tok.save_pretrained(tmp)
    for stale in ("special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"):
        (tmp / stale).unlink(missing_ok=True)  # tokenizer.json holds them all
    tc = read_json(tmp / "tokenizer_config.json")
    extra = tc.pop("extra_special_tokens", None)
    if isinstance(extra, list):  # transformers 5's list form; 4.x and transformers.js know this key
        tc["additional_special_tokens"] = extra
    tc["chat_template"] = template
    tc.setdefault("tokenizer_class", "Qwen2Tokenizer")
    write_json(tmp / "tokenizer_config.json", tc)
    write_json(tmp / "chat_template.json", {"chat_template": template})
    (tmp / "chat_template.jinja").write_text(template, encoding="utf-8")

    ip = AutoImageProcessor.from_pretrained(model_id)
    size = getattr(ip, "size", None) or {}
    get = (lambda k: size.get(k)) if isinstance(size, dict) else (lambda k: getattr(size, k, None))
    model_max = getattr(ip, "max_pixels", None) or get("longest_edge") or DEFAULT_IMAGE_MAX_PIXELS
    model_min = getattr(ip, "min_pixels", None) or get("shortest_edge") or DEFAULT_IMAGE_MIN_PIXELS
    trained = trained_max_pixels(model_id)
    pp = {
        "processor_class": "Qwen2VLProcessor",
        "image_processor_type": "Qwen2VLImageProcessor",
        "do_convert_rgb": True,
        "do_resize": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(ip.image_mean),
        "image_std": list(ip.image_std),
        "resample": 3,
        "min_pixels": int(model_min),
        # The fine-tune's own cap wins uncapped: inference must resize as training did.
        "max_pixels": int(max_pixels or trained or min(int(model_max), DEFAULT_IMAGE_MAX_PIXELS)),
        "patch_size": ip.patch_size,
        "merge_size": ip.merge_size,
        "temporal_patch_size": ip.temporal_patch_size,
    }
    write_json(tmp / "preprocessor_config.json", pp)

    try:
        gen = GenerationConfig.from_pretrained(model_id).to_diff_dict()
    except OSError:
        gen = {}
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    gen.update({"eos_token_id": [im_end, eot], "pad_token_id": eot, "bos_token_id": gen.get("bos_token_id", eot)})
    for k in ("temperature", "top_p", "top_k", "transformers_version"):
        gen.pop(k, None)
    gen["do_sample"] = False
    write_json(tmp / "generation_config.json", gen)
    missing = [t for t in SPECIAL_TOKENS if t in ("<|im_start|>", "<|im_end|>", "<|image_pad|>") and tok.convert_tokens_to_ids(t) is None]
    if missing:
        raise SystemExit(f"the tokenizer lacks {missing}")
    return pp


# ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in dtypes:
        if d not in SUFFIX:
            raise SystemExit(f"--dtypes: unknown dtype {d!r} (known: {', '.join(SUFFIX)})")
    if "fp32" not in dtypes:
        dtypes.insert(0, "fp32")  # the others are derived from it
    default_dtype = args.default_dtype or ("q8" if "q8" in dtypes else "fp32")
    if default_dtype not in dtypes:
        raise SystemExit(f"--default-dtype {default_dtype} is not among --dtypes")

    with Timer() as total:
        import torch
        from transformers import Qwen2VLForConditionalGeneration

        from onnx_modules import Decoder, EmbedTokens, VisionEncoder

        if args.threads:
            torch.set_num_threads(args.threads)
        with Timer() as t_load:
            hf = Qwen2VLForConditionalGeneration.from_pretrained(args.model, dtype=torch.float32).eval()
        emit("loaded", model=args.model, seconds=round(t_load.seconds, 2),
             params=sum(p.numel() for p in hf.parameters()))

        out: Path = args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "onnx").mkdir(parents=True)
        manifest: dict[str, Any] = {"source": str(args.model), "exporter": args.exporter, "opset": args.opset,
                                    "ir_version": ONNX_IR_VERSION, "dtypes": dtypes, "default_dtype": default_dtype,
                                    "files": {}, "verify": {}}
        external: dict[str, int] = {}
        try:
            modules = {"embed_tokens": EmbedTokens(hf), "vision_encoder": VisionEncoder(hf), "decoder_model_merged": Decoder(hf)}
            dummies = dummy_inputs(hf)
            names = io_names(hf)
            cases = None if args.no_verify else verification_cases(hf)
            # Phase 1, with the PyTorch model in memory: the fp32 graphs and the reference outputs.
            for graph in GRAPHS:
                fp32_path = tmp / "onnx" / f"{graph}.onnx"
                with Timer() as t:
                    scratch = scratch_dir(tmp, graph)
                    export_graph(modules.pop(graph).eval(), dummies.pop(graph), scratch / "model.onnx", names[graph],
                                 args.opset, args.exporter)
                    size, ext = finalize_onnx(scratch / "model.onnx", fp32_path, args.external_data)
                    shutil.rmtree(scratch)
                if ext:
                    external[fp32_path.name] = 1
                manifest["files"][f"onnx/{fp32_path.name}"] = size
                emit("graph", graph=graph, dtype="fp32", file=f"onnx/{fp32_path.name}", bytes=size,
                     external_data=ext, seconds=round(t.seconds, 2))
            pp = write_side_files(args.model, hf, tmp, args.max_pixels, {}, default_dtype)
            hf_config = hf.config
            del hf, modules
            gc.collect()
            # Phase 2, PyTorch model freed (a 2B model's fp32 weights are 9 GB): derived dtypes and checks.
            for graph in GRAPHS:
                fp32_path = tmp / "onnx" / f"{graph}.onnx"
                for dtype in dtypes:
                    path = tmp / "onnx" / f"{graph}{SUFFIX[dtype]}.onnx"
                    if dtype != "fp32":
                        with Timer() as t:
                            if dtype == "q8":
                                size, ext = quantize_q8(fp32_path, path, graph, args.external_data)
                            else:
                                size, ext = convert_fp16(fp32_path, path, args.external_data)
                        if ext:
                            external[path.name] = 1
                        manifest["files"][f"onnx/{path.name}"] = size
                        emit("graph", graph=graph, dtype=dtype, file=f"onnx/{path.name}", bytes=size,
                             external_data=path.name in external, seconds=round(t.seconds, 2))
                    if cases is not None:
                        with Timer() as t:
                            res = verify_file(path, cases[graph], args.threads)
                        worst = max(r["max_abs_diff"] for r in res)
                        manifest["verify"][f"{graph}/{dtype}"] = res
                        emit("verify", graph=graph, dtype=dtype, max_abs_diff=worst, cases=res, seconds=round(t.seconds, 2))
                        if dtype == "fp32" and worst > args.tolerance:
                            raise SystemExit(f"{graph} fp32 differs from PyTorch by {worst:.3g} (> --tolerance {args.tolerance})")
            # config.json again, now that the external-data files are known
            write_json(tmp / "config.json", transformers_js_config(hf_config, external, default_dtype))
            manifest["max_pixels"] = pp["max_pixels"]
            manifest["max_pixels_from_training"] = trained_max_pixels(args.model) is not None
            manifest["external_data"] = external
            write_json(tmp / "streetsafe_export.json", manifest)
            # Atomic swap: the old folder (if any) is moved aside, the new one renamed in, the old one removed.
            replace_folder(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    emit("done", dir=str(out), dtypes=dtypes, default_dtype=default_dtype, files=manifest["files"],
         seconds=round(total.seconds, 2))
    return 0


if __name__ == "__main__":
    run_script(main)
