"""Frozen embedding spaces: CLIP ViT-B/32 (text + image), MiniLM (offline text), seeded random CLIP (tests), `auto`.

    from mcl.spaces import get_space, CachedSpace
    space = CachedSpace(get_space("auto"))          # prints which space and why
    z = space.encode_text(["a person walks"])        # (1, D) float32, raw (not normalised)
"""
from __future__ import annotations

from .base import SPACES, Space, SpaceUnavailable, check_texts, register_space
from .cache import CachedSpace

# Importing the modules registers their spaces; heavy imports (sentence-transformers, CLIP) happen on first build.
from .clip_vit import ClipModelSpace, ClipSpace  # noqa: E402
from .minilm import MiniLMSpace, SentenceTransformerSpace  # noqa: E402
from .random_clip import RandomClipSpace  # noqa: E402
from .registry import available_spaces, get_space

__all__ = ["Space", "SpaceUnavailable", "get_space", "available_spaces", "register_space", "check_texts", "SPACES",
           "CachedSpace", "ClipModelSpace", "ClipSpace", "MiniLMSpace", "SentenceTransformerSpace", "RandomClipSpace"]
