"""A look at whether the bodies of a data set stand: the first frame of a few clips side by side on the floor.

`mcl data check SPEC` draws it. Each clip's frame 0 is shown where its height puts it (the floor is y = 0, never
moved to meet the feet), facing the camera when it faces +z, and is measured: head above pelvis above feet and the
lowest joint near the floor means the rig map and the up axis are right.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from ..body.mesh import BodyMesh, load_body_mesh
from ..body.skeleton import JOINT_INDEX, forward_kinematics
from ..body.rotations import rotvec_to_rotmat
from .camera import Camera
from .scene import floor_mesh, posed_vertices, render_scene

SPACING = 1.1  # metres between the bodies
PIXELS_PER_METRE = 150


def standing_stats(motion, frame: int = 0) -> dict:
    """Heights (m) of head, pelvis, feet and the lowest joint in `frame`, the facing direction, and `standing`:
    head above pelvis above both ankles in `frame`, and the lowest joint of the clip within 5 cm above the floor
    (a run's first frame may be in flight; its feet still touch the floor later).
    Example: `standing_stats(load("deepmimic")[0])["standing"]`.
    """
    idx = np.unique(np.r_[frame, np.linspace(0, motion.num_frames - 1, min(motion.num_frames, 200)).astype(int)])
    Js = forward_kinematics(rotvec_to_rotmat(torch.from_numpy(motion.poses[idx])),
                            torch.from_numpy(motion.trans[idx])).numpy()
    J = Js[int(np.searchsorted(idx, frame))]
    clip_lowest = float(Js[..., 1].min())
    y = J[:, 1]
    i = JOINT_INDEX
    feet = max(y[i["left_ankle"]], y[i["right_ankle"]])
    lateral = J[i["left_hip"]] - J[i["right_hip"]]
    facing = np.cross(lateral, [0.0, 1.0, 0.0])  # left × up = forward
    heading = math.degrees(math.atan2(facing[0], facing[2]))
    standing = bool(y[i["head"]] > y[0] > feet and -0.01 <= clip_lowest <= 0.05)
    return {"clip": motion.name, "head_m": float(y[i["head"]]), "pelvis_m": float(y[0]), "feet_m": float(feet),
            "lowest_m": float(y.min()), "clip_lowest_m": clip_lowest, "heading_deg": heading, "standing": standing,
            "warnings": list(motion.source.get("warnings", []))}


def check_image(motions, path: str | os.PathLike, n: int = 6, mesh: BodyMesh | None = None,
                title: str | None = None) -> list[dict]:
    """Render frame 0 of the first `n` motions side by side on the floor to `path` (.png) and return their
    `standing_stats`. Example: `check_image(load("bvh:mocap/"), "check.png")`.
    """
    from matplotlib.figure import Figure

    motions = list(motions)[:n]
    if not motions:
        raise ValueError("check_image() got no motions")
    mesh = mesh or load_body_mesh()
    stats = [standing_stats(m) for m in motions]
    poses = torch.from_numpy(np.stack([m.poses[0] for m in motions]))
    trans = np.stack([m.trans[0] for m in motions]).astype(np.float32)
    trans[:, 0] = np.arange(len(motions)) * SPACING  # side by side; the height stays as loaded
    trans[:, 2] = 0.0
    verts = posed_vertices(mesh, poses, torch.from_numpy(trans))
    k = len(motions)
    flat = verts.reshape(1, -1, 3)
    faces = (mesh.faces[None] + (np.arange(k) * mesh.num_vertices)[:, None, None]).reshape(-1, 3)
    colors = np.array([[0.35, 0.55, 0.85] if s["standing"] else [0.85, 0.35, 0.3] for s in stats], np.float32)
    base = np.repeat(colors, mesh.num_vertices, axis=0)
    cam = Camera(yaw=15.0, elevation=8.0, ortho=True)
    rot = cam.rotation()
    pts = np.concatenate([flat[0], [[trans[0, 0] - 0.6, 0, 0], [trans[-1, 0] + 0.6, 0, 0]]])
    r, u = pts @ rot[0], pts @ rot[1]
    half_w, half_h = (r.max() - r.min()) / 2 + 0.3, (u.max() - u.min()) / 2 + 0.3
    centre = ((r.max() + r.min()) / 2) * rot[0] + ((u.max() + u.min()) / 2) * rot[1]
    width, height = int(2 * half_w * PIXELS_PER_METRE) // 2 * 2, int(2 * half_h * PIXELS_PER_METRE) // 2 * 2
    cam = Camera(yaw=15.0, elevation=8.0, distance=10.0, fov=2 * math.degrees(math.atan(half_h / 10.0)),
                 width=width, height=height, ortho=True)
    floor = floor_mesh(-2.0, trans[-1, 0] + 2.0, -2.0, 2.0, 0.0, tile=0.5)  # the true floor, y = 0
    image = render_scene(flat, faces, base, cam, centre[None].astype(np.float32), floor=floor)[0]

    fig = Figure(figsize=(max(width, 400) / 100, height / 100 + 0.9), dpi=100)
    ax = fig.add_axes((0, 0.12, 1, 0.8))
    ax.imshow(image)
    ax.set_axis_off()
    feet = np.stack([trans[:, 0], np.zeros(k), np.zeros(k)], 1).astype(np.float32)
    px = cam.project(feet[None], centre[None].astype(np.float32))[0]
    for s, p in zip(stats, px):
        label = (f"{s['clip'][:22]}\nhead {s['head_m']:.2f} m, low {s['lowest_m']:+.2f} m (clip {s['clip_lowest_m']:+.2f})\n"
                 + ("standing" if s["standing"] else "NOT standing"))
        ax.text(p[0], min(p[1] + 10, height - 2), label, ha="center", va="top", fontsize=6,
                color="black" if s["standing"] else "darkred")
    ax.set_title(title or "frame 0 of each clip (blue: standing on the floor, red: not)", fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    return stats
