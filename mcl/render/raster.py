"""A small CPU z-buffer rasteriser (numba) for posed body meshes: Gouraud-shaded Lambert + ambient on a background.

Why numba: the wooden mannequin has 48k triangles, most smaller than a pixel at 224², so the work is a tight loop
over triangles with a few pixels each; numba compiles that loop (cached on disk after the first run) and renders
several hundred frames per second on one core, where matplotlib `plot_trisurf` manages ~3 and mannequin's own
numpy skinning alone takes ~50 ms per frame. No OpenGL context, no system libraries, works headless in CI.

Pipeline: `vertex_colors` (normals + light, numba) → `Camera.project` (numpy) → `rasterize` (numba, one
frame per thread) → optional supersampling average → uint8.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

WOOD = (0.80, 0.63, 0.43)  # the wooden mannequin's colour, linear-ish RGB in [0, 1]
AMBIENT = 0.35
DIFFUSE = 0.70


@numba.njit(cache=True, fastmath=True, nogil=True)
def _shade_frame(verts, faces, light, base, ambient, diffuse, out):
    """Per-vertex Lambert + ambient of one frame: area-weighted vertex normals, then `base · shade` into `out`."""
    nv = verts.shape[0]
    normals = np.zeros((nv, 3), np.float32)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ux, uy, uz = verts[b, 0] - verts[a, 0], verts[b, 1] - verts[a, 1], verts[b, 2] - verts[a, 2]
        vx, vy, vz = verts[c, 0] - verts[a, 0], verts[c, 1] - verts[a, 1], verts[c, 2] - verts[a, 2]
        nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx  # length = 2 × area
        for i in (a, b, c):
            normals[i, 0] += nx
            normals[i, 1] += ny
            normals[i, 2] += nz
    for i in range(nv):
        length = np.sqrt(normals[i, 0] ** 2 + normals[i, 1] ** 2 + normals[i, 2] ** 2) + 1e-12
        lam = (normals[i, 0] * light[0] + normals[i, 1] * light[1] + normals[i, 2] * light[2]) / length
        shade = min(ambient + diffuse * max(lam, 0.0), 1.0)
        for k in range(3):
            out[i, k] = base[i, k] * shade


@numba.njit(cache=True, parallel=True, nogil=True)
def _shade_batch(verts, faces, light, base, ambient, diffuse, out):
    for n in numba.prange(verts.shape[0]):
        _shade_frame(verts[n], faces, light, base[n], ambient, diffuse, out[n])


@numba.njit(cache=True, parallel=True, nogil=True, fastmath=True)
def _skin_batch(template, indices, weights, transforms, out):
    for n in numba.prange(transforms.shape[0]):
        m = transforms[n]
        for v in range(template.shape[0]):
            x, y, z = template[v, 0], template[v, 1], template[v, 2]
            for i in range(3):
                acc = np.float32(0.0)
                for k in range(indices.shape[1]):
                    j = indices[v, k]
                    acc += weights[v, k] * (m[j, i, 0] * x + m[j, i, 1] * y + m[j, i, 2] * z + m[j, i, 3])
                out[n, v, i] = acc


def skin(template: np.ndarray, indices: np.ndarray, weights: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Linear blend skinning for rendering (numba, no gradients): `template (V, 3)`, `indices`/`weights (V, K)`,
    per-joint `transforms (N, J, 3, 4)` → `(N, V, 3)` float32. Example: see `MannequinMesh.skinning_transforms`.
    """
    out = np.empty((transforms.shape[0], template.shape[0], 3), np.float32)
    _skin_batch(np.ascontiguousarray(template, dtype=np.float32), indices, weights,
                np.ascontiguousarray(transforms, dtype=np.float32), out)
    return out


def vertex_colors(vertices, faces: np.ndarray, light: np.ndarray, color=WOOD, ambient: float = AMBIENT,
                  diffuse: float = DIFFUSE) -> np.ndarray:
    """Lambert + ambient per vertex (smooth vertex normals): `(N, V, 3)` positions → `(N, V, 3)` float32 RGB in [0, 1].

    `color` is one RGB triple or per-vertex colours `(V, 3)` / `(N, V, 3)`; `light` `(3,)` points toward the light.
    Example: `vertex_colors(np.random.rand(1, 3, 3), np.array([[0, 1, 2]]), np.array([0, 0, 1.0]))`.
    """
    verts = np.ascontiguousarray(vertices.numpy() if isinstance(vertices, torch.Tensor) else vertices, np.float32)
    base = np.ascontiguousarray(np.broadcast_to(np.asarray(color, np.float32), verts.shape))
    out = np.empty_like(verts)
    _shade_batch(verts, np.ascontiguousarray(faces, dtype=np.int32), np.asarray(light, np.float32), base,
                 np.float32(ambient), np.float32(diffuse), out)
    return out


@numba.njit(cache=True, fastmath=True, nogil=True)
def _raster_frame(xyz, faces, colors, image, zbuf):
    """Draw front-facing triangles of one frame into `image (H, W, 3)` float32 and `zbuf (H, W)` in place.

    A pixel is covered when its centre (i + 0.5) lies inside the triangle; colour and depth are interpolated
    linearly in screen space (the camera is metres away from a small body part: perspective correction changes nothing).
    """
    height, width = zbuf.shape
    one, half = np.float32(1.0), np.float32(0.5)
    eps = np.float32(-1e-4)  # a hair of overlap: float rounding must not leave pinholes on shared edges
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        x0, y0, z0 = xyz[a, 0], xyz[a, 1], xyz[a, 2]
        x1, y1, z1 = xyz[b, 0], xyz[b, 1], xyz[b, 2]
        x2, y2, z2 = xyz[c, 0], xyz[c, 1], xyz[c, 2]
        # counter-clockwise in the world is clockwise on screen (rows point down): front faces have area < 0
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area > -1e-12 or z0 <= 0.01 or z1 <= 0.01 or z2 <= 0.01:
            continue
        # only pixels whose centres fall inside the bounding box (most triangles cover 0–4 of them)
        xmin = max(int(min(x0, x1, x2) + half), 0)
        xmax = min(int(max(x0, x1, x2) - half), width - 1)
        ymin = max(int(min(y0, y1, y2) + half), 0)
        ymax = min(int(max(y0, y1, y2) - half), height - 1)
        if xmin > xmax or ymin > ymax:
            continue
        inv = one / area
        # barycentric weights are affine in the pixel centre, so along a row they step by a constant; each row
        # starts from coordinates relative to the pixel (products of absolute coordinates lose float32 precision)
        a0, a1 = (y1 - y2) * inv, (y2 - y0) * inv
        for py in range(ymin, ymax + 1):
            cy = np.float32(py) + half
            cx = np.float32(xmin) + half
            w0 = ((x1 - cx) * (y2 - cy) - (y1 - cy) * (x2 - cx)) * inv
            w1 = ((x2 - cx) * (y0 - cy) - (y2 - cy) * (x0 - cx)) * inv
            for px in range(xmin, xmax + 1):
                w2 = one - w0 - w1
                if w0 >= eps and w1 >= eps and w2 >= eps:
                    z = w0 * z0 + w1 * z1 + w2 * z2
                    if z < zbuf[py, px]:
                        zbuf[py, px] = z
                        for k in range(3):
                            image[py, px, k] = w0 * colors[a, k] + w1 * colors[b, k] + w2 * colors[c, k]
                w0 += a0
                w1 += a1


@numba.njit(cache=True, parallel=True, nogil=True)
def _render_batch(xyz, faces, colors, background, s, out):
    """Each frame (one per thread): fill, rasterise at s× resolution, average s×s blocks into uint8 `out`."""
    height, width = out.shape[1], out.shape[2]
    scale = np.float32(255.0 / (s * s))
    for n in numba.prange(xyz.shape[0]):
        image = np.empty((height * s, width * s, 3), np.float32)
        for k in range(3):
            image[:, :, k] = background[k]
        zbuf = np.full((height * s, width * s), np.inf, np.float32)
        _raster_frame(xyz[n], faces, colors[n], image, zbuf)
        for y in range(height):
            for x in range(width):
                for k in range(3):
                    acc = np.float32(0.0)
                    for dy in range(s):
                        for dx in range(s):
                            acc += image[y * s + dy, x * s + dx, k]
                    out[n, y, x, k] = np.uint8(min(max(acc * scale + np.float32(0.5), np.float32(0.0)),
                                                   np.float32(255.0)))


def rasterize(xyz: np.ndarray, faces: np.ndarray, colors: np.ndarray, width: int, height: int,
              background=(1.0, 1.0, 1.0), supersample: int = 1) -> np.ndarray:
    """Rasterise projected meshes: `xyz (N, V, 3)` (pixel x, pixel y, depth, at the *final* resolution),
    `faces (F, 3)` (counter-clockwise seen from outside), `colors (N, V, 3)` in [0, 1] → `(N, height, width, 3)` uint8.

    `supersample=s` renders at s× the resolution and averages s×s blocks (anti-aliased edges).
    Example: one triangle — `rasterize(np.array([[[10, 10, 1], [10, 50, 1], [50, 10, 1]]], np.float32),
    np.array([[0, 1, 2]]), np.zeros((1, 3, 3), np.float32), 64, 64)`.
    """
    s = int(supersample)
    if s < 1:
        raise ValueError(f"supersample must be ≥ 1, got {supersample}")
    xyz = np.asarray(xyz, np.float32)
    if s > 1:
        xyz = xyz * np.array([s, s, 1], np.float32)
    out = np.empty((xyz.shape[0], height, width, 3), np.uint8)
    _render_batch(np.ascontiguousarray(xyz), np.ascontiguousarray(faces, dtype=np.int32),
                  np.ascontiguousarray(colors, dtype=np.float32), np.asarray(background, np.float32), s, out)
    return out
