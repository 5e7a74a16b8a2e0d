"""Shared pieces of streetsafe's Qwen2-VL Python tools (train, merge, export, parity), one job per script.

The scripts run in the project's own environment (``.venv/``, python/requirements-train.txt), started by the
Node side (lib/src/finetune/local/, lib/src/models/qwen2vl/check/), which reads their JSON lines on stdout.

Everything here mirrors a contract the Node side already has, so the two stay in step:

- ``smart_resize`` is ``qwen2vlImageSize`` in lib/src/models/qwen2vl/image-size.ts (Qwen's smart_resize: both
  sides multiples of 28, pixels within [min_pixels, max_pixels]; JavaScript's rounding); images are resized
  once, here, and the processor's own resize is switched off, exactly as the Node model does.
- ``QWEN2VL_CHAT_TEMPLATE`` is Qwen2-VL-Instruct's chat template (the one in its chat_template.json).
- ``render_prompt`` writes the text that LLaMA-Factory's ``qwen2_vl`` template produces for a streetsafe
  sharegpt example (system turn, user turn with ``<image>`` then the user prompt, the generation prompt); it
  is the same text the chat template renders for the messages the Node model sends.
- ``emit`` prints one JSON object per line on stdout (the Node side reads progress from there); human
  logs go to stderr.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

# Qwen2-VL's special tokens, in Qwen2's id order (151643.. in the real vocabulary).
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
IMAGE_PLACEHOLDER = "<image>"  # LLaMA-Factory's placeholder in the sharegpt files
IMAGE_PAD = "<|image_pad|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
DEFAULT_SYSTEM = "You are a helpful assistant."

# Qwen2-VL-Instruct's chat template (same markers and layout as its chat_template.json).
QWEN2VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# The fine-tuning files' default (lib/src/prepare/qwen-data.ts DEFAULT_IMAGE_MAX_PIXELS) and Qwen's minimum.
DEFAULT_IMAGE_MAX_PIXELS = 262_144
DEFAULT_IMAGE_MIN_PIXELS = 56 * 56
PATCH_SIZE = 14
MERGE_SIZE = 2


# Qwen/Qwen2-VL-2B-Instruct's config.json (hub), the values that shape compute: the dry run's estimate for that
# base model when its config is not on this machine, and bench_2b_step.py's architecture.
QWEN2VL_2B = dict(
    text=dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
              num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
              rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24], "rope_theta": 1_000_000.0},
              bos_token_id=151643, eos_token_id=151645, use_sliding_window=False, max_window_layers=28),
    vision=dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4, in_channels=3,
                patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
    image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
    tie_word_embeddings=True,
)
# Token counts of streetsafe's prompt (cl100k_base as a proxy for Qwen2's BPE: 193 system, 23 user,
# replies 19 on average, 25 at most) plus the chat template's markers.
SYSTEM_TOKENS, USER_TOKENS, REPLY_TOKENS, TEMPLATE_TOKENS = 193, 23, 25, 14
QWEN2VL_2B_ID = "Qwen/Qwen2-VL-2B-Instruct"


# ---------------------------------------------------------------------------------------------------
# Parent watch: started by the Node side (STREETSAFE_PARENT_WATCH=1, stdin a pipe it keeps open), a script stops as
# on Ctrl-C when that process dies and the pipe closes, so no job runs on orphaned.


def _watch_parent() -> None:
    import signal
    import threading

    def wait_for_eof() -> None:
        try:  # the raw descriptor: a buffered reader's lock would block the interpreter's shutdown
            while os.read(0, 65536):
                pass
        except OSError:
            pass
        log("the streetsafe process that started this job is gone: stopping")
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


if os.environ.get("STREETSAFE_PARENT_WATCH") == "1":
    _watch_parent()


# ---------------------------------------------------------------------------------------------------
# Output


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout: {"event": ..., ...}. Flushed at once so a parent process sees progress."""
    record = {"event": event, **fields}
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=_json_default) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """A human-readable line on stderr (never mixed into the JSON lines)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def run_script(main: Callable[[], int]) -> None:
    """Run a script's ``main`` and exit with its status. ``SystemExit("message")`` and any other failure
    become one ``{"event": "error", "message": ...}`` line (the traceback goes to stderr) and exit status 1,
    so the Node side always has a reason to show."""
    try:
        code = main()
    except SystemExit as e:
        if isinstance(e.code, str):
            emit("error", message=e.code)
            sys.exit(1)
        raise
    except KeyboardInterrupt:
        emit("error", message="interrupted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        traceback.print_exc()
        emit("error", message=f"{type(e).__name__}: {e}")
        sys.exit(1)
    sys.exit(code or 0)


class Timer:
    """Wall time of a stage: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


# ---------------------------------------------------------------------------------------------------
# Files


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file through a temporary name beside it, then rename (readers never see half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def replace_folder(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` at ``out``: the old one (if any) is renamed aside, the new one renamed in,
    then the old one removed. Readers see the old folder or the new one, never a mix."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path: Path, value: Any) -> None:
    atomic_write_text(Path(path), json.dumps(value, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------------
# Images


def smart_resize(
    width: int,
    height: int,
    *,
    min_pixels: int = DEFAULT_IMAGE_MIN_PIXELS,
    max_pixels: int = DEFAULT_IMAGE_MAX_PIXELS,
    factor: int = PATCH_SIZE * MERGE_SIZE,
) -> tuple[int, int]:
    """(width, height) Qwen2-VL resizes an image to; same rule and rounding as qwen2vlImageSize (TS)."""
    if not (width > 0 and height > 0):
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(width, height) / min(width, height) > 200:
        raise ValueError(f"aspect ratio {width}x{height} is beyond Qwen2-VL's limit of 200")
    h = max(factor, _round_like_js(height / factor) * factor)
    w = max(factor, _round_like_js(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return w, h


def _round_like_js(x: float) -> int:
    """JavaScript's Math.round (halves go up), which the TS side uses; Python's round() is banker's."""
    return math.floor(x + 0.5)


def load_image(path: Path | str, *, max_pixels: int, min_pixels: int = DEFAULT_IMAGE_MIN_PIXELS):
    """An RGB PIL image resized (bicubic) to its smart_resize size; a no-op when it already has that size."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        target = smart_resize(im.width, im.height, min_pixels=min_pixels, max_pixels=max_pixels)
        if (im.width, im.height) != target:
            im = im.resize(target, Image.Resampling.BICUBIC)
        else:
            im = im.copy()
    return im


def image_token_count(grid_thw: Iterable[int], merge_size: int = MERGE_SIZE) -> int:
    t, h, w = (int(v) for v in grid_thw)
    return t * h * w // (merge_size * merge_size)


# ---------------------------------------------------------------------------------------------------
# Prompts


def render_prompt(system: str | None, user: str, image_token_counts: list[int]) -> str:
    """The prompt text up to and including the generation prompt, image placeholders expanded.

    ``user`` holds one ``<image>`` per image (LLaMA-Factory's convention); each becomes
    ``<|vision_start|>`` + n × ``<|image_pad|>`` + ``<|vision_end|>``. A missing system prompt becomes Qwen's
    default one, as both LLaMA-Factory's template and the chat template do.
    """
    if user.count(IMAGE_PLACEHOLDER) != len(image_token_counts):
        raise ValueError(
            f"the user turn has {user.count(IMAGE_PLACEHOLDER)} {IMAGE_PLACEHOLDER} placeholders "
            f"for {len(image_token_counts)} images"
        )
    text = user
    for n in image_token_counts:
        text = text.replace(IMAGE_PLACEHOLDER, VISION_START + IMAGE_PAD * n + VISION_END, 1)
    sys_text = DEFAULT_SYSTEM if system is None else system
    return (
        f"{IM_START}system\n{sys_text}{IM_END}\n"
        f"{IM_START}user\n{text}{IM_END}\n"
        f"{IM_START}assistant\n"
    )


def chat_messages(system: str | None, user: str) -> list[dict[str, Any]]:
    """The messages the Node model sends (images where the ``<image>`` placeholders are)."""
    parts: list[dict[str, Any]] = []
    pieces = user.split(IMAGE_PLACEHOLDER)
    for i, piece in enumerate(pieces):
        if i > 0:
            parts.append({"type": "image"})
        if piece:
            parts.append({"type": "text", "text": piece})
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": parts})
    return messages


def sharegpt_turns(example: dict[str, Any]) -> tuple[str | None, str, str]:
    """(system, user, assistant) of a streetsafe sharegpt example (one user and one assistant turn)."""
    system = None
    user = assistant = None
    for m in example["messages"]:
        role, content = m["role"], m["content"]
        if role == "system":
            system = content
        elif role == "user" and user is None:
            user = content
        elif role == "assistant" and assistant is None:
            assistant = content
    if user is None or assistant is None:
        raise ValueError("a sharegpt example needs a user and an assistant message")
    return system, user, assistant


# ---------------------------------------------------------------------------------------------------
# Torch helpers (imported lazily so the module loads without torch)


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    return requested


def set_threads(n: int | None) -> None:
    import torch

    if n:
        torch.set_num_threads(n)
