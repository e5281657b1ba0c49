"""CLIP's image preprocessing, without torchvision: the same steps as `clip.clip._transform(224)`.

Resize so the shorter side is 224 (bicubic, PIL, as torchvision does for PIL images), centre-crop 224 × 224, RGB,
scale to [0, 1], normalise per channel with CLIP's training mean/std.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_shorter_side(img: Image.Image, size: int) -> Image.Image:
    """Bicubic resize so the shorter side is `size`; the longer side is truncated like torchvision's `Resize(int)`."""
    w, h = img.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), Image.BICUBIC)


def center_crop(img: Image.Image, size: int) -> Image.Image:
    """`size × size` centre crop with torchvision's rounding of the offsets."""
    w, h = img.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def clip_preprocess(images: list[np.ndarray | Image.Image], size: int = 224) -> torch.Tensor:
    """List of uint8 `(H, W, 3)` arrays or PIL images → normalised float32 batch `(N, 3, size, size)`.

    Example: `clip_preprocess([np.zeros((240, 320, 3), np.uint8)]).shape == (1, 3, 224, 224)`.
    """
    mean = torch.tensor(CLIP_MEAN).view(3, 1, 1)
    std = torch.tensor(CLIP_STD).view(3, 1, 1)
    batch = []
    for im in images:
        pil = im if isinstance(im, Image.Image) else Image.fromarray(np.asarray(im, dtype=np.uint8))
        pil = center_crop(resize_shorter_side(pil, size), size).convert("RGB")
        x = torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0).permute(2, 0, 1)  # (3, H, W) in [0, 1]
        batch.append((x - mean) / std)
    return torch.stack(batch) if batch else torch.zeros(0, 3, size, size)
