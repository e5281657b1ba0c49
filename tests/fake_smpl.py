"""A small SMPL-format model for the SMPL plumbing tests (SMPL itself is licensed and cannot ship)."""
import numpy as np

from mcl.body import PARENTS


def fake_smpl(folder, rest_joints: np.ndarray, n_vertices=6890):
    """A tiny SMPL-format npz: vertex j (< 24) sits on joint j, skinned to it; the rest are random blobs."""
    rng = np.random.default_rng(0)
    v = np.repeat(rest_joints, n_vertices // 24 + 1, axis=0)[:n_vertices] + rng.normal(0, 0.03, (n_vertices, 3))
    v[:24] = rest_joints
    owner = np.arange(n_vertices) % 24
    owner[:24] = np.arange(24)
    weights = np.eye(24, dtype=np.float32)[owner]
    reg = np.zeros((24, n_vertices), np.float32)
    reg[np.arange(24), np.arange(24)] = 1
    kintree = np.stack([np.array([4294967295] + list(PARENTS[1:]), np.int64), np.arange(24)])
    np.savez(folder / "SMPL_NEUTRAL.npz", v_template=v.astype(np.float32),
             shapedirs=np.zeros((n_vertices, 3, 10), np.float32), posedirs=np.zeros((n_vertices, 3, 207), np.float32),
             J_regressor=reg, weights=weights, kintree_table=kintree,
             f=rng.integers(0, n_vertices, (200, 3)).astype(np.int64))
