"""Rotation conversions used across mcl, all through roma (no hand-written quaternion code).

Conventions: axis-angle ("rotvec") vectors `(..., 3)`, rotation matrices `(..., 3, 3)` acting on column vectors,
MotionCLIP's 6D representation = the first two *columns* of the rotation matrix, flattened column-major as
`[r00, r10, r20, r01, r11, r21]` `(..., 6)`. Quaternions only appear at the boundary with file formats; roma uses
xyzw order, DeepMimic stores wxyz (see `quat_wxyz_to_rotvec`).
"""
from __future__ import annotations

import roma
import torch

__all__ = [
    "rotvec_to_rotmat", "rotmat_to_rotvec", "rotmat_to_6d", "rot6d_to_rotmat", "rotvec_to_6d", "rot6d_to_rotvec",
    "quat_wxyz_to_rotvec", "euler_to_rotmat", "rotvec_slerp_weighted",
]


def rotvec_to_rotmat(rotvec: torch.Tensor) -> torch.Tensor:
    """`(..., 3)` axis-angle → `(..., 3, 3)`.

    >>> torch.equal(rotvec_to_rotmat(torch.zeros(24, 3)), torch.eye(3).expand(24, 3, 3))
    True
    """
    return roma.rotvec_to_rotmat(rotvec)


def rotmat_to_rotvec(rotmat: torch.Tensor) -> torch.Tensor:
    """`(..., 3, 3)` → `(..., 3)` axis-angle with angle in [0, π]."""
    return roma.rotmat_to_rotvec(rotmat)


def rotmat_to_6d(rotmat: torch.Tensor) -> torch.Tensor:
    """`(..., 3, 3)` → `(..., 6)`: first two columns, column after column."""
    return rotmat[..., :, :2].transpose(-1, -2).reshape(*rotmat.shape[:-2], 6)


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """`(..., 6)` → `(..., 3, 3)` by Gram–Schmidt (Zhou et al. 2019); any 6 numbers give a valid rotation."""
    cols = x.reshape(*x.shape[:-1], 2, 3).transpose(-1, -2)  # (..., 3, 2)
    return roma.special_gramschmidt(cols)


def rotvec_to_6d(rotvec: torch.Tensor) -> torch.Tensor:
    """`(..., 3)` → `(..., 6)`.

    >>> rotvec_to_6d(torch.zeros(3)).abs().tolist()
    [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    """
    return rotmat_to_6d(rotvec_to_rotmat(rotvec))


def rot6d_to_rotvec(x: torch.Tensor) -> torch.Tensor:
    """`(..., 6)` → `(..., 3)`."""
    return rotmat_to_rotvec(rot6d_to_rotmat(x))


def quat_wxyz_to_rotvec(q: torch.Tensor) -> torch.Tensor:
    """`(..., 4)` quaternion in w,x,y,z order (DeepMimic, BVH tools) → `(..., 3)`; normalises first."""
    q = roma.quat_normalize(roma.quat_wxyz_to_xyzw(q))
    return roma.unitquat_to_rotvec(q)


def euler_to_rotmat(order: str, angles_deg: torch.Tensor) -> torch.Tensor:
    """Intrinsic Euler angles in degrees, e.g. BVH `Zrotation Xrotation Yrotation` → `order="ZXY"`.

    `angles_deg` is `(..., len(order))`, the angles in the order the axes are listed. Uppercase order means
    intrinsic rotations in roma, which is what BVH and ASF/AMC mean: R = R_first @ R_second @ R_third.
    """
    return roma.euler_to_rotmat(order.upper(), angles_deg, degrees=True)


def rotvec_slerp_weighted(r0: torch.Tensor, r1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Element-wise slerp between rotations `r0`, `r1` `(..., 3)` with weights `w` `(...)` in [0, 1].

    Geodesic on SO(3): R(w) = R0 · exp(w · log(R0ᵀ R1)), the shortest arc, so it equals quaternion slerp.
    """
    delta = roma.rotvec_composition([roma.rotvec_inverse(r0), r1])
    return roma.rotvec_composition([r0, delta * w[..., None]])
