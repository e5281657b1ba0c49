"""A tiny deterministic stand-in for a frozen space (tests only): hash-seeded random unit vectors."""
from __future__ import annotations

import hashlib

import numpy as np
import torch


class FakeSpace:
    """`encode_text` maps each string to a fixed random unit vector seeded by its hash; counts calls."""
    registry_name = "fake"

    def __init__(self, dim: int = 16, has_images: bool = False):
        self.name, self.dim, self.has_images = f"fake-{dim}", dim, has_images
        self.encoded: list[str] = []

    def _vec(self, key: str) -> torch.Tensor:
        seed = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).normal(size=self.dim)
        return torch.from_numpy(v / np.linalg.norm(v)).float()

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        self.encoded += list(texts)
        return torch.stack([self._vec(t) for t in texts])

    def encode_image(self, images) -> torch.Tensor:
        return torch.stack([self._vec(hashlib.sha1(np.asarray(im).tobytes()).hexdigest()) for im in images])
