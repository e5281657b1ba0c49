"""AMASS motions (SMPL-H / SMPL-X `.npz`) with BABEL labels, as MotionCLIP trains on them.

AMASS npz: `poses (T, 156)` SMPL-H axis-angle (global orient 0:3, 21 body joints 3:66, then 15 left-hand and 15
right-hand joints), `trans (T, 3)`, `mocap_framerate`, `betas`, `gender`; z up. MotionCLIP keeps 24 joints: global
orient, the 21 body joints and the first joint of each hand (`index1`, SMPL's "hands"): columns 66:69 and 111:114.

z up → y up: the world turns by R_x(−90°). The root orientation is premultiplied by it, and the pelvis position is
R·(trans + J0), where J0 is the rest pelvis (SMPL rotates the body about J0 and then adds `trans`). J0 comes from
`load_skeleton()` (SMPL's own when SMPL files are given, else the mannequin's; it only moves the clip by a few cm).

BABEL (`train.json`, `val.json`): `{babel_sid: {"feat_p": "CMU/CMU/86/86_05_poses.npz", "dur": seconds,
"seq_ann": {"labels": [{"raw_label", "proc_label", "act_cat": [...] | None, ...}]},
"frame_ann": {"labels": [{..., "start_t", "end_t"}]} | None, ...}}`. `feat_p` starts with an extra dataset folder
and uses AMASS's old dataset names; `find_amass_file` resolves it against an AMASS root as downloaded today.
Frame labels become `Segment`s (seconds); without them the sequence labels span the whole clip. `make_windows` then
gives each window the distinct raw labels it overlaps joined by " and ", as the paper does.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import roma
import torch

from ..body.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from ..body.skeleton import load_skeleton
from .cache import cache_key, cached_motions, code_stamp, file_stamp
from .errors import DataError, SkipReport
from .motion import Motion, Segment

SPLITS = ("train", "val")
# poses width → (first column of the left index1 joint, of the right index1 joint)
HAND_COLUMNS = {156: (66, 111), 165: (75, 120)}  # SMPL-H; SMPL-X (jaw and eyes come before the hands)
Z_UP_TO_Y_UP = roma.rotvec_to_rotmat(torch.tensor([-np.pi / 2, 0.0, 0.0]))
# BABEL's feat_p uses AMASS's dataset folder names from before the 2021 renaming.
OLD_DATASET_NAMES = {
    "BioMotionLab_NTroje": "BMLrub", "DFaust_67": "DFaust", "MPI_HDM05": "HDM05", "MPI_Limits": "PosePrior",
    "MPI_mosh": "MoSh", "SSM_synced": "SSM", "TCD_handMocap": "TCDHands", "Transitions_mocap": "Transitions",
    "Eyes_Japan_Dataset": "Eyes_Japan_Dataset",
}


@functools.lru_cache(maxsize=1)
def babel_action_classes() -> list[str]:
    """The 60 BABEL-60 action classes (indices 0–59 of BABEL's `action_label_2_idx.json`), in index order.

    Example: `babel_action_classes()[:4]` → `['walk', 'stand', 'hand movements', 'turn']`.
    """
    data = json.loads((Path(__file__).parent / "babel60.json").read_text())
    return list(data["classes"])


def _pose_columns(width: int) -> np.ndarray:
    """Indices of the 72 columns MotionCLIP keeps from an AMASS `poses` row of this width."""
    if width == 72:  # already SMPL-24
        return np.arange(72)
    left, right = HAND_COLUMNS[width]
    return np.concatenate([np.arange(66), np.arange(left, left + 3), np.arange(right, right + 3)])


def load_amass_npz(path: str | os.PathLike) -> Motion:
    """One AMASS `.npz` as a y-up SMPL-24 `Motion` at its mocap frame rate (no texts: BABEL adds them).

    Example: `m = load_amass_npz("AMASS/CMU/86/86_05_poses.npz"); m.poses.shape == (T, 24, 3)`.
    Raises `DataError` naming the file and the missing or malformed key.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)  # never unpickle a downloaded file
    except FileNotFoundError:
        raise DataError(path, "file not found", "check the AMASS root folder") from None
    except (ValueError, OSError) as e:
        raise DataError(path, f"not a readable .npz ({e})", "re-extract the AMASS archive") from None
    with data:
        keys = set(data.files)
        for key in ("poses", "trans"):
            if key not in keys:
                hint = ("this file holds only a body shape; motion files end in _poses.npz or _stageii.npz"
                        if path.name.endswith("shape.npz")
                        else "AMASS motion files have poses, trans and mocap_framerate")
                raise DataError(path, f"missing key '{key}' (has {sorted(keys)})", hint)
        fps_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in keys), None)
        if fps_key is None:
            raise DataError(path, f"missing key 'mocap_framerate' (has {sorted(keys)})",
                            "AMASS motion files store their frame rate there")
        poses, trans = np.asarray(data["poses"], np.float32), np.asarray(data["trans"], np.float32)
        fps = float(data[fps_key])
        source = {"dataset": "amass", "file": str(path), "name": path.stem, "native_fps": fps}
        for key in ("gender", "betas"):
            if key in keys:
                try:
                    v = data[key]
                    source[key] = str(v) if key == "gender" else np.asarray(v, np.float32)[:10].tolist()
                except ValueError:  # object arrays need pickle: leave them out
                    pass
    if poses.ndim != 2 or poses.shape[1] not in (72, *HAND_COLUMNS):
        raise DataError(path, f"key 'poses' has shape {poses.shape}",
                        "expected (T, 156) SMPL-H, (T, 165) SMPL-X or (T, 72) SMPL axis-angle")
    if trans.shape != (len(poses), 3):
        raise DataError(path, f"key 'trans' has shape {trans.shape}, expected ({len(poses)}, 3)")
    poses = torch.from_numpy(poses[:, _pose_columns(poses.shape[1])].reshape(-1, 24, 3).copy())
    root = Z_UP_TO_Y_UP @ rotvec_to_rotmat(poses[:, 0])
    poses[:, 0] = rotmat_to_rotvec(root)
    j0 = load_skeleton().rest[0]
    pelvis = (torch.from_numpy(trans) + j0) @ Z_UP_TO_Y_UP.T
    return Motion(poses.numpy(), pelvis.numpy(), fps, source=source)


# --- BABEL ------------------------------------------------------------------------------------------------------------
def read_babel(babel_dir: str | os.PathLike, split: str = "train") -> dict[str, dict]:
    """BABEL's `{split}.json` (babel_sid → annotation). Example: `read_babel("babel_v1.0_release", "val")`."""
    if split not in SPLITS:
        raise DataError(babel_dir, f"unknown BABEL split {split!r}", f"use one of {', '.join(SPLITS)}")
    path = Path(babel_dir) / f"{split}.json"
    if not path.exists():
        raise DataError(path, "BABEL annotation file not found",
                        "pass the folder of BABEL's release (babel_v1.0_release, with train.json and val.json)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(path, f"not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise DataError(path, "expected a JSON object babel_sid → annotation")
    return data


class AmassIndex:
    """Finds the AMASS file a BABEL `feat_p` names, whatever prefix or dataset naming the AMASS root uses."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "AMASS folder not found", "pass the folder holding AMASS's dataset folders")
        self._by_tail: dict[tuple[str, str], list[Path]] | None = None

    def _tails(self) -> dict[tuple[str, str], list[Path]]:
        if self._by_tail is None:  # built on first miss: one walk over the tree
            self._by_tail = {}
            for p in self.root.rglob("*.npz"):
                self._by_tail.setdefault((p.parent.name, p.name), []).append(p)
        return self._by_tail

    def find(self, feat_p: str) -> Path | None:
        """The file for `feat_p` ("CMU/CMU/86/86_05_poses.npz"), or None when it is not under the root."""
        parts = Path(feat_p.replace("\\", "/")).parts
        for i in range(len(parts) - 1):  # "CMU/CMU/86/x.npz", then "CMU/86/x.npz", …
            p = self.root.joinpath(*parts[i:])
            if p.is_file():
                return p
        if len(parts) < 2:
            return None
        found = self._tails().get((parts[-2], parts[-1]), [])
        if len(found) > 1:  # the same subject/file in two datasets: pick by dataset name (old or new)
            names = {n for part in parts[:-2] for n in (part, OLD_DATASET_NAMES.get(part, part))}
            found = [p for p in found if names & set(p.relative_to(self.root).parts)]
        return found[0] if len(found) == 1 else None


def babel_segments(ann: dict, duration: float) -> tuple[list[Segment], list[str], list[str]]:
    """Segments of one BABEL annotation (frame labels, else sequence labels over `duration` s), plus the distinct
    sequence-level raw labels and action categories."""
    def label_text(lab):
        return (lab.get("raw_label") or lab.get("proc_label") or "").strip()

    seq = (ann.get("seq_ann") or {}).get("labels") or []
    seq_texts = list(dict.fromkeys(t for t in map(label_text, seq) if t))
    seq_actions = list(dict.fromkeys(a for lab in seq for a in (lab.get("act_cat") or [])))
    frame = (ann.get("frame_ann") or {}).get("labels") or []
    if frame:
        segs = [Segment(float(lab["start_t"]), float(lab["end_t"]), label_text(lab), tuple(lab.get("act_cat") or ()))
                for lab in frame if label_text(lab) and "start_t" in lab and "end_t" in lab]
    else:
        segs = [Segment(0.0, duration, label_text(lab), tuple(lab.get("act_cat") or ())) for lab in seq
                if label_text(lab)]
    return segs, seq_texts, seq_actions


def load_amass_babel(amass_root: str | os.PathLike, babel_dir: str | os.PathLike, split: str = "train",
                     report: SkipReport | None = None, progress: bool = True, fps: float | None = None,
                     cache: bool = True) -> list[Motion]:
    """The AMASS sequences of one BABEL split, with BABEL's labels as segments and texts.

    Clips keep their mocap frame rate unless `fps` is given (e.g. 30: resampled as they load, so all of AMASS fits in
    memory). A BABEL entry whose AMASS file is missing or unreadable is counted in `report` and left out. The parsed
    clips are cached on disk (`mcl.data.cache`) under a key of the BABEL file, the AMASS files' sizes and times, `fps`,
    this code and the skeleton; `cache=False` always re-reads.
    Example: `ms = load_amass_babel("~/data/AMASS", "~/data/babel_v1.0_release", "val", report=r, fps=30)`;
    `make_windows(ms)` → 60-frame windows at 30 fps whose texts are their BABEL labels joined by " and ".
    """

    babel_file = Path(babel_dir).expanduser() / f"{split}.json"
    babel = read_babel(Path(babel_dir).expanduser(), split)
    index = AmassIndex(Path(amass_root).expanduser())
    entries = []  # (sid, annotation, AMASS file or None)
    for sid, ann in babel.items():
        feat_p = ann.get("feat_p") if isinstance(ann, dict) else None
        entries.append((str(sid), ann, index.find(feat_p) if feat_p else None))
    key = cache_key(kind="amass-babel", babel=file_stamp(babel_file), split=split, fps=fps,
                    code=code_stamp("amass.py", "motion.py"),
                    files=[file_stamp(p) if p else None for _, _, p in entries])

    def build(rep: SkipReport) -> list[Motion]:
        from tqdm.auto import tqdm

        out = []
        for sid, ann, path in tqdm(entries, desc=f"AMASS+BABEL {split}", disable=not progress):
            feat_p = ann.get("feat_p") if isinstance(ann, dict) else None
            if not feat_p:
                rep.add(f"babel {split}/{sid}", "BABEL entry has no feat_p")
                continue
            if path is None:
                rep.add(f"babel {split}/{sid} ({feat_p})", f"AMASS file not found under {index.root}")
                continue
            try:
                m = load_amass_npz(path)
            except DataError as e:
                rep.add(f"babel {split}/{sid} ({feat_p})", f"unreadable AMASS file: {e.problem}")
                continue
            segs, seq_texts, seq_actions = babel_segments(ann, m.duration)
            m.segments = segs
            m.texts = [" and ".join(seq_texts)] if seq_texts else []
            m.labels = {"actions": seq_actions, "babel_sid": sid, "split": split}
            m.source.update(babel_sid=sid, babel_feat_p=feat_p, babel_dur=ann.get("dur"),
                            babel_labels="frame_ann" if ann.get("frame_ann") else "seq_ann")
            out.append(m.resample(fps) if fps else m)
        return out

    return cached_motions(f"amass-babel-{split}", key, build, report, enabled=cache)


def load_amass_folder(amass_root: str | os.PathLike, report: SkipReport | None = None, progress: bool = True,
                      fps: float | None = None, cache: bool = True) -> list[Motion]:
    """Every AMASS motion file under a folder, without labels (for reconstruction or unlabelled analysis).

    Body-shape files (`shape.npz`) are not motions and are passed over; unreadable files are counted in `report`.
    `fps` and `cache` as for `load_amass_babel`. Example: `load_amass_folder("~/data/AMASS/CMU", fps=30)`.
    """

    root = Path(amass_root).expanduser()
    if not root.is_dir():
        raise DataError(root, "AMASS folder not found", "pass the folder holding AMASS's dataset folders")
    files = [p for p in sorted(root.rglob("*.npz")) if not p.name.endswith("shape.npz")]
    key = cache_key(kind="amass", fps=fps, code=code_stamp("amass.py", "motion.py"),
                    files=[file_stamp(p) for p in files])

    def build(rep: SkipReport) -> list[Motion]:
        from tqdm.auto import tqdm

        out = []
        for p in tqdm(files, desc="AMASS", disable=not progress):
            try:
                m = load_amass_npz(p)
            except DataError as e:
                rep.add(str(p), e.problem)
                continue
            out.append(m.resample(fps) if fps else m)
        return out

    return cached_motions("amass", key, build, report, enabled=cache)
