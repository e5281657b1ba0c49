"""Static key-pose figures like the paper's: n poses of a motion placed along its path, coloured by time.

The poses are rendered together (one rasterised image, orthographic side view of the path, light floor), then shown
with matplotlib with the time of each pose written under it. Motions that stay in place are spread sideways so the
poses do not pile up.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from ..body.mesh import BodyMesh, load_body_mesh
from .camera import Camera
from .scene import floor_mesh, posed_vertices, render_scene

MIN_STEP = 0.55  # metres between consecutive poses on the image's horizontal axis (spread added when shorter)
PIXELS_PER_METRE = 160


def _side_yaw(trans: np.ndarray) -> float:
    """Yaw (degrees) of a camera whose image-right axis follows the horizontal path; 30° if the motion stays put."""
    d = trans[-1] - trans[0]
    if math.hypot(d[0], d[2]) < 0.3:
        return 30.0
    # camera right = (cos yaw, 0, −sin yaw) must equal the path direction
    return math.degrees(math.atan2(-d[2], d[0]))


def filmstrip(motion, n: int = 8, path: str | os.PathLike | None = None, mesh: BodyMesh | None = None,
              cmap: str = "YlOrBr", title: str | None = None, elevation: float = 12.0):
    """A matplotlib `Figure` of `n` key poses of `motion` spread along its trajectory, later poses darker.

    With `path` ("walk.png", "walk.pdf" or "figures/walk"), saves both `.png` and `.pdf` beside each other.
    Example: `fig = filmstrip(walk, n=6, path="figures/walk")` → figures/walk.png and figures/walk.pdf.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    mesh = mesh or load_body_mesh()
    idx = np.unique(np.linspace(0, motion.num_frames - 1, n).round().astype(int))
    n = len(idx)
    yaw = _side_yaw(motion.trans)
    cam = Camera(yaw=yaw, elevation=elevation, ortho=True)
    right = cam.rotation()[0]
    verts = posed_vertices(mesh, torch.from_numpy(motion.poses[idx]), torch.from_numpy(motion.trans[idx]))
    # spread along the image's horizontal axis where the path itself does not separate the poses
    along = motion.trans[idx] @ right
    offsets = np.zeros((n, 3), np.float32)
    for k in range(1, n):
        gap = along[k] - along[k - 1]
        if gap < MIN_STEP:
            offsets[k:] += (MIN_STEP - gap) * right
            along[k:] += MIN_STEP - gap
    verts += offsets[:, None]
    floor_y = float(verts[..., 1].min())
    colors = colormaps[cmap](np.linspace(0.3, 0.9, n))[:, :3].astype(np.float32)
    base = np.repeat(colors, mesh.num_vertices, axis=0)  # (n·V, 3)
    flat = verts.reshape(1, -1, 3)
    faces = (mesh.faces[None] + (np.arange(n) * mesh.num_vertices)[:, None, None]).reshape(-1, 3)
    # frame the poses: extents along the camera's right and up axes
    rot = cam.rotation()
    r, u = flat[0] @ rot[0], flat[0] @ rot[1]
    margin = 0.25
    half_w, half_h = (r.max() - r.min()) / 2 + margin, (u.max() - u.min()) / 2 + margin
    centre = ((r.max() + r.min()) / 2) * rot[0] + ((u.max() + u.min()) / 2) * rot[1]
    width, height = int(2 * half_w * PIXELS_PER_METRE) // 2 * 2, int(2 * half_h * PIXELS_PER_METRE) // 2 * 2
    cam = Camera(yaw=yaw, elevation=elevation, distance=10.0, fov=2 * math.degrees(math.atan(half_h / 10.0)),
                 width=width, height=height, ortho=True)
    lo, hi = verts[..., [0, 2]].reshape(-1, 2).min(0), verts[..., [0, 2]].reshape(-1, 2).max(0)
    floor = floor_mesh(lo[0] - 3, hi[0] + 3, lo[1] - 3, hi[1] + 3, floor_y, tile=0.5)
    floor = (floor[0], floor[1], np.full_like(floor[2], 0.93))
    image = render_scene(flat, faces, base, cam, centre[None].astype(np.float32), floor=floor)[0]

    fig = Figure(figsize=(width / 100, height / 100 + 0.5), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.set_axis_off()
    feet = motion.trans[idx] + offsets  # the floor point under each (shifted) pelvis
    feet[:, 1] = floor_y
    px = cam.project(feet[None].astype(np.float32), centre[None].astype(np.float32))[0]
    for k, i in enumerate(idx):
        ax.text(px[k, 0], min(px[k, 1] + 12, height - 4), f"{i / motion.fps:.1f}s", ha="center", va="top",
                fontsize=8, color=colors[k] * 0.8)
    if title is None:
        title = motion.texts[0] if motion.texts else motion.name
    if title:
        ax.set_title(title, fontsize=10)
    if path is not None:
        p = Path(path)
        stem = p.with_suffix("") if p.suffix.lower() in (".png", ".pdf") else p
        stem.parent.mkdir(parents=True, exist_ok=True)
        for ext in (".png", ".pdf"):
            fig.savefig(stem.with_suffix(ext), dpi=150, bbox_inches="tight")
    return fig
