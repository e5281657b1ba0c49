"""mcl — a research workbench for MotionCLIP (Tevet et al., ECCV 2022).

Heavy parts (torch models, renderers, embedding spaces) load on first use, so `import mcl` is quick.
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
