"""The frozen-space interface every embedding space implements, and the registry that names them.

A space turns texts (and, for CLIP, images) into fixed vectors that the MotionCLIP encoder learns to hit with a
cosine loss. Embeddings are returned raw, i.e. *not* normalised (CLIP's own features, as MotionCLIP uses them), as
float32 CPU tensors `(N, D)`; pass `normalize=True` for unit vectors.

Adding a space is one small class:

    @register_space("my-space")
    class MySpace(Space):
        dim, has_images = 384, False
        def __init__(self, weights=None, device="cpu", verbose=True): ...
        def _encode_text(self, texts): ...   # list[str] (already validated) → (N, D) float32
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import numpy as np
import torch

# name → Space subclass, filled by @register_space at import of mcl.spaces
SPACES: dict[str, type["Space"]] = {}


class SpaceUnavailable(RuntimeError):
    """A space cannot be built on this machine (weights missing, download failed). The message says what to do."""


def register_space(name: str) -> Callable[[type["Space"]], type["Space"]]:
    """Class decorator: make a `Space` subclass buildable as `get_space(name)` and listed by `mcl spaces`.

    Example: `@register_space("mpnet") class MPNet(SentenceTransformerSpace): default_model = "/models/mpnet"`.
    """
    def wrap(cls: type[Space]) -> type[Space]:
        if name in SPACES and SPACES[name] is not cls:
            raise ValueError(f"space name {name!r} is already registered by {SPACES[name].__qualname__}")
        cls.registry_name = name
        SPACES[name] = cls
        return cls
    return wrap


def check_texts(texts) -> list[str]:
    """Validate prompts: a list of non-empty strings. Raises `ValueError` naming the index of a bad prompt.

    Example: `check_texts(["a person walks"])` → `["a person walks"]`; `check_texts(["ok", " "])` raises.
    """
    if isinstance(texts, str):
        raise TypeError(f"texts must be a list of strings, got a single string {texts[:60]!r}; wrap it: [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"prompt {i} is a {type(t).__name__} ({t!r}), expected a string")
        if not t.strip():
            raise ValueError(f"prompt {i} is empty or whitespace-only ({t!r}); every text needs some words")
    return texts


def _l2(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class Space(ABC):
    """A frozen embedding space. Attributes: `name` (unique, with a weights fingerprint: the cache key),
    `dim`, `has_images`.

    Example: `s = get_space("minilm"); s.encode_text(["a person walks"]).shape == (1, 384)`.
    """
    registry_name: str = ""
    name: str
    dim: int
    has_images: bool = False

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """`(available, why)` on this machine, without building the model (no download, no heavy import)."""
        return True, ""

    # -- text ---------------------------------------------------------------------------------------------------------
    def encode_text(self, texts: list[str], normalize: bool = False) -> torch.Tensor:
        """`list[str]` (N) → `(N, D)` float32 CPU. Empty/whitespace prompts raise `ValueError` naming their index.

        Example: `space.encode_text(["a person walks", "a person jumps"]).shape == (2, space.dim)`.
        """
        texts = check_texts(texts)
        if not texts:
            return torch.zeros(0, self.dim)
        out = self._encode_text(texts).detach().float().cpu()
        return _l2(out) if normalize else out

    @abstractmethod
    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        """Validated, non-empty `list[str]` → `(N, D)`."""

    # -- images -------------------------------------------------------------------------------------------------------
    def encode_image(self, images, normalize: bool = False) -> torch.Tensor:
        """uint8 `(N, H, W, 3)` array or a list of PIL images / `(H, W, 3)` arrays → `(N, D)` float32 CPU.

        Raises `TypeError` on a text-only space. Example: `space.encode_image(np.zeros((2, 240, 320, 3), np.uint8))`.
        """
        if not self.has_images:
            raise TypeError(
                f"space {self.name!r} is text-only and cannot encode images; use a space with images "
                f"(clip-vit-b32, see `mcl spaces`) or turn the image loss off")
        arrays = as_image_list(images)
        if not arrays:
            return torch.zeros(0, self.dim)
        out = self._encode_image(arrays).detach().float().cpu()
        return _l2(out) if normalize else out

    def _encode_image(self, images: list[np.ndarray]) -> torch.Tensor:
        """`list` of uint8 `(H, W, 3)` RGB arrays → `(N, D)`. Only spaces with `has_images` implement it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, has_images={self.has_images})"


def as_image_list(images) -> list[np.ndarray]:
    """Normalise image input to a list of uint8 RGB `(H, W, 3)` arrays.

    Accepts a uint8 array `(N, H, W, 3)` or a list of PIL images / uint8 `(H, W, 3)` arrays.
    Example: `as_image_list(np.zeros((2, 8, 8, 3), np.uint8))[0].shape == (8, 8, 3)`.
    """
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images array has shape {images.shape}, expected (N, H, W, 3) RGB")
        images = list(images)
    out = []
    for i, im in enumerate(images):
        if hasattr(im, "convert") and hasattr(im, "size"):  # PIL image
            im = np.asarray(im.convert("RGB"))
        im = np.asarray(im)
        if im.ndim != 3 or im.shape[-1] != 3:
            raise ValueError(f"image {i} has shape {im.shape}, expected (H, W, 3) RGB")
        if im.dtype != np.uint8:
            raise ValueError(f"image {i} has dtype {im.dtype}, expected uint8 (0–255); convert with "
                             f"(img * 255).round().astype(np.uint8) if it is in [0, 1]")
        if min(im.shape[:2]) < 1:
            raise ValueError(f"image {i} is empty (shape {im.shape})")
        out.append(np.ascontiguousarray(im))
    return out


def display_path(path: str | os.PathLike) -> str:
    """How a path is shown to people (and in executed notebooks, which carry no path of this machine): a file of an
    installed package as that package, a file under the home directory with `~`, anything else as it is.
    Example: `display_path(Path.home() / ".cache/clip/ViT-B-32.pt")` → `"~/.cache/clip/ViT-B-32.pt"`."""
    p = Path(path).expanduser()
    parts = p.parts
    if "site-packages" in parts and parts.index("site-packages") + 1 < len(parts):
        return f"the installed package {parts[parts.index('site-packages') + 1]}"
    try:
        return str(Path("~") / p.relative_to(Path.home()))
    except ValueError:
        return str(path)
