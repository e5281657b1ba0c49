"""SYNTHETIC motions for fast unit tests only — smooth random joint swings, never the demo or training data."""
from __future__ import annotations

import numpy as np

from ..body.skeleton import NUM_JOINTS
from .motion import Motion

SYNTHETIC_ACTIONS = ("swing", "sway", "bob", "twist")


def synthetic_motion(frames: int = 90, fps: float = 30.0, seed: int = 0, action: str | None = None) -> Motion:
    """One smooth synthetic clip: each joint swings sinusoidally about a random axis; the pelvis drifts forward.

    Labelled `synthetic` in source and texts so it can never be mistaken for mocap.

    >>> m = synthetic_motion(60); m.to_tensor().shape, m.texts
    (torch.Size([25, 6, 60]), ['a synthetic figure does a swing'])
    """
    rng = np.random.default_rng(seed)
    action = action or SYNTHETIC_ACTIONS[seed % len(SYNTHETIC_ACTIONS)]
    t = np.arange(frames) / fps
    axes = rng.normal(size=(NUM_JOINTS, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    amp = rng.uniform(0.05, 0.6, size=NUM_JOINTS)
    freq = rng.uniform(0.3, 1.5, size=NUM_JOINTS)
    phase = rng.uniform(0, 2 * np.pi, size=NUM_JOINTS)
    angle = amp * np.sin(2 * np.pi * freq * t[:, None] + phase)  # (T, 24)
    poses = angle[..., None] * axes[None]
    speed = rng.uniform(0.0, 1.5)
    trans = np.stack([0.05 * np.sin(t), 0.95 + 0.02 * np.sin(4 * t), speed * t], axis=1)
    return Motion(poses, trans, fps, texts=[f"a synthetic figure does a {action}"],
                  labels={"action": action}, source={"dataset": "synthetic", "name": f"synthetic-{seed}"})


def synthetic_dataset(n: int = 8, frames: int = 90, fps: float = 30.0, seed: int = 0) -> list[Motion]:
    """`n` synthetic clips with seeds `seed … seed+n-1`.

    >>> [m.labels["action"] for m in synthetic_dataset(4)]
    ['swing', 'sway', 'bob', 'twist']
    """
    return [synthetic_motion(frames, fps, seed + i) for i in range(n)]
