"""AMASS npz + BABEL json, from tiny fixture files written in exactly the published formats."""
import json

import numpy as np
import pytest
import torch

from mcl.body import JOINT_INDEX as J, joints_from_rotvec, load_skeleton
from mcl.data import DataError, SkipReport, make_windows
from mcl.data import amass
from mcl.data.amass import babel_action_classes, load_amass_babel, load_amass_folder, load_amass_npz


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "cache"))


def write_npz(path, frames=240, fps=60.0, **override):
    """An AMASS-style SMPL-H file of a person standing upright in AMASS's z-up world, drifting along +x."""
    poses = np.zeros((frames, 156), np.float32)
    poses[:, 0] = np.pi / 2  # SMPL's body is y-up; AMASS turns it upright in z-up with R_x(+90°)
    poses[:, 66:69] = [0.1, 0.0, 0.0]  # left index1 (first left-hand joint)
    poses[:, 111:114] = [0.0, 0.2, 0.0]  # right index1 (first right-hand joint)
    poses[:, 69:72] = 9.0  # left index2: must be dropped
    trans = np.stack([np.linspace(0, 1, frames), np.zeros(frames), np.full(frames, 0.9)], 1).astype(np.float32)
    data = dict(poses=poses, trans=trans, mocap_framerate=np.array(fps), betas=np.zeros(16), gender=np.array("male"))
    data.update(override)
    data = {k: v for k, v in data.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **data)
    return path


@pytest.fixture
def amass_babel(tmp_path):
    root, babel = tmp_path / "AMASS", tmp_path / "babel_v1.0_release"
    babel.mkdir()
    # on disk, as AMASS ships today; BABEL's feat_p has an extra folder and the old dataset name
    write_npz(root / "CMU" / "01" / "01_01_poses.npz")
    write_npz(root / "BMLrub" / "rub001" / "0001_treadmill_norm_poses.npz", frames=180, fps=30.0)
    frame_labels = [
        {"raw_label": "walk forward", "proc_label": "walk forward", "act_cat": ["walk", "forwards movement"],
         "start_t": 0.0, "end_t": 1.0, "seg_id": "a"},
        {"raw_label": "wave right hand", "proc_label": "wave right hand", "act_cat": ["hand movements"],
         "start_t": 0.5, "end_t": 2.5, "seg_id": "b"},
        {"raw_label": "turn around", "proc_label": "turn around", "act_cat": ["turn"],
         "start_t": 2.5, "end_t": 4.0, "seg_id": "c"},
    ]
    train = {
        "1001": {"babel_sid": 1001, "feat_p": "CMU/CMU/01/01_01_poses.npz", "dur": 4.0, "url": "x.mp4",
                 "seq_ann": {"babel_lid": "s1", "anntr_id": "q", "mul_act": True,
                             "labels": [{"raw_label": "walk and wave", "proc_label": "walk and wave",
                                         "act_cat": ["walk"], "seg_id": "s"}]},
                 "frame_ann": {"babel_lid": "f1", "anntr_id": "q", "mul_act": True, "labels": frame_labels}},
        "1002": {"babel_sid": 1002,
                 "feat_p": "BioMotionLab_NTroje/BioMotionLab_NTroje/rub001/0001_treadmill_norm_poses.npz",
                 "dur": 6.0, "seq_ann": {"labels": [{"raw_label": "jumping jacks", "proc_label": "jumping jacks",
                                                    "act_cat": None, "seg_id": "t"}]},
                 "frame_ann": None},
        "1003": {"babel_sid": 1003, "feat_p": "CMU/CMU/02/02_01_poses.npz", "dur": 3.0,
                 "seq_ann": {"labels": [{"raw_label": "run", "proc_label": "run", "act_cat": ["run"]}]},
                 "frame_ann": None},
    }
    (babel / "train.json").write_text(json.dumps(train))
    (babel / "val.json").write_text(json.dumps({"2001": dict(train["1002"], babel_sid=2001)}))
    return root, babel


def test_babel_windows_and_texts(amass_babel):
    root, babel = amass_babel
    report = SkipReport()
    clips = load_amass_babel(root, babel, "train", report=report, progress=False)
    assert [m.labels["babel_sid"] for m in clips] == ["1001", "1002"]
    assert len(report) == 1 and "1003" in report.summary() and "not found" in report.summary()

    cmu, bml = clips
    assert cmu.fps == 60.0 and cmu.num_frames == 240 and cmu.texts == ["walk and wave"]
    assert [s.text for s in cmu.segments] == ["walk forward", "wave right hand", "turn around"]
    assert cmu.segments[0].actions == ("walk", "forwards movement")

    ws = make_windows([cmu], length=60)  # 4 s at 30 fps → windows [0, 2) s and [2, 4) s
    assert [w.texts for w in ws] == [["walk forward and wave right hand"], ["wave right hand and turn around"]]
    assert ws[0].labels["actions"] == ["walk", "forwards movement", "hand movements"]

    ws = make_windows([bml], length=60)  # no frame labels: the sequence label covers every window
    assert len(ws) == 3 and all(w.texts == ["jumping jacks"] for w in ws)

    val = load_amass_babel(root, babel, "val", progress=False)
    assert len(val) == 1 and val[0].labels["split"] == "val"


def test_smplh_joint_selection_and_z_up_to_y_up(tmp_path):
    m = load_amass_npz(write_npz(tmp_path / "a_poses.npz"))
    assert m.poses.shape == (240, 24, 3) and m.fps == 60.0 and m.source["gender"] == "male"
    np.testing.assert_allclose(m.poses[0, 0], 0, atol=1e-6)  # R_x(−90°)·R_x(+90°) = I: upright in y-up
    np.testing.assert_allclose(m.poses[0, 22], [0.1, 0, 0], atol=1e-6)  # left index1 → SMPL left hand
    np.testing.assert_allclose(m.poses[0, 23], [0, 0.2, 0], atol=1e-6)
    assert np.abs(m.poses[:, 1:22]).max() == 0
    # pelvis = R·(trans + J0): AMASS height (z) becomes y, AMASS +x stays +x
    j0 = load_skeleton().rest[0].numpy()
    np.testing.assert_allclose(m.trans[0], [j0[0], 0.9 + j0[2], -j0[1]], atol=1e-5)
    assert m.trans[-1, 0] - m.trans[0, 0] == pytest.approx(1.0, abs=1e-5)
    jt = joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans)).numpy()
    assert (jt[:, J["head"], 1] > jt[:, J["pelvis"], 1] + 0.4).all()  # standing upright
    assert (jt[:, J["left_ankle"], 1] < jt[:, J["pelvis"], 1] - 0.6).all()


def test_npz_errors_name_file_and_key(tmp_path):
    with pytest.raises(DataError, match=r"b_poses\.npz: missing key 'trans'"):
        load_amass_npz(write_npz(tmp_path / "b_poses.npz", trans=None))
    with pytest.raises(DataError, match=r"c_poses\.npz: missing key 'mocap_framerate'"):
        load_amass_npz(write_npz(tmp_path / "c_poses.npz", mocap_framerate=None))
    with pytest.raises(DataError, match=r"d_poses\.npz: key 'poses' has shape \(10, 99\)"):
        load_amass_npz(write_npz(tmp_path / "d_poses.npz", poses=np.zeros((10, 99))))
    with pytest.raises(DataError, match="not found"):
        load_amass_npz(tmp_path / "missing.npz")


def test_unreadable_babel_file_is_counted_and_errors_say_what_to_pass(amass_babel, tmp_path):
    root, babel = amass_babel
    write_npz(root / "CMU" / "02" / "02_01_poses.npz", poses=None)  # 1003 now exists but has no poses
    report = SkipReport()
    assert len(load_amass_babel(root, babel, "train", report=report, progress=False)) == 2
    assert "missing key 'poses'" in report.summary()
    with pytest.raises(DataError, match="train.json.*not found.*babel_v1.0_release"):
        load_amass_babel(root, tmp_path / "nowhere", "train")
    with pytest.raises(DataError, match="unknown BABEL split 'test'"):
        load_amass_babel(root, babel, "test")


def test_folder_without_babel(amass_babel):
    root, _ = amass_babel
    np.savez(root / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender=np.array("female"))
    report = SkipReport()
    clips = load_amass_folder(root, report=report, progress=False)
    assert len(clips) == 2 and len(report) == 0 and all(m.texts == [] for m in clips)


def test_babel60_classes():
    classes = babel_action_classes()
    assert len(classes) == 60 and len(set(classes)) == 60
    assert classes[:4] == ["walk", "stand", "hand movements", "turn"]
    assert classes[59] == "grab person / body part"


def test_parsed_clips_are_cached_under_a_key_of_their_inputs(amass_babel, monkeypatch, tmp_path):
    root, babel = amass_babel
    first_report = SkipReport()
    first = load_amass_babel(root, babel, "train", report=first_report, progress=False, fps=30)
    assert [m.fps for m in first] == [30.0, 30.0] and first[0].num_frames == 120  # resampled while loading
    assert list((tmp_path / "cache" / "motions").glob("amass-babel-train-*.json"))

    def no_parsing(path):
        raise AssertionError("should have come from the cache")
    monkeypatch.setattr(amass, "load_amass_npz", no_parsing)
    report = SkipReport()
    again = load_amass_babel(root, babel, "train", report=report, progress=False, fps=30)
    assert report.skipped == first_report.skipped  # the skip report comes back too
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.poses, b.poses)
        np.testing.assert_array_equal(a.trans, b.trans)
        assert (a.texts, a.labels, a.segments, a.fps) == (b.texts, b.labels, b.segments, b.fps)
    with pytest.raises(AssertionError, match="from the cache"):  # another fps is another key
        load_amass_babel(root, babel, "train", progress=False, fps=20)
    write_npz(root / "CMU" / "01" / "01_01_poses.npz", frames=300)  # a changed input file: rebuilt
    with pytest.raises(AssertionError, match="from the cache"):
        load_amass_babel(root, babel, "train", progress=False, fps=30)
