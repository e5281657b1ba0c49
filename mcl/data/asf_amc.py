"""ASF/AMC import (Acclaim; the CMU mocap database): skeleton + motion files → SMPL-24 `Motion`.

ASF bones are segments: a bone's rotation sits at its start, which is the end of its parent bone, and its rest
`direction` and `axis` are given in world coordinates. So each bone becomes a joint placed at the end of its parent
(leaf bones get an extra `<bone>_end` joint), with local rotation `C · M · C⁻¹`: `M` the AMC degrees of freedom
composed in their listed order, `C` the bone's `axis` frame. The result goes through the same retargeting as BVH.
Lengths: CMU writes `:units length 0.45`, i.e. stored value = inches × 0.45, so metres = value / 0.45 × 0.0254
(CMU mocap FAQ: 0.056444 m per unit).

Example:
    m = load_asf_amc("07.asf", "07_01.amc")                   # CMU rig detected, 120 fps
    ms = load_asf_amc_folder("cmu/subjects/07", labels="{subject}_{trial}")
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..body.rotations import euler_to_rotmat
from .cache import cached_motions, folder_cache_key
from .errors import DataError, SkipReport
from .labels import in_data_folder, load_folder
from .motion import Motion
from .retarget import SourceMotion, one_thread, retarget, warn_retarget

__all__ = ["parse_asf", "parse_amc", "load_asf_amc", "load_asf_amc_folder", "skeleton_for", "INCH"]

INCH = 0.0254
_DOF = {"rx": ("X", None), "ry": ("Y", None), "rz": ("Z", None), "tx": (None, 0), "ty": (None, 1), "tz": (None, 2),
        "l": (None, None)}


def _extrinsic(order: str, angles_deg: np.ndarray) -> np.ndarray:
    """Acclaim rotation order: `XYZ` = rotate about x first, then y, then z in fixed axes (R = Rz·Ry·Rx).

    `angles_deg (..., len(order))` in the listed order. Equivalent to intrinsic Euler in the reversed order.
    """
    a = torch.tensor(np.array(angles_deg, dtype=np.float64)[..., ::-1].copy())
    return euler_to_rotmat(order[::-1], a).numpy()


def _floats(vals: list[str], file, where: str, n: int | None = None) -> list[float]:
    try:
        out = [float(v) for v in vals]
    except ValueError:
        raise DataError(file, f"{where}: non-numeric value in '{' '.join(vals)}'") from None
    if n is not None and len(out) != n:
        raise DataError(file, f"{where}: expected {n} numbers, got {len(out)}")
    return out


def parse_asf(path: str | os.PathLike) -> dict:
    """The ASF skeleton as a dict: `units`, `root` (order, axis, position, orientation), `bones` (name →
    direction, length, axis, axis_order, dof) and `children` (name → list). Example: `parse_asf("07.asf")["bones"]`.
    """
    file = str(path)
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        raise DataError(file, f"cannot read the file ({e.strerror})", "check the path") from None
    units = {"mass": 1.0, "length": 1.0, "angle": "deg"}
    root = {"order": ["tx", "ty", "tz", "rx", "ry", "rz"], "axis": "XYZ", "position": [0.0] * 3,
            "orientation": [0.0] * 3}
    bones: dict[str, dict] = {}
    children: dict[str, list[str]] = {}
    section, bone = None, None
    for no, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):  # a section (":units", ":bonedata", …) or a one-line field (":name x")
            section = line.split()[0][1:].lower()
            continue
        tok = line.split()
        key = tok[0].lower()
        where = f"line {no}"
        if section == "units":
            units[key] = tok[1] if key == "angle" else _floats(tok[1:2], file, where, 1)[0]
        elif section == "root":
            if key == "order":
                root["order"] = [t.lower() for t in tok[1:]]
            elif key == "axis":
                root["axis"] = tok[1].upper()
            elif key in ("position", "orientation"):
                root[key] = _floats(tok[1:], file, where, 3)
        elif section == "bonedata":
            if key == "begin":
                bone = {"dof": [], "axis": [0.0] * 3, "axis_order": "XYZ", "direction": None, "length": None}
            elif key == "end":
                if bone is None or "name" not in bone:
                    raise DataError(file, f"{where}: bone without a name", "each bone needs a 'name' line")
                if bone["direction"] is None or bone["length"] is None:
                    raise DataError(file, f"{where}: bone '{bone['name']}' lacks direction or length")
                bones[bone["name"]] = bone
                bone = None
            elif bone is None:
                raise DataError(file, f"{where}: '{line[:40]}' outside a begin/end bone block")
            elif key == "name":
                bone["name"] = tok[1]
            elif key == "direction":
                bone["direction"] = _floats(tok[1:], file, where, 3)
            elif key == "length":
                bone["length"] = _floats(tok[1:2], file, where, 1)[0]
            elif key == "axis":
                bone["axis"] = _floats(tok[1:4], file, where, 3)
                bone["axis_order"] = tok[4].upper() if len(tok) > 4 else "XYZ"
            elif key == "dof":
                bone["dof"] = [t.lower() for t in tok[1:]]
                bad = [d for d in bone["dof"] if d not in _DOF]
                if bad:
                    raise DataError(file, f"{where}: unknown dof {bad}", "dof names are rx ry rz tx ty tz l")
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            children.setdefault(tok[0], []).extend(tok[1:])
    if not bones:
        raise DataError(file, "no bones in ':bonedata'", "check the file is an ASF skeleton")
    if "root" not in children:
        raise DataError(file, "':hierarchy' has no 'root' line", "check the file is a complete ASF skeleton")
    unknown = sorted({c for cs in children.values() for c in cs} - set(bones))
    if unknown:
        raise DataError(file, f"':hierarchy' names bones not in ':bonedata': {unknown}")
    return {"file": file, "units": units, "root": root, "bones": bones, "children": children}


def parse_amc(path: str | os.PathLike, channels: dict[str, int]) -> dict[str, np.ndarray]:
    """AMC frames: bone name → `(T, channels[name])` values. `channels` is how many numbers each bone has per frame.

    Raises DataError on an unknown bone, a wrong count of numbers (naming the line) or a frame missing a bone.
    """
    file = str(path)
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        raise DataError(file, f"cannot read the file ({e.strerror})", "check the path") from None
    rows: dict[str, list[list[float]]] = {b: [] for b in channels}
    n_frames = 0
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        tok = line.split()
        if len(tok) == 1 and tok[0].isdigit():
            if n_frames and any(len(v) != n_frames for v in rows.values()):
                missing = [b for b, v in rows.items() if len(v) != n_frames]
                raise DataError(file, f"frame {n_frames} (before line {no}) lacks bone(s) {missing}")
            n_frames += 1
            continue
        name = tok[0]
        if name not in channels:
            raise DataError(file, f"line {no}: bone '{name}' is not in the ASF skeleton (or has no dof)",
                            "check the AMC belongs to this ASF")
        if n_frames == 0:
            raise DataError(file, f"line {no}: values before the first frame number")
        if len(tok) - 1 != channels[name]:
            raise DataError(file, f"line {no}: bone '{name}' has {len(tok) - 1} numbers, expected {channels[name]} "
                                  f"(its dof in the ASF)", "check the AMC belongs to this ASF")
        rows[name].append(_floats(tok[1:], file, f"line {no}"))
    if n_frames == 0:
        raise DataError(file, "zero frames", "the AMC file has no frame data")
    missing = [b for b, v in rows.items() if len(v) != n_frames]
    if missing:
        raise DataError(file, f"the last frame ({n_frames}) lacks bone(s) {missing}", "the file may be truncated")
    return {b: np.asarray(v, np.float64).reshape(n_frames, channels[b]) for b, v in rows.items()}


def asf_amc_source(asf_path: str | os.PathLike, amc_path: str | os.PathLike, fps: float = 120.0) -> SourceMotion:
    """Parse ASF + AMC into a joint-based `SourceMotion` (file units; see the module docstring)."""
    asf = parse_asf(asf_path)
    deg = str(asf["units"].get("angle", "deg")).lower().startswith("deg")
    to_deg = (lambda a: a) if deg else np.degrees
    bones, kids, root = asf["bones"], asf["children"], asf["root"]
    channels = {b: len(v["dof"]) for b, v in bones.items() if v["dof"]}
    channels["root"] = len(root["order"])
    frames = parse_amc(amc_path, channels)
    T = next(iter(frames.values())).shape[0]

    names, parents, offsets, rots, trans = ["root"], [-1], [np.zeros(3)], [], []
    # root: translation + rotation in the listed order, about the root axis frame
    r = frames["root"]
    order = root["order"]
    pos = np.tile(np.asarray(root["position"], np.float64), (T, 1))
    rot_order, rot_cols = "", []
    for k, d in enumerate(order):
        axis, t = _DOF.get(d, (None, None))
        if t is not None:
            pos[:, t] = r[:, k] + root["position"][t]
        elif axis is not None:
            rot_order += axis
            rot_cols.append(k)
    C = _extrinsic(root["axis"], to_deg(np.asarray(root["orientation"])))
    M = _extrinsic(rot_order, to_deg(r[:, rot_cols])) if rot_order else np.eye(3)
    rots.append(C @ M @ C.T)
    trans.append(pos)

    def add(bone: str, parent_idx: int, offset: np.ndarray):
        b = bones[bone]
        names.append(bone)
        parents.append(parent_idx)
        offsets.append(offset)
        C = _extrinsic(b["axis_order"], to_deg(np.asarray(b["axis"])))
        axes = "".join(_DOF[d][0] for d in b["dof"] if _DOF[d][0])
        if axes:
            cols = [k for k, d in enumerate(b["dof"]) if _DOF[d][0]]
            M = _extrinsic(axes, to_deg(frames[bone][:, cols]))
            rots.append(C @ M @ C.T)
        else:
            rots.append(np.broadcast_to(np.eye(3), (T, 3, 3)))
        trans.append(np.broadcast_to(offset, (T, 3)))
        me = len(names) - 1
        end = np.asarray(b["direction"], np.float64)
        end = end / (np.linalg.norm(end) or 1.0) * b["length"]
        if not kids.get(bone):
            names.append(f"{bone}_end")
            parents.append(me)
            offsets.append(end)
            rots.append(np.broadcast_to(np.eye(3), (T, 3, 3)))
            trans.append(np.broadcast_to(end, (T, 3)))
        for c in kids.get(bone, []):
            add(c, me, end)

    for c in kids["root"]:
        add(c, 0, np.zeros(3))
    rotations = np.stack([np.broadcast_to(R, (T, 3, 3)) for R in rots], axis=1)
    translations = np.stack([np.broadcast_to(t, (T, 3)) for t in trans], axis=1)
    length = float(asf["units"].get("length", 1.0)) or 1.0
    return SourceMotion(names=names, parents=parents, offsets=np.stack(offsets), rotations=rotations.copy(),
                        translations=translations.copy(), fps=float(fps), file=str(amc_path),
                        meta={"asf": str(asf_path), "unit_m_asf": INCH / length})


def load_asf_amc(asf_path: str | os.PathLike, amc_path: str | os.PathLike, rig=None,
                 joint_map: dict[str, str] | None = None, fps: float = 120.0, to_smpl_size: bool = True) -> Motion:
    """An ASF skeleton + AMC motion as an SMPL-24 `Motion` (poses `(T, 24, 3)`, trans `(T, 3)` metres, y up).

    `rig`/`joint_map` as for `load_bvh` (the `cmu` table knows the ASF bone names); `fps`: AMC files do not store
    it (CMU: 120). Lengths use the ASF `:units length` (inches × length). Example:
    `m = load_asf_amc("07.asf", "07_01.amc").resample(30)`.
    """
    with one_thread():
        src = asf_amc_source(asf_path, amc_path, fps)
        motion = retarget(src, rig=rig, joint_map=joint_map, scale=src.meta["unit_m_asf"],
                          to_smpl_size=to_smpl_size)
    motion.source.update(dataset="asf-amc", name=Path(amc_path).stem)
    warn_retarget(motion)
    return motion


def skeleton_for(amc: str | os.PathLike, skeleton: str | os.PathLike | None = None) -> Path:
    """The ASF skeleton of an AMC file, in the layouts datasets are published in:

    1. `skeleton=` (a path, or a file name looked up beside the AMC and then in its parent folders);
    2. per trial: `<amc stem>.asf` beside it (HDM05: `HDM_mm_hopBothLegs1hops_031.asf` + `.amc`, several subjects
       in one folder);
    3. per subject: the longest `_`-separated prefix of the AMC's name with an `.asf` beside it (CMU:
       `07_01.amc` → `07.asf`; `HDM_mm_walk_001.amc` → `HDM_mm.asf`);
    4. the only `.asf` in the AMC's folder.
    Raises DataError naming what was tried and how to name the skeleton. Example: `skeleton_for("07/07_01.amc")`.
    """
    amc = Path(amc)
    if skeleton:
        given = Path(skeleton).expanduser()
        tries = [given] if given.is_absolute() else [d / given for d in (amc.parent, *amc.parents)]
        for t in tries:
            if t.is_file():
                return t
        raise DataError(amc, f"skeleton={skeleton} not found beside it or in a folder above it",
                        "give skeleton= a path or the file name of the .asf")
    parts = amc.stem.split("_")
    names = [amc.stem] + ["_".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
    for n in names:
        cand = amc.with_name(n + ".asf")
        if cand.exists():
            return cand
    asfs = sorted(amc.parent.glob("*.asf"))
    if len(asfs) == 1:
        return asfs[0]
    tried = ", ".join(n + ".asf" for n in names)
    hint = ("the folder has several .asf files: name the one to use with skeleton=FILE.asf "
                   "(e.g. asf:FOLDER?skeleton=HDM_mm.asf)" if asfs else
                   "put the skeleton beside the AMC as TRIAL.asf (per trial) or SUBJECT.asf (per subject), or "
                   "name it with skeleton=FILE.asf (asf:FOLDER?skeleton=FILE.asf)")
    raise DataError(amc, f"no skeleton: none of {tried} and {len(asfs) or 'no'} .asf file(s) in {amc.parent}",
                    hint)


def load_asf_amc_folder(folder: str | os.PathLike, rig=None, joint_map: dict[str, str] | None = None,
                        labels: str | os.PathLike | None = None, report: SkipReport | None = None,
                        fps: float = 120.0, skeleton: str | os.PathLike | None = None,
                        caption: str | None = None, quiet: bool = False, cache: bool = True) -> list[Motion]:
    """All AMC files under `folder` as SMPL-24 motions, each with its ASF skeleton found by `skeleton_for`
    (per trial as HDM05, per subject as CMU, the folder's only ASF, or `skeleton=`). Files without a skeleton, or
    that fail to parse, are skipped and counted in `report` with the hint that says what to do. `labels`,
    `caption`, `rig` and `cache` as for `load_bvh_folder`.
    Example: `load_asf_amc_folder("HDM05/", labels="HDM_{subject}_{motion}_{take}", fps=120)`.
    """

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "no such folder", "give the folder that holds the .amc and .asf files")
    if isinstance(rig, (str, Path)) and str(rig).lower().endswith((".json", ".yaml", ".yml")):
        rig = in_data_folder(rig, folder)
    if labels is not None and str(labels).lower().endswith(".csv"):
        labels = in_data_folder(labels, folder)
    amcs = sorted(folder.rglob("*.amc"))

    def build(rep: SkipReport) -> list[Motion]:
        return load_folder(amcs, lambda f: load_asf_amc(skeleton_for(f, skeleton), f, rig=rig, joint_map=joint_map,
                                                        fps=fps),
                           labels=labels, report=rep, what=f"AMC files in {folder}", folder=folder, quiet=quiet,
                           caption=caption)

    asfs = sorted(folder.rglob("*.asf"))
    key = folder_cache_key("asf", amcs + asfs, ("asf_amc.py", "retarget.py", "labels.py", "motion.py",
                                                "rig_guess.py"),
                           rig=str(rig) if rig is not None else None, joint_map=joint_map, labels=labels,
                           caption=caption, fps=fps, skeleton=str(skeleton) if skeleton else None)
    return cached_motions(f"asf-{folder.name}", key, build, report, enabled=cache and bool(amcs))
