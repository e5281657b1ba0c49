"""Finite in: every motion a source yields is screened before anything trains on it or encodes it.

A clip with NaN/inf frames is repaired by keeping its longest finite stretch (a clip with no finite frame is left
out); a clip whose root goes beyond `MAX_ROOT_M` or whose joint angles go beyond `MAX_ANGLE_RAD` is refused (no
real capture does that: it is a unit or export error). Each repair and refusal is counted in the `SkipReport`, which
`mcl train` and `mcl data info` print.

Example: `motions = screen_motions(motions, report)`; `problem(m)` → `None` or why `m` cannot be used.
"""
from __future__ import annotations

import numpy as np

from .errors import SkipReport
from .motion import Motion

MAX_ROOT_M = 1000.0     # 1 km from the origin
MAX_ANGLE_RAD = 1000.0  # axis-angle components; a real rotation is within ±π (a few turns when unwrapped)


def absurd(m: Motion) -> str | None:
    """Why the finite values of `m` cannot be a real motion (root beyond 1 km, angles beyond 1000 rad), or None."""
    fin_t, fin_p = m.trans[np.isfinite(m.trans)], m.poses[np.isfinite(m.poses)]
    root = float(np.abs(fin_t).max()) if fin_t.size else 0.0
    if root > MAX_ROOT_M:
        return f"root position {root:.3g} m is beyond {MAX_ROOT_M:g} m (wrong units or a broken export)"
    angle = float(np.abs(fin_p).max()) if fin_p.size else 0.0
    if angle > MAX_ANGLE_RAD:
        return f"joint angle {angle:.3g} rad is beyond {MAX_ANGLE_RAD:g} rad (not a rotation)"
    return None


def longest_finite_run(m: Motion) -> tuple[int, int]:
    """`[start, stop)` of the longest run of frames with only finite values (`(0, 0)` when there is none)."""
    good = np.ones(m.num_frames, bool)
    good[m.nan_frames()] = False
    best, start = (0, 0), None
    for i, ok in enumerate(np.append(good, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def screen_motions(motions: list[Motion], report: SkipReport) -> list[Motion]:
    """The usable motions: repaired (longest finite stretch) or left out, each with a counted reason in `report`."""
    out = []
    for m in motions:
        why = absurd(m)
        if why:
            report.add(m.name, f"refused: {why}")
            continue
        bad = m.nan_frames()
        if len(bad):
            a, b = longest_finite_run(m)
            if b == a:
                report.add(m.name, "refused: no frame without NaN/inf values")
                continue
            report.add(m.name, f"repaired: {len(bad)} of {m.num_frames} frame(s) had NaN/inf values; kept the "
                               f"longest finite stretch")
            m = m.slice(a, b)
            m.source["repaired"] = f"kept frames {a}..{b - 1} (the rest had NaN/inf values)"
        out.append(m)
    return out


def check_finite_motion(m: Motion, where: str) -> None:
    """Raise a ValueError naming `where` when `m` has NaN/inf or absurd values (for operands: no repair)."""
    bad = m.nan_frames()
    if len(bad):
        raise ValueError(f"{where}: {len(bad)} of {m.num_frames} frame(s) have NaN/inf values (first: frame "
                         f"{bad[0]}); fix the file or pick another motion")
    why = absurd(m)
    if why:
        raise ValueError(f"{where}: {why}")
