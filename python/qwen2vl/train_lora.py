#!/usr/bin/env python3
"""LoRA SFT of Qwen2-VL on streetsafe's LLaMA-Factory data folder (``data/qwen_finetuning/``).

Reads the folder ``streetsafe prepare`` writes: ``dataset_info.json`` (which files are the train and
validation splits), the sharegpt files (``messages``: system / user starting with ``<image>`` / assistant;
``images``: paths relative to the folder) and ``qwen2vl_lora_sft.yaml`` (hyper-parameters). Command-line
flags override the YAML.

Backends (``--backend``):
- ``transformers`` (this script's own loop, Hugging Face transformers + peft): the default when
  LLaMA-Factory is not installed.
- ``llamafactory``: runs ``llamafactory-cli train <yaml> key=value…`` in the data folder and relays its
  ``trainer_log.jsonl`` as the same JSON events. ``auto`` picks it when ``llamafactory-cli`` is on PATH.
  ``--print-command`` prints that command line as JSON and exits.

What the transformers backend does, and how it matches LLaMA-Factory's ``qwen2_vl`` template:
- Prompt: ``<|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n<|vision_start|><|image_pad|>×n
  <|vision_end|>{user}<|im_end|>\\n<|im_start|>assistant\\n``; target: ``{assistant}<|im_end|>\\n``. Prompt and
  target are tokenised separately and concatenated, labels are -100 on the prompt (loss only on the reply,
  its ``<|im_end|>`` and the newline, as LLaMA-Factory's supervised processor does).
- Images: resized once with Qwen's smart_resize under ``image_max_pixels`` (the same rule streetsafe's Node
  inference uses), then the Qwen2-VL image processor without its own resize.
- LoRA (rank/alpha/dropout from the YAML) on every linear layer of the language model (q/k/v/o, gate/up/down;
  ``lora_target: all`` with ``freeze_vision_tower: true``: the vision tower and merger stay frozen).
- AdamW, linear warm-up then cosine decay, gradient accumulation; the loss of a step is the mean over all
  reply tokens of its micro-batches.
- Progress: JSON lines on stdout — ``start``, ``step`` (step, total, epoch, loss, lr, seconds; eval_loss at
  evaluation steps), ``eval``, ``checkpoint``, ``interrupted``, ``done``, ``error``.
- SIGINT / SIGTERM: the step in progress is dropped, a checkpoint of the last finished step is written, an
  ``interrupted`` event is printed, exit status 130. ``--resume`` continues from the newest checkpoint in the
  output folder (same data order, optimizer, schedule and RNG state). A second SIGINT aborts at once.
- Device: CUDA when torch sees it (bf16 if the YAML says bf16 and the GPU supports it), else CPU in fp32.

Output folder (same layout as LLaMA-Factory's / the HF Trainer's): ``checkpoint-<step>/`` (adapter + state),
and at the end ``adapter_model.safetensors``, ``adapter_config.json``, ``train_results.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwen_common import (
    DEFAULT_IMAGE_MAX_PIXELS,
    IM_END,
    QWEN2VL_2B,
    QWEN2VL_2B_ID,
    emit,
    load_image,
    log,
    pick_device,
    read_json,
    render_prompt,
    run_script,
    set_threads,
    sharegpt_turns,
    smart_resize,
    write_json,
)

LANGUAGE_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
INTERRUPTED_EXIT = 130


# ---------------------------------------------------------------------------------------------------
# Settings: YAML defaults, flags override


@dataclass
class Settings:
    data_dir: Path
    base_model: str
    output_dir: Path
    train_file: Path
    val_file: Path | None
    image_max_pixels: int
    cutoff_len: int
    lora_rank: int
    lora_alpha: float
    lora_dropout: float
    lora_target: list[str]
    learning_rate: float
    epochs: float
    max_steps: int | None
    batch_size: int
    eval_batch_size: int
    grad_accum: int
    scheduler: str
    warmup_ratio: float
    eval_steps: int
    save_steps: int
    save_total_limit: int
    bf16: bool
    seed: int
    max_train_examples: int | None
    max_val_examples: int | None
    gradient_checkpointing: bool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, required=True, help="the qwen_finetuning folder streetsafe prepare wrote")
    p.add_argument("--config", type=Path, help="training YAML (default: <data-dir>/qwen2vl_lora_sft.yaml)")
    p.add_argument("--base-model", help="hub id (e.g. Qwen/Qwen2-VL-2B-Instruct) or local folder; default: the YAML's")
    p.add_argument("--output-dir", type=Path, help="adapter and checkpoints; default: the YAML's, relative to --data-dir")
    p.add_argument("--backend", choices=["auto", "transformers", "llamafactory"], default="auto")
    p.add_argument("--print-command", action="store_true", help="print the LLaMA-Factory command line as JSON and exit")
    p.add_argument("--plan", action="store_true",
                   help="dry run: resolve the settings, check the data, size the base model; print one 'plan' line, train nothing")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output-dir")
    p.add_argument("--resume-from", type=Path, help="continue from this checkpoint folder")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--dtype", choices=["auto", "fp32", "bf16"], default="auto",
                   help="auto: bf16 on a GPU that supports it when the YAML says bf16, else fp32")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--epochs", type=float)
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (overrides epochs)")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--grad-accum", type=int)
    p.add_argument("--lora-rank", type=int)
    p.add_argument("--lora-alpha", type=float)
    p.add_argument("--lora-dropout", type=float)
    p.add_argument("--image-max-pixels", type=int)
    p.add_argument("--cutoff-len", type=int)
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--scheduler", choices=["cosine", "linear", "constant"])
    p.add_argument("--eval-steps", type=int, help="evaluate every N steps (and at the end); 0: only at the end")
    p.add_argument("--save-steps", type=int, help="checkpoint every N steps (and at the end)")
    p.add_argument("--save-total-limit", type=int, default=2, help="checkpoints kept (oldest removed)")
    p.add_argument("--max-train-examples", type=int)
    p.add_argument("--max-val-examples", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--stop-after-step", type=int,
                   help="stop as on SIGINT once this step is done (checkpoint, 'interrupted', exit 130): a pause")
    return p.parse_args(argv)


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def resolve_settings(args: argparse.Namespace) -> tuple[Settings, dict[str, Any], Path]:
    data_dir = args.data_dir.resolve()
    cfg_path = (args.config or data_dir / "qwen2vl_lora_sft.yaml").resolve()
    cfg = load_yaml(cfg_path) if cfg_path.exists() else {}
    info_path = data_dir / "dataset_info.json"
    if not info_path.exists():
        raise SystemExit(f"{info_path} not found: --data-dir must be the qwen_finetuning folder streetsafe prepare wrote")
    info = read_json(info_path)
    dataset_dir = (data_dir / str(cfg.get("dataset_dir", "."))).resolve()

    def dataset_file(name: str | None) -> Path | None:
        if not name:
            return None
        first = str(name).split(",")[0].strip()
        if first not in info:
            raise SystemExit(f"dataset {first!r} is not registered in {info_path}")
        return dataset_dir / info[first]["file_name"]

    train_file = dataset_file(cfg.get("dataset")) or dataset_file(next((k for k in info if k.endswith("_train")), None))
    val_file = dataset_file(cfg.get("eval_dataset")) if cfg.get("eval_dataset") else None
    if train_file is None:
        raise SystemExit("no training dataset: set `dataset` in the YAML")

    def pick(flag: Any, key: str, default: Any) -> Any:
        return flag if flag is not None else cfg.get(key, default)

    target = str(cfg.get("lora_target", "all"))
    lora_target = LANGUAGE_LINEAR if target == "all" else [t.strip() for t in target.split(",") if t.strip()]
    output_dir = args.output_dir or Path(str(cfg.get("output_dir", "saves/qwen2vl/lora/sft")))
    if not output_dir.is_absolute():
        output_dir = (Path.cwd() / output_dir) if args.output_dir else (data_dir / output_dir)
    # As given (a hub id, or a folder relative to the working directory): it is recorded in adapter_config.json,
    # and the Node side runs every script from the repository root, so no machine path lands in the files.
    base_model = str(pick(args.base_model, "model_name_or_path", "Qwen/Qwen2-VL-2B-Instruct"))
    s = Settings(
        data_dir=dataset_dir,
        base_model=base_model,
        output_dir=output_dir.resolve(),
        train_file=train_file,
        val_file=val_file,
        image_max_pixels=int(pick(args.image_max_pixels, "image_max_pixels", DEFAULT_IMAGE_MAX_PIXELS)),
        cutoff_len=int(pick(args.cutoff_len, "cutoff_len", 2048)),
        lora_rank=int(pick(args.lora_rank, "lora_rank", 8)),
        lora_alpha=float(pick(args.lora_alpha, "lora_alpha", 16)),
        lora_dropout=float(pick(args.lora_dropout, "lora_dropout", 0.05)),
        lora_target=lora_target,
        learning_rate=float(pick(args.lr, "learning_rate", 1e-4)),
        epochs=float(pick(args.epochs, "num_train_epochs", 3.0)),
        max_steps=args.max_steps if args.max_steps is not None else (int(cfg["max_steps"]) if cfg.get("max_steps", -1) not in (None, -1) else None),
        batch_size=int(pick(args.batch_size, "per_device_train_batch_size", 2)),
        eval_batch_size=int(cfg.get("per_device_eval_batch_size", pick(args.batch_size, "per_device_train_batch_size", 2))),
        grad_accum=int(pick(args.grad_accum, "gradient_accumulation_steps", 8)),
        scheduler=str(pick(args.scheduler, "lr_scheduler_type", "cosine")),
        warmup_ratio=float(pick(args.warmup_ratio, "warmup_ratio", 0.0)),
        eval_steps=int(pick(args.eval_steps, "eval_steps", 0) or 0),
        save_steps=int(pick(args.save_steps, "save_steps", 0) or 0),
        save_total_limit=max(1, args.save_total_limit),
        bf16=bool(cfg.get("bf16", False)),
        seed=args.seed,
        max_train_examples=args.max_train_examples,
        max_val_examples=args.max_val_examples,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    return s, cfg, cfg_path


# ---------------------------------------------------------------------------------------------------
# LLaMA-Factory backend


def llamafactory_command(args: argparse.Namespace, s: Settings, cfg_path: Path) -> list[str]:
    """``llamafactory-cli train <yaml> key=value…`` with the flags that differ from the YAML."""
    cmd = ["llamafactory-cli", "train", str(cfg_path)]
    overrides = {
        "model_name_or_path": args.base_model,
        "output_dir": str(s.output_dir) if args.output_dir else None,
        "learning_rate": args.lr,
        "num_train_epochs": args.epochs,
        "max_steps": args.max_steps,
        "per_device_train_batch_size": args.batch_size,
        "gradient_accumulation_steps": args.grad_accum,
        "lora_rank": args.lora_rank,
        "lora_alpha": args.lora_alpha,
        "lora_dropout": args.lora_dropout,
        "image_max_pixels": args.image_max_pixels,
        "cutoff_len": args.cutoff_len,
        "eval_steps": args.eval_steps,
        "save_steps": args.save_steps,
        "max_samples": args.max_train_examples,
    }
    if args.resume or args.resume_from:
        ckpt = args.resume_from or latest_checkpoint(s.output_dir)
        if ckpt:
            overrides["resume_from_checkpoint"] = str(ckpt)
            overrides["overwrite_output_dir"] = "false"
    cmd += [f"{k}={v}" for k, v in overrides.items() if v is not None]
    return cmd


def run_llamafactory(cmd: list[str], s: Settings) -> int:
    """Run LLaMA-Factory, relaying its trainer_log.jsonl lines (current_steps, total_steps, loss, eval_loss)."""
    emit("start", backend="llamafactory", command=cmd, output_dir=s.output_dir)
    log_file = s.output_dir / "trainer_log.jsonl"
    seen = 0
    proc = subprocess.Popen(cmd, cwd=s.data_dir, stdout=sys.stderr, stderr=sys.stderr)

    def relay() -> None:
        nonlocal seen
        if not log_file.exists():
            return
        lines = log_file.read_text(encoding="utf-8").splitlines()
        for line in lines[seen:]:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return  # half-written last line: read again next time
            seen += 1
            event = {"step": rec.get("current_steps"), "total": rec.get("total_steps"), "epoch": rec.get("epoch")}
            if rec.get("loss") is not None:
                event["loss"] = rec["loss"]
            if rec.get("eval_loss") is not None:
                event["eval_loss"] = rec["eval_loss"]
            if rec.get("lr") is not None:
                event["lr"] = rec["lr"]
            emit("step", **event)

    try:
        while proc.poll() is None:
            relay()
            time.sleep(2)
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)  # the HF Trainer stops; it saves only at save_steps
        proc.wait()
    relay()
    if proc.returncode == 0:
        emit("done", backend="llamafactory", adapter_dir=s.output_dir)
    else:
        emit("error", message=f"llamafactory-cli exited with {proc.returncode}")
    return proc.returncode


# ---------------------------------------------------------------------------------------------------
# Data


class Encoder:
    """sharegpt example → token ids, labels and image tensors (see the module comment)."""

    def __init__(self, tokenizer, image_processor, config, s: Settings):
        self.tok = tokenizer
        self.ip = image_processor
        self.s = s
        self.image_token_id = config.image_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.convert_tokens_to_ids("<|endoftext|>")
        self.merge = getattr(config.vision_config, "spatial_merge_size", 2)

    def encode(self, example: dict[str, Any]) -> dict[str, Any]:
        import torch

        system, user, assistant = sharegpt_turns(example)
        images = [load_image(self.s.data_dir / rel, max_pixels=self.s.image_max_pixels) for rel in example.get("images", [])]
        if images:
            feats = self.ip(images=images, do_resize=False, return_tensors="pt")
            pixel_values, grid = feats["pixel_values"], feats["image_grid_thw"]
            counts = [int(g.prod()) // (self.merge * self.merge) for g in grid]
        else:
            pixel_values, grid, counts = None, None, []
        prompt_ids = self.tok.encode(render_prompt(system, user, counts), add_special_tokens=False)
        target_ids = self.tok.encode(assistant + IM_END + "\n", add_special_tokens=False)
        truncated = False
        if len(prompt_ids) >= self.s.cutoff_len:
            raise ValueError(f"prompt of {len(prompt_ids)} tokens does not fit cutoff_len {self.s.cutoff_len}")
        if len(prompt_ids) + len(target_ids) > self.s.cutoff_len:
            target_ids = target_ids[: self.s.cutoff_len - len(prompt_ids)]
            truncated = True
        ids = prompt_ids + target_ids
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "labels": torch.tensor([-100] * len(prompt_ids) + target_ids, dtype=torch.long),
            "pixel_values": pixel_values,
            "image_grid_thw": grid,
            "truncated": truncated,
        }

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        n = max(len(it["input_ids"]) for it in items)
        b = len(items)
        input_ids = torch.full((b, n), self.pad_id, dtype=torch.long)
        labels = torch.full((b, n), -100, dtype=torch.long)
        attention = torch.zeros((b, n), dtype=torch.long)
        for i, it in enumerate(items):
            k = len(it["input_ids"])
            input_ids[i, :k] = it["input_ids"]
            labels[i, :k] = it["labels"]
            attention[i, :k] = 1
        batch: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": labels,
            "mm_token_type_ids": (input_ids == self.image_token_id).to(torch.int32),
        }
        pv = [it["pixel_values"] for it in items if it["pixel_values"] is not None]
        if pv:
            batch["pixel_values"] = torch.cat(pv, 0)
            batch["image_grid_thw"] = torch.cat([it["image_grid_thw"] for it in items if it["image_grid_thw"] is not None], 0)
        return batch


def load_examples(path: Path, limit: int | None, data_dir: Path) -> list[dict[str, Any]]:
    examples = read_json(path)
    if not isinstance(examples, list):
        raise SystemExit(f"{path}: expected a JSON array of sharegpt examples")
    if limit is not None:
        examples = examples[:limit]
    missing = [rel for ex in examples for rel in ex.get("images", []) if not (data_dir / rel).exists()]
    if missing:
        raise SystemExit(f"{path}: {len(missing)} image(s) not found under {data_dir}, first: {missing[0]}")
    return examples


# ---------------------------------------------------------------------------------------------------
# Dry run


def check_examples(path: Path | None, data_dir: Path, max_pixels: int) -> dict[str, Any]:
    """Counts per named problem (with the first example of each) and image/text sizes, without loading a model."""
    from PIL import Image

    if path is None or not path.exists():
        return {"file": str(path) if path else None, "examples": 0, "problems": {}, "first": {}}
    examples = read_json(path)
    problems: dict[str, int] = {}
    first: dict[str, str] = {}
    image_tokens: list[int] = []
    chars: list[int] = []

    def problem(kind: str, where: str) -> None:
        problems[kind] = problems.get(kind, 0) + 1
        first.setdefault(kind, where)

    for i, ex in enumerate(examples if isinstance(examples, list) else []):
        where = f"{path.name} example {i + 1}"
        try:
            system, user, assistant = sharegpt_turns(ex)
        except (KeyError, TypeError, ValueError):
            problem("no user or assistant turn", where)
            continue
        images = ex.get("images") or []
        if user.count("<image>") != len(images):
            problem("<image> placeholders differ from the images", where)
        if not images:
            problem("no image", where)
        try:
            reply = json.loads(assistant)
            if not isinstance(reply, dict) or not isinstance(reply.get("score"), int):
                raise ValueError
        except ValueError:
            problem("reply is not a JSON object with an integer score", where)
        chars.append(len(system or "") + len(user) + len(assistant))
        for rel in images:
            f = data_dir / rel
            if not f.exists():
                problem("image missing", f"{where}: {rel}")
                continue
            try:
                with Image.open(f) as im:
                    w, h = smart_resize(im.width, im.height, max_pixels=max_pixels)
                image_tokens.append(w * h // (28 * 28))
            except Exception:  # noqa: BLE001 - a problem to count, not a crash
                problem("image unreadable", f"{where}: {rel}")
    if not isinstance(examples, list):
        problem("not a JSON array of examples", str(path.name))
    return {
        "file": str(path),
        "examples": len(examples) if isinstance(examples, list) else 0,
        "problems": problems,
        "first": first,
        "image_tokens_mean": sum(image_tokens) / len(image_tokens) if image_tokens else None,
        "text_chars_mean": sum(chars) / len(chars) if chars else None,
    }


def base_model_size(base: str) -> dict[str, Any]:
    """Parameter counts of the base model, from its config.json on this machine (a folder, or the hub cache), or
    Qwen2-VL-2B-Instruct's published config for that id; built on torch's meta device (no memory, no weights)."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    source, cfg = None, None
    if Path(base).is_dir() and (Path(base) / "config.json").exists():
        cfg, source = Qwen2VLConfig.from_pretrained(base), "the folder's config.json"
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(base, "config.json")
            if isinstance(hit, str):
                cfg, source = Qwen2VLConfig.from_pretrained(str(Path(hit).parent)), "config.json in the Hugging Face cache"
        except Exception:  # noqa: BLE001 - not a hub id, or no cache: fall through
            cfg = None
        if cfg is None and base == QWEN2VL_2B_ID:
            cfg = Qwen2VLConfig(text_config=QWEN2VL_2B["text"], vision_config=QWEN2VL_2B["vision"],
                                **{k: v for k, v in QWEN2VL_2B.items() if k not in ("text", "vision")})
            source = "Qwen2-VL-2B-Instruct's published config (built in)"
    if cfg is None:
        return {"source": None, "cached": False}
    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration(cfg)
    vision = sum(p.numel() for p in model.model.visual.parameters())
    total = sum(p.numel() for p in model.parameters())
    tc = cfg.text_config
    return {
        "source": source,
        "cached": source != "Qwen2-VL-2B-Instruct's published config (built in)",
        "params": total,
        "vision_params": vision,
        "language_params": total - vision,
        "hidden_size": tc.hidden_size,
        "layers": tc.num_hidden_layers,
    }


def settings_summary(s: Settings) -> dict[str, Any]:
    """The resolved hyperparameters and LoRA settings, as the dry run and the ``start`` event report them."""
    return {
        "hyperparameters": {
            "learning_rate": s.learning_rate, "epochs": s.epochs, "max_steps": s.max_steps, "batch_size": s.batch_size,
            "grad_accum": s.grad_accum, "scheduler": s.scheduler, "warmup_ratio": s.warmup_ratio,
            "image_max_pixels": s.image_max_pixels, "cutoff_len": s.cutoff_len, "seed": s.seed,
            "eval_steps": s.eval_steps, "save_steps": s.save_steps, "gradient_checkpointing": s.gradient_checkpointing,
        },
        "lora": {"rank": s.lora_rank, "alpha": s.lora_alpha, "dropout": s.lora_dropout, "target": s.lora_target,
                 "modules": "language model only (vision tower and merger frozen)"},
    }


def plan(args: argparse.Namespace, s: Settings, backend: str, cfg_path: Path) -> dict[str, Any]:
    import torch

    train = check_examples(s.train_file, s.data_dir, s.image_max_pixels)
    val = check_examples(s.val_file, s.data_dir, s.image_max_pixels)
    n = train["examples"]
    micro = math.ceil(n / s.batch_size) if n else 0
    steps_per_epoch = math.ceil(micro / s.grad_accum) if micro else 0
    total = s.max_steps if s.max_steps else max(1, math.ceil(s.epochs * steps_per_epoch)) if steps_per_epoch else 0
    device = pick_device(args.device)
    resume = latest_checkpoint(s.output_dir)
    return {
        "backend": backend,
        "config": str(cfg_path) if cfg_path.exists() else None,
        "base_model": s.base_model,
        "base": base_model_size(s.base_model),
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else "CPU",
        "bf16": bool(device == "cuda" and s.bf16 and torch.cuda.is_bf16_supported()),
        "train": train,
        "val": val,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total,
        **settings_summary(s),
        "resume_from": str(resume) if resume else None,
    }


# ---------------------------------------------------------------------------------------------------
# Checkpoints


CKPT_RE = re.compile(r"^checkpoint-(\d+)$")


def latest_checkpoint(output_dir: Path) -> Path | None:
    if not output_dir.is_dir():
        return None
    found = []
    for d in output_dir.iterdir():
        m = CKPT_RE.match(d.name)
        if m and (d / "trainer_state.json").exists() and (d / "training_state.pt").exists():
            found.append((int(m.group(1)), d))
    return max(found)[1] if found else None


def rng_state() -> dict[str, Any]:
    import torch

    return {
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python_rng": random.getstate(),
    }


def save_checkpoint(model, optimizer, scheduler, state: dict[str, Any], s: Settings, rng: dict[str, Any] | None = None) -> Path:
    """checkpoint-<step>/ written under a temporary name and renamed, then old ones pruned.

    ``rng`` is the RNG state at the end of the last finished step (default: now), so a resumed run draws
    the same dropout masks as an uninterrupted one.
    """
    import torch

    step = state["global_step"]
    final = s.output_dir / f"checkpoint-{step}"
    tmp = s.output_dir / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            **(rng or rng_state()),
        },
        tmp / "training_state.pt",
    )
    write_json(tmp / "trainer_state.json", state)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    kept = sorted(
        (int(m.group(1)), d) for d in s.output_dir.iterdir() if (m := CKPT_RE.match(d.name))
    )
    for _, d in kept[: -s.save_total_limit]:
        shutil.rmtree(d, ignore_errors=True)
    return final


# ---------------------------------------------------------------------------------------------------
# Training


class StopFlag:
    """SIGINT/SIGTERM → stop at the next safe point; a second SIGINT raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.signal: int | None = None
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        log(f"received {signal.Signals(signum).name}: stopping after saving a checkpoint (Ctrl-C again to abort)")

    @property
    def set(self) -> bool:
        return self.signal is not None


def lr_lambda(kind: str, warmup: int, total: int):
    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup  # HF starts at 0; +1 so the first step already learns
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def token_loss_sum(model, batch: dict[str, Any], device: str):
    """(sum of reply-token cross-entropies, number of reply tokens) for one micro-batch."""
    import torch
    import torch.nn.functional as F

    inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    labels = batch["labels"].to(device)
    out = model(**inputs, use_cache=False)
    logits = out.logits[:, :-1, :].float()
    target = labels[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum")
    return loss, int((target != -100).sum())


def evaluate(model, encoder: Encoder, examples: list[dict[str, Any]], s: Settings, device: str) -> float | None:
    import torch

    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(examples), s.eval_batch_size):
            batch = encoder.collate([encoder.encode(ex) for ex in examples[i : i + s.eval_batch_size]])
            loss, n = token_loss_sum(model, batch, device)
            total += float(loss)
            count += n
    if was_training:
        model.train()
    return total / max(1, count)


def run_transformers(args: argparse.Namespace, s: Settings) -> int:
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration

    stop = StopFlag()
    set_threads(args.threads)
    device = pick_device(args.device)
    if args.dtype == "auto":
        dtype = "bf16" if (device == "cuda" and s.bf16 and torch.cuda.is_bf16_supported()) else "fp32"
    else:
        dtype = args.dtype
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    random.seed(s.seed)
    torch.manual_seed(s.seed)

    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(s.base_model)
    image_processor = AutoImageProcessor.from_pretrained(s.base_model)
    model = Qwen2VLForConditionalGeneration.from_pretrained(s.base_model, dtype=torch_dtype)
    model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    targets = "|".join(re.escape(t) for t in s.lora_target)
    lora = LoraConfig(
        r=s.lora_rank,
        lora_alpha=s.lora_alpha,
        lora_dropout=s.lora_dropout,
        # Only the language model's linear layers (the vision tower and merger stay frozen).
        target_modules=rf"^model\.language_model\.layers\.\d+\.(?:self_attn|mlp)\.(?:{targets})$",
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    if s.gradient_checkpointing:
        model.enable_input_require_grads()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    load_seconds = time.perf_counter() - t0

    encoder = Encoder(tokenizer, image_processor, model.base_model.model.config, s)
    train = load_examples(s.train_file, s.max_train_examples, s.data_dir)
    val = load_examples(s.val_file, s.max_val_examples, s.data_dir) if s.val_file and s.val_file.exists() else []
    if not train:
        raise SystemExit(f"{s.train_file}: no training examples")
    micro_per_epoch = math.ceil(len(train) / s.batch_size)
    steps_per_epoch = math.ceil(micro_per_epoch / s.grad_accum)
    total_steps = s.max_steps if s.max_steps else max(1, math.ceil(s.epochs * steps_per_epoch))
    warmup = math.ceil(s.warmup_ratio * total_steps)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=s.learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(s.scheduler, warmup, total_steps))

    state: dict[str, Any] = {
        "global_step": 0,
        "total_steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "base_model": s.base_model,
        "seed": s.seed,
        "log_history": [],
        "train_seconds": 0.0,
    }
    resumed_from = None
    ckpt = args.resume_from or (latest_checkpoint(s.output_dir) if args.resume else None)
    if args.resume_from and not (args.resume_from / "trainer_state.json").exists():
        raise SystemExit(f"--resume-from {args.resume_from}: not a checkpoint folder (no trainer_state.json)")
    if ckpt:
        prev = read_json(ckpt / "trainer_state.json")
        if prev.get("total_steps") != total_steps or prev.get("steps_per_epoch") != steps_per_epoch:
            log(f"note: the checkpoint planned {prev.get('total_steps')} steps, this run plans {total_steps}")
        set_peft_model_state_dict(model, load_file(str(ckpt / "adapter_model.safetensors")))
        blob = torch.load(ckpt / "training_state.pt", weights_only=False)
        optimizer.load_state_dict(blob["optimizer"])
        scheduler.load_state_dict(blob["scheduler"])
        torch.set_rng_state(blob["torch_rng"])
        if blob.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(blob["cuda_rng"])
        random.setstate(blob["python_rng"])
        state.update({k: prev[k] for k in ("global_step", "log_history", "train_seconds") if k in prev})
        state["total_steps"] = total_steps
        resumed_from = str(ckpt)
    elif args.resume:
        log(f"--resume: no checkpoint in {s.output_dir}; starting from step 0")

    s.output_dir.mkdir(parents=True, exist_ok=True)
    import peft
    import transformers

    emit(
        "start",
        backend="transformers",
        base_model=s.base_model,
        device=device,
        device_name=torch.cuda.get_device_name(0) if device == "cuda" else f"CPU, {torch.get_num_threads()} torch threads",
        versions={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        dtype=dtype,
        total=total_steps,
        step=state["global_step"],
        steps_per_epoch=steps_per_epoch,
        train_examples=len(train),
        val_examples=len(val),
        batch_size=s.batch_size,
        grad_accum=s.grad_accum,
        learning_rate=s.learning_rate,
        trainable_params=trainable,
        **settings_summary(s),
        load_seconds=round(load_seconds, 2),
        resumed_from=resumed_from,
        output_dir=s.output_dir,
    )

    def order(epoch: int) -> list[int]:
        g = torch.Generator().manual_seed(s.seed + epoch)
        return torch.randperm(len(train), generator=g).tolist()

    last_saved = state["global_step"] if resumed_from else -1
    eval_loss = None
    truncated_seen = 0
    rng_at_end = rng_state()
    while state["global_step"] < total_steps and not stop.set:
        step = state["global_step"]
        epoch, k = divmod(step, steps_per_epoch)
        perm = order(epoch)
        micro = [perm[i : i + s.batch_size] for i in range(0, len(perm), s.batch_size)]
        chunk = micro[k * s.grad_accum : (k + 1) * s.grad_accum]
        t_step = time.perf_counter()
        encoded = [[encoder.encode(train[i]) for i in mb] for mb in chunk]
        truncated_seen += sum(e["truncated"] for mb in encoded for e in mb)
        n_tokens = sum(int((e["labels"][1:] != -100).sum()) for mb in encoded for e in mb)
        optimizer.zero_grad(set_to_none=True)
        loss_total = 0.0
        for mb in encoded:
            if stop.set:
                break
            loss_sum, _ = token_loss_sum(model, encoder.collate(mb), device)
            (loss_sum / max(1, n_tokens)).backward()
            loss_total += float(loss_sum.detach())
        if stop.set:
            optimizer.zero_grad(set_to_none=True)  # the unfinished step is dropped; resume redoes it
            break
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        lr_used = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        state["global_step"] = step = step + 1
        seconds = time.perf_counter() - t_step
        state["train_seconds"] += seconds
        loss = loss_total / max(1, n_tokens)
        record: dict[str, Any] = {
            "step": step,
            "total": total_steps,
            "epoch": round(step / steps_per_epoch, 4),
            "loss": round(loss, 6),
            "lr": lr_used,
            "seconds": round(seconds, 3),
        }
        is_last = step == total_steps
        if val and ((s.eval_steps and step % s.eval_steps == 0) or is_last):
            eval_loss = evaluate(model, encoder, val, s, device)
            record["eval_loss"] = round(eval_loss, 6)
        state["log_history"].append(record)
        emit("step", **record)
        if "eval_loss" in record:
            emit("eval", step=step, total=total_steps, eval_loss=record["eval_loss"])
        if (s.save_steps and step % s.save_steps == 0) or is_last:
            path = save_checkpoint(model, optimizer, scheduler, state, s)
            last_saved = step
            emit("checkpoint", step=step, path=path)
        # The RNG state a checkpoint of this (last finished) step must hold; an interrupted next step
        # consumes random numbers (dropout) that a resumed run must draw again.
        rng_at_end = rng_state()
        if args.stop_after_step is not None and step >= args.stop_after_step and step < total_steps:
            stop.signal = signal.SIGINT

    if stop.set:
        path = None
        if last_saved != state["global_step"] and state["global_step"] > 0:
            path = save_checkpoint(model, optimizer, scheduler, state, s, rng=rng_at_end)
        elif state["global_step"] > 0:
            path = s.output_dir / f"checkpoint-{state['global_step']}"
        emit("interrupted", step=state["global_step"], total=total_steps, checkpoint=path,
             signal=signal.Signals(stop.signal).name)
        return INTERRUPTED_EXIT

    # Final adapter in the output folder itself (what merge_lora.py and LLaMA-Factory's export read).
    model.save_pretrained(s.output_dir)
    losses = [r["loss"] for r in state["log_history"]]
    results = {
        "base_model": s.base_model,
        "image_max_pixels": s.image_max_pixels,  # merge_lora.py carries it into the merged preprocessor config
        "steps": state["global_step"],
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "eval_loss": eval_loss,
        "train_seconds": round(state["train_seconds"], 3),
        "truncated_examples": truncated_seen,
        "log_history": state["log_history"],
    }
    write_json(s.output_dir / "train_results.json", results)
    emit("done", backend="transformers", adapter_dir=s.output_dir, **{k: v for k, v in results.items() if k != "log_history"})
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    s, _cfg, cfg_path = resolve_settings(args)
    backend = args.backend
    if backend == "auto":
        backend = "llamafactory" if shutil.which("llamafactory-cli") else "transformers"
    if args.print_command:
        print(json.dumps({"backend": "llamafactory", "cwd": str(s.data_dir), "command": llamafactory_command(args, s, cfg_path)}))
        return 0
    if args.plan:
        emit("plan", **plan(args, s, backend, cfg_path))
        return 0
    try:
        if backend == "llamafactory":
            return run_llamafactory(llamafactory_command(args, s, cfg_path), s)
        return run_transformers(args, s)
    except KeyboardInterrupt:
        emit("error", message="aborted (second interrupt): no checkpoint was written for the current step")
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    run_script(main)
