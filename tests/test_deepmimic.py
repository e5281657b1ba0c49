"""DeepMimic clips from pybullet_data, retargeted onto SMPL-24: they load, look like people and move the right way."""
import json

import numpy as np
import pytest
import torch

from mcl.body import JOINT_INDEX as J, joints_from_rotvec
from mcl.body.rotations import rotvec_to_rotmat
from mcl.data import DataError, SkipReport, make_windows
from mcl.data.deepmimic import (CLIP_NAMES, FRAME_WIDTH, deepmimic_rest, load_deepmimic, load_deepmimic_clip,
                                read_frames)

FEET = [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]


@pytest.fixture(scope="module")
def clips():
    return {m.labels["action"]: m for m in load_deepmimic()}


def joints(m):
    return joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans)).numpy()


def test_all_15_clips_load_with_texts(clips):
    assert sorted(clips) == sorted(CLIP_NAMES) and len(clips) == 15
    for name, m in clips.items():
        assert len(m.texts) >= 2 and all(t.startswith(("a ", "someone")) for t in m.texts), name
        assert m.source["dataset"] == "deepmimic" and m.num_frames > 20
        assert np.isfinite(m.poses).all() and np.isfinite(m.trans).all()
    assert len({m.texts[0] for m in clips.values()}) == 15  # every clip has its own canonical text
    assert clips["getup_facedown"].texts[0] == "a person gets up from lying face down"


def test_native_fps_and_30_fps_after_resampling(clips):
    assert clips["walk"].fps == 30.0 and clips["cartwheel"].fps == 60.0
    assert clips["backflip"].fps == 16.0 and clips["spin"].fps == 24.0
    # roll has one doubled key frame: it is put on a regular 60 fps grid, and says so
    assert clips["roll"].source["retimed_from_irregular_keyframes"] == 121
    assert abs(clips["roll"].duration - 2.02) < 0.03
    for m in clips.values():
        r = m.resample(30)
        assert r.fps == 30.0 and abs(r.duration - m.duration) < 1.5 / 30


def test_rest_skeleton_read_from_urdf():
    rest = deepmimic_rest()
    assert rest["joints"]["right_hip"][2] > 0  # the humanoid's right is +z: it faces +x
    assert rest["joints"]["right_elbow"][1] < rest["joints"]["right_shoulder"][1]  # arms hang down at rest
    np.testing.assert_allclose(rest["axes"]["right_knee"], [0, 0, 1])
    assert 0.8 < rest["pelvis_height"] < 0.95


def test_walk_moves_forward_on_the_floor(clips):
    m = clips["walk"]
    jt = joints(m)
    facing = rotvec_to_rotmat(torch.from_numpy(m.poses[:, 0])).numpy()[:, :, 2]  # body +z in the world
    facing = facing[:, [0, 2]] / np.linalg.norm(facing[:, [0, 2]], axis=1, keepdims=True)
    disp = m.trans[-1, [0, 2]] - m.trans[0, [0, 2]]
    assert disp @ facing.mean(0) > 1.0
    assert disp[1] > 1.0  # and the clip starts facing +z, our forward
    feet_y = jt[:, FEET, 1]
    assert abs(feet_y.min()) < 0.05  # soles on the floor…
    assert (feet_y.min(axis=1) < 0.08).all()  # …every frame (walking: one foot down at a time)
    assert (jt[:, J["head"], 1] > 1.4).all() and (jt[:, J["head"], 1] > jt[:, J["pelvis"], 1] + 0.4).all()


def test_feet_never_far_below_the_floor(clips):
    for name, m in clips.items():
        assert joints(m)[:, FEET, 1].min() > -0.03, name


def test_upright_clips_have_arms_down_and_feet_forward(clips):
    """The shoulder rest correction: DeepMimic rests arms down, SMPL in a T-pose; walking arms must hang."""
    jt = joints(clips["walk"])
    for side in ("left", "right"):
        assert (jt[:, J[f"{side}_wrist"], 1] < jt[:, J[f"{side}_shoulder"], 1] - 0.3).all()
        toe = jt[:, J[f"{side}_foot"]] - jt[:, J[f"{side}_ankle"]]
        assert np.median(toe[:, 2]) > 0.05  # toes point forward (+z)
    assert (jt[:, J["left_hip"], 0] > jt[:, J["right_hip"], 0]).all()  # facing +z, the left side is +x


def test_knee_bends_the_right_way(clips):
    """Knee flexion moves the ankle backwards (−z in the body frame) during walk."""
    m = clips["walk"]
    jt = joints(m)
    root = rotvec_to_rotmat(torch.from_numpy(m.poses[:, 0])).numpy()
    for side in ("left", "right"):
        knee, ankle, hip = jt[:, J[f"{side}_knee"]], jt[:, J[f"{side}_ankle"]], jt[:, J[f"{side}_hip"]]
        shank = np.einsum("tji,tj->ti", root, ankle - knee)  # in the body frame
        thigh = np.einsum("tji,tj->ti", root, knee - hip)
        cosang = (shank * thigh).sum(1) / np.linalg.norm(shank, axis=1) / np.linalg.norm(thigh, axis=1)
        bent = np.degrees(np.arccos(np.clip(cosang, -1, 1))) > 30
        assert bent.sum() >= 3, side
        # the shank points further back than the thigh when the knee is bent
        assert (shank[bent, 2] / np.linalg.norm(shank[bent], axis=1)
                < thigh[bent, 2] / np.linalg.norm(thigh[bent], axis=1)).all(), side


def test_windows_of_deepmimic(clips):
    report = SkipReport()
    ws = make_windows(clips.values(), length=60, report=report)
    assert len(ws) > 0 and all(w.num_frames == 60 and w.fps == 30.0 for w in ws)
    assert len(report) > 0 and "shorter than a window" in report.summary()  # walk, run… are under 2 s


def test_bad_files_raise_data_errors(tmp_path):
    f = tmp_path / "humanoid3d_bad.txt"
    f.write_text(json.dumps({"Loop": "none", "Frames": [[0.03] + [0.0] * 10] * 3}))
    with pytest.raises(DataError, match="humanoid3d_bad.txt.*shape"):
        read_frames(f)
    f.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_frames(f)
    with pytest.raises(DataError, match="unknown clip"):
        load_deepmimic(["moonwalk"])


def test_custom_file_loads(tmp_path):
    """A file in the same format outside pybullet_data (identity pose) loads standing upright, facing +z."""
    row = [1 / 30, 0.0, 0.9, 0.0, 1, 0, 0, 0] + [1, 0, 0, 0] * 2
    limb = [1, 0, 0, 0, 0.0, 1, 0, 0, 0, 1, 0, 0, 0, 0.0]  # hip, knee, ankle, shoulder, elbow
    row += limb * 2
    assert len(row) == FRAME_WIDTH
    f = tmp_path / "humanoid3d_stand.txt"
    f.write_text(json.dumps({"Loop": "none", "Frames": [row, row[:1] + [0.1, 0.9, 0.0] + row[4:], [0.0] + row[1:]]}))
    m = load_deepmimic_clip(f)
    jt = joints(m)
    assert m.labels["action"] == "stand" and m.fps == 30.0 and m.num_frames == 3
    assert (jt[:, J["head"], 1] > 1.4).all()
    assert (jt[:, J["left_wrist"], 1] < jt[:, J["left_shoulder"], 1] - 0.4).all()  # arms down, not T-pose
    assert m.trans[1, 2] - m.trans[0, 2] > 0.09  # DeepMimic +x is our +z
