"""Bandai-Namco ds-2: captions and folder handling always; the real clips when ../shared/data has the archive."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mcl.body.rotations import rotvec_to_rotmat
from mcl.body.skeleton import JOINT_INDEX, forward_kinematics
from mcl.data import bandai
from mcl.data.errors import DataError, SkipReport
from mcl.data.labels import bandai_captions, labels_from_name

ARCHIVE = bandai.default_bandai_path()
needs_data = pytest.mark.skipif(ARCHIVE is None or not ARCHIVE.exists(),
                                reason=f"Bandai-Namco ds-2 not found ({bandai.ARCHIVE_NAME} in ../shared/data or "
                                       "$MCL_BANDAI)")


def test_captions_name_the_content_and_style():
    for content in bandai.CONTENTS:
        for style in bandai.STYLES:
            caps = bandai_captions(content, style)
            assert len(caps) == 4 and len(set(caps)) == 4
            assert all(style in c for c in caps[:2])
            assert style not in caps[3] and caps[3].startswith("a person ")  # the content alone
    assert bandai_captions("walk", "elderly")[:2] == ["a person walks in an elderly way", "an elderly person walking"]
    assert bandai_captions("wave-left-hand", "active")[2] == "someone waves their left hand energetically"


def test_pattern_labels():
    assert labels_from_name("dataset-2_walk-turn-left_youthful_012.bvh", bandai.PATTERN) == {
        "content": "walk-turn-left", "style": "youthful", "id": "012"}
    assert labels_from_name("readme.bvh", bandai.PATTERN) is None


def test_missing_dataset_and_bad_filters(tmp_path, monkeypatch):
    monkeypatch.setenv("MCL_BANDAI", str(tmp_path / "nowhere.tar.xz"))
    with pytest.raises(DataError, match="no such file or folder"):
        bandai.load_bandai()
    (tmp_path / "data").mkdir()
    with pytest.raises(DataError, match=r"unknown style\(s\) \['grumpy'\]"):
        bandai.load_bandai(tmp_path, styles=["grumpy"])


@pytest.mark.shared
@pytest.mark.slow  # unpacks clips from the 79 MB tar.xz: ~20 s
@needs_data
def test_real_clips_labels_motion_and_captions():
    report = SkipReport()
    walks = bandai.load_bandai(ARCHIVE, report=report, contents=["walk"], styles=["normal"], limit=2)
    waves = bandai.load_bandai(ARCHIVE, report=report, contents=["wave-left-hand"], styles=["active"], limit=1)
    assert len(walks) == 2 and len(waves) == 1 and len(report) == 0
    for m in walks + waves:
        f = m.source["file"]
        meta = json.loads(open(f[:-4] + ".json").read())
        assert m.labels["content"] == bandai.CONTENTS[meta["content"]] and f"_{m.labels['content']}_" in f
        assert m.labels["style"] == bandai.STYLES[meta["style"]] and f"_{m.labels['style']}_" in f
        assert m.fps == 30.0 and m.poses.shape[1:] == (24, 3)
        assert any(m.labels["style"] in t for t in m.texts)
    walk = walks[0]
    J = forward_kinematics(rotvec_to_rotmat(torch.from_numpy(walk.poses)), torch.from_numpy(walk.trans)).numpy()
    lowest = J[:, :, 1].min(axis=1)
    assert np.all(lowest > -0.05) and np.median(lowest) < 0.08  # feet on the ground, not sunk, not floating
    assert np.all(J[:, JOINT_INDEX["head"], 1] > 1.3)  # upright
    # it walks forward: pelvis velocity along the way the pelvis faces (its +z axis in the world)
    facing = rotvec_to_rotmat(torch.from_numpy(walk.poses[:, 0])).numpy()[:, :, 2]
    velocity = np.gradient(walk.trans, axis=0) * walk.fps
    forward = (facing * velocity).sum(axis=1)
    assert np.median(forward) > 0.5 and np.linalg.norm(walk.trans[-1] - walk.trans[0]) > 2.0
    # waving the LEFT hand: the left wrist rises above the head, the right one does not
    wave = waves[0]
    J = forward_kinematics(rotvec_to_rotmat(torch.from_numpy(wave.poses)), torch.from_numpy(wave.trans)).numpy()
    head_y = J[:, JOINT_INDEX["head"], 1]
    assert (J[:, JOINT_INDEX["left_wrist"], 1] > head_y).mean() > 0.2
    assert (J[:, JOINT_INDEX["right_wrist"], 1] > head_y).mean() == 0
    # turning left (facing +z, the figure's left is +x) turns the heading from +z toward +x: yaw grows by ~90°
    turn = bandai.load_bandai(ARCHIVE, contents=["walk-turn-left"], styles=["normal"], limit=1)[0]
    f = rotvec_to_rotmat(torch.from_numpy(turn.poses[:, 0])).numpy()[:, :, 2]
    yaw = np.degrees(np.unwrap(np.arctan2(f[:, 0], f[:, 2])))
    assert 60 < yaw[-1] - yaw[0] < 130
