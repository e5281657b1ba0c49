"""The 15 DeepMimic mocap clips that ship with pybullet, retargeted onto SMPL-24: the embedded default data set.

File format (checked against pybullet's `pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py`): JSON with
"Frames", one row of 44 numbers per key frame: the frame's duration (s), root position (3), root quaternion (w x y z),
chest (4), neck (4), right hip (4), right knee (1 angle, rad), right ankle (4), right shoulder (4), right elbow (1),
left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1). Quaternions are local rotations,
the root's is global. The last row's duration is 0.

The humanoid (`pybullet_data/humanoid/humanoid.urdf`, loaded with globalScaling 0.25 by pybullet's DeepMimic env) is
y-up, faces +x (its right hip is at +z, its feet point +x) and rests with its arms hanging DOWN; knees and elbows are
hinges about the local z axis (knee flexion is a negative angle). Our SMPL-24 rests in a T-pose facing +z, so:

- the world is turned by W = R_y(-90°) (DeepMimic +x → our +z);
- every joint j gets a rest correction A_j, the rotation that takes our rest bone direction (j → child) onto
  DeepMimic's (arms: sideways → down; legs: slightly splayed → straight down), and a local rotation becomes
  `local_smpl(j) = A_parent⁻¹ · W · R_deepmimic(j) · W⁻¹ · A_j`, so world bone directions match DeepMimic's.

Mapping: root → pelvis, chest → spine1, neck → neck, hips/knees/ankles/shoulders/elbows joint for joint, all other
joints identity. spine1 is the SMPL joint nearest DeepMimic's chest joint (4.6 cm; spine3 is 15 cm away): over
walk/backflip/roll/crawl/getup/cartwheel the shoulders, neck and wrist (relative to the hips) land 6.1 cm from the
scaled DeepMimic skeleton's on average with spine1, 7.3 cm with spine3.
The root position (DeepMimic's root sits between the hips) is scaled by the ratio of rest hip heights (leg lengths),
our pelvis is placed so our hip centre lands on it, and the clip is shifted vertically so its lowest foot joint touches
the floor (measured: an upward shift of 0…7 cm, largest for run and roll).
"""
from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import roma
import torch

from ..body.rotations import rotmat_to_rotvec, rotvec_slerp_weighted
from ..body.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS, forward_kinematics, load_skeleton
from .errors import DataError, SkipReport
from .motion import Motion
from .retarget import shortest_arc

CLIP_NAMES: tuple[str, ...] = (
    "walk", "run", "jump", "kick", "punch", "backflip", "cartwheel", "crawl", "dance_a", "dance_b",
    "getup_facedown", "getup_faceup", "roll", "spin", "spinkick",
)

# Several natural descriptions per clip; texts[0] is the canonical one.
TEXTS: dict[str, tuple[str, ...]] = {
    "walk": ("a person walks forward", "someone is walking", "a person takes a few steps forward"),
    "run": ("a person runs forward", "someone is running", "a person jogs quickly forward"),
    "jump": ("a person jumps forward", "someone jumps", "a person leaps forward with both feet"),
    "kick": ("a person kicks", "someone kicks with the right leg", "a person does a front kick"),
    "punch": ("a person punches", "someone throws a punch", "a person boxes"),
    "backflip": ("a person does a backflip", "someone flips backwards", "a person jumps and somersaults backwards"),
    "cartwheel": ("a person does a cartwheel", "someone cartwheels sideways", "a person turns a cartwheel"),
    "crawl": ("a person crawls on hands and knees", "someone is crawling forward", "a person crawls"),
    # the two dances differ: A travels sideways with the arms raised high and the knees bending; B sways in place
    "dance_a": ("a person dances sideways with both arms raised over the head", "someone dances with the arms up",
                "a person dances energetically, bouncing and raising the arms"),
    "dance_b": ("a person sways from side to side, dancing in place", "someone dances in place",
                "a person sways the hips and dances"),
    "getup_facedown": ("a person gets up from lying face down", "someone stands up from lying on the stomach",
                       "a person pushes up off the ground and stands"),
    "getup_faceup": ("a person gets up from lying on the back", "someone stands up from lying face up",
                     "a person sits up and gets to their feet"),
    "roll": ("a person does a forward roll", "someone rolls forward on the ground", "a person somersaults forward"),
    "spin": ("a person spins around", "someone turns around in place", "a person pirouettes"),
    "spinkick": ("a person does a spinning kick", "someone spins and kicks", "a person does a roundhouse kick"),
}

# Row layout of one key frame: (deepmimic joint, first column, number of values).
FRAME_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("root", 4, 4), ("chest", 8, 4), ("neck", 12, 4),
    ("right_hip", 16, 4), ("right_knee", 20, 1), ("right_ankle", 21, 4), ("right_shoulder", 25, 4),
    ("right_elbow", 29, 1),
    ("left_hip", 30, 4), ("left_knee", 34, 1), ("left_ankle", 35, 4), ("left_shoulder", 39, 4),
    ("left_elbow", 43, 1),
)
FRAME_WIDTH = 44

# DeepMimic joint → SMPL-24 joint.
TO_SMPL: dict[str, str] = {
    "root": "pelvis", "chest": "spine1", "neck": "neck",
    "right_hip": "right_hip", "right_knee": "right_knee", "right_ankle": "right_ankle",
    "right_shoulder": "right_shoulder", "right_elbow": "right_elbow",
    "left_hip": "left_hip", "left_knee": "left_knee", "left_ankle": "left_ankle",
    "left_shoulder": "left_shoulder", "left_elbow": "left_elbow",
}
# SMPL joint → (SMPL child, DeepMimic joint, DeepMimic child) whose bone directions define the rest correction.
# The wrist and hand continue the forearm rigidly (DeepMimic has no hands), so they share the elbow's correction.
_ALIGNED_BONES = {
    f"{s}_{j}": (f"{s}_{c}", f"{s}_{dj}", f"{s}_{dc}")
    for s in ("left", "right")
    for j, c, dj, dc in (("hip", "knee", "hip", "knee"), ("knee", "ankle", "knee", "ankle"),
                         ("shoulder", "elbow", "shoulder", "elbow"), ("elbow", "wrist", "elbow", "wrist"))
}
_SHARE_CORRECTION = {f"{s}_{j}": f"{s}_elbow" for s in ("left", "right") for j in ("wrist", "hand")}

URDF_SCALE = 0.25  # pybullet's DeepMimic env loads humanoid.urdf with globalScaling=0.25
W = roma.rotvec_to_rotmat(torch.tensor([0.0, -np.pi / 2, 0.0]))  # DeepMimic world (faces +x) → ours (faces +z)
FOOT_JOINTS = tuple(JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot"))


def deepmimic_dir() -> Path:
    """Folder of the DeepMimic clips inside the installed `pybullet_data`.

    Example: `deepmimic_dir().name == 'motions'`.
    """
    try:
        import pybullet_data
    except ImportError as e:  # pragma: no cover - pybullet is a hard dependency
        raise DataError("pybullet_data", "pybullet is not installed", "pip install pybullet") from e
    return Path(pybullet_data.getDataPath()) / "data" / "motions"


def deepmimic_files() -> dict[str, Path]:
    """Clip name → file, for the 15 humanoid clips.

    Example: `deepmimic_files()["walk"].name == 'humanoid3d_walk.txt'`.
    """
    d = deepmimic_dir()
    return {n: d / f"humanoid3d_{n}.txt" for n in CLIP_NAMES}


# --- the DeepMimic humanoid's rest skeleton, read from its URDF ---------------------------------------------------
@functools.lru_cache(maxsize=1)
def deepmimic_rest() -> dict:
    """Rest geometry of DeepMimic's humanoid (metres, its own y-up, +x-facing frame), parsed from `humanoid.urdf`.

    Returns `{"joints": {name: (3,) position}, "parents": {name: parent}, "axes": {hinge: (3,) axis},
    "pelvis_height": root (= hip centre) height above the soles}`.
    Example: `deepmimic_rest()["axes"]["right_knee"]` → `[0, 0, 1]`.
    """
    urdf = deepmimic_dir().parent.parent / "humanoid" / "humanoid.urdf"
    if not urdf.exists():
        raise DataError(urdf, "DeepMimic humanoid URDF not found", "reinstall pybullet (pip install -U pybullet)")
    tree = ET.fromstring(urdf.read_bytes().rstrip(b"\x00\r\n "))  # pybullet's copy ends in a NUL byte

    def vec(el, attr="xyz"):
        return np.array([float(v) for v in el.get(attr).split()], dtype=np.float64)

    joints, parents, axes = {"root": np.zeros(3)}, {}, {}
    for j in tree.findall("joint"):
        name, parent = j.get("name"), j.find("parent").get("link")
        if name == "root":
            continue
        if np.abs(vec(j.find("origin"), "rpy")).max() > 0:
            raise DataError(urdf, f"joint {name} has a rest rotation; the retargeting assumes none")
        parents[name] = parent
        joints[name] = joints[parent] + URDF_SCALE * vec(j.find("origin"))
        if j.get("type") == "revolute":
            axes[name] = vec(j.find("axis"))
    # The sole is the bottom of the ankle link's collision box.
    ankle = next(l for l in tree.findall("link") if l.get("name") == "right_ankle").find("collision")
    sole = joints["right_ankle"][1] + URDF_SCALE * (vec(ankle.find("origin"))[1]
                                                    - vec(ankle.find("geometry/box"), "size")[1] / 2)
    return {"joints": joints, "parents": parents, "axes": axes, "pelvis_height": float(-sole)}


@functools.lru_cache(maxsize=4)
def _rest_corrections(skeleton_source: str) -> torch.Tensor:
    """`(24, 3, 3)` rest corrections A_j (see module docstring), in our world frame.

    Cached per skeleton (`skeleton_source` is `load_skeleton().source`, so SMPL files give their own corrections).
    """
    rest = load_skeleton().rest.double().numpy()
    dm = deepmimic_rest()["joints"]
    w = W.double().numpy()
    A = torch.eye(3).repeat(NUM_JOINTS, 1, 1)
    for j, (child, dj, dc) in _ALIGNED_BONES.items():
        ours = rest[JOINT_INDEX[child]] - rest[JOINT_INDEX[j]]
        theirs = w @ (dm[dc] - dm[dj])
        A[JOINT_INDEX[j]] = torch.from_numpy(shortest_arc(ours, theirs)).float()
    for j, src in _SHARE_CORRECTION.items():
        A[JOINT_INDEX[j]] = A[JOINT_INDEX[src]]
    return A


# --- parsing and retargeting ----------------------------------------------------------------------------------------
def read_frames(path: str | Path) -> tuple[np.ndarray, str]:
    """The `(T, 44)` key-frame table of a DeepMimic motion file and its "Loop" mode ("wrap" or "none").

    Example: `frames, loop = read_frames(deepmimic_files()["walk"])`; `frames.shape == (39, 44)`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, "file not found", "pass one of the humanoid3d_*.txt files of pybullet_data") from None
    except json.JSONDecodeError as e:
        raise DataError(path, f"not valid JSON ({e})", "is this a DeepMimic motion file?") from None
    if not isinstance(data, dict) or "Frames" not in data:
        raise DataError(path, 'no "Frames" field', "DeepMimic motion files are JSON with a Frames list")
    try:
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except ValueError:
        raise DataError(path, "Frames rows have different lengths", f"each row needs {FRAME_WIDTH} numbers") from None
    if frames.ndim != 2 or frames.shape[1] != FRAME_WIDTH or len(frames) < 2:
        raise DataError(path, f"Frames has shape {frames.shape}",
                        f"expected at least 2 rows of {FRAME_WIDTH} numbers (humanoid3d clips only)")
    if not np.isfinite(frames).all():
        raise DataError(path, "Frames contains NaN or inf")
    return frames, str(data.get("Loop", "none"))


def frame_times(frames: np.ndarray) -> tuple[np.ndarray, float]:
    """Start time of each key frame `(T,)` in seconds, and the clip's frame rate (from the median duration)."""
    dur = frames[:-1, 0]  # the last row's duration is 0: nothing follows it
    if (dur <= 0).any():
        raise ValueError("DeepMimic frame durations must be positive")
    fps = round(1.0 / float(np.median(dur)), 2)  # files store 0.033332 for 1/30 s: round to 30.0
    return np.concatenate([[0.0], np.cumsum(dur)]), fps


def local_rotations(frames: np.ndarray) -> dict[str, torch.Tensor]:
    """DeepMimic joint → `(T, 3, 3)` local rotation (the root's is global), in DeepMimic's own frame."""
    f = torch.from_numpy(frames).float()
    axes = deepmimic_rest()["axes"]
    out = {}
    for name, col, width in FRAME_LAYOUT:
        if width == 4:
            q = roma.quat_normalize(roma.quat_wxyz_to_xyzw(f[:, col:col + 4]))
            out[name] = roma.unitquat_to_rotmat(q)
        else:
            axis = torch.tensor(axes[name], dtype=torch.float32)
            out[name] = roma.rotvec_to_rotmat(f[:, col:col + 1] * axis)
    return out


def retarget(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeepMimic key frames `(T, 44)` → SMPL-24 axis-angle `(T, 24, 3)` and pelvis positions `(T, 3)` (y up, m).

    The clip is on the floor: its lowest foot joint over the whole clip is at the rest height of the soles' joints.
    Example: `poses, trans = retarget(read_frames(deepmimic_files()["walk"])[0])`.
    """
    sk = load_skeleton()
    T = len(frames)
    A = _rest_corrections(sk.source).float()
    rots = local_rotations(frames)
    R = torch.eye(3).repeat(T, NUM_JOINTS, 1, 1)
    for dm_name, smpl_name in TO_SMPL.items():
        R[:, JOINT_INDEX[smpl_name]] = W @ rots[dm_name] @ W.T
    parents = torch.tensor((0,) + PARENTS[1:])
    A_parent = A[parents]
    A_parent[0] = torch.eye(3)
    local = A_parent.transpose(-1, -2) @ R @ A

    # DeepMimic's root sits between its hips: put our hip centre there, after scaling by the ratio of leg lengths
    # (hip centre above the soles in the two rest poses; our pelvis is ~9 cm above our hips, DeepMimic's root is not).
    rest = sk.rest
    hip_to_pelvis = rest[0] - 0.5 * (rest[JOINT_INDEX["left_hip"]] + rest[JOINT_INDEX["right_hip"]])
    scale = (sk.floor_below_pelvis - float(hip_to_pelvis[1])) / deepmimic_rest()["pelvis_height"]
    root_pos = torch.from_numpy(frames[:, 1:4]).float()
    trans = scale * root_pos @ W.T + (local[:, 0] @ hip_to_pelvis)

    # Floor: the lowest foot joint of the clip rests where it does when standing in the rest pose.
    joints = forward_kinematics(local, trans, sk)
    sole = rest[0, 1] - sk.floor_below_pelvis
    clearance = float((rest[list(FOOT_JOINTS), 1] - sole).min())
    trans[:, 1] += clearance - joints[:, FOOT_JOINTS, 1].min()
    return rotmat_to_rotvec(local).numpy(), trans.numpy()


def _uniform(poses: np.ndarray, trans: np.ndarray, times: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample frames taken at irregular `times` onto a regular grid at `fps` (slerp / linear)."""
    t_new = np.arange(int(round(times[-1] * fps)) + 1) / fps
    i1 = np.clip(np.searchsorted(times, t_new, side="right"), 1, len(times) - 1)
    i0 = i1 - 1
    w = np.clip((t_new - times[i0]) / (times[i1] - times[i0]), 0, 1).astype(np.float32)
    p = torch.from_numpy(poses)
    new_poses = rotvec_slerp_weighted(p[i0], p[i1], torch.from_numpy(w)[:, None].expand(-1, NUM_JOINTS))
    new_trans = trans[i0] * (1 - w[:, None]) + trans[i1] * w[:, None]
    return new_poses.numpy(), new_trans


def load_deepmimic_clip(name_or_path: str | Path) -> Motion:
    """One DeepMimic clip as a `Motion` at its native frame rate (16–60 fps), retargeted to SMPL-24.

    `name_or_path` is a clip name from `CLIP_NAMES` ("walk") or a path to a humanoid3d_*.txt file.
    Texts are natural descriptions ("a person walks forward", …); `labels["action"]` keeps the raw name.
    Example: `m = load_deepmimic_clip("walk"); m.fps == 30.0; m.texts[0] == 'a person walks forward'`.
    """
    files = deepmimic_files()
    path = files.get(str(name_or_path), Path(name_or_path))
    name = path.stem.removeprefix("humanoid3d_")
    frames, loop = read_frames(path)
    try:
        times, fps = frame_times(frames)
    except ValueError as e:
        raise DataError(path, str(e), "column 0 of each row is the key frame's duration in seconds") from None
    poses, trans = retarget(frames)
    source = {"dataset": "deepmimic", "file": str(path), "name": f"deepmimic/{name}", "loop": loop}
    if not np.allclose(np.diff(times), 1.0 / fps, atol=1e-4):
        # roll has one doubled key frame; put it on a regular grid so Motion's fps is true
        poses, trans = _uniform(poses, trans, times, fps)
        source["retimed_from_irregular_keyframes"] = len(frames)
    texts = list(TEXTS.get(name, (f"a person does a {name.replace('_', ' ')}",)))
    return Motion(poses, trans, fps, texts=texts, labels={"action": name}, source=source)


def load_deepmimic(names: list[str] | tuple[str, ...] | None = None, report: SkipReport | None = None,
                   progress: bool = False) -> list[Motion]:
    """The DeepMimic clips (all 15 by default) at their native frame rates; `make_windows` resamples to 30 fps.

    A clip that cannot be read is counted in `report` and left out (an unknown name is an error).
    Example: `clips = load_deepmimic(); len(clips) == 15`; `load_deepmimic(["walk", "run"])`.
    """
    names = list(names) if names is not None else list(CLIP_NAMES)
    unknown = [n for n in names if n not in CLIP_NAMES]
    if unknown:
        raise DataError("deepmimic", f"unknown clip name(s) {unknown}", f"choose from {', '.join(CLIP_NAMES)}")
    report = report if report is not None else SkipReport()
    from tqdm.auto import tqdm

    out = []
    for n in tqdm(names, desc="deepmimic", disable=not progress):
        try:
            out.append(load_deepmimic_clip(n))
        except DataError as e:
            report.add(f"deepmimic/{n}", str(e))
    return out
