"""Checks for numbers a user types: one rule per kind of value, used where values are parsed (CLI flags through
argparse `type=` functions, `TrainConfig`/`ModelConfig`/`LossConfig` fields, run configs read from JSON), plus
the size estimate that refuses a model the machine cannot hold before it is built.

Example: `check_number("epochs", 0, kind="count")` raises `ValueError("epochs=0: expected a whole number ≥ 1")`;
`p.add_argument("--epochs", type=count)` makes argparse say the same.
"""
from __future__ import annotations

import argparse
import math
import os

# kind → (test, what is expected); "count": ≥ 1, "index": ≥ 0, "positive": > 0 finite, "nonneg": ≥ 0 finite,
# "finite": any finite number, "fraction": 0 ≤ x < 1, "unit": 0 ≤ x ≤ 1
_RULES = {
    "count": (lambda v: v >= 1, "a whole number ≥ 1"),
    "index": (lambda v: v >= 0, "a whole number ≥ 0"),
    "positive": (lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    "nonneg": (lambda v: math.isfinite(v) and v >= 0, "a finite number ≥ 0"),
    "finite": (lambda v: math.isfinite(v), "a finite number"),
    "fraction": (lambda v: math.isfinite(v) and 0 <= v < 1, "a number in [0, 1)"),
    "unit": (lambda v: math.isfinite(v) and 0 <= v <= 1, "a number in [0, 1]"),
}
_INTEGER_KINDS = ("count", "index")


def check_number(name: str, value, kind: str, optional: bool = False) -> None:
    """Raise a ValueError naming `name` and `value` unless `value` is a number of `kind` (see `_RULES`); `None` is
    allowed when `optional`. A bool, a string or a list where a number belongs is refused, not coerced.

    Example: `check_number("model.n_heads", 0, "count")` → `ValueError: model.n_heads=0: expected a whole number ≥ 1`.
    """
    if value is None and optional:
        return
    test, expected = _RULES[kind]
    integer = kind in _INTEGER_KINDS
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{name}={value!r}: expected {expected}, got a {type(value).__name__}"
                         + (" (or leave it unset)" if optional else ""))
    if not test(value):
        raise ValueError(f"{name}={value!r}: expected {expected}" + (" (or leave it unset)" if optional else ""))


def _argparse_type(kind: str, convert):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        test, expected = _RULES[kind]
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}")
        return value
    parse.__name__ = kind  # argparse names the type in its messages
    return parse


# argparse `type=` functions: `p.add_argument("--epochs", type=count)`
count = _argparse_type("count", int)
index = _argparse_type("index", int)
positive = _argparse_type("positive", float)
nonneg = _argparse_type("nonneg", float)
finite = _argparse_type("finite", float)
fraction = _argparse_type("fraction", float)
unit = _argparse_type("unit", float)


# --- what a model costs ---------------------------------------------------------------------------------------------
def model_parameters(n_layers: int, d_model: int, d_ff: int, latent_dim: int | None = None,
                     n_features: int = 150) -> int:
    """Parameters of `MotionCLIP` from its sizes, without building it (encoder + decoder layers, input/output maps).

    Example: `model_parameters(8, 512, 1024)` ≈ 21 million (the paper's model).
    """
    d, f = d_model, d_ff
    enc_layer = 4 * d * d + 4 * d + 2 * d * f + d + f + 4 * d       # self-attention, feed-forward, 2 norms
    dec_layer = enc_layer + 4 * d * d + 4 * d + 2 * d               # + cross-attention and its norm
    io = 2 * (n_features * d + d) + d                               # motion in/out, query token
    proj = 2 * (d * latent_dim + latent_dim) if latent_dim and latent_dim != d else 0
    return n_layers * (enc_layer + dec_layer) + io + proj


def available_memory(device: str = "cpu") -> int:
    """Bytes this process may use on `device`: free GPU memory on CUDA, else the machine's RAM."""
    if str(device).startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.mem_get_info()[0])
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def check_model_fits(model_cfg, batch_size: int = 1, frames: int = 60, device: str = "cpu",
                     where: str = "the config", training: bool = True) -> int:
    """Raise a ValueError with the estimate when the model (and, training, its gradients, AdamW state and the
    activations of one batch) would not fit in `device`'s memory; return the parameter count.

    Example: `check_model_fits(ModelConfig(n_layers=1_000_000))` → `ValueError: … ≈ 12.6e12 parameters …`.
    """
    c = model_cfg
    params = model_parameters(c.n_layers, c.d_model, c.d_ff, c.latent_dim)
    # weights (+ grads + two AdamW moments when training) in float32; activations ≈ 16 tensors of (B, T+1, d) and the
    # attention maps per layer, kept for the backward pass
    states = 4 if training else 1
    act = c.n_layers * 2 * batch_size * (frames + 1) * (16 * c.d_model + 2 * c.n_heads * (frames + 1)) if training else 0
    need = 4 * (states * params + act)
    have = available_memory(device)
    if need > have:
        raise ValueError(f"model too large for this machine ({where}: n_layers={c.n_layers}, d_model={c.d_model}, "
                         f"d_ff={c.d_ff}): ≈ {params / 1e6:,.1f} M parameters, ≈ {need / 2**30:,.1f} GiB to "
                         f"{'train' if training else 'load'}, but {device} has {have / 2**30:,.1f} GiB; use fewer or "
                         f"smaller layers")
    return params
