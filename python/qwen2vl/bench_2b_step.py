#!/usr/bin/env python3
"""Time one LoRA training step of a random-weight model with the real Qwen2-VL-2B-Instruct architecture.

Nothing is downloaded: the architecture comes from Qwen2-VL-2B-Instruct's published config (values below),
weights are random. The step is the one train_lora.py runs: one streetsafe example (system prompt, user
turn with one image, a JSON reply; text lengths as measured on streetsafe's prompts), the image resized
under ``--max-pixels``, the vision tower frozen, LoRA r=8 on every language-model linear layer, loss on the
reply only, backward, AdamW step.

Run it under ``/usr/bin/time -v`` for peak RSS. Prints JSON lines: build, step (forward / backward /
optimizer seconds, sequence length, image tokens, estimated FLOPs).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from qwen_common import QWEN2VL_2B, REPLY_TOKENS, SYSTEM_TOKENS, TEMPLATE_TOKENS, USER_TOKENS, emit, load_image, run_script




def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--max-pixels", type=int, default=262144)
    p.add_argument("--upscale-to", type=int, help="resize the image to this square side first (to reach max_pixels)")
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--gradient-checkpointing", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from peft import LoraConfig, get_peft_model
    from PIL import Image
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    t0 = time.perf_counter()
    cfg = Qwen2VLConfig(text_config=QWEN2VL_2B["text"], vision_config=QWEN2VL_2B["vision"],
                        **{k: v for k, v in QWEN2VL_2B.items() if k not in ("text", "vision")})
    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration(cfg)
    model = model.to_empty(device="cpu").to(dtype)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() >= 2:
                p.normal_(0.0, 0.02, generator=g)
            elif "norm" in name or "ln_" in name:
                p.fill_(1.0) if name.endswith("weight") else p.zero_()
            else:
                p.zero_()
    # Rotary buffers: rebuild from config (to_empty left them uninitialised).
    lm = model.model.language_model
    hd = cfg.text_config.hidden_size // cfg.text_config.num_attention_heads
    lm.rotary_emb.inv_freq = 1.0 / (1_000_000.0 ** (torch.arange(0, hd, 2, dtype=torch.float) / hd))
    vis = model.model.visual
    vhd = cfg.vision_config.embed_dim // cfg.vision_config.num_heads
    vis.rotary_pos_emb.inv_freq = 1.0 / (10000.0 ** (torch.arange(0, vhd // 2, 2, dtype=torch.float) / (vhd // 2)))
    model.tie_weights()
    for p in model.parameters():
        p.requires_grad_(False)
    targets = "q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj"
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, bias="none", task_type="CAUSAL_LM",
                                             target_modules=rf"^model\.language_model\.layers\.\d+\.(?:self_attn|mlp)\.(?:{targets})$"))
    if args.gradient_checkpointing:
        model.enable_input_require_grads()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    emit("build", seconds=round(time.perf_counter() - t0, 2), params=n_params, trainable=n_train, dtype=args.dtype)

    src = args.image
    if args.upscale_to:
        with Image.open(src) as im:
            im.convert("RGB").resize((args.upscale_to, args.upscale_to), Image.Resampling.BICUBIC).save("/tmp/bench_img.png")
        src = Path("/tmp/bench_img.png")
    image = load_image(src, max_pixels=args.max_pixels)
    ip = Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=args.max_pixels)
    feats = ip(images=[image], do_resize=False, return_tensors="pt")
    grid = feats["image_grid_thw"]
    n_img = int(grid.prod()) // 4
    n_text = SYSTEM_TOKENS + USER_TOKENS + REPLY_TOKENS + TEMPLATE_TOKENS
    ids = torch.randint(0, 151000, (n_text + n_img + 2,), generator=g)
    start = SYSTEM_TOKENS + 8
    ids[start] = cfg.vision_start_token_id
    ids[start + 1 : start + 1 + n_img] = cfg.image_token_id
    ids[start + 1 + n_img] = cfg.vision_end_token_id
    labels = torch.full_like(ids, -100)
    labels[-(REPLY_TOKENS + 2):] = ids[-(REPLY_TOKENS + 2):]
    input_ids = ids.unsqueeze(0)
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids),
             "mm_token_type_ids": (input_ids == cfg.image_token_id).to(torch.int32),
             "pixel_values": feats["pixel_values"].to(dtype), "image_grid_thw": grid}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    seq = input_ids.shape[1]
    patches = int(grid.prod())
    # FLOPs estimate: 2·(matmul params)·tokens per forward; the language model runs forward and backward to its
    # inputs (≈ 2× forward: frozen weights get no gradients, LoRA's are negligible); the frozen vision tower
    # runs forward only (its input needs no gradient). Attention score/value products added: 4·n²·width·layers.
    base = model.base_model.model
    lm_params = sum(p.numel() for n, p in base.named_parameters() if "language_model.layers" in n and p.dim() == 2 and "lora" not in n)
    lm_params += base.lm_head.weight.numel()
    vis_params = sum(p.numel() for n, p in base.named_parameters() if "visual" in n and p.dim() >= 2)
    tc, vc = cfg.text_config, cfg.vision_config
    lm_fwd = 2 * lm_params * seq + 4 * seq * seq * tc.hidden_size * tc.num_hidden_layers
    vis_fwd = 2 * vis_params * patches + 4 * patches * patches * vc.embed_dim * vc.depth
    flops = 2 * lm_fwd + vis_fwd
    for step in range(args.steps):
        t = time.perf_counter()
        out = model(**batch, use_cache=False)
        logits = out.logits[:, :-1].float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[1:].reshape(-1), ignore_index=-100)
        t_fwd = time.perf_counter() - t
        t = time.perf_counter()
        loss.backward()
        t_bwd = time.perf_counter() - t
        t = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t_opt = time.perf_counter() - t
        total = t_fwd + t_bwd + t_opt
        emit("step", step=step + 1, dtype=args.dtype, threads=args.threads, image_size=[image.width, image.height],
             patches=patches, image_tokens=n_img, seq_len=seq, forward_s=round(t_fwd, 2), backward_s=round(t_bwd, 2),
             optimizer_s=round(t_opt, 3), step_s=round(total, 2), est_tflops=round(flops / 1e12, 3), est_tflops_lm_fwd=round(lm_fwd / 1e12, 3), est_tflops_vision_fwd=round(vis_fwd / 1e12, 3),
             est_gflops_per_s=round(flops / total / 1e9, 1), loss=float(loss))
    return 0


if __name__ == "__main__":
    run_script(main)
