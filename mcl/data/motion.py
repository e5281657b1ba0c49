"""The `Motion` record and its conversions to and from MotionCLIP's `25 × 6 × T` tensor.

A Motion is SMPL-24 axis-angle rotations `(T, 24, 3)` + pelvis world position `(T, 3)` in metres, y up, with its
frame rate, its texts and where it came from. Conversions never change a motion silently: `resample` returns a new
record that says so in `source["resampled_from_fps"]`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..body.rotations import rot6d_to_rotvec, rotvec_slerp_weighted, rotvec_to_6d
from ..body.skeleton import NUM_JOINTS
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
    Example: `m = Motion(np.zeros((60, 24, 3)), np.zeros((60, 3)), fps=30); m.to_tensor().shape == (25, 6, 60)`.
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

    # --- resampling --------------------------------------------------------------------------------------------
    def resample(self, fps: float = 30.0) -> "Motion":
        """Same motion at another frame rate: slerp for rotations, linear for translation; duration is kept.

        The new clip has `round(T · fps / self.fps)` frames sampled at `k / fps` seconds (clamped to the last frame).
        Example: `Motion(...120 frames..., fps=60).resample(30).num_frames == 60`.
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
