"""The official MotionCLIP tensor convention (`src/datasets/dataset.py::_load`, `src/utils/rotation_conversions.py`).

What `_load` builds for an AMASS window of T frames (pose_rep rot6d, glob=True, translation=True, 30 fps):
- rows 0–23: `matrix_to_rotation_6d(axis_angle_to_matrix(theta))` of the 24 SMPL-H joints MotionCLIP keeps
  (global orient, 21 body joints, left/right index1), where pytorch3d's 6D is the first two *rows* of the matrix
  (`R[..., :2, :]`), and the global orientation lives in AMASS's world: z up.
- row 24: `[tx, ty, tz, 0, 0, 0]`, the translation relative to frame 0, in the same z-up world. For AMASS the
  official parser takes it from `joints3d[:, 0]` (see `mcl.data.official_amass`); for mcl motions it is the pelvis path.
- Decoding: `rotation_6d_to_matrix` (Gram–Schmidt, result stacked as rows).

mcl's convention differs in two places: 6D = first two *columns*, and the world is y up. This module converts
between the two exactly (a proper rotation `C` about x takes y up to z up) and, on the way back from a model,
turns each motion about +y so that it faces +z at frame 0 as every mcl motion does (the official model was trained
on AMASS's arbitrary headings, so the heading of a decoded text is arbitrary).

Example: `official_to_motion(motion_to_official(m), fps=m.fps, start=m.trans[0])` equals `m` (to float precision).
"""
from __future__ import annotations

import numpy as np
import roma
import torch

from ..body.rotations import rot6d_to_rotmat, rotmat_to_6d, rotvec_to_rotmat
from ..data.motion import Motion, face_forward_tensor

FPS = 30.0  # amass_parser.py --target_fps default; the paper model's opt.yaml
# y up (mcl) -> z up (AMASS): +90° about x, the inverse of `mcl.data.amass.Z_UP_TO_Y_UP`
Y_UP_TO_Z_UP = roma.rotvec_to_rotmat(torch.tensor([np.pi / 2, 0.0, 0.0]))


def rotmat_to_official_6d(R: torch.Tensor) -> torch.Tensor:
    """`(..., 3, 3)` → `(..., 6)`: pytorch3d's `matrix_to_rotation_6d`, the first two rows `[r00 r01 r02 r10 r11 r12]`."""
    return R[..., :2, :].reshape(*R.shape[:-2], 6)


def official_6d_to_rotmat(d6: torch.Tensor) -> torch.Tensor:
    """`(..., 6)` → `(..., 3, 3)`: pytorch3d's `rotation_6d_to_matrix` (Gram–Schmidt of the two rows, third = cross).

    roma's Gram–Schmidt builds columns b1, b2, b1×b2 from two column vectors; the official stacks the same vectors
    as rows, i.e. the transpose.
    """
    two = torch.stack([d6[..., :3], d6[..., 3:]], dim=-1)  # (..., 3, 2)
    return roma.special_gramschmidt(two).transpose(-1, -2)


def _rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`(..., 25, 6, T)` → joint features `(..., T, 24, 6)` and translation `(..., T, 3)`."""
    if x.shape[-3:-1] != (25, 6):
        raise ValueError(f"expected a (..., 25, 6, T) MotionCLIP tensor, got {tuple(x.shape)}")
    f = x.movedim(-1, -3)
    return f[..., :24, :], f[..., 24, :3]


def _pack(rot6: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    row = torch.cat([trans, torch.zeros_like(trans)], dim=-1).unsqueeze(-2)  # (..., T, 1, 6)
    return torch.cat([rot6, row], dim=-2).movedim(-3, -1).contiguous()


def mcl_to_official(x: torch.Tensor) -> torch.Tensor:
    """mcl tensor `(..., 25, 6, T)` → the official convention (rows-6D, root and translation in the z-up world)."""
    rot6, trans = _rows(x)
    R = rot6d_to_rotmat(rot6)                                      # (..., T, 24, 3, 3)
    C = Y_UP_TO_Z_UP.to(x)
    R = torch.cat([(C @ R[..., :1, :, :]), R[..., 1:, :, :]], dim=-3)
    return _pack(rotmat_to_official_6d(R), trans @ C.T)


def official_to_mcl(x: torch.Tensor) -> torch.Tensor:
    """Official tensor `(..., 25, 6, T)` → mcl tensor (columns-6D, y up). The exact inverse of `mcl_to_official`."""
    rot6, trans = _rows(x)
    R = official_6d_to_rotmat(rot6)
    C = Y_UP_TO_Z_UP.to(x)
    R = torch.cat([(C.T @ R[..., :1, :, :]), R[..., 1:, :, :]], dim=-3)
    return _pack(rotmat_to_6d(R), trans @ C)


def motion_to_official(m: Motion) -> torch.Tensor:
    """A `Motion` (y up, any fps) → its official `(25, 6, T)` tensor, frame for frame (resample to 30 fps first
    for a model). Example: `motion_to_official(m.resample(30))`."""
    return mcl_to_official(m.to_tensor())


def official_to_motion(x: torch.Tensor, fps: float = FPS, start=None, **meta) -> Motion:
    """An official `(25, 6, T)` tensor → a y-up `Motion`; `start` is the pelvis position of frame 0 (default 0).

    No turn is applied: this is the exact inverse of `motion_to_official`.
    """
    return Motion.from_tensor(official_to_mcl(x.detach().float().cpu()), fps=fps, start=start, **meta)


def official_window(thetas: np.ndarray, root_track: np.ndarray) -> torch.Tensor:
    """What the official `_load` returns for one AMASS window: `thetas (T, 72)` (24 axis-angle joints, z-up world)
    and `root_track (T, 3)` (`joints3d[:, 0]` of the parsed file) → `(25, 6, T)`, through mcl's rotation code."""
    pose = torch.as_tensor(np.asarray(thetas, np.float64)).reshape(-1, 24, 3)
    R = rotvec_to_rotmat(pose)
    tr = torch.as_tensor(np.asarray(root_track, np.float64))
    return _pack(rotmat_to_official_6d(R), tr - tr[:1]).float()


class OfficialCodec:
    """Converts mcl tensors to the official convention for the model and back (then faces each motion to +z).

    Example: `OfficialCodec().from_model(model_output)` is an mcl tensor: y up, facing +z at frame 0.
    """
    name = "official"
    fps = FPS

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        return mcl_to_official(x)

    def from_model(self, x: torch.Tensor, turn: bool = True) -> torch.Tensor:
        """Model output → mcl tensor; `turn=False` (training) keeps the heading so a loss still sees its error."""
        x = official_to_mcl(x)
        return face_forward_tensor(x) if turn else x

