"""Spaces by name: `get_space("minilm")`, `get_space("auto")` (CLIP ViT-B/32 when its weights are here, else MiniLM).

Apart from `base` so that the interface does not import the spaces built on it (`auto` → `clip_loader` → … → `base`).
"""
from __future__ import annotations

from . import auto
from .base import SPACES, Space


def get_space(name: str = "auto", weights=None, device: str = "cpu", verbose: bool = True) -> Space:
    """Build a frozen embedding space by name: `clip-vit-b32`, `minilm`, `random-clip`, or `auto`.

    `auto` picks CLIP ViT-B/32 when its weights are on this machine (never downloads), else MiniLM, and prints one
    line saying which and why. `weights`: a CLIP checkpoint path / a sentence-transformers directory.
    Example: `space = get_space("auto"); z = space.encode_text(["a person walks"])`.
    """
    if name == "auto":
        return auto.auto_space(weights=weights, device=device, verbose=verbose)
    if name not in SPACES:
        raise ValueError(f"unknown space {name!r}; choose one of {sorted(SPACES) + ['auto']} (see `mcl spaces`)")
    return SPACES[name](weights=weights, device=device, verbose=verbose)


def available_spaces() -> list[tuple[str, bool, str]]:
    """`[(name, available, why), ...]` for every registered space on this machine. Builds nothing.

    Example: `dict((n, ok) for n, ok, _ in available_spaces())["minilm"]` is True where the package is installed.
    """
    return [(name, *cls.availability()) for name, cls in SPACES.items()]
