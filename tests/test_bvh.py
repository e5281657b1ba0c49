"""BVH parsing and retargeting to SMPL-24, on small skeletons written by the tests (no shared data needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mcl.body.rotations import rotvec_to_rotmat
from mcl.body.skeleton import JOINT_INDEX, forward_kinematics
from mcl.data.bvh import load_bvh, load_bvh_folder, parse_bvh
from mcl.data.errors import DataError, SkipReport
from mcl.data.retarget import load_rig

# A CMU-named skeleton in metres, y up, facing +z, in a T-pose: (name, parent, offset).
ARM_T = {"LeftArm": (0.15, 0, 0), "LeftForeArm": (0.28, 0, 0), "LeftHand": (0.25, 0, 0)}
ARM_DOWN = {"LeftArm": (0.15, 0, 0), "LeftForeArm": (0, -0.28, 0), "LeftHand": (0, -0.25, 0)}


def skeleton(arms=ARM_T):
    j = [("Hips", None, (0, 0.95, 0)),
         ("Spine", "Hips", (0, 0.12, 0)), ("Spine1", "Spine", (0, 0.15, 0)),
         ("Neck", "Spine1", (0, 0.22, 0)), ("Head", "Neck", (0, 0.10, 0))]
    for side, s in (("Left", 1), ("Right", -1)):
        j += [(f"{side}UpLeg", "Hips", (s * 0.09, -0.06, 0)), (f"{side}Leg", f"{side}UpLeg", (0, -0.42, 0)),
              (f"{side}Foot", f"{side}Leg", (0, -0.42, 0)), (f"{side}ToeBase", f"{side}Foot", (0, -0.06, 0.12)),
              (f"{side}Shoulder", "Spine1", (s * 0.03, 0.18, 0))]
        prev = f"{side}Shoulder"
        for name, off in arms.items():
            name = name.replace("Left", side)
            j.append((name, prev, (s * off[0], off[1], off[2])))
            prev = name
    return j


END = {"Head": (0, 0.15, 0), "LeftToeBase": (0, 0, 0.05), "RightToeBase": (0, 0, 0.05),
       "LeftHand": (0.08, 0, 0), "RightHand": (-0.08, 0, 0)}


def write_bvh(path, joints, frames: dict[str, np.ndarray], root_pos: np.ndarray, order="ZXY", unit=1.0,
              six_channels=False, fps=30.0, rename=None, root_offset=None):
    """Write a BVH: `frames[name]` are rotation matrices `(T, 3, 3)` (identity where absent), root at `root_pos`.

    `root_offset`: write it as the root OFFSET and the root channels relative to it (iClone-style files), instead
    of a zero OFFSET and absolute channels."""
    rename = rename or {}
    kids = {}
    for name, parent, _ in joints:
        kids.setdefault(parent, []).append(name)
    offs = {n: np.asarray(o, float) * unit for n, _, o in joints}
    T = len(root_pos)
    cols, lines = [], ["HIERARCHY"]

    def euler(name):
        R = frames.get(name, np.broadcast_to(np.eye(3), (T, 3, 3)))
        return Rotation.from_matrix(R).as_euler(order, degrees=True)  # uppercase = intrinsic, as BVH

    def emit(name, depth, root=False):
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if root else 'JOINT'} {rename.get(name, name)}")
        lines.append(pad + "{")
        o = offs[name] if not root else np.zeros(3) if root_offset is None else np.asarray(root_offset) * unit
        lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        rot = " ".join(f"{a}rotation" for a in order)
        if root or six_channels:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot}")
            cols.append((root_pos * unit - (0 if root_offset is None else np.asarray(root_offset) * unit)) if root
                        else np.broadcast_to(offs[name], (T, 3)))
        else:
            lines.append(f"{pad}  CHANNELS 3 {rot}")
        cols.append(euler(name))
        for c in kids.get(name, []):
            emit(c, depth + 1)
        if name in END:
            e = np.asarray(END[name]) * unit
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {e[0]} {e[1]} {e[2]}", pad + "  }"])
        lines.append(pad + "}")

    emit(joints[0][0], 0, root=True)
    data = np.concatenate(cols, axis=1)
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in data]
    path.write_text("\n".join(lines) + "\n")
    return path


def rot(axis: str, deg: float, T: int = 1) -> np.ndarray:
    return np.broadcast_to(Rotation.from_euler(axis, deg, degrees=True).as_matrix(), (T, 3, 3)).copy()


def smpl_joints(m):
    return forward_kinematics(rotvec_to_rotmat(torch.from_numpy(m.poses)), torch.from_numpy(m.trans)).numpy()


def direction(J, a, b):
    v = J[..., JOINT_INDEX[b], :] - J[..., JOINT_INDEX[a], :]
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def assert_t_pose(J):
    """Bone directions of an SMPL T-pose: arms along ±x, legs straight down, spine up."""
    for side, s in (("left", 1), ("right", -1)):
        for a, b in ((f"{side}_shoulder", f"{side}_elbow"), (f"{side}_elbow", f"{side}_wrist")):
            np.testing.assert_allclose(direction(J, a, b), [s, 0, 0], atol=0.02)
        for a, b in ((f"{side}_hip", f"{side}_knee"), (f"{side}_knee", f"{side}_ankle")):
            np.testing.assert_allclose(direction(J, a, b), [0, -1, 0], atol=0.02)
        assert s * (J[JOINT_INDEX[f"{side}_wrist"], 0] - J[0, 0]) > 0.5  # wrists far out at ±x
    assert direction(J, "pelvis", "neck")[1] > 0.99


@pytest.fixture
def still(tmp_path):
    T = 3
    return tmp_path, T, np.tile([0.0, 0.95, 0.0], (T, 1)) + np.arange(T)[:, None] * [0, 0, 0.01]


def test_t_pose_rest_maps_to_smpl_t_pose(still):
    tmp, T, root = still
    m = load_bvh(write_bvh(tmp / "t.bvh", skeleton(), {}, root))
    assert m.poses.shape == (T, 24, 3) and m.fps == 30.0
    assert m.source["rig"] == "cmu"  # auto-detected from the joint names
    assert_t_pose(smpl_joints(m)[0])


def test_arms_down_rest_and_a_frame_raising_the_arms(still):
    tmp, T, root = still
    # frame 0: rest (arms down); frame 1: upper arms turned 90° about z up to horizontal = a T-pose
    frames = {"LeftArm": np.stack([np.eye(3), rot("z", 90)[0], np.eye(3)]),
              "RightArm": np.stack([np.eye(3), rot("z", -90)[0], np.eye(3)])}
    m = load_bvh(write_bvh(tmp / "down.bvh", skeleton(ARM_DOWN), frames, root))
    J = smpl_joints(m)
    assert_t_pose(J[1])
    for side in ("left", "right"):  # rest frame: arms hang straight down
        np.testing.assert_allclose(direction(J[0], f"{side}_shoulder", f"{side}_elbow"), [0, -1, 0], atol=0.02)
        np.testing.assert_allclose(direction(J[0], f"{side}_elbow", f"{side}_wrist"), [0, -1, 0], atol=0.02)


@pytest.mark.filterwarnings("ignore:Gimbal lock")  # the writer's Euler angles for a 90° x turn in ZXY order
def test_bent_elbow_and_knee_point_the_anatomical_way(still):
    tmp, T, root = still
    # left forearm turned 90° about -y: points forward (+z); left knee flexed 90° about x: shin points back (-z)
    frames = {"LeftForeArm": rot("y", -90, T), "LeftLeg": rot("x", 90, T)}
    J = smpl_joints(load_bvh(write_bvh(tmp / "bend.bvh", skeleton(), frames, root)))[0]
    np.testing.assert_allclose(direction(J, "left_elbow", "left_wrist"), [0, 0, 1], atol=0.02)
    np.testing.assert_allclose(direction(J, "left_knee", "left_ankle"), [0, 0, -1], atol=0.02)


def random_frames(T=4, seed=0):
    rng = np.random.default_rng(seed)
    names = [n for n, _, _ in skeleton()]
    return {n: Rotation.from_rotvec(rng.normal(scale=0.5, size=(T, 3))).as_matrix() for n in names}


def test_channel_orders_give_the_same_world_pose(tmp_path):
    T = 4
    frames = random_frames(T)
    root = np.tile([0.1, 0.95, 0.3], (T, 1)) + np.arange(T)[:, None] * [0, 0, 0.05]
    a = load_bvh(write_bvh(tmp_path / "zxy.bvh", skeleton(), frames, root, order="ZXY"))
    b = load_bvh(write_bvh(tmp_path / "xyz.bvh", skeleton(), frames, root, order="XYZ"))
    c = load_bvh(write_bvh(tmp_path / "six.bvh", skeleton(), frames, root, order="YZX", six_channels=True))
    for other in (b, c):
        np.testing.assert_allclose(smpl_joints(a), smpl_joints(other), atol=1e-4)
        np.testing.assert_allclose(a.trans, other.trans, atol=1e-4)


def test_cm_and_m_files_give_the_same_motion(tmp_path):
    T = 4
    frames = random_frames(T, seed=1)
    del frames["Hips"]  # a fixed pelvis orientation, so the pelvis moves exactly as the root joint does
    root = np.tile([0.0, 0.95, 0.0], (T, 1)) + np.arange(T)[:, None] * [0, 0, 0.1]
    m = load_bvh(write_bvh(tmp_path / "m.bvh", skeleton(), frames, root))
    cm = load_bvh(write_bvh(tmp_path / "cm.bvh", skeleton(), frames, root, unit=100.0))
    assert (m.source["unit_m"], cm.source["unit_m"]) == (1.0, 0.01)
    np.testing.assert_allclose(m.poses, cm.poses, atol=1e-5)
    np.testing.assert_allclose(m.trans, cm.trans, atol=1e-5)
    # metres without the SMPL leg-length scaling: the root moves 0.1 m per frame in both files
    for path in (tmp_path / "m.bvh", tmp_path / "cm.bvh"):
        raw = load_bvh(path, to_smpl_size=False)
        np.testing.assert_allclose(np.diff(raw.trans[:, 2]), 0.1, atol=1e-5)
    # an explicit scale overrides the detection (here: pretend the cm file were in mm)
    assert load_bvh(tmp_path / "cm.bvh", scale=0.001).source["unit_m"] == 0.001


def test_z_up_file_and_root_heading(tmp_path):
    """The same motion written z-up (all offsets and the root turned −90° about x) comes out the same, y-up."""
    T = 3
    frames = random_frames(T, seed=2)
    root = np.tile([0.0, 0.95, 0.0], (T, 1)) + np.arange(T)[:, None] * [0, 0, 0.2]
    y_up = load_bvh(write_bvh(tmp_path / "y.bvh", skeleton(), frames, root))
    Z = Rotation.from_euler("x", 90, degrees=True).as_matrix()  # y → z
    joints_z = [(n, p, tuple(Z @ np.asarray(o))) for n, p, o in skeleton()]
    frames_z = {n: Z @ R @ Z.T for n, R in frames.items()}
    global END
    saved = dict(END)
    END.update({k: tuple(Z @ np.asarray(v)) for k, v in END.items()})
    try:
        z_up = load_bvh(write_bvh(tmp_path / "z.bvh", joints_z, frames_z, root @ Z.T))
    finally:
        END.clear()
        END.update(saved)
    np.testing.assert_allclose(smpl_joints(y_up), smpl_joints(z_up), atol=1e-4)
    assert np.all(np.diff(z_up.trans[:, 2]) > 0.1)  # still walking toward +z


def test_unknown_rig_and_joint_map(tmp_path, still):
    _, T, root = still
    odd = {"Hips": "Becken", "LeftUpLeg": "OberschenkelL", "RightUpLeg": "OberschenkelR"}
    path = write_bvh(tmp_path / "odd.bvh", skeleton(), {}, root, rename=odd)
    with pytest.raises(DataError, match=r"unknown rig.*(Becken|OberschenkelL).*joint_map"):
        load_bvh(path)
    table = dict(load_rig("cmu").joints)
    table.update({"Becken": "pelvis", "OberschenkelL": "left_hip", "OberschenkelR": "right_hip"})
    assert_t_pose(smpl_joints(load_bvh(path, joint_map=table))[0])
    yaml_map = tmp_path / "my_rig.yaml"  # a user's map file, YAML (JSON works the same)
    yaml_map.write_text("".join(f"{k}: {v}\n" for k, v in table.items()))
    m = load_bvh(path, rig=yaml_map)
    assert m.source["rig"] == "my_rig" and m.source["joint_map"]["pelvis"] == "Becken"
    with pytest.raises(DataError, match="unknown SMPL-24 joints"):
        load_bvh(path, joint_map={"Becken": "hip_bone"})


def _text(still):
    tmp, T, root = still
    return write_bvh(tmp / "ok.bvh", skeleton(), {}, root).read_text()


def test_bad_files_say_what_is_wrong(still):
    tmp = still[0]
    text = _text(still)
    header, motion = text.split("MOTION\n")
    n = sum(int(line.split()[1]) for line in header.splitlines() if "CHANNELS" in line)
    header_lines = header.count("\n")

    cases = {
        "nomotion.bvh": (header, "MOTION section missing"),
        "short.bvh": (text.replace(motion.splitlines()[3], " ".join(motion.splitlines()[3].split()[:-1])),
                      rf"line {header_lines + 5}: {n - 1} numbers, expected {n}"),
        "nan.bvh": (text.replace(motion.splitlines()[4], motion.splitlines()[4].replace("0.950000", "abc", 1)),
                    rf"line {header_lines + 6}: non-numeric value 'abc'"),
        "zero.bvh": (header + "MOTION\nFrames: 0\nFrame Time: 0.0333333\n", "zero frames"),
        "truncated.bvh": ("\n".join(text.splitlines()[:-1]) + "\n", "Frames: 3 but there are 2 frame lines"),
    }
    for name, (content, match) in cases.items():
        (tmp / name).write_text(content)
        with pytest.raises(DataError, match=match) as e:
            parse_bvh(tmp / name)
        assert name in str(e.value)


def test_folder_labels_pattern_csv_and_skips(tmp_path, still, capsys):
    _, T, root = still
    for name in ("s01_walk_take1", "s02_run_take2", "oddname"):
        write_bvh(tmp_path / f"{name}.bvh", skeleton(), {}, root)
    (tmp_path / "s03_broken_take1.bvh").write_text("HIERARCHY\nROOT Hips\n{\n}\n")
    report = SkipReport()
    ms = load_bvh_folder(tmp_path, labels="{subject}_{action}_{_}", report=report)
    assert sorted(m.labels["action"] for m in ms) == ["run", "walk"]
    assert {m.labels["subject"] for m in ms} == {"s01", "s02"}
    reasons = dict(report.skipped)
    assert "does not match the label pattern" in reasons[str(tmp_path / "oddname.bvh")]
    assert "MOTION section missing" in reasons[str(tmp_path / "s03_broken_take1.bvh")]
    assert "skipped 2" in capsys.readouterr().out

    csv = tmp_path / "labels.csv"
    csv.write_text("file,text,action\ns01_walk_take1.bvh,a person walks,walk\ns01_walk_take1,someone strolls,walk\n"
                   "oddname,a person stands still,stand\nmissing.bvh,nobody,none\n")
    report = SkipReport()
    ms = load_bvh_folder(tmp_path, labels=csv, report=report)
    by_name = {m.name: m for m in ms}
    assert by_name["s01_walk_take1"].texts == ["a person walks", "someone strolls"]
    assert by_name["oddname"].labels == {"action": "stand"}
    skipped = dict(report.skipped)
    assert "no row in labels CSV" in skipped[str(tmp_path / "s02_run_take2.bvh")]
    assert "names no file" in skipped["labels CSV row 'missing.bvh'"]
