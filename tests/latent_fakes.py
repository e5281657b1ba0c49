"""Test doubles for the latent toolkit: a hash-seeded text space and a tiny randomly initialised MotionCLIP.

The space maps each text to a fixed random unit vector seeded by a hash of the text, so equal texts give equal
embeddings and different texts nearly orthogonal ones — enough to test arithmetic and ranking, nothing semantic.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch


class HashSpace:
    """`encode_text(list[str]) → (N, dim)` unit vectors seeded by sha256(text)."""

    has_images = False

    def __init__(self, dim: int = 16):
        self.dim = dim
        self.name = f"hash-{dim}"

    def encode_text(self, texts, normalize: bool = False) -> torch.Tensor:
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            out.append(v / np.linalg.norm(v))
        return torch.tensor(np.array(out), dtype=torch.float32)


@dataclass
class FakeLoaded:
    """What `mcl.training.checkpoint.load` returns, minus the run dir: `.model` (eval), `.space`, `.config`."""
    model: torch.nn.Module
    space: HashSpace
    config: object = None
    run_dir: Path | None = None
    data_spec: str = "synthetic"
    extra: dict = field(default_factory=dict)


def tiny_loaded(dim: int = 16, seed: int = 0) -> FakeLoaded:
    """A randomly initialised 1-layer MotionCLIP (d 32) in eval mode with a `dim`-d hash space."""
    from mcl.training.config import ModelConfig
    from mcl.model import MotionCLIP

    torch.manual_seed(seed)
    model = MotionCLIP(ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=dim)).eval()
    return FakeLoaded(model, HashSpace(dim))
