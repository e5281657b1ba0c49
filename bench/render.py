"""Rendering speed: image-loss frames (224 × 224, wooden mannequin) vs a matplotlib `plot_trisurf` baseline.

Prints, measured in this run on this machine: mannequin-x's numpy skinning, our torch skinning, the full
`render_frames` pipeline (skinning + shading + rasterising) with and without 2× supersampling, the matplotlib
baseline on the same mesh and poses, and the speed-up. Targets: ≥ 100 frames/s and ≥ 30× the baseline.
Usage: `python bench/render.py [--frames 256]`.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mcl.body.mesh import load_body_mesh  # noqa: E402
from mcl.render import TRAINING_CAMERA, render_frames  # noqa: E402


def timed(fn, repeat: int = 3) -> float:
    """Best wall time of `repeat` runs (the machine is shared; the best run is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def matplotlib_frame(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The baseline: one 224 × 224 frame with `plot_trisurf` (Agg), same mesh, white background."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.24, 2.24), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1), projection="3d")
    # plotting z up: our (x, y up, z) → (x, −z, y)
    ax.plot_trisurf(verts[:, 0], -verts[:, 2], verts[:, 1], triangles=faces, color=(0.8, 0.63, 0.43),
                    linewidth=0, shade=True)
    ax.view_init(elev=TRAINING_CAMERA.elevation, azim=-90 + TRAINING_CAMERA.yaw)
    ax.set_axis_off()
    ax.set_xlim(-1.2, 1.2), ax.set_ylim(-1.2, 1.2), ax.set_zlim(-1.2, 1.2)
    buf = io.BytesIO()
    fig.savefig(buf, format="raw")
    return np.frombuffer(buf.getvalue(), np.uint8)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=256, help="frames per timed batch")
    parser.add_argument("--baseline-frames", type=int, default=3, help="frames for the matplotlib baseline")
    args = parser.parse_args(argv)

    mesh = load_body_mesh()
    rng = np.random.default_rng(0)
    poses = (rng.normal(size=(args.frames, 24, 3)) * 0.3).astype(np.float32)
    zeros = torch.zeros(args.frames, 3)
    print(f"mesh: {mesh.num_vertices} vertices, {mesh.faces.shape[0]} faces; torch threads {torch.get_num_threads()}, "
          f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")

    from mannequin import Mannequin

    model = Mannequin("wooden")
    pose = model.rest_pose()
    t = timed(lambda: model.vertices(pose), repeat=3)
    print(f"mannequin-x numpy skinning:      {t * 1000:7.1f} ms/frame")

    render_frames(poses[:2])  # compile / load the numba kernels outside the timing
    t = timed(lambda: mesh.vertices(torch.from_numpy(poses), zeros))
    print(f"torch skinning (batched):        {t / args.frames * 1000:7.2f} ms/frame  = {args.frames / t:7.0f} frames/s")
    from mcl.render.scene import posed_vertices

    t = timed(lambda: posed_vertices(mesh, torch.from_numpy(poses), zeros))
    print(f"numba skinning (render path):    {t / args.frames * 1000:7.2f} ms/frame  = {args.frames / t:7.0f} frames/s")
    t1 = timed(lambda: render_frames(poses, supersample=1))
    print(f"render_frames, no supersampling: {t1 / args.frames * 1000:7.2f} ms/frame  = {args.frames / t1:7.0f} frames/s")
    t2 = timed(lambda: render_frames(poses))
    fps = args.frames / t2
    print(f"render_frames, 2x supersampled:  {t2 / args.frames * 1000:7.2f} ms/frame  = {fps:7.0f} frames/s "
          "(the default; skinning included)")

    import tempfile

    from mcl.data import Motion
    from mcl.render import training_frames

    windows = [Motion(p[None], np.zeros((1, 3), np.float32), fps=30) for p in poses]
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        training_frames(windows, cache_dir=cache, progress=False)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        training_frames(windows, cache_dir=cache, progress=False)
        warm = time.perf_counter() - t
    print(f"training_frames, empty cache:    {cold / args.frames * 1000:7.2f} ms/frame  = {args.frames / cold:7.0f} "
          "frames/s (render + PNG write)")
    print(f"training_frames, cache hits:     {warm / args.frames * 1000:7.2f} ms/frame  = {args.frames / warm:7.0f} "
          "frames/s (PNG read)")

    with torch.no_grad():
        verts = mesh.vertices(torch.from_numpy(poses[:args.baseline_frames]), torch.zeros(args.baseline_frames, 3))
    verts = verts.numpy()
    t = time.perf_counter()
    for v in verts:
        matplotlib_frame(v, mesh.faces)
    base = args.baseline_frames / (time.perf_counter() - t)
    print(f"matplotlib plot_trisurf:         {1000 / base:7.1f} ms/frame  = {base:7.2f} frames/s")
    print(f"speed-up (default render vs matplotlib): {fps / base:.0f}x   [targets: >= 100 frames/s, >= 30x]")


if __name__ == "__main__":
    main()
