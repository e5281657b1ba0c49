"""Cutting motions into the fixed-length windows MotionCLIP trains on (60 frames at 30 fps by default).

A window is itself a `Motion` (so everything that takes a motion takes a window). Its texts are the clip's texts, or,
when the clip has time-stamped segments (BABEL), the distinct raw labels that overlap the window joined by " and ",
as the paper does. Clips that are too short and windows with NaN frames are skipped and counted in a `SkipReport`.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .errors import SkipReport
from .motion import Motion

WINDOW_FRAMES = 60
WINDOW_FPS = 30.0


def segment_text(motion: Motion) -> tuple[list[str], list[str]]:
    """Distinct raw labels and action categories of `motion.segments`, in order of first appearance."""
    texts: list[str] = []
    actions: list[str] = []
    for seg in sorted(motion.segments, key=lambda s: s.start):
        if seg.end - seg.start <= 0:
            continue
        if seg.text and seg.text not in texts:
            texts.append(seg.text)
        actions += [a for a in seg.actions if a not in actions]
    return texts, actions


def _finish(window: Motion) -> Motion:
    """Set a window's texts and action labels from its segments (when it has any)."""
    if window.segments:
        texts, actions = segment_text(window)
        if texts:
            window.texts = [" and ".join(texts)]
        window.labels = dict(window.labels, actions=actions)
    return window


def windows(motion: Motion, length: int = WINDOW_FRAMES, stride: int | None = None,
            report: SkipReport | None = None) -> list[Motion]:
    """Cut one motion into windows of `length` frames every `stride` frames (default: non-overlapping).

    Returns [] and records a reason in `report` when the clip is shorter than a window; a window that contains a
    NaN/inf frame is skipped likewise. Example: a 150-frame clip, `length=60` → windows at 0 and 60.

    >>> from mcl.data.synthetic import synthetic_motion
    >>> [w.source["frames"] for w in windows(synthetic_motion(150), length=60)]
    [(0, 60), (60, 120)]
    >>> report = SkipReport(); windows(synthetic_motion(40), length=60, report=report), len(report)
    ([], 1)
    """
    report = report if report is not None else SkipReport()
    stride = stride or length
    if stride < 1 or length < 1:
        raise ValueError(f"length and stride must be ≥ 1, got length={length}, stride={stride}")
    if motion.num_frames < length:
        report.add(motion.name, f"shorter than a window ({motion.num_frames} < {length} frames)")
        return []
    bad = set(motion.nan_frames().tolist())
    out = []
    for start in range(0, motion.num_frames - length + 1, stride):
        if bad and any(f in bad for f in range(start, start + length)):
            report.add(f"{motion.name}[{start}:{start + length}]", "NaN/inf values in poses or trans")
            continue
        out.append(_finish(motion.slice(start, start + length)))
    return out


def make_windows(motions: Iterable[Motion], length: int = WINDOW_FRAMES, stride: int | None = None,
                 fps: float | None = WINDOW_FPS, report: SkipReport | None = None) -> list[Motion]:
    """Windows of many motions, resampled to `fps` first (None keeps each clip's rate).

    Example: `ws = make_windows(load_source("deepmimic"), length=60)`; `report.summary()` says what was skipped.

    >>> from mcl.data.synthetic import synthetic_dataset
    >>> ws = make_windows(synthetic_dataset(2, frames=120, fps=60)); len(ws), ws[0].fps, ws[0].num_frames
    (2, 30.0, 60)
    """
    report = report if report is not None else SkipReport()
    out: list[Motion] = []
    for m in motions:
        if fps is not None:
            m = m.resample(fps)
        out += windows(m, length, stride, report)
    return out


def random_window(motion: Motion, length: int, rng: np.random.Generator) -> Motion:
    """A random `length`-frame window of a longer chunk (the paper: a random 60 of each 100-frame chunk)."""
    if motion.num_frames < length:
        raise ValueError(f"{motion.name}: {motion.num_frames} frames, shorter than a {length}-frame window")
    start = int(rng.integers(0, motion.num_frames - length + 1))
    return _finish(motion.slice(start, start + length))
