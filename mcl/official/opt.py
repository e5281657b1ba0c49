"""The official `opt.yaml` (written by `src/parser/tools.py::save_args` with `yaml.dump(vars(args))`).

Which keys matter (from `src/parser/*.py`, `src/models/architectures/transformer.py`, `src/datasets/*.py`):
architecture `num_layers` (8), `latent_dim` (d = z dim, 512), `activation` (gelu), `ff_size` (1024) and `num_heads`
(4) when present (the parser has no flags for them: the transformer's defaults apply), `dropout` (0.1), `ablation`
(None); conventions `pose_rep` (rot6d), `glob` (True), `translation` (True), `glob_rot`, `num_frames` (60),
`align_pose_frontview` (False), `dataset` (amass / babel), `normalize_encoder_output` / `normalize_decoder_input`
(False); also `jointstype`, `vertstrans`, `lambda_*`, `clip_*_losses` for the record.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

# The paper model's values (README's training command + parser defaults).
PAPER = dict(num_layers=8, latent_dim=512, activation="gelu", ff_size=1024, num_heads=4, dropout=0.1, ablation=None,
             pose_rep="rot6d", glob=True, translation=True, glob_rot=[3.141592653589793, 0, 0], num_frames=60,
             align_pose_frontview=False, normalize_encoder_output=False, normalize_decoder_input=False,
             dataset="amass", jointstype="vertices", vertstrans=False, modelname="motionclip_transformer_rc_rcxyz_vel")


class _SafeTupleLoader(yaml.SafeLoader):
    """`yaml.safe_load` plus `!!python/tuple` (plain data that `yaml.dump` writes for tuples); nothing else."""


_SafeTupleLoader.add_constructor("tag:yaml.org,2002:python/tuple",
                                 lambda loader, node: tuple(loader.construct_sequence(node)))


def read_opt(path: str | os.PathLike) -> dict:
    """The options of an official run as a dict, read without executing anything (no `yaml.Loader`).

    Example: `read_opt("exps/paper-model/opt.yaml")["num_layers"]` → 8.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            opt = yaml.load(f, Loader=_SafeTupleLoader)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: opt.yaml not found (it sits beside checkpoint_0100.pth.tar in the "
                                f"official download)") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not a plain-data YAML file ({e}); mcl reads opt.yaml with yaml.safe_load") from None
    if not isinstance(opt, dict):
        raise ValueError(f"{path}: expected a mapping of options, got {type(opt).__name__}")
    return opt


def check_supported(opt: dict, where: str) -> None:
    """Raise a ValueError naming the option when an official run uses something mcl does not reproduce."""
    def bad(key, why):
        raise ValueError(f"{where}: {key}={opt.get(key)!r} — {why}; mcl imports the paper's configuration "
                         f"({key}={PAPER[key]!r})")
    if opt.get("ablation") not in (None, "", "None"):
        bad("ablation", "ablation architectures are not the published model")
    if opt.get("pose_rep", "rot6d") != "rot6d":
        bad("pose_rep", "only the rot6d representation maps onto mcl's 25 x 6 tensor")
    if not opt.get("glob", True):
        bad("glob", "without global orientation the tensor has 24 rows")
    if not opt.get("translation", True):
        bad("translation", "without translation the tensor has 24 rows")
    for key in ("normalize_encoder_output", "normalize_decoder_input"):
        if opt.get(key):
            bad(key, "normalising z inside the model is not implemented in mcl.model")
    if opt.get("activation", "gelu") not in ("gelu", "relu"):
        bad("activation", "torch's transformer layers take gelu or relu")
