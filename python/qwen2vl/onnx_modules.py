"""Export-friendly forward passes of Qwen2-VL over the weights of a Hugging Face Qwen2VLForConditionalGeneration.

Why not trace the Hugging Face modules directly: their vision attention splits the patch sequence per image
with ``cu_seqlens.tolist()`` and their rotary position ids loop over ``grid_thw.tolist()``; a trace bakes both
into constants (one image size, one image count). The causal-mask helpers of transformers 5 are also
export-hostile. These three modules reuse every weight (the same nn.Linear / norm / MLP modules) but compute
shapes, positions and masks with tensor ops only, so one ONNX graph serves any image size, one or several
images per call, any prompt length and any cache length.

Graph contract (transformers.js 3.8, Qwen2VLForConditionalGeneration; streetsafe DESIGN.md):
- ``EmbedTokens``: input_ids int64 [batch, seq] → inputs_embeds float32 [batch, seq, hidden].
- ``VisionEncoder``: pixel_values float32 [patches, 3·2·14·14 = 1176] (the processor's patch order),
  grid_thw int64 [images, 3] → image_features float32 [patches / 4, hidden]. Attention is block-diagonal per
  image frame (patches of one image never see another's); 2D rotary positions come from grid_thw at run time.
- ``Decoder``: inputs_embeds [batch, seq, hidden], attention_mask int64 [batch, past + seq], position_ids int64
  [3, batch, seq] (M-RoPE t/h/w), past_key_values.{i}.key/value float32 [batch, kv_heads, past, head_dim]
  (past may be 0) → logits float32 [batch, seq, vocab], present.{i}.key/value [batch, kv_heads, past + seq,
  head_dim]. Keys are cached after rotary, as in transformers.
"""
from __future__ import annotations

import torch
from torch import nn


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Integer division of non-negative int64 tensors (exports as a plain ONNX Div)."""
    return torch.div(a, b, rounding_mode="trunc")


class EmbedTokens(nn.Module):
    def __init__(self, hf_model) -> None:
        super().__init__()
        self.embed = hf_model.model.language_model.embed_tokens

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embed(input_ids)


def vision_positions(grid_thw: torch.Tensor, num_patches: torch.Tensor | int, merge: int):
    """Per patch: (row, column) of the patch in its image and a segment id (one per image frame).

    The processor orders patches frame by frame, and inside a frame by merge block (row-major over blocks,
    then row-major inside a merge×merge block); this inverts that order with integer arithmetic.
    """
    t, h, w = grid_thw[:, 0], grid_thw[:, 1], grid_thw[:, 2]
    counts = t * h * w
    ends = torch.cumsum(counts, dim=0)
    starts = ends - counts
    p = torch.arange(num_patches, dtype=torch.int64, device=grid_thw.device)
    image = (p.unsqueeze(1) >= ends.unsqueeze(0)).to(torch.int64).sum(dim=1)  # which image each patch is in
    start, hh, ww = starts[image], h[image], w[image]
    local = p - start
    frame_size = hh * ww
    frame = _div(local, frame_size)
    f = local - frame * frame_size
    mm = merge * merge
    block = _div(f, torch.full_like(f, mm))
    within = f - block * mm
    mh = _div(within, torch.full_like(within, merge))
    mw = within - mh * merge
    blocks_per_row = _div(ww, torch.full_like(ww, merge))
    hb = _div(block, blocks_per_row)
    wb = block - hb * blocks_per_row
    row = hb * merge + mh
    col = wb * merge + mw
    segment = start + frame
    return row, col, segment


class VisionEncoder(nn.Module):
    def __init__(self, hf_model) -> None:
        super().__init__()
        visual = hf_model.model.visual
        cfg = visual.config
        self.blocks = visual.blocks
        self.merger = visual.merger
        self.merge = int(cfg.spatial_merge_size)
        self.num_heads = int(cfg.num_heads)
        self.embed_dim = int(cfg.embed_dim)
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim ** -0.5
        # Conv3d with kernel = stride = patch over a [patches, C, T, P, P] input is a matrix product.
        w = visual.patch_embed.proj.weight  # [embed, C, T, P, P]
        self.patch_weight = nn.Parameter(w.detach().reshape(w.shape[0], -1).t().contiguous(), requires_grad=False)
        self.register_buffer("inv_freq", visual.rotary_pos_emb.inv_freq.detach().float().clone(), persistent=False)

    def forward(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        dtype = self.patch_weight.dtype
        x = pixel_values.to(dtype) @ self.patch_weight  # [P, E]
        n = x.shape[0]
        row, col, segment = vision_positions(grid_thw, n, self.merge)
        f = torch.cat([row.unsqueeze(-1).float() * self.inv_freq, col.unsqueeze(-1).float() * self.inv_freq], dim=-1)
        emb = torch.cat([f, f], dim=-1)  # [P, head_dim]
        cos, sin = emb.cos().unsqueeze(0), emb.sin().unsqueeze(0)  # [1, P, hd]
        same = (segment.unsqueeze(1) == segment.unsqueeze(0)).unsqueeze(0)  # [1, P, P] block-diagonal
        neg = torch.tensor(torch.finfo(torch.float32).min, dtype=torch.float32)
        for blk in self.blocks:
            h = blk.norm1(x)
            qkv = blk.attn.qkv(h).reshape(n, 3, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
            q, k, v = qkv[0].float(), qkv[1].float(), qkv[2]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # [heads, P, P]
            scores = torch.where(same, scores, neg)
            probs = torch.softmax(scores, dim=-1).to(v.dtype)
            out = torch.matmul(probs, v).permute(1, 0, 2).reshape(n, self.embed_dim)
            x = x + blk.attn.proj(out)
            x = x + blk.mlp(blk.norm2(x))
        return self.merger(x)


class Decoder(nn.Module):
    """The language model with a KV cache, one graph for the first step (empty past) and every later one."""

    def __init__(self, hf_model) -> None:
        super().__init__()
        lm = hf_model.model.language_model
        cfg = lm.config
        self.layers = lm.layers
        self.norm = lm.norm
        self.lm_head = hf_model.lm_head
        self.num_heads = int(cfg.num_attention_heads)
        self.num_kv = int(cfg.num_key_value_heads)
        self.groups = self.num_heads // self.num_kv
        self.head_dim = int(cfg.hidden_size) // self.num_heads
        self.scale = self.head_dim ** -0.5
        self.register_buffer("inv_freq", lm.rotary_emb.inv_freq.detach().float().clone(), persistent=False)
        section = list(lm.rotary_emb.mrope_section)
        if sum(section) != self.head_dim // 2:
            raise ValueError(f"mrope_section {section} does not cover head_dim/2 = {self.head_dim // 2}")
        # One-hot [3, head_dim/2]: which of (t, h, w) drives each rotary frequency (transformers' recomposition).
        pick = torch.zeros(3, self.head_dim // 2)
        at = 0
        for i, n in enumerate(section):
            pick[i % 3, at : at + n] = 1.0
            at += n
        self.register_buffer("mrope_pick", pick, persistent=False)

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        b, s = inputs_embeds.shape[0], inputs_embeds.shape[1]
        past_len = past[0].shape[2]
        total = past_len + s
        dtype = inputs_embeds.dtype

        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq  # [3, b, s, hd/2]
        freqs = (freqs * self.mrope_pick[:, None, None, :]).sum(dim=0)  # [b, s, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos().unsqueeze(1).to(dtype), emb.sin().unsqueeze(1).to(dtype)  # [b, 1, s, hd]

        q_pos = torch.arange(s, device=inputs_embeds.device) + past_len
        k_pos = torch.arange(total, device=inputs_embeds.device)
        causal = k_pos.unsqueeze(0) <= q_pos.unsqueeze(1)  # [s, total]
        allowed = causal.unsqueeze(0) & (attention_mask.unsqueeze(1) != 0)  # [b, s, total]
        allowed = allowed[:, None, None, :, :]  # [b, 1, 1, s, total]
        neg = torch.tensor(torch.finfo(torch.float32).min, dtype=torch.float32)

        x = inputs_embeds
        presents = []
        for i, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn.q_proj(h).reshape(b, s, self.num_heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(h).reshape(b, s, self.num_kv, self.head_dim).transpose(1, 2)
            v = attn.v_proj(h).reshape(b, s, self.num_kv, self.head_dim).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            qg = q.reshape(b, self.num_kv, self.groups, s, self.head_dim)
            scores = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2)).float() * self.scale  # [b, kv, g, s, total]
            scores = torch.where(allowed, scores, neg)
            probs = torch.softmax(scores, dim=-1).to(v.dtype)
            out = torch.matmul(probs, v.unsqueeze(2))  # [b, kv, g, s, hd]
            out = out.reshape(b, self.num_heads, s, self.head_dim).transpose(1, 2).reshape(b, s, self.num_heads * self.head_dim)
            x = x + attn.o_proj(out)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.lm_head(self.norm(x))
        return (logits, *presents)
