"""The SMPL-24 skeleton: joint names, kinematic tree, rest joints and batched forward kinematics.

Rest joints come from the mannequin-x calibration (Apache-2.0, no SMPL files needed) unless SMPL model files are
supplied (argument or `MCL_SMPL_DIR`), in which case they are SMPL's own `J_regressor @ v_template`. SMPL's joints 22
and 23 ("hands") are SMPL-H's `index1` joints, so the mannequin's `L_Index1`/`R_Index1` give their positions.

World convention: y up, metres, the body faces +z in its rest pose; `Motion.trans` is the pelvis world position.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .rotations import rotvec_to_rotmat
from .smpl import load_smpl

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = 24
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
# SMPL joints a source rig must provide to be retargeted; the rest (spines, collars, feet, hands) fall back to their
# parent's orientation (mcl.data.retarget, mcl.data.rig_guess).
REQUIRED = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
            "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
# Mirror pairs (left ↔ right), used by symmetry checks and augmentation.
MIRROR = tuple(JOINT_INDEX[n.replace("left_", "right_")] if n.startswith("left_")
               else JOINT_INDEX[n.replace("right_", "left_")] if n.startswith("right_") else i
               for i, n in enumerate(JOINT_NAMES))
# Joint groups for body-part editing (upper / lower body) and metrics.
LOWER_BODY = tuple(JOINT_INDEX[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                                            "right_ankle", "left_foot", "right_foot"))
UPPER_BODY = tuple(i for i in range(1, NUM_JOINTS) if i not in LOWER_BODY)


@dataclass(frozen=True)
class Skeleton:
    """SMPL-24 rest geometry. `rest` is `(24, 3)` joint positions in the rest (T-)pose, metres, y up.

    `floor_below_pelvis` is the rest pelvis height above the soles, used to put motions on the ground.

    >>> sk = load_skeleton(); sk.offsets.shape
    torch.Size([24, 3])
    """
    rest: torch.Tensor
    floor_below_pelvis: float
    source: str

    @property
    def offsets(self) -> torch.Tensor:
        """`(24, 3)` each joint relative to its parent in the rest pose; row 0 is zero (the root is placed by trans)."""
        parents = torch.tensor(PARENTS[1:])
        off = torch.zeros_like(self.rest)
        off[1:] = self.rest[1:] - self.rest[parents]
        return off

    def rest_relative(self) -> torch.Tensor:
        """`(24, 3)` rest joints with the pelvis at the origin."""
        return self.rest - self.rest[0]


def smpl_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """Where SMPL model files live: the argument, else `MCL_SMPL_DIR`, else None (use the mannequin)."""
    d = explicit or os.environ.get("MCL_SMPL_DIR")
    return Path(d).expanduser() if d else None


@functools.lru_cache(maxsize=4)
def _mannequin_skeleton() -> Skeleton:
    from mannequin import Mannequin

    model = Mannequin("wooden")
    pose = model.rest_pose()
    joints = model.joint_transforms(pose)[:, :3, 3]
    names = list(model.joint_names)
    rest = np.asarray(joints[:22], dtype=np.float32).copy()
    hands = joints[[names.index("L_Index1"), names.index("R_Index1")]]
    rest = np.concatenate([rest, np.asarray(hands, np.float32)], axis=0)
    floor = float(rest[0, 1] - model.vertices(pose)[:, 1].min())
    return Skeleton(torch.from_numpy(rest), floor, "mannequin-x wooden (no SMPL files)")


@functools.lru_cache(maxsize=4)
def _smpl_skeleton(model_dir: str, gender: str) -> Skeleton:
    smpl = load_smpl(model_dir, gender=gender)
    v = smpl.v_template.detach().float()
    rest = (smpl.J_regressor.float() @ v).detach()
    floor = float(rest[0, 1] - v[:, 1].min())
    return Skeleton(rest.contiguous(), floor, f"SMPL {gender} from {model_dir}")


def load_skeleton(smpl_model_dir: str | os.PathLike | None = None, gender: str = "neutral") -> Skeleton:
    """The SMPL-24 skeleton: SMPL's when model files are given (argument or `MCL_SMPL_DIR`), else mannequin-x's.

    Example: `load_skeleton().source` → `'mannequin-x wooden (no SMPL files)'` on a machine without SMPL.
    """
    d = smpl_dir(smpl_model_dir)
    if d is not None:
        return _smpl_skeleton(str(d), gender)
    return _mannequin_skeleton()


def forward_kinematics(rotmats: torch.Tensor, trans: torch.Tensor, skeleton: Skeleton | None = None,
                       return_global_rotmats: bool = False):
    """Joint positions `(..., 24, 3)` from local rotations `(..., 24, 3, 3)` and pelvis positions `(..., 3)`.

    Differentiable and batched over any leading dims (e.g. `(B, T)`). With `return_global_rotmats=True` also returns
    the world rotation of each joint `(..., 24, 3, 3)`.
    Example: no rotation = the rest joints, pelvis at 0.

    >>> sk = load_skeleton()
    >>> torch.allclose(forward_kinematics(torch.eye(3).expand(24, 3, 3), torch.zeros(3)), sk.rest - sk.rest[0])
    True
    >>> forward_kinematics(torch.eye(3).expand(2, 60, 24, 3, 3), torch.zeros(2, 60, 3)).shape
    torch.Size([2, 60, 24, 3])
    """
    sk = skeleton or load_skeleton()
    offsets = sk.offsets.to(rotmats)
    glob: list[torch.Tensor] = [rotmats[..., 0, :, :]]
    pos: list[torch.Tensor] = [trans]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        pos.append(pos[p] + (glob[p] @ offsets[j].unsqueeze(-1)).squeeze(-1))
        glob.append(glob[p] @ rotmats[..., j, :, :])
    joints = torch.stack(pos, dim=-2)
    if return_global_rotmats:
        return joints, torch.stack(glob, dim=-3)
    return joints


def joints_from_rotvec(poses: torch.Tensor, trans: torch.Tensor, skeleton: Skeleton | None = None) -> torch.Tensor:
    """`(..., 24, 3)` axis-angle + `(..., 3)` pelvis positions → `(..., 24, 3)` joint positions."""
    return forward_kinematics(rotvec_to_rotmat(poses), trans, skeleton)
