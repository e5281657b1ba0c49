"""Posed body meshes from SMPL-24 rotations: the mannequin-x wooden mesh (default) or SMPL (when files are given).

The mannequin path re-implements mannequin-x's linear blend skinning in torch so a batch of frames is skinned in
one matrix product (mannequin's own numpy path takes ~50–90 ms per frame). Joint mapping from our SMPL-24 pose:
joint 0 → the pelvis rotation, joints 1–21 → SMPL-X `body_pose`, joints 22/23 (SMPL-H's `index1`, which SMPL calls
the hands) → the mannequin's `L_Index1`/`R_Index1`, exactly as smplx SMPL-H reads `hand_pose[0]`/`hand_pose[15]`
(the relaxed hand mean is added, as mannequin-x and smplx do by default); the other fingers stay at rest.

`trans` is the pelvis world position, so the mesh and `mcl.body.load_skeleton()` agree joint for joint.
"""
from __future__ import annotations

import abc
import functools
import logging
import os
from pathlib import Path

import numpy as np
import torch

from .rotations import rotvec_to_rotmat
from .skeleton import NUM_JOINTS, smpl_dir
from .smpl import load_smpl

log = logging.getLogger(__name__)

MANNEQUIN_SOURCE = "mannequin-x wooden mesh (no SMPL files; set MCL_SMPL_DIR for SMPL)"
_CHUNK = 64  # frames skinned per matrix product; bounds memory at ~64 × V × 12 floats


def _check_pose(poses: torch.Tensor, trans: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    poses = torch.as_tensor(poses, dtype=torch.float32)
    trans = torch.as_tensor(trans, dtype=torch.float32)
    if poses.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"poses must be (..., 24, 3) axis-angle, got {tuple(poses.shape)}")
    if trans.shape != poses.shape[:-2] + (3,):
        raise ValueError(f"trans must be {tuple(poses.shape[:-2]) + (3,)} (pelvis positions), got {tuple(trans.shape)}")
    return poses, trans


class BodyMesh(abc.ABC):
    """A body mesh posed by SMPL-24 axis-angle rotations and the pelvis world position.

    `faces` `(F, 3)` int64 vertex indices, counter-clockwise seen from outside; `source` names the mesh in use;
    `vertices(poses (..., 24, 3), trans (..., 3)) -> (..., V, 3)` float32 torch.
    Example: `m = load_body_mesh(); m.vertices(torch.zeros(24, 3), torch.zeros(3)).shape == (m.num_vertices, 3)`.
    """
    faces: np.ndarray
    source: str

    @property
    @abc.abstractmethod
    def num_vertices(self) -> int:
        """V, the number of vertices."""

    @abc.abstractmethod
    def vertices(self, poses: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
        """Posed vertices `(..., V, 3)` from axis-angle `(..., 24, 3)` and pelvis positions `(..., 3)`."""

    def simplified(self, cell: float = 0.03) -> "BodyMesh":
        """A lighter mesh by vertex clustering on the rest pose (cells of `cell` metres, one per skinning joint).

        Each cluster keeps one of its own vertices, so skinning stays exact for the survivors; faces that collapse
        are dropped. For interactive players (plotly), not for the image-loss frames.
        Example: `load_body_mesh().simplified(0.03).faces.shape[0]` → 7388 faces instead of 48396.
        """
        rest = self.vertices(torch.zeros(NUM_JOINTS, 3), torch.zeros(3)).numpy()
        cells = np.floor(rest / cell).astype(np.int64)
        key = np.concatenate([cells, self._dominant_joint()[:, None]], axis=1)
        _, cluster, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        cluster = cluster.reshape(-1)
        # representative: the member closest to its cluster's mean
        mean = np.zeros((len(counts), 3))
        np.add.at(mean, cluster, rest)
        mean /= counts[:, None]
        dist = np.linalg.norm(rest - mean[cluster], axis=1)
        order = np.lexsort((dist, cluster))
        first = np.ones(len(order), bool)
        first[1:] = cluster[order][1:] != cluster[order][:-1]
        keep = order[first]  # one vertex per cluster, indexed by cluster id
        f = cluster[self.faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        f = np.unique(f, axis=0)
        return _SubsetMesh(self, torch.from_numpy(keep), f, f"{self.source}, simplified to {len(f)} faces")

    @abc.abstractmethod
    def _dominant_joint(self) -> np.ndarray:
        """`(V,)` the joint with the largest skinning weight per vertex (keeps clusters within one body part)."""


class _SubsetMesh(BodyMesh):
    """Some vertices of another mesh with new faces (from `simplified`)."""

    def __init__(self, base: BodyMesh, keep: torch.Tensor, faces: np.ndarray, source: str):
        self.base, self.keep, self.faces, self.source = base, keep, faces.astype(np.int64), source

    @property
    def num_vertices(self) -> int:
        return len(self.keep)

    def vertices(self, poses, trans):
        return self.base.vertices(poses, trans)[..., self.keep, :]

    def _dominant_joint(self):
        return self.base._dominant_joint()[self.keep.numpy()]


class MannequinMesh(BodyMesh):
    """The mannequin-x wooden mesh (24k vertices, 48k faces) with torch linear blend skinning.

    The 54-joint mannequin skeleton (SMPL-X names, first 24 in SMPL order) is driven by our 24 rotations (see the
    module docstring); skin data, bind joints and rest offsets are read from the `Mannequin` object once.

    >>> MannequinMesh().vertices(torch.zeros(10, 24, 3), torch.zeros(10, 3)).shape
    torch.Size([10, 24256, 3])
    """
    source = MANNEQUIN_SOURCE

    def __init__(self):
        from mannequin import Mannequin

        model = Mannequin("wooden")
        ident = model._identity
        names = list(model.joint_names)
        self.parents = tuple(model.parents)
        n = len(self.parents)
        self.faces = np.asarray(model.faces, dtype=np.int64)
        # local offsets are the rest positions of joints relative to their parents (root: its rest position)
        self.offsets = torch.as_tensor(ident["local_joint_offsets"], dtype=torch.float32)
        self.bind = torch.as_tensor(ident["skin_bind_positions"], dtype=torch.float32)  # (J, 3)
        self.template = torch.as_tensor(ident["skin_vertices"], dtype=torch.float32)  # (V, 3)
        # dense (V, J) skin weights: LBS becomes one matmul per chunk of frames
        idx, w = model._skin_joint_indices, model._skin_weights
        weights = np.zeros((len(idx), n), np.float32)
        np.add.at(weights, (np.repeat(np.arange(len(idx)), idx.shape[1]), idx.reshape(-1)), w.reshape(-1))
        self.weights = torch.from_numpy(weights)
        self.skin_indices = np.ascontiguousarray(idx, dtype=np.int32)  # (V, 4) for the numba renderer
        self.skin_weights = np.ascontiguousarray(w, dtype=np.float32)  # (V, 4)
        # constant local rotations of the joints our pose does not drive: the relaxed hand mean on the fingers
        rest_local = np.broadcast_to(np.eye(3, dtype=np.float32), (n, 3, 3)).copy()
        hand_mean = np.asarray(model._calibration.hand_mean, np.float32)  # (30, 3), fingers 24..53
        rest_local[24:] = rotvec_to_rotmat(torch.from_numpy(hand_mean)).numpy()
        self.rest_local = torch.from_numpy(rest_local)
        self.hand_mean_index1 = torch.from_numpy(hand_mean[[0, 15]])  # added to our joints 22/23 (as smplx does)
        # which mannequin joint each of our 24 joints drives
        self.driven = list(range(22)) + [names.index("L_Index1"), names.index("R_Index1")]

    @property
    def num_vertices(self) -> int:
        return int(self.template.shape[0])

    def _dominant_joint(self) -> np.ndarray:
        return self.weights.argmax(dim=1).numpy()

    def joint_transforms(self, poses: torch.Tensor, trans: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World rotations `(N, J, 3, 3)` and positions `(N, J, 3)` of all 54 mannequin joints, from `(N, 24, 3)`."""
        local_rv = poses.clone()
        local_rv[:, 22:] = local_rv[:, 22:] + self.hand_mean_index1
        local = self.rest_local.expand(poses.shape[0], -1, -1, -1).clone()
        local[:, self.driven] = rotvec_to_rotmat(local_rv)
        rot: list[torch.Tensor] = [local[:, 0]]
        pos: list[torch.Tensor] = [trans]
        for j in range(1, len(self.parents)):
            p = self.parents[j]
            pos.append(pos[p] + rot[p] @ self.offsets[j])
            rot.append(rot[p] @ local[:, j])
        return torch.stack(rot, 1), torch.stack(pos, 1)

    def skinning_transforms(self, poses: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
        """`(N, J, 3, 4)` per-joint skinning matrices [R | p − R·b] (b: bind position) for `(N, 24, 3)` poses.

        v = Σ_k w_k (R_k (v̄ − b_k) + p_k) = Σ_k w_k [R_k | p_k − R_k b_k] · [v̄; 1]. The renderer applies these with
        the 4 strongest weights per vertex (`skin_indices`, `skin_weights`) in numba; `vertices` uses them in torch.
        """
        rot, pos = self.joint_transforms(poses, trans)
        shift = pos - (rot @ self.bind[:, :, None]).squeeze(-1)
        return torch.cat([rot, shift[..., None]], dim=-1)

    def vertices(self, poses, trans):
        poses, trans = _check_pose(poses, trans)
        lead = poses.shape[:-2]
        poses, trans = poses.reshape(-1, NUM_JOINTS, 3), trans.reshape(-1, 3)
        out = []
        for s in range(0, max(poses.shape[0], 1), _CHUNK):
            rot, pos = self.joint_transforms(poses[s:s + _CHUNK], trans[s:s + _CHUNK])
            # v = Σ_k w_k (R_k (v̄ − b_k) + p_k) = (Σ w_k R_k) v̄ + Σ w_k (p_k − R_k b_k)
            shift = pos - (rot @ self.bind[:, :, None]).squeeze(-1)  # (n, J, 3)
            # rows: the three columns of R, then the shift, so v = [x, y, z, 1] @ M  (M is 4 × 3 per vertex)
            blend = torch.cat([rot.transpose(-1, -2), shift[:, :, None]], dim=-2).flatten(-2)  # (n, J, 12)
            m = (self.weights @ blend).unflatten(-1, (4, 3))  # (n, V, 4, 3)
            t = self.template
            out.append(m[..., 0, :] * t[:, 0:1] + m[..., 1, :] * t[:, 1:2] + m[..., 2, :] * t[:, 2:3] + m[..., 3, :])
        return torch.cat(out).reshape(*lead, self.num_vertices, 3)


class SmplMesh(BodyMesh):
    """SMPL (6890 vertices) through smplx: `global_orient` = joint 0, `body_pose` = joints 1–23, neutral betas,
    translated so the pelvis lands on `trans`. Example: `SmplMesh("~/smpl").vertices(torch.zeros(24, 3), torch.zeros(3))`.
    """

    def __init__(self, model_dir: str | os.PathLike, gender: str = "neutral"):
        self.model = load_smpl(model_dir, gender=gender)
        self.faces = np.asarray(self.model.faces, dtype=np.int64)
        self.source = f"SMPL {gender} from {model_dir}"
        with torch.no_grad():
            v = self.model.v_template
            self.rest_pelvis = (self.model.J_regressor[0] @ v).float()

    @property
    def num_vertices(self) -> int:
        return int(self.model.v_template.shape[0])

    def _dominant_joint(self) -> np.ndarray:
        return self.model.lbs_weights.argmax(dim=1).numpy()

    def vertices(self, poses, trans):
        poses, trans = _check_pose(poses, trans)
        with torch.no_grad():
            return self.vertices_from_rotmats(rotvec_to_rotmat(poses), trans)

    def vertices_from_rotmats(self, rotmats: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
        """Differentiable SMPL vertices `(..., 6890, 3)` from local rotation matrices `(..., 24, 3, 3)` and pelvis
        positions `(..., 3)` (the body loss on vertices, `mcl.training.losses.vertices_from_tensor`).

        Example: `SmplMesh(d).vertices_from_rotmats(torch.eye(3).expand(24, 3, 3), torch.zeros(3))`.
        """
        lead = rotmats.shape[:-3]
        rotmats, trans = rotmats.reshape(-1, NUM_JOINTS, 3, 3), trans.reshape(-1, 3)
        n = rotmats.shape[0]
        model = self.model
        # smplx rotates the body about its rest pelvis joint, so shifting by (trans − rest pelvis) lands it on trans
        out = model(global_orient=rotmats[:, :1], body_pose=rotmats[:, 1:], pose2rot=False,
                    betas=rotmats.new_zeros(n, model.num_betas), transl=trans - self.rest_pelvis.to(trans))
        return out.vertices.reshape(*lead, self.num_vertices, 3)

    def to(self, device) -> "SmplMesh":
        """Moves the SMPL tensors (for the body loss on a GPU); returns self."""
        self.model.to(device)
        return self


@functools.lru_cache(maxsize=4)
def _load(model_dir: str | None, gender: str) -> BodyMesh:
    return SmplMesh(model_dir, gender) if model_dir else MannequinMesh()


def load_body_mesh(smpl_model_dir: str | os.PathLike | None = None, gender: str = "neutral",
                   quiet: bool = False) -> BodyMesh:
    """The body mesh: SMPL via smplx when model files are given (argument or `MCL_SMPL_DIR`), else mannequin-x.

    Prints one line saying which mesh is used (unless `quiet`); loaded once per process.
    Example: `load_body_mesh().source` → `'mannequin-x wooden mesh (no SMPL files; set MCL_SMPL_DIR for SMPL)'`.
    """
    d = smpl_dir(smpl_model_dir)
    mesh = _load(str(Path(d).resolve()) if d else None, gender)
    if not quiet:
        log.info("body mesh: %s", mesh.source)
        _say_once(mesh.source)
    return mesh


@functools.lru_cache(maxsize=8)
def _say_once(line: str) -> None:
    print(f"[mcl] body mesh: {line}")
