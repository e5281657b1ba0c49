"""Motion <-> tensor codecs: which `25 x 6 x T` convention a model's weights were trained with.

Everything outside the model speaks mcl tensors (`Motion.to_tensor`: 6D = first two columns, y up, facing +z,
pelvis path in row 24). A run records its codec in `ModelConfig.codec`; `MotionCLIP.encode` converts its input with
`codec.to_model` and `decode` its output with `codec.from_model`, so renderers, metrics, widgets and notebooks need
no special case.

    mcl        the identity (models trained by mcl)
    official   GuyTevet/MotionCLIP's `_load` convention: 6D = first two rows, AMASS z-up world, 30 fps
               (see `mcl.official.codec`)

Example: the official codec's round trip gives a faced-forward window back:

>>> import torch
>>> from mcl.data.synthetic import synthetic_motion
>>> x = synthetic_motion(60).face_forward().to_tensor()
>>> official = get_codec("official")
>>> torch.allclose(official.from_model(official.to_model(x)), x, atol=1e-5)
True
"""
from __future__ import annotations

import torch

from .official.codec import OfficialCodec


class IdentityCodec:
    """mcl's own convention: the model sees exactly `Motion.to_tensor()`."""
    name = "mcl"
    fps = 30.0

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def from_model(self, x: torch.Tensor, turn: bool = True) -> torch.Tensor:
        return x


def get_codec(name: str):
    """The codec object for a name recorded in a run (`mcl` or `official`).

    >>> get_codec("mcl").name, get_codec("official").name
    ('mcl', 'official')
    """
    if name == "mcl":
        return IdentityCodec()
    if name == "official":
        return OfficialCodec()
    raise ValueError(f"unknown codec {name!r}: expected 'mcl' or 'official'")
