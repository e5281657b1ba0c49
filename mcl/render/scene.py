"""Scenes for people: posed bodies in world coordinates on a checkered floor, rendered with the rasteriser.

Used by `save_video` (camera follows the pelvis over the floor) and `filmstrip` (several poses in one picture).
"""
from __future__ import annotations

import numpy as np
import torch

from ..body.mesh import BodyMesh, MannequinMesh
from .camera import Camera
from .raster import rasterize, skin, vertex_colors

FLOOR_COLORS = ((0.90, 0.90, 0.90), (0.78, 0.78, 0.78))


def posed_vertices(mesh: BodyMesh, poses: torch.Tensor, trans: torch.Tensor) -> np.ndarray:
    """`(N, V, 3)` float32 numpy vertices for rendering: the numba skinning path when the mesh offers it (the
    mannequin), else `mesh.vertices` (SMPL, simplified meshes). Both give the same vertices to float precision."""
    with torch.no_grad():
        if isinstance(mesh, MannequinMesh):
            transforms = mesh.skinning_transforms(poses, trans).numpy()
            return skin(mesh.template.numpy(), mesh.skin_indices, mesh.skin_weights, transforms)
        return mesh.vertices(poses, trans).numpy()


def world_vertices(motion, mesh: BodyMesh, batch: int = 64) -> np.ndarray:
    """`(T, V, 3)` float32 world-space vertices of a `Motion` (root translation kept)."""
    out = []
    for s in range(0, motion.num_frames, batch):
        out.append(posed_vertices(mesh, torch.from_numpy(motion.poses[s:s + batch]),
                                  torch.from_numpy(motion.trans[s:s + batch])))
    return np.concatenate(out) if out else np.zeros((0, mesh.num_vertices, 3), np.float32)


def floor_mesh(xmin: float, xmax: float, zmin: float, zmax: float, y: float, tile: float = 0.5):
    """A checkerboard of `tile`-metre squares covering [xmin, xmax] × [zmin, zmax] at height y.

    Returns vertices `(4Q, 3)`, faces `(2Q, 3)` (front side up) and colours `(4Q, 3)`; each tile has its own
    corners so it keeps one flat colour.
    """
    xs = np.arange(np.floor(xmin / tile), np.ceil(xmax / tile)) * tile
    zs = np.arange(np.floor(zmin / tile), np.ceil(zmax / tile)) * tile
    gx, gz = np.meshgrid(xs, zs, indexing="ij")
    gx, gz = gx.reshape(-1), gz.reshape(-1)
    corners = np.stack([np.stack([gx, gz], -1), np.stack([gx, gz + tile], -1),
                        np.stack([gx + tile, gz + tile], -1), np.stack([gx + tile, gz], -1)], 1)  # (Q, 4, 2)
    verts = np.concatenate([corners[..., :1], np.full(corners.shape[:2] + (1,), y), corners[..., 1:]], -1)
    q = len(gx)
    base = np.arange(q)[:, None] * 4
    # (x, z) → (x, z+t) → (x+t, z+t) turns counter-clockwise seen from above (+y): the normal points up
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])
    parity = ((np.round(gx / tile) + np.round(gz / tile)) % 2).astype(int)
    colors = np.repeat(np.asarray(FLOOR_COLORS, np.float32)[parity], 4, axis=0)
    return verts.reshape(-1, 3).astype(np.float32), faces.astype(np.int64), colors


SHADOW = 0.62  # floor brightness under the body


def render_scene(body_verts: np.ndarray, body_faces: np.ndarray, body_colors, camera: Camera,
                 targets: np.ndarray, floor=None, supersample: int = 2) -> np.ndarray:
    """Render bodies `(N, V, 3)` (world) plus an optional static floor `(verts, faces, colors)` → `(N, H, W, 3)` uint8.

    `body_colors`: an RGB triple or per-vertex base colours `(V, 3)`; shaded with the camera's light.
    `targets` `(N, 3)`: the world point at the image centre of each frame. With a floor, the body also casts a
    straight-down shadow on it (the body flattened 2 mm above the floor), which shows contact and height.
    """
    n, nv = body_verts.shape[:2]
    colors = vertex_colors(body_verts, body_faces, camera.light_direction(), body_colors)
    verts, faces = body_verts, np.asarray(body_faces, np.int64)
    if floor is not None:
        fv, ff, fc = floor
        shadow = body_verts.copy()
        shadow[..., 1] = fv[0, 1] + 0.002
        verts = np.concatenate([verts, shadow, np.broadcast_to(fv, (n,) + fv.shape)], axis=1)
        colors = np.concatenate([colors, np.full_like(colors, SHADOW),
                                 np.broadcast_to(fc, (n,) + fc.shape)], axis=1)
        # the flattened body's upward-facing triangles cover its footprint; the rest are culled as back faces
        faces = np.concatenate([faces, faces + nv, ff + 2 * nv])
    xyz = camera.project(verts, targets)
    return rasterize(xyz, faces, colors, camera.width, camera.height, supersample=supersample)
