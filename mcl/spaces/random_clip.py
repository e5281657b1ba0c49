"""`random-clip`: the CLIP ViT-B/32 architecture with seeded random weights, for plumbing tests of the image path.

Its embeddings are MEANINGLESS: shapes, dtypes, speed and the code path are real, the geometry is noise. It is
never chosen by `auto`, its name always starts with `random-clip`, and every line it logs says so.
"""
from __future__ import annotations

import torch

import hashlib
import json

from .base import register_space
from .clip_loader import VIT_B32, clip_modules
from .clip_vit import ClipModelSpace

# A small CLIP for fast round-trip tests (same tokenizer and vocabulary; 1 head of width 64 on both towers,
# since `build_model` infers text heads as width // 64).
TINY = dict(embed_dim=32, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=16,
            context_length=77, vocab_size=49408, transformer_width=64, transformer_heads=1, transformer_layers=2)

MEANINGLESS = "random weights, embeddings are MEANINGLESS (plumbing tests only)"


def random_clip_model(seed: int = 0, config: dict = VIT_B32) -> torch.nn.Module:
    """A `clip.model.CLIP` with CLIP's own initialisation under `torch.manual_seed(seed)`; float32, eval.

    The global RNG is restored afterwards. Example: `random_clip_model(0, TINY).encode_text(tokens)`.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = clip_modules().model.CLIP(**config)
    return model.float().eval().requires_grad_(False)


@register_space("random-clip")
class RandomClipSpace(ClipModelSpace):
    """ViT-B/32-shaped CLIP with seeded random weights (512-d, text + image). `name = random-clip@seed<seed>`.

    `config=TINY` gives a 32-d miniature (`random-clip-tiny@seed<seed>`) for fast tests.
    Example: `RandomClipSpace(seed=0).encode_image(np.zeros((1, 224, 224, 3), np.uint8)).shape == (1, 512)`.
    """
    dim, has_images = 512, True

    def __init__(self, weights=None, device: str = "cpu", verbose: bool = True, seed: int = 0,
                 config: dict = VIT_B32):
        if weights is not None:
            raise ValueError("random-clip takes no weights (it is random by design); use "
                             "get_space('clip-vit-b32', weights=...) for a real checkpoint")
        tag = ("random-clip" if config == VIT_B32 else "random-clip-tiny" if config == TINY else
               "random-clip-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8])
        super().__init__(random_clip_model(seed, config), name=f"{tag}@seed{seed}", device=device, verbose=verbose)
        if verbose:
            print(f"{self.name}: CLIP architecture with seeded {MEANINGLESS}")

    def _batches(self, n, size, what):
        return super()._batches(n, size, f"{what} ({MEANINGLESS})")

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return True, f"always; {MEANINGLESS}"
