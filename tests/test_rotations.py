import numpy as np
import roma
import torch
from hypothesis import given, settings, strategies as st

from mcl.body.rotations import (euler_to_rotmat, rot6d_to_rotmat, rot6d_to_rotvec, rotmat_to_6d, rotvec_slerp_weighted,
                                rotvec_to_6d, rotvec_to_rotmat, quat_wxyz_to_rotvec)

rotvecs = st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=200, deadline=None)
@given(rotvecs)
def test_rotvec_6d_round_trip_is_the_same_rotation(v):
    r = torch.tensor(v, dtype=torch.float64)
    back = rot6d_to_rotvec(rotvec_to_6d(r))
    assert roma.rotvec_geodesic_distance(r, back) < 1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=6, max_size=6))
def test_any_6d_vector_maps_to_a_rotation(x):
    t = torch.tensor(x, dtype=torch.float64)
    if torch.linalg.norm(t[:3]) < 1e-3 or torch.linalg.norm(torch.cross(t[:3], t[3:], dim=0)) < 1e-3:
        return  # degenerate: parallel columns have no unique rotation
    assert roma.is_rotation_matrix(rot6d_to_rotmat(t), epsilon=1e-6)


def test_6d_is_first_two_columns():
    R = roma.random_rotmat(10)
    x = rotmat_to_6d(R)
    assert torch.allclose(x[:, :3], R[:, :, 0]) and torch.allclose(x[:, 3:], R[:, :, 1])
    assert torch.allclose(rot6d_to_rotmat(x), R, atol=1e-6)


def test_euler_order_is_intrinsic_product():
    a = torch.tensor([30.0, -20.0, 75.0], dtype=torch.float64)
    Rz = rotvec_to_rotmat(torch.tensor([0, 0, np.radians(30.0)], dtype=torch.float64))
    Rx = rotvec_to_rotmat(torch.tensor([np.radians(-20.0), 0, 0], dtype=torch.float64))
    Ry = rotvec_to_rotmat(torch.tensor([0, np.radians(75.0), 0], dtype=torch.float64))
    assert torch.allclose(euler_to_rotmat("ZXY", a), Rz @ Rx @ Ry, atol=1e-10)


def test_wxyz_quaternion():
    half = np.radians(90) / 2
    q = torch.tensor([np.cos(half), 0, np.sin(half), 0], dtype=torch.float32)  # 90° about y, w first
    assert torch.allclose(quat_wxyz_to_rotvec(q), torch.tensor([0, np.pi / 2, 0], dtype=torch.float32), atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(rotvecs, rotvecs, st.floats(0, 1))
def test_slerp_endpoints_and_constant_speed(a, b, w):
    r0, r1 = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    mid = rotvec_slerp_weighted(r0, r1, torch.tensor(w, dtype=torch.float64))
    total = roma.rotvec_geodesic_distance(r0, r1)
    assert abs(roma.rotvec_geodesic_distance(r0, mid) - w * total) < 1e-6
    assert roma.rotvec_geodesic_distance(rotvec_slerp_weighted(r0, r1, torch.tensor(1.0, dtype=torch.float64)), r1) < 1e-6
