"""mcl — a research workbench for MotionCLIP (Tevet et al., ECCV 2022).

Heavy parts (torch models, renderers, embedding spaces) load on first use, so `import mcl` is quick.

A tour of the public API. A trained run is `run = mcl.load("runs/deepmimic-cpu")` (after `make demo`); here an
untrained 1-layer model saved to a temporary run dir, with a 32-d random CLIP as its space, stands in for one, so
the shapes are real and the motions meaningless:

>>> import tempfile, torch, mcl
>>> from mcl.model import MotionCLIP
>>> from mcl.training.checkpoint import save
>>> from mcl.training.config import ModelConfig, TrainConfig
>>> from mcl.spaces.random_clip import TINY, RandomClipSpace
>>> cfg = TrainConfig(data="synthetic", model=ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=32))
>>> tmp = tempfile.TemporaryDirectory()
>>> _ = save(tmp.name, MotionCLIP(cfg.model), None, {"step": 0, "epoch": 0, "config": cfg.to_dict()})
>>> run = mcl.load(tmp.name, space=RandomClipSpace(config=TINY, verbose=False))
>>> clip = mcl.load_data("synthetic", progress=False)[0]
>>> z = mcl.encode(run, [clip]); z.shape
torch.Size([1, 32])
>>> mcl.decode(run, z, n_frames=30)[0].num_frames
30
>>> [m.num_frames for m in mcl.text_to_motion(run, ["a person jumps", "a person walks"])]
[60, 60]
>>> mcl.edit(run, clip, "a person walks", "a person runs").texts
['a synthetic figure does a swing − a person walks + a person runs']
>>> len(mcl.interpolate(run, "a person walks", "a person runs", steps=3))
3
>>> mcl.classify(run, [clip], ["walk", "jump"], prompt="a person {}s", k=2).probs.shape
torch.Size([1, 2])
>>> tmp.cleanup()
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name → "module:attribute", resolved lazily on first access
_LAZY = {
    "Motion": "mcl.data.motion:Motion",
    "load_data": "mcl.data.sources:load",
    "list_sources": "mcl.data.sources:list_sources",
    "load_bvh": "mcl.data.bvh:load_bvh",
    "load_asf_amc": "mcl.data.asf_amc:load_asf_amc",
    "load_bandai": "mcl.data.bandai:load_bandai",
    "get_space": "mcl.spaces:get_space",
    "load": "mcl.training.checkpoint:load",
    "train": "mcl.training.loop:train",
    "encode": "mcl.latent.ops:encode",
    "decode": "mcl.latent.ops:decode",
    "text_to_motion": "mcl.latent.ops:text_to_motion",
    "edit": "mcl.latent.ops:edit",
    "interpolate": "mcl.latent.ops:interpolate",
    "classify": "mcl.latent.ops:classify",
    "latent_map": "mcl.lab.umap_map:latent_map",
    "text_to_motion_explorer": "mcl.lab.widgets:text_to_motion_explorer",
    "arithmetic_explorer": "mcl.lab.widgets:arithmetic_explorer",
    "interpolation_explorer": "mcl.lab.widgets:interpolation_explorer",
    "recognition_explorer": "mcl.lab.widgets:recognition_explorer",
    "show": "mcl.render:show",
    "save_video": "mcl.render:save_video",
    "filmstrip": "mcl.render:filmstrip",
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mcl' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
