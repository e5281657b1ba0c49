"""Retargeting a source skeleton (BVH, ASF/AMC) onto SMPL-24 by a joint-name table.

How a source motion becomes SMPL-24:
1. Map source joints to SMPL joints with a table (shipped: `rigs/*.json`; or the user's JSON/YAML/dict,
   source name → SMPL-24 name). Source joints not in the map need no special case: forward kinematics gives every
   joint its world (global) rotation, which already contains the rotations of unmapped joints above it (Bandai's
   `joint_Root`, CMU's `lhipjoint`, a second neck joint…).
2. Find the file's up axis (`world_axes`): the clip's own frames (ankles → head, when the figure is upright in
   most of them), else the rest pose (head above ankles), else a map's `"up"` key. Build the source's reference
   pose: its rest pose (zero rotations; or the table's `base_pose`), turned so the file's up is +y and the
   figure's left is +x (the world change `W`), then each
   mapped bone is rotated by the shortest arc onto the direction of the matching SMPL rest bone (joints with
   several mapped children, the pelvis and the chest, by a best-fit rotation of all their bone directions), parent
   before child, carrying the subtree along. This turns an arms-down rest into SMPL's T-pose, keeping the twist of
   the source's own rest frames. `Q_s` is the world rotation of source joint s in that reference pose.
3. Per frame: SMPL global `R_j = W · G_s(t) · Q_s⁻¹` (so the reference pose maps to identities, the T-pose), and
   SMPL local `= R_parent⁻¹ · R_j`; SMPL joints without a source (e.g. `spine2` on a two-joint spine, the hands on
   a rig without fingers) keep their parent's orientation.
4. Root: the world position of the source hip centre (midpoint of the joints mapped to the hips), through `W`, in
   metres (file units × `scale`, detected from the leg length when not given), by default scaled by the SMPL/source
   leg-length ratio so the SMPL body's feet step as far as the source's; the SMPL pelvis is then placed so its own
   hip centre lands there (rigs put their root joint at different heights above the hips).
5. Floor: the clip is moved up or down so its soles touch y = 0 (its lowest joint over all frames sits as high as
   SMPL's lowest rest joint above its soles); the height in the file is never trusted (BVH root channels that add
   to the root OFFSET put bodies under the floor). A clip still upside down, or lifted from under the floor, gets
   a warning in `Motion.source["warnings"]` (and a `RetargetWarning`).
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import roma
import torch

from ..body.rotations import euler_to_rotmat
from ..body.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, REQUIRED, Skeleton, forward_kinematics, load_skeleton
from .errors import DataError
from .motion import Motion
from .rig_guess import guess_joint_map, write_rig_map_template

__all__ = ["SourceMotion", "RigMap", "RIGS_DIR", "shipped_rigs", "load_rig", "detect_rig", "resolve_mapping",
           "reference_pose", "world_axes", "detect_unit", "retarget", "one_thread", "RetargetWarning",
           "warn_retarget"]

RIGS_DIR = Path(__file__).parent / "rigs"
_CHILDREN = [[c for c, p in enumerate(PARENTS) if p == j] for j in range(len(JOINT_NAMES))]


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block: the tensors of one clip are small, and on a busy CPU torch's thread
    pool makes each small op ~20× slower (measured: 150 ms vs 6 ms per Euler conversion of a 273-frame clip)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@dataclass
class SourceMotion:
    """A parsed source skeleton and its motion, before retargeting (file units, the file's own axes).

    Shapes: `offsets (J, 3)` rest offset of each joint in its parent's frame; `rotations (T, J, 3, 3)` local
    rotations; `translations (T, J, 3)` local translations (the offsets, unless the file animates them).
    `parents[j] < j` for every non-root joint. Example: `src = parse_bvh("walk.bvh"); src.fk()[1].shape`.
    """
    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray
    fps: float
    file: str = "<source>"
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def fk(self, rotations: np.ndarray | None = None, translations: np.ndarray | None = None):
        """World rotations `(..., J, 3, 3)` and positions `(..., J, 3)`; defaults to the file's frames."""
        return _fk(self.parents, self.rotations if rotations is None else rotations,
                   self.translations if translations is None else translations)


def _fk(parents, rot: np.ndarray, trans: np.ndarray):
    glob = np.empty_like(rot)
    pos = np.empty(rot.shape[:-1], dtype=rot.dtype)
    for j, p in enumerate(parents):
        if p < 0:
            glob[..., j, :, :] = rot[..., j, :, :]
            pos[..., j, :] = trans[..., j, :]
        else:
            glob[..., j, :, :] = glob[..., p, :, :] @ rot[..., j, :, :]
            pos[..., j, :] = pos[..., p, :] + (glob[..., p, :, :] @ trans[..., j, :, None])[..., 0]
    return glob, pos


# --- rig tables --------------------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    """Match names case-insensitively and without a namespace (`mixamorig:Hips` → `hips`)."""
    return name.rsplit(":", 1)[-1].strip().lower()


@dataclass
class RigMap:
    """A joint-name table: `joints` source name → SMPL-24 name; optional `base_pose` (source name → `(order,
    degrees)`, local Euler angles that make the rig stand upright when its zero pose does not) and `up` axis.

    Example: `load_rig("bandai").joints["UpperArm_L"] == "left_shoulder"`.
    """
    name: str
    joints: dict[str, str]
    base_pose: dict[str, tuple[str, list[float]]] = field(default_factory=dict)
    up: str | None = None
    description: str = ""

    def __post_init__(self):
        bad = {s: t for s, t in self.joints.items() if t not in JOINT_INDEX}
        if bad:
            raise DataError(self.name, f"joint map names unknown SMPL-24 joints {bad}",
                            f"targets must be one of {', '.join(JOINT_NAMES)}")
        if self.up is not None and self.up.lstrip("+-").lower() not in ("x", "y", "z"):
            raise DataError(self.name, f"up axis '{self.up}' is not one of x, y, z, -x, -y, -z")


def shipped_rigs() -> list[str]:
    """Names of the tables in `mcl/data/rigs/` (e.g. `['bandai', 'cmu', 'mixamo']`)."""
    return sorted(p.stem for p in RIGS_DIR.glob("*.json"))


RIG_KEYS = ("name", "description", "up", "joints", "base_pose")  # keys starting with "_" are notes, ignored


def _rig_from_dict(d: dict, name: str) -> RigMap:
    d = {k: v for k, v in d.items() if not str(k).startswith("_")}
    if "joints" not in d:  # a bare map {source: smpl}
        return RigMap(name, {str(k): str(v) for k, v in d.items()})
    unknown = [k for k in d if k not in RIG_KEYS]
    if unknown:
        raise DataError(name, f"rig map has unknown key(s) {unknown}",
                        f"the keys are {', '.join(RIG_KEYS)} (see docs/data.md, 'Your own mocap'); "
                        "start a note's key with _")
    base = {str(k): (str(v["order"]), [float(a) for a in v["degrees"]]) for k, v in d.get("base_pose", {}).items()}
    return RigMap(str(d.get("name", name)), {str(k): str(v) for k, v in d["joints"].items()}, base,
                  d.get("up"), str(d.get("description", "")))


def load_rig(rig: str | os.PathLike | dict | RigMap) -> RigMap:
    """A rig table by shipped name (`"bandai"`, `"cmu"`, `"mixamo"`), JSON/YAML path, or dict.

    A file/dict holds either a bare map `{"Hips": "pelvis", ...}` or a full map with these keys:
    - `joints` (required): source joint name → SMPL-24 name (`mcl.body.skeleton.JOINT_NAMES`); names match without
      case or namespace (`mixamorig:Hips` = `hips`); at least pelvis, hips, knees, ankles, shoulders, elbows,
      wrists and head or neck; unmapped source joints are carried by their mapped children;
    - `up` (optional): the file's up axis, `x`/`y`/`z` with an optional `-`; leave it out (or null): it is found
      from the clips (ankles → head), else from the rest pose;
    - `base_pose` (optional): source name → `{"order": "ZXY", "degrees": [a, b, c]}`, local Euler angles that make
      the rest pose a standing figure, for rigs whose zero pose is not one and whose clips rarely stand;
    - `name`, `description` (optional): shown in `Motion.source["rig"]`; keys starting with `_` are notes.
    Example: `load_rig({"Hips": "pelvis", "LThigh": "left_hip", ...})`.
    """
    if isinstance(rig, RigMap):
        return rig
    if isinstance(rig, dict):
        return _rig_from_dict(rig, "joint_map")
    if isinstance(rig, str) and rig in shipped_rigs():
        path = RIGS_DIR / f"{rig}.json"
    else:
        path = Path(rig)
        if not path.is_file():
            raise DataError(str(rig), "no such rig table",
                            f"use one of {shipped_rigs()} or the path of a JSON/YAML joint map")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(path.read_text())
        else:
            data = json.loads(path.read_text())
    except Exception as e:  # noqa: BLE001 - report any parse error with the file name
        raise DataError(path, f"cannot read the rig table ({e})", "it must be JSON or YAML") from None
    if not isinstance(data, dict):
        raise DataError(path, "a rig table must be a mapping of source joint names to SMPL-24 names")
    return _rig_from_dict(data, path.stem)


def _match(names: list[str], rig: RigMap) -> list[int]:
    """SMPL index → source joint index (-1 where the table maps nothing present)."""
    table = {_norm(k): v for k, v in rig.joints.items()}
    mapping = [-1] * len(JOINT_NAMES)
    for i, n in enumerate(names):
        target = table.get(_norm(n))
        if target is None:
            continue
        j = JOINT_INDEX[target]
        if mapping[j] >= 0:
            raise DataError(rig.name, f"both '{names[mapping[j]]}' and '{n}' map to SMPL joint '{target}'",
                            "map each SMPL-24 joint from one source joint only")
        mapping[j] = i
    return mapping


def _missing(mapping: list[int]) -> list[str]:
    missing = [n for n in REQUIRED if mapping[JOINT_INDEX[n]] < 0]
    if mapping[JOINT_INDEX["head"]] < 0 and mapping[JOINT_INDEX["neck"]] < 0:
        missing.append("head (or neck)")
    return missing


def _unknown_rig_error(names: list[str], file: str, rig: RigMap | None, mapping: list[int],
                       parents: list[int] | None = None) -> DataError:
    """The unknown-rig error: what is missing, a few source names, and a ready-to-edit map (written beside the data
    when `parents` are known and the folder is writable, else shown in the message)."""
    mapped = {names[i] for i in mapping if i >= 0}
    unmapped = [n for n in names if n not in mapped and not n.endswith("_end")]
    which = f"rig '{rig.name}'" if rig else f"no shipped rig table ({', '.join(shipped_rigs())})"
    problem = (f"unknown rig: {which} leaves SMPL joints {_missing(mapping)} unmapped; the file has {len(unmapped)} other "
               f"joints ({', '.join(unmapped[:6])}{', …' if len(unmapped) > 6 else ''})")
    if parents is None or not Path(file).exists():
        return DataError(file, problem, "pass rig=MAP.json (bvh:FOLDER?rig=MAP.json), a JSON map of source joint "
                                        "names to SMPL-24 names; see docs/data.md, 'Your own mocap'")

    path, text = write_rig_map_template(names, parents, file)
    n = len(guess_joint_map(names, parents))
    if path is None:
        return DataError(file, problem, f"save this map (guessed {n} of 24 joints) as MAP.json, check and complete "
                                        f"it, then pass rig=MAP.json:\n{text}")
    return DataError(file, problem, f"wrote a map with the {n} joints mcl could guess to {path}: check it, add any "
                                    f"missing joints, then pass rig={path} (bvh:FOLDER?rig={path.name} reads it from "
                                    f"the data folder)")


def detect_rig(names: list[str], file: str = "<source>", parents: list[int] | None = None) -> RigMap:
    """The shipped table that maps all required SMPL joints and the most source joints; DataError when none does.

    Example: `detect_rig(parse_bvh("walk.bvh").names).name == "bandai"`.
    """
    best, best_key, best_map = None, None, None
    for rig_name in shipped_rigs():
        rig = load_rig(rig_name)
        try:
            mapping = _match(names, rig)
        except DataError:
            continue
        key = (not _missing(mapping), sum(i >= 0 for i in mapping))
        if best_key is None or key > best_key:
            best, best_key, best_map = rig, key, mapping
    if best is None or not best_key[0]:
        raise _unknown_rig_error(names, file, None, best_map or [-1] * len(JOINT_NAMES), parents)
    return best


def resolve_mapping(names: list[str], rig=None, joint_map: dict[str, str] | None = None,
                    file: str = "<source>", parents: list[int] | None = None) -> tuple[RigMap, list[int]]:
    """The rig table in use and, for each SMPL-24 joint, the index of its source joint (-1: none).

    `joint_map` (source → SMPL) overrides `rig`; `rig=None` auto-detects among the shipped tables.
    """
    if joint_map is not None:
        table = load_rig(dict(joint_map)) if not isinstance(joint_map, RigMap) else joint_map
        if rig is not None:  # keep the rig's base pose / up axis, take the user's joint names
            base = load_rig(rig)
            table = RigMap(table.name, table.joints, base.base_pose, base.up, base.description)
    elif rig is not None:
        table = load_rig(rig)
    else:
        table = detect_rig(names, file, parents)
    mapping = _match(names, table)
    if _missing(mapping):
        raise _unknown_rig_error(names, file, table, mapping, parents)
    return table, mapping


# --- reference pose ----------------------------------------------------------------------------------------------
def _axis(v: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """The signed coordinate axis closest to `v` (optionally not along `exclude`)."""
    a = np.abs(v).copy()
    if exclude is not None:
        a[np.argmax(np.abs(exclude))] = -1
    out = np.zeros(3)
    k = int(np.argmax(a))
    out[k] = np.sign(v[k]) or 1.0
    return out


def _up_axis(up: str) -> np.ndarray:
    out = np.zeros(3)
    out["xyz".index(up.lstrip("+-").lower())] = -1.0 if up.startswith("-") else 1.0
    return out


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation `(3, 3)` turning direction `a` onto `b` about their common normal."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(np.dot(a, b))
    if s < 1e-8:
        if c > 0:
            return np.eye(3)
        # Opposite directions: turn about an axis perpendicular to a, preferring the forward (z) axis.
        axis = np.cross(a, [0.0, 0.0, 1.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [1.0, 0.0, 0.0])
        s = np.linalg.norm(axis)
    rotvec = axis / s * np.arctan2(s, c)
    return roma.rotvec_to_rotmat(torch.from_numpy(rotvec)).numpy()


def _descendants(parents: list[int]) -> np.ndarray:
    """`(J, J)` bool: `d[a, k]` is True when k is a or lies below a."""
    J = len(parents)
    d = np.eye(J, dtype=bool)
    for k in range(J):
        p = parents[k]
        while p >= 0:
            d[p, k] = True
            p = parents[p]
    return d


def _mapped_below(j: int, mapping: list[int]) -> list[int]:
    """The nearest mapped SMPL joints below j (one per branch)."""
    out = []
    for c in _CHILDREN[j]:
        out += [c] if mapping[c] >= 0 else _mapped_below(c, mapping)
    return out


def _base_locals(src: SourceMotion, rig: RigMap) -> np.ndarray:
    rot = np.broadcast_to(np.eye(3), (len(src.names), 3, 3)).copy()
    base = {_norm(k): v for k, v in rig.base_pose.items()}
    for i, n in enumerate(src.names):
        if _norm(n) in base:
            order, deg = base[_norm(n)]
            rot[i] = euler_to_rotmat(order, torch.tensor(deg, dtype=torch.float64)).numpy()
    return rot


def _rest_up(at: dict) -> np.ndarray:
    top = at.get("head", at.get("neck"))
    return _axis(top - (at["left_ankle"] + at["right_ankle"]) / 2)


def _left_axis(hips: np.ndarray, shoulders: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The coordinate axis (not `up`) nearest the figure's right-to-left direction (hips, else shoulders)."""
    lateral = hips if np.linalg.norm(hips - np.dot(hips, up) * up) > 1e-9 else shoulders
    return _axis(lateral - np.dot(lateral, up) * up, exclude=up)


def world_axes(src: SourceMotion, rig: RigMap, mapping: list[int], pos: np.ndarray | None = None):
    """The source file's up and left axes `(up (3,), left (3,) or None, how)`, found without any `up` key.

    A rig's zero (rest) pose need not stand the way its clips do (iClone's CC_Base rig rests lying or upside
    down and its root rotation stands it up), so the clip itself decides first: the mean direction from the
    ankles to the head over its frames, snapped to a coordinate axis, when the figure is upright in most frames
    (mean resultant length ≥ 0.7). Otherwise (a clip spent lying or rolling) the rest pose decides: head above
    ankles. A map's `"up"` key overrides both. `left` is None when the rest pose gives it (see `reference_pose`).
    Example: `up, left, how = world_axes(src, *resolve_mapping(src.names))` → `how == "clip"` for most files.
    """
    if rig.up:
        return _up_axis(rig.up), None, "map"
    _, rest_pos = _fk(src.parents, _base_locals(src, rig), src.offsets.astype(np.float64))
    at = {n: rest_pos[mapping[JOINT_INDEX[n]]] for n in JOINT_NAMES if mapping[JOINT_INDEX[n]] >= 0}
    rest_up = _rest_up(at)
    if pos is None:
        pos = src.fk()[1]
    idx = {n: mapping[JOINT_INDEX[n]] for n in JOINT_NAMES if mapping[JOINT_INDEX[n]] >= 0}
    top = pos[:, idx["head"] if "head" in idx else idx["neck"]]
    d = top - (pos[:, idx["left_ankle"]] + pos[:, idx["right_ankle"]]) / 2
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
    mean = d.mean(0)
    if np.linalg.norm(mean) < 0.7:
        return rest_up, None, "rest pose"
    up = _axis(mean)
    if np.allclose(up, rest_up):
        return up, None, "clip"
    # the rest pose lies another way than the clip stands: take left from the clip's first frame too
    p0 = pos[0]
    left = _left_axis(p0[idx["left_hip"]] - p0[idx["right_hip"]],
                      p0[idx["left_shoulder"]] - p0[idx["right_shoulder"]], up)
    return up, left, "clip"


def reference_pose(src: SourceMotion, rig: RigMap, mapping: list[int], skeleton: Skeleton | None = None,
                   up: np.ndarray | None = None, left: np.ndarray | None = None):
    """The world change `W (3, 3)` (source axes → y-up, +z-facing) and the reference world rotations `Q (J, 3, 3)`
    of the source joints, a pose whose mapped bones point along the SMPL rest (T-pose) bones; also the leg length
    of the source (file units). `up`/`left`: the source's up and left axes (from `world_axes`); None: from the
    rest pose (head above ankles, left hip beside right hip). See the module docstring for the method.
    Example: `W, Q, leg = reference_pose(src, *resolve_mapping(src.names, "bandai"))` → `W == I` for Bandai.
    """
    sk = skeleton or load_skeleton()
    rest = sk.rest.double().numpy()
    base = _base_locals(src, rig)
    glob, pos = _fk(src.parents, base, src.offsets.astype(np.float64))
    at = {n: pos[mapping[JOINT_INDEX[n]]] for n in JOINT_NAMES if mapping[JOINT_INDEX[n]] >= 0}

    # World change: snap the figure's up and left axes to coordinate axes, so the file's ground plane is kept.
    if up is None:
        up = _up_axis(rig.up) if rig.up else _rest_up(at)
    if left is None:
        left = _left_axis(at["left_hip"] - at["right_hip"], at["left_shoulder"] - at["right_shoulder"], up)
    W = np.stack([left, up, np.cross(left, up)])  # rows: source left → +x, up → +y, forward → +z

    glob = W @ glob
    pos = pos @ W.T
    below = _descendants(src.parents)
    for j in range(len(JOINT_NAMES)):
        s = mapping[j]
        if s < 0:
            continue
        pairs = [(pos[mapping[c]] - pos[s], rest[c] - rest[j]) for c in _mapped_below(j, mapping)
                 if below[s, mapping[c]]]
        pairs = [(a, b) for a, b in pairs if np.linalg.norm(a) > 1e-9 and np.linalg.norm(b) > 1e-9]
        if not pairs:
            continue  # a leaf (head, hands, feet): keeps the turn its parent got
        if len(pairs) == 1:
            delta = shortest_arc(*pairs[0])
        else:
            x = torch.tensor(np.stack([a / np.linalg.norm(a) for a, _ in pairs]))
            y = torch.tensor(np.stack([b / np.linalg.norm(b) for _, b in pairs]))
            delta = roma.rigid_vectors_registration(x, y).numpy()
        sub = below[s]
        glob[sub] = delta @ glob[sub]
        pos[sub] = pos[s] + (pos[sub] - pos[s]) @ delta.T

    def leg(side):
        h, k, a = (at[f"{side}_{n}"] for n in ("hip", "knee", "ankle"))
        return np.linalg.norm(k - h) + np.linalg.norm(a - k)

    return W, glob, (leg("left") + leg("right")) / 2


def _smpl_leg(sk: Skeleton) -> float:
    r = sk.rest.double().numpy()
    i = JOINT_INDEX
    return float(np.mean([np.linalg.norm(r[i[f"{s}_knee"]] - r[i[f"{s}_hip"]]) +
                          np.linalg.norm(r[i[f"{s}_ankle"]] - r[i[f"{s}_knee"]]) for s in ("left", "right")]))


def detect_unit(leg_length: float) -> float | None:
    """Metres per file unit from the hip-to-ankle leg length: m (0.3–1.5), cm (30–150), mm (300–1500), else None.

    Example: `detect_unit(80.0) == 0.01`; `detect_unit(14.0) is None` (inches or an odd unit: pass `scale=`).
    """
    for lo, unit in ((0.3, 1.0), (30.0, 0.01), (300.0, 0.001)):
        if lo <= leg_length <= 5 * lo:
            return unit
    return None


# --- retargeting -------------------------------------------------------------------------------------------------
class RetargetWarning(UserWarning):
    """A retargeted clip that looks wrong (upside down, lifted from under the floor): check its rig map."""


def _axis_name(v: np.ndarray) -> str:
    k = int(np.argmax(np.abs(v)))
    return ("-" if v[k] < 0 else "+") + "xyz"[k]


def _on_the_floor(local: np.ndarray, trans: np.ndarray, sk: Skeleton, up_from: str,
                  root_offset_up: float | None = None):
    """Move the clip up or down so its lowest joint over all frames sits where SMPL's lowest rest joint sits above
    its soles (1.5 cm for the mannequin): the soles touch the floor y = 0. Files disagree on where the floor is
    (BVH root position channels that replace or add to the root OFFSET, ASF root positions, a rig whose root is at
    the feet), so the height is never taken from the file. Returns the new trans, the shift and warnings: a clip
    whose head is below its pelvis in most frames, or that the file put more than 10 cm under the floor (unless
    the root's OFFSET height, `root_offset_up`, explains it: root channels written relative to the OFFSET)."""

    J = forward_kinematics(torch.from_numpy(local), torch.from_numpy(trans), sk).numpy()
    rest = sk.rest.double().numpy()
    sole_gap = sk.floor_below_pelvis - (rest[0, 1] - rest[:, 1].min())
    lowest = float(J[..., 1].min())
    shift = sole_gap - lowest
    trans = trans.copy()
    trans[:, 1] += shift
    warns = []
    upside = float(np.mean(J[:, JOINT_INDEX["head"], 1] < J[:, 0, 1]))
    if upside > 0.5:
        warns.append(f"the body is upside down in {upside:.0%} of frames (up axis from the {up_from}): add "
                     f"\"up\": \"y\" (or the file's up axis, e.g. \"z\", \"-y\") to the rig map")
    sunk = sole_gap - lowest
    if sunk > 0.10 and not (root_offset_up is not None and abs(sunk - root_offset_up) < 0.10):
        warns.append(f"the file put the body {sunk:.2f} m under the floor (root position channels "
                     f"relative to the root OFFSET?); lifted it onto the floor")
    return trans, float(shift), warns


def warn_retarget(motion: Motion) -> None:
    """Emit the clip's retargeting warnings (`motion.source["warnings"]`) as `RetargetWarning`s."""
    import warnings

    for w in motion.source.get("warnings", []):
        warnings.warn(f"{motion.source.get('file', motion.name)}: {w}", RetargetWarning, stacklevel=3)


_REFERENCE_CACHE: dict[tuple, tuple] = {}


def retarget(src: SourceMotion, rig=None, joint_map: dict[str, str] | None = None, scale: float | None = None,
             to_smpl_size: bool = True, skeleton: Skeleton | None = None) -> Motion:
    """A `SourceMotion` as an SMPL-24 `Motion`: poses `(T, 24, 3)` axis-angle, pelvis trans `(T, 3)` metres, y up.

    `rig`/`joint_map`: see `resolve_mapping`; `scale`: metres per file unit (None: detect cm/m/mm from the leg
    length); `to_smpl_size`: scale the root path by the SMPL/source leg-length ratio (default) instead of keeping
    the source's metres. Example: `retarget(parse_bvh("walk.bvh"), rig="cmu").to_tensor().shape[:2] == (25, 6)`.
    """
    sk = skeleton or load_skeleton()
    table, mapping = resolve_mapping(src.names, rig, joint_map, src.file, src.parents)
    glob, pos = src.fk()
    up, left, up_from = world_axes(src, table, mapping, pos)
    key = (table.name, repr(sorted(table.base_pose.items())), up.tobytes(), None if left is None else left.tobytes(),
           tuple(mapping), tuple(src.parents), src.offsets.tobytes(), sk.source, sk.rest.numpy().tobytes())
    if key not in _REFERENCE_CACHE:  # one per skeleton: all clips of a dataset usually share it
        if len(_REFERENCE_CACHE) > 256:
            _REFERENCE_CACHE.clear()
        _REFERENCE_CACHE[key] = reference_pose(src, table, mapping, sk, up=up, left=left)
    W, Q, leg = _REFERENCE_CACHE[key]
    unit = scale if scale is not None else detect_unit(leg)
    if unit is None and not to_smpl_size:
        raise DataError(src.file, f"cannot tell the length unit (hip-to-ankle leg length is {leg:.3g} file units)",
                        "pass scale=<metres per file unit>, e.g. 0.0254 for inches")
    ratio = _smpl_leg(sk) / leg
    k = ratio if to_smpl_size else unit

    T = src.num_frames
    R = np.empty((T, len(JOINT_NAMES), 3, 3))
    for j, s in enumerate(mapping):
        R[:, j] = W @ glob[:, s] @ Q[s].T if s >= 0 else R[:, PARENTS[j]]
    local = R.copy()
    local[:, 1:] = np.swapaxes(R[:, list(PARENTS[1:])], -1, -2) @ R[:, 1:]
    poses = roma.rotmat_to_rotvec(torch.from_numpy(local)).numpy()
    # Place the pelvis so the SMPL hip centre sits where the (scaled) source hip centre is: rigs put their root
    # joint at different heights above the hips (Bandai 2 cm, SMPL ~10 cm), and the hips are what carry the feet.
    hip_src = (pos[:, mapping[JOINT_INDEX["left_hip"]]] + pos[:, mapping[JOINT_INDEX["right_hip"]]]) / 2
    rest = sk.rest.double().numpy()
    hip_smpl = (rest[JOINT_INDEX["left_hip"]] + rest[JOINT_INDEX["right_hip"]]) / 2 - rest[0]
    trans = hip_src @ W.T * k - R[:, 0] @ hip_smpl
    root_offset_up = float((W @ src.meta["root_offset"])[1] * k) if "root_offset" in src.meta else None
    trans, floor_shift, warns = _on_the_floor(local, trans, sk, up_from, root_offset_up)

    names = src.names
    return Motion(poses, trans, src.fps, source={
        "file": src.file, "rig": table.name, "unit_m": unit, "root_scale": float(k), "leg_ratio": float(ratio),
        "world_change": W.tolist(), "up_axis": _axis_name(np.asarray(W[1])), "up_from": up_from,
        "floor_shift_m": floor_shift, "warnings": warns,
        "joint_map": {JOINT_NAMES[j]: names[s] for j, s in enumerate(mapping) if s >= 0},
        "unmapped_source_joints": [n for i, n in enumerate(names) if i not in mapping and not n.endswith("_end")],
        **{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in src.meta.items()}})
