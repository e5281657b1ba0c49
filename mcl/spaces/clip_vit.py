"""CLIP ViT-B/32, the paper's frozen space: text and image encoders of OpenAI's checkpoint, float32 on `device`.

`ClipModelSpace` wraps any built `clip.model.CLIP` (tokenize, batch, encode); `ClipSpace` is the registered
`clip-vit-b32` space that loads the real weights (see `clip_loader` for where they come from).
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
from tqdm.auto import tqdm

from .base import Space, register_space
from .clip_loader import (ENV_VAR, VIT_B32, build_clip, check_official, clip_architecture, clip_modules,
                          find_local_clip_weights, load_clip_state_dict, resolve_clip_weights)
from .fingerprint import file_sha256
from .preprocess import clip_preprocess

SOT, EOT = 49406, 49407  # <|startoftext|>, <|endoftext|>


@lru_cache(maxsize=1)
def _tokenizer():
    return clip_modules().simple_tokenizer.SimpleTokenizer()


def tokenize(texts: list[str], context_length: int = 77) -> torch.Tensor:
    """CLIP BPE ids `(N, context_length)` int64: SOT, tokens, EOT, zero padding, like `clip.tokenize`.

    Prompts longer than the context are cut (EOT kept last) with a warning naming the prompt.
    Example: `tokenize(["a person walking"])[0, :5].tolist() == [49406, 320, 2533, 3941, 49407]`.
    """
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [SOT] + _tokenizer().encode(text) + [EOT]
        if len(ids) > context_length:
            warnings.warn(f"prompt {i} ({text[:80]!r}{'…' if len(text) > 80 else ''}) has {len(ids)} CLIP tokens, "
                          f"more than the context of {context_length}; truncated", stacklevel=3)
            ids = ids[:context_length - 1] + [EOT]
        out[i, :len(ids)] = torch.tensor(ids)
    return out


def encode_tokens(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """`model.encode_text` computed only over the first L = (longest prompt) positions instead of all 77.

    Exact, not an approximation: CLIP's text transformer is causal and reads its feature at the EOT token, so
    positions after the last EOT can never influence it. Short prompts (≈ 8 tokens) run ≈ 5–9× faster on CPU.
    `tokens (N, 77)` → `(N, embed_dim)`.
    """
    L = int((tokens.argmax(dim=-1)).max()) + 1  # EOT has the largest id, so argmax finds it
    tokens = tokens[:, :L]
    x = model.token_embedding(tokens) + model.positional_embedding[:L]  # (N, L, width)
    x = x.permute(1, 0, 2)  # (L, N, width): CLIP's blocks are sequence-first
    mask = model.build_attention_mask()[:L, :L].to(x.device)
    for block in model.transformer.resblocks:
        x = x + block.attn(block.ln_1(x), block.ln_1(x), block.ln_1(x), need_weights=False, attn_mask=mask)[0]
        x = x + block.mlp(block.ln_2(x))
    x = model.ln_final(x.permute(1, 0, 2))  # (N, L, width)
    return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ model.text_projection


class ClipModelSpace(Space):
    """A space backed by a built `clip.model.CLIP` (real or random weights). Text and images.

    Example: `ClipModelSpace(model, name="my-clip@abc").encode_text(["a person walks"])`.
    """
    has_images = True
    text_batch, image_batch = 256, 64

    def __init__(self, model: torch.nn.Module, name: str, device: str = "cpu", verbose: bool = True):
        self.model = model.to(device).eval().requires_grad_(False)
        self.device, self.verbose, self.name = device, verbose, name
        arch = clip_architecture(model)
        self.dim, self.context_length = arch["embed_dim"], arch["context_length"]
        self.image_size = arch["image_resolution"]

    def _batches(self, n: int, size: int, what: str):
        starts = range(0, n, size)
        return tqdm(starts, desc=f"{self.name} {what}", disable=not self.verbose or len(starts) <= 1, leave=False)

    @torch.inference_mode()
    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        tokens = tokenize(texts, self.context_length)
        out = [encode_tokens(self.model, tokens[i:i + self.text_batch].to(self.device)).float().cpu()
               for i in self._batches(len(texts), self.text_batch, "texts")]
        return torch.cat(out)

    @torch.inference_mode()
    def _encode_image(self, images: list[np.ndarray]) -> torch.Tensor:
        out = []
        for i in self._batches(len(images), self.image_batch, "images"):
            pixels = clip_preprocess(images[i:i + self.image_batch], self.image_size).to(self.device)
            out.append(self.model.encode_image(pixels).float().cpu())
        return torch.cat(out)


@register_space("clip-vit-b32")
class ClipSpace(ClipModelSpace):
    """OpenAI CLIP ViT-B/32 (512-d, text + image), the space MotionCLIP aligns to. `name = clip-vit-b32@<sha[:12]>`.

    Weights: `weights` / `$MCL_CLIP_WEIGHTS` / `~/.cache/clip/ViT-B-32.pt` / download (when `allow_download`).
    Example: `space = ClipSpace(); space.encode_image(frames).shape == (len(frames), 512)`.
    """
    dim, has_images = 512, True

    def __init__(self, weights=None, device: str = "cpu", verbose: bool = True, allow_download: bool = True):
        path = resolve_clip_weights(weights, allow_download=allow_download)
        sha = file_sha256(path)
        note = check_official(path, sha)
        model = build_clip(load_clip_state_dict(path))
        arch = clip_architecture(model)
        if arch != VIT_B32:
            diff = {k: (arch[k], VIT_B32[k]) for k in VIT_B32 if arch[k] != VIT_B32[k]}
            raise ValueError(f"{path}: not a ViT-B/32 CLIP checkpoint ({{name: (file, ViT-B/32)}} = {diff}); "
                             f"MotionCLIP's space is ViT-B/32")
        super().__init__(model, name=f"clip-vit-b32@{sha[:12]}", device=device, verbose=verbose)
        self.weights_path = path
        if verbose:
            print(f"{self.name}: CLIP ViT-B/32 from {path}" + (f" — {note}" if note else " (official weights)"))

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            path, where = find_local_clip_weights()
        except FileNotFoundError as e:
            return False, str(e)
        if path is None:
            return False, (f"weights not found at {where} (set {ENV_VAR}); get_space('clip-vit-b32') would try to "
                           f"download them (~338 MB)")
        return True, f"weights at {path}"
