"""Motion files: what `mcl generate` / `edit` / `interpolate` write and read back.

`.mp4` / `.gif` (rendered with `mcl.render.save_video`), `.npz` (arrays `poses (N, T, 24, 3)`, `trans (N, T, 3)`,
`fps`, `texts`; read with `allow_pickle=False`) or `.json` (one record per motion, axis-angle poses).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..body.skeleton import JOINT_NAMES
from ..data.errors import DataError
from ..data.motion import Motion
from ..render import save_video

FORMATS = (".mp4", ".gif", ".npz", ".json")


def save_motions(motions, path: str | Path, fps: float | None = None) -> Path:
    """Write motions to `.mp4`/`.gif` (rendered), `.npz` or `.json`, chosen by the extension.

    Example: `save_motions(text_to_motion(run, ["a person jumps"]), "jump.npz")`.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown output format {ext!r}; use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fps = fps or motions[0].fps
    bad = [m.name for m in motions if len(m.nan_frames())]
    if bad:  # finite out: a NaN motion is never written
        raise ValueError(f"{path}: not written: motion(s) {bad[:3]} have NaN/inf values")
    if ext in (".mp4", ".gif"):
        save_video(motions, str(path), fps=fps, titles=[m.texts[0] if m.texts else m.name for m in motions])
    elif ext == ".npz":
        lengths = {m.num_frames for m in motions}
        if len(lengths) != 1:
            raise ValueError(f"{path}: .npz needs motions of one length, got {sorted(lengths)}; use .json")
        np.savez(path, poses=np.stack([m.poses for m in motions]), trans=np.stack([m.trans for m in motions]),
                 fps=np.float32(fps), texts=np.array([m.texts[0] if m.texts else "" for m in motions], dtype=str))
    else:
        recs = [{"text": m.texts[0] if m.texts else "", "fps": m.fps, "joint_names": list(JOINT_NAMES),
                 "poses_axis_angle": m.poses.round(6).tolist(), "trans": m.trans.round(6).tolist()}
                for m in motions]
        path.write_text(json.dumps({"motions": recs}))
    return path


def load_npz_motions(path: str | Path):
    """Motions from an `.npz` written by `save_motions` (read with `allow_pickle=False`)."""

    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found", "give the .npz written by `mcl generate -o X.npz`")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("poses", "trans", "fps") if k not in f]
            if missing:
                raise DataError(path, f"missing arrays {missing}", "expected poses (N,T,24,3), trans (N,T,3), fps")
            poses, trans, fps = f["poses"], f["trans"], f["fps"]
            texts = f["texts"].tolist() if "texts" in f else [""] * len(poses)
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise DataError(path, "holds object (pickled) arrays, which mcl never unpickles",
                            "save plain numeric arrays (np.savez with float arrays), e.g. via `mcl generate -o X.npz`"
                            ) from None
        raise DataError(path, f"not a readable .npz ({e})", "give a file written by `mcl generate -o X.npz`") from None
    except (OSError, EOFError, KeyError) as e:  # truncated zip, not a zip at all
        raise DataError(path, f"not a readable .npz ({type(e).__name__}: {e})",
                        "give a file written by `mcl generate -o X.npz`") from None
    if poses.ndim != 4 or poses.shape[2:] != (24, 3) or trans.shape != poses.shape[:2] + (3,) or fps.size != 1:
        raise DataError(path, f"poses {poses.shape}, trans {trans.shape}, fps {fps.shape}",
                        "expected poses (N,T,24,3), trans (N,T,3) and one fps")
    if not np.issubdtype(poses.dtype, np.number) or not np.issubdtype(trans.dtype, np.number):
        raise DataError(path, f"poses/trans are {poses.dtype}/{trans.dtype}, not numbers")
    return [Motion(p, t, float(fps), texts=[x] if x else [], source={"file": str(path), "name": x or str(i)})
            for i, (p, t, x) in enumerate(zip(poses, trans, texts))]
