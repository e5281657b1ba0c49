"""A pinhole camera that orbits a target point: yaw and elevation in degrees, distance in metres.

World: y up, metres, the body faces +z in its rest pose. Yaw 0 puts the camera on +z looking at the body's front;
positive yaw swings it toward +x (the body's left side). Image: x to the right, rows downward, depth = distance along
the viewing direction.

The image-loss camera (`TRAINING_CAMERA`): 30° yaw, 10° elevation, 4.6 m away with a 30° vertical field of view,
looking at the pelvis. At the pelvis that frames ±1.23 m, so a standing 1.8 m figure (0.95 m below the pelvis, 0.85 m
above) fills ≈ 70 % of the height (rows 41–198 of 224 for the mannequin T-pose) and hands raised straight up still fit
(rows 10–198).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Orbit camera. Example: `Camera().project(np.zeros((1, 3)), target=np.zeros(3))` → the image centre.

    `Camera.frontal()` looks straight at the body's front (yaw 0, elevation 0), e.g. for symmetry checks.
    """
    yaw: float = 30.0
    elevation: float = 10.0
    distance: float = 4.6
    fov: float = 30.0  # vertical, degrees
    width: int = 224
    height: int = 224
    ortho: bool = False  # orthographic: same framing at the target, no foreshortening (filmstrips)

    @classmethod
    def frontal(cls, **kw) -> "Camera":
        return cls(**{"yaw": 0.0, "elevation": 0.0, **kw})

    def with_size(self, width: int, height: int) -> "Camera":
        return replace(self, width=int(width), height=int(height))

    def key(self) -> str:
        """A short string naming every parameter, used in cache keys."""
        return (f"yaw{self.yaw:g}_el{self.elevation:g}_d{self.distance:g}_fov{self.fov:g}_{self.width}x{self.height}"
                + ("_ortho" if self.ortho else ""))

    @property
    def focal(self) -> float:
        """Focal length in pixels (vertical field of view over the image height)."""
        return 0.5 * self.height / math.tan(math.radians(self.fov) / 2)

    def rotation(self) -> np.ndarray:
        """`(3, 3)` world → camera rotation; rows are the camera's right, up and forward axes."""
        yaw, el = math.radians(self.yaw), math.radians(self.elevation)
        back = np.array([math.sin(yaw) * math.cos(el), math.sin(el), math.cos(yaw) * math.cos(el)])  # target → eye
        forward = -back
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return np.stack([right, up, forward]).astype(np.float32)

    def eye(self, target: np.ndarray) -> np.ndarray:
        """`(..., 3)` camera positions for targets `(..., 3)`."""
        return np.asarray(target, np.float32) - self.distance * self.rotation()[2]

    def project(self, points: np.ndarray, target: np.ndarray) -> np.ndarray:
        """`(..., P, 3)` world points → `(..., P, 3)`: pixel x, pixel y (rows down), depth (m) in front of the camera.

        `target` `(..., 3)` is the point at the image centre (one per leading index, e.g. each frame's pelvis).
        """
        rot = self.rotation()
        eye = self.eye(target)[..., None, :]
        cam = (np.asarray(points, np.float32) - eye) @ rot.T  # (..., P, 3): right, up, forward
        depth = np.full_like(cam[..., 2], self.distance) if self.ortho else np.maximum(cam[..., 2], 1e-6)
        f = self.focal
        x = self.width / 2 + f * cam[..., 0] / depth
        y = self.height / 2 - f * cam[..., 1] / depth
        return np.stack([x, y, cam[..., 2]], axis=-1).astype(np.float32)

    def light_direction(self) -> np.ndarray:
        """`(3,)` unit vector toward the key light: from above, behind the camera's left shoulder."""
        rot = self.rotation()
        d = -rot[2] * 1.0 + rot[1] * 0.8 - rot[0] * 0.5
        return (d / np.linalg.norm(d)).astype(np.float32)


TRAINING_CAMERA = Camera()
