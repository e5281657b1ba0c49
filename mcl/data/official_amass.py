"""The official parsed AMASS files (`data/amass_db/amass_30fps_{train,vald,test}.pt`) as mcl Motions.

What they hold (`src/datasets/amass_parser.py`, written with `joblib.dump`, i.e. a pickle): one entry per sequence in
the lists `vid_names` (T,) str, `thetas` (T, 72) SMPL-H axis-angle of the 24 joints MotionCLIP keeps (global orient,
21 body joints, left/right index1) in AMASS's z-up world at 30 fps, `joints3d` (T, 18, 3) = SMPL-H `Jtr` reordered by
`action2motion_joints` (index 0 is SMPL-H joint 8) of the body posed *without* `trans`, `text_raw_labels` /
`text_proc_labels` / `action_cat` (T,) per-frame BABEL labels (action categories comma-joined), and `clip_images` /
`clip_pathes` (rendered frames; not read here: mcl renders its own).

The official `_load` (dataset.py) builds a window's translation row from `joints3d[:, 0] - joints3d[0, 0]`, so a
Motion made here has `trans = joints3d[:, 0]` turned to y up: encoding it with the official codec gives exactly the
official tensor (`mcl.official.codec`). Texts and actions come along as the official dataset uses them: the raw label
of every frame (BABEL `raw_label`) becomes time-stamped segments, so a window's text is its distinct labels joined by
" and " (the official joins `np.unique` of the frames' labels — sorted; mcl keeps time order and drops blanks).
The official dataset also skips sequence 0 of each file and cuts 100-frame chunks; here every sequence is kept and
`make_windows` cuts as mcl does.

Pickles can run code while they load, so these files are refused unless the user says they trust them
(`official-amass:FILE?trust=1`), and even then only an allow-list of numpy/joblib globals may appear. Converting once
to `.npz` (`mcl convert-official-amass FILE --trust`) gives a file that loads without unpickling.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from ..body.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from ..paths import atomic_write
from .amass import Z_UP_TO_Y_UP
from .errors import DataError, SkipReport
from .motion import Motion, Segment

FPS = 30.0
KEYS = ("vid_names", "thetas", "joints3d", "text_raw_labels", "text_proc_labels", "action_cat")
# What a joblib dump of the parser's dict of lists of numpy arrays needs, and nothing else.
ALLOWED_GLOBALS = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("builtins", "str"), ("builtins", "bytes"), ("builtins", "list"), ("builtins", "dict"), ("builtins", "tuple"),
    ("collections", "OrderedDict"),
}


def _why_refused(path) -> str:
    return ("it is a pickle (the official amass_parser.py saves with joblib.dump), and unpickling a file can run "
            "arbitrary code")


def _restricted_joblib_load(path: Path) -> dict:
    """`joblib.load` with an allow-list of globals (joblib routes nested object-array streams through it too)."""
    try:
        from joblib import numpy_pickle
    except ImportError as e:
        raise DataError(path, f"joblib is needed to read the official files ({e})", "pip install joblib") from None

    class AllowListUnpickler(numpy_pickle.NumpyUnpickler):
        def find_class(self, module, name):
            if (module, name) not in ALLOWED_GLOBALS:
                raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
            return super().find_class(module, name)

    with open(path, "rb") as f:
        with numpy_pickle._validate_fileobject_and_memmap(f, str(path), None) as (fobj, _):
            if isinstance(fobj, str):
                raise DataError(path, "written by joblib < 0.10 (a format mcl does not read)")
            try:
                return AllowListUnpickler(str(path), fobj, True).load()
            except pickle.UnpicklingError as e:
                raise DataError(path, f"refused: {e} (an official amass_db file holds only numpy arrays, strings and "
                                      f"lists); nothing from it was used") from None
            except (EOFError, ValueError, KeyError, IndexError) as e:
                raise DataError(path, f"not a readable joblib file ({e})") from None


def read_amass_db(path: str | os.PathLike, trust: bool = False) -> dict[str, list]:
    """The parsed dict of lists of an official `amass_db` file (`.pt` joblib pickle, or `.npz` from
    `convert_to_npz`). Pickles need `trust=True`. Example: `db = read_amass_db("amass_30fps_vald.npz")`."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(path, "file not found", "pass an official amass_db file, e.g. data/amass_db/amass_30fps_vald.pt")
    if path.suffix == ".npz":
        return _read_npz(path)
    if not trust:
        raise DataError(path, f"refused: {_why_refused(path)}",
                        f"if you trust it (you made it with the official amass_parser.py, or it comes from the "
                        f"authors), load it with official-amass:{path}?trust=1, or convert it once with "
                        f"`mcl convert-official-amass {path} --trust --out {path.with_suffix('.npz')}` and use the .npz")
    db = _restricted_joblib_load(path)
    if not isinstance(db, dict) or "thetas" not in db:
        raise DataError(path, f"not an official amass_db dict (keys: {sorted(db)[:8] if isinstance(db, dict) else type(db).__name__})")
    return db


def _read_npz(path: Path) -> dict[str, list]:
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(path, f"not a plain .npz ({e})", "write it with mcl convert-official-amass") from None
    with data:
        if "lengths" not in data.files:
            raise DataError(path, f"missing key 'lengths' (has {sorted(data.files)})",
                            "write it with mcl convert-official-amass")
        cuts = np.cumsum(data["lengths"])[:-1]
        db = {k: list(np.split(data[k], cuts)) for k in KEYS if k in data.files and k != "vid_names"}
        db["vid_names"] = [np.array([n]) for n in data["vid_names"]]
    return db


def convert_to_npz(path: str | os.PathLike, out: str | os.PathLike, trust: bool = False) -> Path:
    """Convert an official amass_db pickle to a `.npz` that loads without unpickling (images are left out).

    Example: `convert_to_npz("data/amass_db/amass_30fps_vald.pt", "amass_vald.npz", trust=True)`.
    """

    db = read_amass_db(path, trust=trust)
    n = len(db["thetas"])
    lengths = np.array([len(t) for t in db["thetas"]], np.int64)
    arrays = {"lengths": lengths, "thetas": np.concatenate(db["thetas"]).astype(np.float32),
              "vid_names": np.array([str(np.asarray(v).reshape(-1)[0]) if len(np.asarray(v).reshape(-1)) else f"seq{i}"
                                     for i, v in enumerate(db.get("vid_names") or [[f"seq{i}"] for i in range(n)])])}
    joints = db.get("joints3d") or []
    if len(joints) == n and all(j is not None for j in joints):
        arrays["joints3d"] = np.concatenate(joints).astype(np.float32)
    for k in ("text_raw_labels", "text_proc_labels", "action_cat"):
        if len(db.get(k) or []) == n:
            arrays[k] = np.concatenate([np.asarray(v).astype(str) for v in db[k]])
    out = Path(out)
    atomic_write(out, lambda tmp: np.savez(open(tmp, "wb"), **arrays))
    return out


def _runs(labels: np.ndarray) -> list[tuple[int, int, str]]:
    """Maximal runs `(start, stop, label)` of equal consecutive non-empty labels."""
    out, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if str(labels[start]).strip():
                out.append((start, i, str(labels[start]).strip()))
            start = i
    return out


def db_to_motions(db: dict, where: str, report: SkipReport | None = None) -> list[Motion]:
    """One y-up Motion per sequence, `trans = joints3d[:, 0]` (the official translation row), BABEL labels as
    segments (raw labels) with their action categories, `labels["actions"]` the distinct categories."""
    report = report if report is not None else SkipReport()
    thetas = db.get("thetas") or []
    joints = db.get("joints3d") or [None] * len(thetas)
    raw = db.get("text_raw_labels") or [None] * len(thetas)
    cats = db.get("action_cat") or [None] * len(thetas)
    names = db.get("vid_names") or [None] * len(thetas)
    out = []
    for i, th in enumerate(thetas):
        name = str(np.asarray(names[i]).reshape(-1)[0]) if names[i] is not None and np.asarray(names[i]).size \
            else f"seq{i}"
        th = np.asarray(th, np.float64)
        if th.ndim != 2 or th.shape[1] != 72:
            report.add(f"{where}#{name}", f"thetas has shape {th.shape}, expected (T, 72)")
            continue
        if joints[i] is None:
            report.add(f"{where}#{name}", "no joints3d (parsed with --quick_run): the official translation row is "
                                          "missing")
            continue
        j = np.asarray(joints[i], np.float64)
        pose = torch.from_numpy(th.reshape(-1, 24, 3).copy())
        pose[:, 0] = rotmat_to_rotvec(Z_UP_TO_Y_UP.double() @ rotvec_to_rotmat(pose[:, 0]))
        trans = torch.from_numpy(j[:, 0]) @ Z_UP_TO_Y_UP.double().T
        segs, actions = [], []
        lab = np.asarray(raw[i]).astype(str) if raw[i] is not None else np.array([], str)
        cat = np.asarray(cats[i]).astype(str) if cats[i] is not None else np.full(len(lab), "")
        for s, e, text in _runs(lab):
            acts = tuple(dict.fromkeys(a for c in cat[s:e] for a in str(c).split(",") if a))
            segs.append(Segment(s / FPS, e / FPS, text, acts))
            actions += [a for a in acts if a not in actions]
        texts = list(dict.fromkeys(s.text for s in segs))
        out.append(Motion(pose.numpy(), trans.numpy(), FPS, texts=[" and ".join(texts)] if texts else [],
                          segments=segs, labels={"actions": actions},
                          source={"dataset": "official-amass", "file": where, "name": name, "index": i,
                                  "trans_from": "joints3d[:, 0] (as the official dataset's translation row)"}))
    return out


def load_official_amass(path: str | os.PathLike, trust: bool = False, split: str | None = None,
                        report: SkipReport | None = None) -> list[Motion]:
    """Motions of an official amass_db file. A `…_db.pt` / `…_db.npz` path (the official `--datapath` form) takes
    `split` (`train`, `vald`, `test`; default train) as the official dataset does.
    Example: `load_official_amass("data/amass_db/amass_30fps_db.pt", trust=True, split="vald")`.
    """
    p = Path(path).expanduser()
    if "_db." in p.name:
        p = p.with_name(p.name.replace("_db.", f"_{split or 'train'}."))
    elif split:
        raise DataError(p, f"split={split} needs a …_db.pt path (the official --datapath form)",
                        "or pass the split's own file, e.g. amass_30fps_vald.pt")
    return db_to_motions(read_amass_db(p, trust=trust), str(p), report)
