"""Loading SMPL model files (optional) without unpickling anything.

SMPL is licensed and cannot ship with mcl. To use it, register at https://smpl.is.tue.mpg.de, download the model and
put `SMPL_NEUTRAL.npz` (and/or `SMPL_MALE.npz`, `SMPL_FEMALE.npz`) in a folder, then point `MCL_SMPL_DIR` at it
(`export MCL_SMPL_DIR=~/models/smpl`; a `smpl/` subfolder is also searched). The files must be `.npz` with the arrays
`v_template (6890, 3)`, `shapedirs (6890, 3, B)`, `posedirs (6890, 3, 207)`, `J_regressor (24, 6890)` (dense),
`weights (6890, 24)`, `kintree_table (2, 24)`, `f (13776, 3)`. The official `.pkl` files need chumpy and unpickling,
which mcl never does for downloaded files: convert them once in an environment you trust, e.g.
`np.savez(out, **{k: np.asarray(v.todense() if hasattr(v, "todense") else v) for k, v in pickle.load(...).items()
if k in KEYS})`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def find_smpl_file(model_dir: str | os.PathLike, gender: str = "neutral") -> Path:
    """The `.npz` file for `gender` inside `model_dir` (or `model_dir/smpl`), or `model_dir` itself if it is a file.

    Raises FileNotFoundError naming the places searched and what to put there.
    Example: `find_smpl_file("~/models/smpl")` → `~/models/smpl/SMPL_NEUTRAL.npz`.
    """
    root = Path(model_dir).expanduser()
    if root.is_file():
        return root
    name = f"SMPL_{gender.upper()}"
    tried = [root / f"{name}.npz", root / "smpl" / f"{name}.npz"]
    for p in tried:
        if p.is_file():
            return p
    pkl = [p.with_suffix(".pkl") for p in tried if p.with_suffix(".pkl").is_file()]
    hint = (f"found {pkl[0]}, but .pkl files are not unpickled by mcl: convert it to .npz (see mcl/body/smpl.py)"
            if pkl else f"put {name}.npz there (see mcl/body/smpl.py), or unset MCL_SMPL_DIR to use the mannequin")
    raise FileNotFoundError(f"no SMPL {gender} model in {root} (looked for {', '.join(map(str, tried))}) — {hint}")


def load_smpl(model_dir: str | os.PathLike, gender: str = "neutral", num_betas: int = 10):
    """An `smplx.SMPL` model from `SMPL_{GENDER}.npz` in `model_dir`, read with `allow_pickle=False`.

    Example: `smpl = load_smpl(os.environ["MCL_SMPL_DIR"]); smpl.v_template.shape == (6890, 3)`.
    """
    import smplx
    from smplx.utils import Struct

    path = find_smpl_file(model_dir, gender)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise ValueError(f"{path}: missing arrays {missing}; an SMPL .npz needs {list(KEYS)}")
            data = {k: np.asarray(z[k]) for k in KEYS}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ValueError(f"{path}: holds pickled objects (e.g. a sparse J_regressor); re-save it with dense "
                             "numpy arrays (see mcl/body/smpl.py)") from e
        raise
    return smplx.SMPL(str(path), data_struct=Struct(**data), gender=gender, num_betas=num_betas)
