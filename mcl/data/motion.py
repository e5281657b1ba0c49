"""The `Motion` record and its conversions to and from MotionCLIP's `25 × 6 × T` tensor.

A Motion is SMPL-24 axis-angle rotations `(T, 24, 3)` + pelvis world position `(T, 3)` in metres, y up, with its
frame rate, its texts and where it came from. Conversions never change a motion silently: `resample` returns a new
record that says so in `source["resampled_from_fps"]`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..body.rotations import (rot6d_to_rotmat, rot6d_to_rotvec, rotmat_to_6d, rotmat_to_rotvec, rotvec_slerp_weighted,
                              rotvec_to_6d, rotvec_to_rotmat)
from ..body.skeleton import MIRROR, NUM_JOINTS
from .errors import DataError

NUM_ROWS = 25  # 24 joint rotations + 1 translation row
NUM_FEATS = 6


@dataclass
class Segment:
    """A labelled time span (seconds) inside a motion, e.g. a BABEL frame-level annotation.

    `text` is the raw free-form label ("walk forward"); `actions` the categories it belongs to ("walk").
    """
    start: float
    end: float
    text: str
    actions: tuple[str, ...] = ()


@dataclass
class Motion:
    """One motion clip in SMPL-24. Shapes: `poses (T, 24, 3)` axis-angle, `trans (T, 3)` pelvis position (m, y up).

    `texts`: descriptions of the whole clip (may be empty); `segments`: time-stamped labels (BABEL);
    `labels`: raw categorical labels kept beside the texts (e.g. `{"content": "walk", "style": "elderly"}`);
    `source`: where it came from (`{"dataset": "deepmimic", "file": ".../humanoid3d_walk.txt", ...}`).

    >>> m = Motion(np.zeros((60, 24, 3)), np.zeros((60, 3)), fps=30); m.to_tensor().shape
    torch.Size([25, 6, 60])
    >>> Motion.from_tensor(m.to_tensor()).num_frames, m.duration
    (60, 2.0)
    """
    poses: np.ndarray
    trans: np.ndarray
    fps: float
    texts: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.poses = np.asarray(self.poses, dtype=np.float32)
        self.trans = np.asarray(self.trans, dtype=np.float32)
        where = self.source.get("file", self.source.get("dataset", "<motion>"))
        if self.poses.ndim != 3 or self.poses.shape[1:] != (NUM_JOINTS, 3):
            raise DataError(where, f"poses has shape {self.poses.shape}, expected (T, 24, 3) axis-angle")
        if self.trans.shape != (self.poses.shape[0], 3):
            raise DataError(where, f"trans has shape {self.trans.shape}, expected ({self.poses.shape[0]}, 3)")
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise DataError(where, f"fps is {self.fps!r}, expected a positive number")
        self.texts = list(self.texts)

    # --- basic facts -------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @property
    def duration(self) -> float:
        """Seconds covered: each frame stands for 1/fps."""
        return self.num_frames / self.fps

    @property
    def name(self) -> str:
        return str(self.source.get("name") or self.source.get("file") or (self.texts[0] if self.texts else "motion"))

    def nan_frames(self) -> np.ndarray:
        """Indices of frames with a NaN or inf in poses or trans."""
        bad = ~np.isfinite(self.poses).all(axis=(1, 2)) | ~np.isfinite(self.trans).all(axis=1)
        return np.flatnonzero(bad)

    def replace(self, **changes) -> "Motion":
        """A copy with some fields changed (deep-copies texts, labels, source)."""
        fields = dict(poses=self.poses, trans=self.trans, fps=self.fps, texts=list(self.texts),
                      segments=list(self.segments), labels=copy.deepcopy(self.labels),
                      source=copy.deepcopy(self.source))
        fields.update(changes)
        return Motion(**fields)

    def slice(self, start: int, stop: int) -> "Motion":
        """Frames `[start, stop)`, with segments clipped and shifted to the new start."""
        t0, t1 = start / self.fps, stop / self.fps
        segs = [Segment(max(s.start, t0) - t0, min(s.end, t1) - t0, s.text, s.actions)
                for s in self.segments if s.end > t0 and s.start < t1]
        src = dict(copy.deepcopy(self.source), frames=(int(start) + self.source.get("frames", (0, 0))[0],
                                                      int(stop) + self.source.get("frames", (0, 0))[0]))
        return self.replace(poses=self.poses[start:stop], trans=self.trans[start:stop], segments=segs, source=src)

    # --- MotionCLIP tensor -------------------------------------------------------------------------------------
    def to_tensor(self) -> torch.Tensor:
        """`(25, 6, T)` float32: rot6d of the 24 joints, then `[tx, ty, tz, 0, 0, 0]` relative to frame 0."""
        return motion_to_tensor(torch.from_numpy(self.poses), torch.from_numpy(self.trans))

    @classmethod
    def from_tensor(cls, x: torch.Tensor, fps: float = 30.0, start: np.ndarray | torch.Tensor | None = None,
                    **meta) -> "Motion":
        """Inverse of `to_tensor`. `start` is the pelvis position of frame 0 (zeros when not known)."""
        poses, trans = tensor_to_motion(x.detach().cpu().float())
        trans = trans.numpy()
        if start is not None:
            trans = trans + np.asarray(start, np.float32)
        return cls(poses.numpy(), trans, fps, **meta)

    def face_forward(self) -> "Motion":
        """The same motion turned about the vertical axis so that at frame 0 the body faces +z, pelvis at x = z = 0.

        A text cannot say which way a body faces, so the model sees every window in this canonical heading
        (training, encoding, evaluation). The turn is recorded in `source["faced_forward_deg"]`.
        Example: `m.face_forward().to_tensor()` is what `mcl.latent.ops.encode` feeds the encoder.
        """
        poses = torch.from_numpy(self.poses)
        yaw = heading(rotvec_to_rotmat(poses[0, 0]))
        turn = yaw_rotmat(-yaw)
        root = rotmat_to_rotvec(turn @ rotvec_to_rotmat(poses[:, 0])).numpy()
        new_poses = self.poses.copy()
        new_poses[:, 0] = root
        rel = torch.from_numpy(self.trans - self.trans[:1] * np.array([1, 0, 1], np.float32))
        trans = (rel @ turn.T).numpy()
        src = dict(copy.deepcopy(self.source), faced_forward_deg=float(np.degrees(-float(yaw))))
        return self.replace(poses=new_poses, trans=trans, source=src)

    # --- resampling --------------------------------------------------------------------------------------------
    def resample(self, fps: float = 30.0) -> "Motion":
        """Same motion at another frame rate: slerp for rotations, linear for translation; duration is kept.

        The new clip has `round(T · fps / self.fps)` frames sampled at `k / fps` seconds (clamped to the last frame).

        >>> Motion(np.zeros((120, 24, 3)), np.zeros((120, 3)), fps=60).resample(30).num_frames
        60
        """
        if abs(fps - self.fps) < 1e-9:
            return self
        n_new = max(1, int(round(self.num_frames * fps / self.fps)))
        t = np.arange(n_new) / fps * self.fps  # position in old frame units
        t = np.clip(t, 0, self.num_frames - 1)
        i0 = np.floor(t).astype(np.int64)
        i1 = np.minimum(i0 + 1, self.num_frames - 1)
        w = (t - i0).astype(np.float32)
        p = torch.from_numpy(self.poses)
        wt = torch.from_numpy(w)[:, None].expand(n_new, NUM_JOINTS)
        poses = rotvec_slerp_weighted(p[i0], p[i1], wt).numpy()
        trans = self.trans[i0] * (1 - w[:, None]) + self.trans[i1] * w[:, None]
        src = dict(copy.deepcopy(self.source), resampled_from_fps=self.fps)
        return self.replace(poses=poses, trans=trans, fps=float(fps), source=src)


_SIDE = re.compile(r"\b(left|right|Left|Right|LEFT|RIGHT)\b")
_OTHER_SIDE = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def swap_sides(text: str) -> str:
    """`text` with the words left and right swapped — what a caption of a mirrored motion says.

    >>> swap_sides("raises their left hand, then the right")
    'raises their right hand, then the left'
    """
    return _SIDE.sub(lambda m: _OTHER_SIDE[m.group(0)], text)


def mirror_motion(m: Motion) -> Motion:
    """The left–right mirror image (reflection x → −x; the body faces +z): a new performance of the same action.

    A local rotation ω of joint j becomes (ωx, −ωy, −ωz) on its mirror partner; the pelvis path is reflected.
    Texts, segment texts and string labels swap "left" and "right" (a wave of the left hand becomes one of the right).
    Example: `mirror_motion(mirror_motion(m))` equals `m` (up to float error).
    """
    poses = m.poses[:, list(MIRROR)] * np.array([1.0, -1.0, -1.0], np.float32)
    trans = m.trans * np.array([-1.0, 1.0, 1.0], np.float32)
    segments = [Segment(s.start, s.end, swap_sides(s.text), tuple(swap_sides(a) for a in s.actions))
                for s in m.segments]
    labels = {k: swap_sides(v) if isinstance(v, str) else v for k, v in m.labels.items()}
    return m.replace(poses=poses, trans=trans, texts=[swap_sides(t) for t in m.texts], segments=segments,
                     labels=labels, source=dict(m.source, name=f"{m.name} (mirrored)",
                                                mirrored=not m.source.get("mirrored", False)))


def heading(root_rotmat: torch.Tensor) -> torch.Tensor:
    """Yaw angle `(...)` (radians, about +y) of a body whose root rotation is `(..., 3, 3)`; 0 = facing +z.

    Uses both the forward (+z) and left (+x) body axes projected on the floor, so it stays defined when the body
    lies, bends over or is upside down.
    """
    f, left = root_rotmat[..., :, 2], root_rotmat[..., :, 0]
    return torch.atan2(f[..., 0] - left[..., 2], f[..., 2] + left[..., 0])


def yaw_rotmat(yaw: torch.Tensor) -> torch.Tensor:
    """`(...)` yaw angles (radians) → `(..., 3, 3)` rotations about +y (the inverse of `heading` for upright bodies)."""
    axis = torch.zeros(*yaw.shape, 3, dtype=yaw.dtype)
    axis[..., 1] = yaw
    return rotvec_to_rotmat(axis)


def face_forward_tensor(x: torch.Tensor) -> torch.Tensor:
    """`(..., 25, 6, T)` MotionCLIP tensors turned about +y so that each faces +z at its first frame.

    The batched, tensor-side twin of `Motion.face_forward` (translation rows are already relative to frame 0).
    """
    root = rot6d_to_rotmat(x[..., 0, :, :].movedim(-1, -2))              # (..., T, 3, 3)
    turn = yaw_rotmat(-heading(root[..., 0, :, :]).to(x.dtype))        # (..., 3, 3)
    out = x.clone()
    out[..., 0, :, :] = rotmat_to_6d(turn[..., None, :, :] @ root).movedim(-2, -1)
    t = x[..., 24, :3, :]                                                # (..., 3, T)
    out[..., 24, :3, :] = turn @ t
    return out


def motion_to_tensor(poses: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """`(..., T, 24, 3)` axis-angle + `(..., T, 3)` → `(..., 25, 6, T)` MotionCLIP features (batched)."""
    rot6d = rotvec_to_6d(poses)  # (..., T, 24, 6)
    rel = trans - trans[..., :1, :]
    row = torch.cat([rel, torch.zeros_like(rel)], dim=-1).unsqueeze(-2)  # (..., T, 1, 6)
    x = torch.cat([rot6d, row], dim=-2)  # (..., T, 25, 6)
    return x.movedim(-3, -1).contiguous().float()


def tensor_to_motion(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`(..., 25, 6, T)` → axis-angle `(..., T, 24, 3)` and translation relative to frame 0 `(..., T, 3)`."""
    if x.shape[-3:-1] != (NUM_ROWS, NUM_FEATS):
        raise ValueError(f"expected a (..., 25, 6, T) MotionCLIP tensor, got {tuple(x.shape)}")
    f = x.movedim(-1, -3)  # (..., T, 25, 6)
    return rot6d_to_rotvec(f[..., :NUM_JOINTS, :]), f[..., NUM_JOINTS, :3]
