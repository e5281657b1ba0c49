"""Images for the image loss: one posed body per 224 × 224 RGB frame, like the paper's renders.

Fixed camera (`TRAINING_CAMERA`: 30° yaw toward the body's left, 10° elevation, 4.6 m, 30° field of view) looking at
the pelvis; the root translation is removed (every body is centred), the root rotation is kept. Wooden-mannequin
colour (or SMPL's mesh in the same colour), Lambert + ambient shading, white background, 2× supersampled edges.

`training_frames` renders one frame per window and caches each image on disk under the hash of its pose and the
render version (camera, mesh, resolution, shading), so a dataset is rendered once.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..body.mesh import BodyMesh, load_body_mesh
from .camera import TRAINING_CAMERA, Camera
from .raster import WOOD, rasterize, vertex_colors
from .scene import posed_vertices
from ..paths import cache_root

RENDER_VERSION = 1  # bump when shading or geometry code changes what an image looks like
SUPERSAMPLE = 2
_BATCH = 32


def render_frames(poses, mesh: BodyMesh | None = None, camera: Camera | None = None,
                  supersample: int = SUPERSAMPLE, color=WOOD) -> np.ndarray:
    """Render poses `(N, 24, 3)` axis-angle (root rotation kept, translation removed) → `(N, H, W, 3)` uint8.

    H = W = 224 with the default camera. Deterministic: the same pose gives the same pixels.
    Example: `render_frames(np.zeros((1, 24, 3))).shape == (1, 224, 224, 3)` — a T-pose seen from front-left.
    """
    mesh = mesh or load_body_mesh()
    camera = camera or TRAINING_CAMERA
    poses = poses.detach().cpu().float() if isinstance(poses, torch.Tensor) else torch.from_numpy(
        np.asarray(poses, np.float32))
    if poses.ndim == 2:
        poses = poses[None]
    if poses.ndim != 3 or poses.shape[1:] != (24, 3):
        raise ValueError(f"poses must be (N, 24, 3) axis-angle, got {tuple(poses.shape)}")
    out = np.empty((poses.shape[0], camera.height, camera.width, 3), np.uint8)
    light = camera.light_direction()
    for s in range(0, poses.shape[0], _BATCH):
        p = poses[s:s + _BATCH]
        verts = posed_vertices(mesh, p, torch.zeros(p.shape[0], 3))
        colors = vertex_colors(verts, mesh.faces, light, color)
        xyz = camera.project(verts, np.zeros((p.shape[0], 3), np.float32))
        out[s:s + len(p)] = rasterize(xyz, mesh.faces, colors, camera.width, camera.height, supersample=supersample)
    return out


def render_version(mesh: BodyMesh, camera: Camera, supersample: int = SUPERSAMPLE) -> str:
    """The string that names everything an image depends on besides the pose (part of every cache key)."""
    return f"v{RENDER_VERSION}|{mesh.source}|{camera.key()}|ss{supersample}"


def _pick(window, frame) -> int:
    n = window.num_frames
    if frame == "middle":
        return n // 2
    if frame == "first":
        return 0
    if frame == "last":
        return n - 1
    if isinstance(frame, (int, np.integer)):
        if not -n <= frame < n:
            raise ValueError(f"frame={frame} is outside a {n}-frame window ({window.name})")
        return int(frame) % n
    raise ValueError(f"frame must be 'middle', 'first', 'last' or an int, got {frame!r}")


def default_cache_dir() -> Path:
    """`$MCL_CACHE/frames` (the root of mcl's caches), else `~/.cache/mcl/frames`."""
    return cache_root() / "frames"


def training_frames(windows: Sequence, frame="middle", cache_dir: str | os.PathLike | None = None,
                    progress: bool = True, mesh: BodyMesh | None = None, camera: Camera | None = None) -> np.ndarray:
    """One image-loss frame per window: `(N, 224, 224, 3)` uint8, rendered once and then read from the disk cache.

    `windows`: `Motion`s (e.g. from `mcl.data.windows`); `frame`: which frame of each ("middle", "first", "last" or
    an index). Cache: one PNG per image in `cache_dir` (default `default_cache_dir()`), named by the SHA-1 of the
    pose's float32 bytes and `render_version(...)`; pass `cache_dir=False` to skip the cache. After each call
    `training_frames.last_stats` holds `{"hits": …, "rendered": …}`.
    Example: `imgs = training_frames(mcl.data.windows(motion)); imgs.shape == (len(ws), 224, 224, 3)`.
    """
    from PIL import Image

    mesh = mesh or load_body_mesh()
    camera = camera or TRAINING_CAMERA
    poses = np.stack([np.asarray(w.poses[_pick(w, frame)], np.float32) for w in windows]) if len(windows) else \
        np.zeros((0, 24, 3), np.float32)
    out = np.empty((len(poses), camera.height, camera.width, 3), np.uint8)
    version = render_version(mesh, camera)
    folder = None
    if cache_dir is not False:
        vkey = hashlib.sha1(version.encode()).hexdigest()[:12]
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        folder = folder / vkey
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "VERSION.txt").write_text(version + "\n")
    paths = [folder / f"{hashlib.sha1(p.tobytes()).hexdigest()}.png" for p in poses] if folder else [None] * len(poses)
    todo = []
    for i, path in enumerate(paths):
        if path is not None and path.is_file():
            out[i] = np.asarray(Image.open(path).convert("RGB"))
        else:
            todo.append(i)
    training_frames.last_stats = {"hits": len(poses) - len(todo), "rendered": len(todo)}
    bar = tqdm(total=len(todo), desc="rendering frames", unit="frame", disable=not progress or not todo)
    for s in range(0, len(todo), _BATCH):
        idx = todo[s:s + _BATCH]
        imgs = render_frames(poses[idx], mesh=mesh, camera=camera)
        for i, img in zip(idx, imgs):
            out[i] = img
            if paths[i] is not None:
                tmp = paths[i].with_suffix(f".{os.getpid()}.tmp")
                Image.fromarray(img).save(tmp, format="PNG", compress_level=1)  # fast; white space still packs
                os.replace(tmp, paths[i])  # atomic: concurrent workers never read half a file
        bar.update(len(idx))
    bar.close()
    return out


training_frames.last_stats = {"hits": 0, "rendered": 0}
