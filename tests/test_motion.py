import numpy as np
import pytest
import roma
import torch
from hypothesis import given, settings, strategies as st

from mcl.body import JOINT_NAMES, MIRROR, PARENTS, forward_kinematics, joints_from_rotvec, load_skeleton
from mcl.data import DataError, Motion, Segment, SkipReport, make_windows, synthetic_motion, windows
from mcl.data.motion import motion_to_tensor, tensor_to_motion


def test_tensor_round_trip_is_lossless():
    m = synthetic_motion(75, seed=3)
    x = m.to_tensor()
    assert x.shape == (25, 6, 75) and x.dtype == torch.float32
    assert torch.allclose(x[24, 3:], torch.zeros(3, 75)) and torch.allclose(x[24, :3, 0], torch.zeros(3))
    back = Motion.from_tensor(x, fps=m.fps, start=m.trans[0])
    ang = roma.rotvec_geodesic_distance(torch.from_numpy(back.poses), torch.from_numpy(m.poses))
    assert ang.max() < 1e-4
    assert np.abs(back.trans - m.trans).max() < 1e-5


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 30), st.integers(0, 10_000))
def test_batched_tensor_round_trip(batch, frames, seed):
    g = torch.Generator().manual_seed(seed)
    poses = (torch.rand(batch, frames, 24, 3, generator=g) - 0.5) * 4
    trans = torch.randn(batch, frames, 3, generator=g)
    x = motion_to_tensor(poses, trans)
    assert x.shape == (batch, 25, 6, frames)
    p2, t2 = tensor_to_motion(x)
    assert roma.rotvec_geodesic_distance(p2, poses).max() < 1e-3
    assert torch.allclose(t2, trans - trans[:, :1], atol=1e-5)


@pytest.mark.parametrize("src_fps,frames", [(60, 240), (120, 361), (24, 50), (100, 333)])
def test_resampling_preserves_duration(src_fps, frames):
    m = synthetic_motion(frames, fps=src_fps, seed=1)
    r = m.resample(30)
    assert r.fps == 30 and abs(r.duration - m.duration) <= 1 / 30 / 2 + 1e-9
    assert r.source["resampled_from_fps"] == src_fps
    # first frame unchanged; motion is smooth so a mid-point sample sits between its neighbours
    assert np.allclose(r.poses[0], m.poses[0], atol=1e-6) and np.allclose(r.trans[0], m.trans[0])


def test_resampling_interpolates_rotation_on_the_geodesic():
    poses = np.zeros((2, 24, 3), np.float32)
    poses[1, 5] = [0, 0, 1.0]
    m = Motion(poses, np.array([[0, 0, 0], [1, 0, 0]], np.float32), fps=1)
    r = m.resample(2)  # frames at t = 0, 0.5, 1.0, 1.5 (clamped)
    assert r.num_frames == 4
    assert np.allclose(r.poses[1, 5], [0, 0, 0.5], atol=1e-6) and np.allclose(r.trans[1], [0.5, 0, 0])


def test_windowing_carries_texts_and_counts_skips():
    m = synthetic_motion(150, seed=0)
    rep = SkipReport()
    ws = windows(m, 60, report=rep)
    assert [w.num_frames for w in ws] == [60, 60] and all(w.texts == m.texts for w in ws)
    assert ws[1].source["frames"] == (60, 120)
    assert len(windows(m, 60, stride=30)) == 4
    short = synthetic_motion(40, seed=1)
    assert windows(short, 60, report=rep) == [] and len(rep) == 1 and "shorter than a window" in rep.summary()


def test_windows_skip_nan_frames_and_say_so():
    m = synthetic_motion(120, seed=0)
    m.poses[70, 3, 0] = np.nan
    rep = SkipReport()
    ws = windows(m, 60, report=rep)
    assert len(ws) == 1 and len(rep) == 1 and "NaN" in rep.summary()


def test_window_text_from_segments_joins_distinct_labels():
    m = synthetic_motion(180, seed=0).replace(segments=[
        Segment(0.0, 1.5, "walk forward", ("walk",)), Segment(1.0, 2.5, "wave", ("hand movements",)),
        Segment(1.6, 3.0, "walk forward", ("walk",)), Segment(3.5, 6.0, "sit down", ("sit",))])
    ws = make_windows([m], 60)
    assert [w.texts for w in ws] == [["walk forward and wave"], ["wave and walk forward and sit down"], ["sit down"]]
    assert ws[0].labels["actions"] == ["walk", "hand movements"]


def test_bad_motion_shapes_are_named():
    with pytest.raises(DataError, match="poses has shape"):
        Motion(np.zeros((10, 22, 3)), np.zeros((10, 3)), 30, source={"file": "x.npz"})
    with pytest.raises(DataError, match="fps"):
        Motion(np.zeros((10, 24, 3)), np.zeros((10, 3)), 0)


def test_skeleton_tree_and_mirror():
    assert len(JOINT_NAMES) == 24 and PARENTS[0] == -1 and all(PARENTS[j] < j for j in range(1, 24))
    assert all(MIRROR[MIRROR[j]] == j for j in range(24))
    sk = load_skeleton()
    # the rest pose is a T-pose: wrists far out along x, at shoulder height, feet below the pelvis
    lw, rw = sk.rest[JOINT_NAMES.index("left_wrist")], sk.rest[JOINT_NAMES.index("right_wrist")]
    assert lw[0] > 0.5 and rw[0] < -0.5 and abs(lw[1] - rw[1]) < 0.05
    assert 0.8 < sk.floor_below_pelvis < 1.1


def test_fk_of_rest_pose_is_rest_joints():
    sk = load_skeleton()
    eye = torch.eye(3).expand(2, 5, 24, 3, 3)
    j = forward_kinematics(eye, sk.rest[0].expand(2, 5, 3))
    assert j.shape == (2, 5, 24, 3) and torch.allclose(j, sk.rest.expand_as(j), atol=1e-6)


def test_fk_rotating_root_rotates_everything_about_pelvis():
    sk = load_skeleton()
    poses = torch.zeros(24, 3)
    poses[0] = torch.tensor([0, np.pi / 2, 0])  # turn 90° about y (left)
    j = joints_from_rotvec(poses, torch.zeros(3))
    rel = sk.rest - sk.rest[0]
    R = roma.rotvec_to_rotmat(poses[0])
    assert torch.allclose(j, rel @ R.T, atol=1e-6)


def test_fk_is_differentiable():
    poses = torch.zeros(3, 24, 3, requires_grad=True)
    joints_from_rotvec(poses + 0.1, torch.zeros(3, 3)).sum().backward()
    assert poses.grad is not None and torch.isfinite(poses.grad).all()


def test_face_forward_turns_heading_to_plus_z_and_matches_tensor_twin():
    from mcl.data.motion import face_forward_tensor, heading
    m = synthetic_motion(60, seed=2)
    turn = torch.tensor([0.0, 1.3, 0.0]).expand(60, 3)
    m.poses[:, 0] = roma.rotvec_composition([turn, torch.from_numpy(m.poses[:, 0])]).numpy()
    f = m.face_forward()
    assert abs(float(heading(roma.rotvec_to_rotmat(torch.from_numpy(f.poses[0, 0]))))) < 1e-5
    assert np.allclose(f.trans[0], [0, m.trans[0, 1], 0], atol=1e-6)
    assert abs(f.source["faced_forward_deg"]) > 1
    assert torch.allclose(f.to_tensor(), face_forward_tensor(m.to_tensor()), atol=1e-5)
    # the body's own motion is unchanged: joint positions differ only by one rotation about +y
    jm, jf = joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans)), \
        joints_from_rotvec(torch.from_numpy(f.poses), torch.from_numpy(f.trans))
    dm = torch.cdist(jm[10], jm[10]); df = torch.cdist(jf[10], jf[10])
    assert torch.allclose(dm, df, atol=1e-5)
