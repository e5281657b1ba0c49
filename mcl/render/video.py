"""mp4 / gif export of one or several motions side by side, rendered as the wooden mannequin on a checkered floor.

Each motion gets its own panel; the camera (30° yaw, 15° elevation) follows the pelvis over the floor horizontally
and stays at a fixed height, so walking shows as the floor sliding by and jumps as the body leaving it.
mp4 goes through imageio-ffmpeg's bundled ffmpeg binary (H.264); gif through Pillow.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..body.mesh import BodyMesh, load_body_mesh
from .camera import Camera
from .raster import WOOD
from .scene import floor_mesh, render_scene, world_vertices

VIDEO_CAMERA = Camera(yaw=30.0, elevation=15.0, distance=5.5, fov=30.0, width=320, height=320)


def _as_list(motions) -> list:
    return list(motions) if isinstance(motions, (list, tuple)) else [motions]


def _title_bar(frame: np.ndarray, title: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    ImageDraw.Draw(img).text((8, 6), title, fill=(20, 20, 20))
    return np.asarray(img)


def render_motion_frames(motion, mesh: BodyMesh | None = None, camera: Camera = VIDEO_CAMERA, color=WOOD,
                         progress: bool = True, desc: str = "rendering") -> np.ndarray:
    """`(T, H, W, 3)` uint8 frames of one `Motion` on a floor, the camera following the pelvis.

    Example: `render_motion_frames(synthetic_motion(30)).shape == (30, 320, 320, 3)`.
    """
    mesh = mesh or load_body_mesh()
    verts = world_vertices(motion, mesh)  # (T, V, 3)
    floor_y = float(verts[..., 1].min())  # the lowest point of the clip rests on the floor
    # follow the pelvis horizontally; keep the height at the clip's mean pelvis so vertical motion shows
    targets = motion.trans.astype(np.float32).copy()
    targets[:, 1] = float(motion.trans[:, 1].mean())
    lo, hi = targets.min(0), targets.max(0)
    floor = floor_mesh(lo[0] - 8, hi[0] + 8, lo[2] - 8, hi[2] + 8, floor_y)
    out = np.empty((motion.num_frames, camera.height, camera.width, 3), np.uint8)
    bar = tqdm(total=motion.num_frames, desc=desc, unit="frame", disable=not progress)
    for s in range(0, motion.num_frames, 32):
        sl = slice(s, s + 32)
        out[sl] = render_scene(verts[sl], mesh.faces, color, camera, targets[sl], floor=floor)
        bar.update(len(out[sl]))
    bar.close()
    return out


def save_video(motions, path: str | os.PathLike, fps: float = 30, titles: Sequence[str] | None = None,
               mesh: BodyMesh | None = None, camera: Camera = VIDEO_CAMERA, progress: bool = True) -> Path:
    """Write one or several `Motion`s side by side to `path` (`.mp4` or `.gif`); returns the path.

    Motions are resampled to `fps` (real-time playback); shorter ones hold their last frame. `titles` default to the
    motions' names. Example: `save_video([walk, run], "walk_vs_run.mp4", titles=["walk", "run"])`.
    """
    import imageio.v2 as imageio

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".mp4", ".gif"):
        raise ValueError(f"{path}: save_video writes .mp4 or .gif, got {ext or 'no extension'!r}")
    motions = [m.resample(fps) for m in _as_list(motions)]
    if not motions:
        raise ValueError("save_video needs at least one motion")
    titles = list(titles) if titles is not None else [m.name for m in motions]
    if len(titles) != len(motions):
        raise ValueError(f"got {len(titles)} titles for {len(motions)} motions")
    mesh = mesh or load_body_mesh()
    panels = [render_motion_frames(m, mesh, camera, progress=progress, desc=f"rendering {t}")
              for m, t in zip(motions, titles)]
    length = max(len(p) for p in panels)
    panels = [np.concatenate([p, np.repeat(p[-1:], length - len(p), 0)]) if len(p) < length else p for p in panels]
    frames = np.concatenate(panels, axis=2)  # side by side
    if any(titles):
        w = camera.width
        for i, t in enumerate(titles):
            if t:
                frames[:, :, i * w:(i + 1) * w] = [_title_bar(f, t) for f in frames[:, :, i * w:(i + 1) * w]]
    path.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".gif":
        imageio.mimsave(path, list(frames), format="GIF", duration=1000.0 / fps, loop=0)
    else:
        # yuv420p needs even sizes; macro_block_size=16 would resize, so pad instead (panel sizes are even)
        with imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", quality=7,
                                pixelformat="yuv420p", macro_block_size=1) as writer:
            for f in frames:
                writer.append_data(f)
    return path
