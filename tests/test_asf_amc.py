"""ASF/AMC parsing and retargeting, on a small CMU-style skeleton written by the test."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mcl.body.rotations import rotvec_to_rotmat
from mcl.body.skeleton import JOINT_INDEX, forward_kinematics
from mcl.data.asf_amc import INCH, load_asf_amc, load_asf_amc_folder, parse_asf
from mcl.data.errors import DataError, SkipReport

# name: (direction, length, axis (XYZ, degrees), dof); right side mirrors left (x and z-axis angle negated)
LEFT = {
    "lhipjoint": ((1, -0.3, 0), 1.5, (0, 0, 0), ""),
    "lfemur": ((0, -1, 0), 7.5, (0, 0, 20), "rx ry rz"),
    "ltibia": ((0, -1, 0), 7.5, (0, 0, 20), "rx"),
    "lfoot": ((0, -0.3, 1), 2.0, (-90, 7, 20), "rx rz"),
    "ltoes": ((0, 0, 1), 1.0, (-90, 7, 20), "rx"),
    "lclavicle": ((1, 0.2, 0), 3.0, (0, 0, -20), "ry rz"),
    "lhumerus": ((1, 0, 0), 5.0, (0, 0, 90), "rx ry rz"),
    "lradius": ((1, 0, 0), 3.5, (0, 0, 90), "rx"),
    "lwrist": ((1, 0, 0), 1.5, (0, 0, 90), "ry"),
    "lhand": ((1, 0, 0), 1.0, (0, 0, 90), "rx rz"),
    "lfingers": ((1, 0, 0), 0.5, (0, 0, 90), "rx"),
}
SPINE = {
    "lowerback": ((0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    "upperback": ((0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    "thorax": ((0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    "lowerneck": ((0, 1, 0), 1.5, (0, 0, 0), "rx ry rz"),
    "upperneck": ((0, 1, 0), 1.5, (0, 0, 0), "rx ry rz"),
    "head": ((0, 1, 0), 1.5, (0, 0, 0), "rx ry rz"),
}
HIERARCHY = """root lhipjoint rhipjoint lowerback
lhipjoint lfemur
lfemur ltibia
ltibia lfoot
lfoot ltoes
rhipjoint rfemur
rfemur rtibia
rtibia rfoot
rfoot rtoes
lowerback upperback
upperback thorax
thorax lowerneck lclavicle rclavicle
lowerneck upperneck
upperneck head
lclavicle lhumerus
lhumerus lradius
lradius lwrist
lwrist lhand
lhand lfingers
rclavicle rhumerus
rhumerus rradius
rradius rwrist
rwrist rhand
rhand rfingers"""


def bones():
    out = dict(SPINE)
    for name, (d, length, axis, dof) in LEFT.items():
        out[name] = (d, length, axis, dof)
        out["r" + name[1:]] = ((-d[0], d[1], d[2]), length, (axis[0], -axis[1], -axis[2]), dof)
    return out


def write_asf(path, length_unit=0.45):
    lines = [":version 1.10", ":name test", ":units", "  mass 1.0", f"  length {length_unit}", "  angle deg",
             ":documentation", "  written by tests", ":root", "   order TX TY TZ RX RY RZ", "   axis XYZ",
             "   position 0 0 0", "   orientation 0 0 0", ":bonedata"]
    for i, (name, (d, length, axis, dof)) in enumerate(bones().items(), start=1):
        lines += ["  begin", f"     id {i}", f"     name {name}", f"     direction {d[0]} {d[1]} {d[2]}",
                  f"     length {length}", f"     axis {axis[0]} {axis[1]} {axis[2]}  XYZ"]
        if dof:
            lines.append(f"    dof {dof}")
        lines.append("  end")
    lines += [":hierarchy", "  begin"] + ["    " + h for h in HIERARCHY.splitlines()] + ["  end"]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_amc(path, frames: list[dict[str, list[float]]]):
    """`frames[i][bone]` overrides the zeros of that bone in frame i; root defaults to standing at y=17."""
    lines = ["#!OML:ASF test.asf", ":FULLY-SPECIFIED", ":DEGREES"]
    for i, f in enumerate(frames, start=1):
        lines.append(str(i))
        lines.append("root " + " ".join(str(v) for v in f.get("root", [0, 17, 0, 0, 0, 0])))
        for name, (_, _, _, dof) in bones().items():
            if dof:
                vals = f.get(name, [0.0] * len(dof.split()))
                lines.append(f"{name} " + " ".join(str(v) for v in vals))
    path.write_text("\n".join(lines) + "\n")
    return path


def joints(m):
    return forward_kinematics(rotvec_to_rotmat(torch.from_numpy(m.poses)), torch.from_numpy(m.trans)).numpy()


def direction(J, a, b):
    v = J[..., JOINT_INDEX[b], :] - J[..., JOINT_INDEX[a], :]
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def acclaim(axis_deg, dof_deg=(0, 0, 0)):
    """Independent reference: C · M · C⁻¹ with scipy's extrinsic xyz (the Acclaim order)."""
    C = Rotation.from_euler("xyz", axis_deg, degrees=True).as_matrix()
    M = Rotation.from_euler("xyz", dof_deg, degrees=True).as_matrix()
    return C @ M @ C.T


def test_rest_frame_is_a_t_pose_and_units_are_cmu(tmp_path):
    asf = write_asf(tmp_path / "07.asf")
    m = load_asf_amc(asf, write_amc(tmp_path / "07_01.amc", [{}, {}]))
    assert m.poses.shape == (2, 24, 3) and m.fps == 120.0 and m.source["rig"] == "cmu"
    assert m.source["unit_m"] == pytest.approx(INCH / 0.45) == pytest.approx(0.056444, abs=1e-6)
    J = joints(m)[0]
    for side, s in (("left", 1), ("right", -1)):
        np.testing.assert_allclose(direction(J, f"{side}_shoulder", f"{side}_elbow"), [s, 0, 0], atol=1e-3)
        np.testing.assert_allclose(direction(J, f"{side}_hip", f"{side}_knee"), [0, -1, 0], atol=1e-3)
        np.testing.assert_allclose(direction(J, f"{side}_knee", f"{side}_ankle"), [0, -1, 0], atol=1e-3)
    assert parse_asf(asf)["children"]["thorax"] == ["lowerneck", "lclavicle", "rclavicle"]


def test_dof_rotations_use_the_axis_frame(tmp_path):
    """Left thigh and shin directions match C·M·C⁻¹ composed independently (scipy), axis frames tilted 20°."""
    femur, tibia = [-30.0, 10.0, 5.0], [70.0]
    asf = write_asf(tmp_path / "s.asf")
    amc = write_amc(tmp_path / "s_1.amc", [{"lfemur": femur, "ltibia": tibia, "root": [0, 17, 0, 0, 0, 0]}])
    J = joints(load_asf_amc(asf, amc))[0]
    G_femur = acclaim(LEFT["lfemur"][2], femur)
    G_tibia = G_femur @ acclaim(LEFT["ltibia"][2], [tibia[0], 0, 0])
    np.testing.assert_allclose(direction(J, "left_hip", "left_knee"), G_femur @ [0, -1, 0], atol=1e-3)
    np.testing.assert_allclose(direction(J, "left_knee", "left_ankle"), G_tibia @ [0, -1, 0], atol=1e-3)
    # the right leg did not move
    np.testing.assert_allclose(direction(J, "right_knee", "right_ankle"), [0, -1, 0], atol=1e-3)


def test_root_translation_in_metres(tmp_path):
    asf = write_asf(tmp_path / "s.asf")
    amc = write_amc(tmp_path / "s_1.amc", [{"root": [0, 17, z, 0, 0, 0]} for z in (0.0, 10.0, 20.0)])
    m = load_asf_amc(asf, amc, to_smpl_size=False, fps=60)
    np.testing.assert_allclose(np.diff(m.trans[:, 2]), 10 * INCH / 0.45, atol=1e-5)
    assert m.fps == 60


def test_bad_amc_and_asf(tmp_path):
    asf = write_asf(tmp_path / "s.asf")
    amc = write_amc(tmp_path / "s_1.amc", [{}, {}])
    lines = amc.read_text().splitlines()
    no = next(i for i, ln in enumerate(lines) if ln.startswith("ltibia")) + 1
    lines[no - 1] = "ltibia 1.0 2.0"
    (tmp_path / "count.amc").write_text("\n".join(lines))
    with pytest.raises(DataError, match=rf"count.amc: line {no}: bone 'ltibia' has 2 numbers, expected 1"):
        load_asf_amc(asf, tmp_path / "count.amc")
    (tmp_path / "bone.amc").write_text(amc.read_text().replace("lradius", "lulna", 1))
    with pytest.raises(DataError, match="bone 'lulna' is not in the ASF"):
        load_asf_amc(asf, tmp_path / "bone.amc")
    (tmp_path / "empty.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n")
    with pytest.raises(DataError, match="zero frames"):
        load_asf_amc(asf, tmp_path / "empty.amc")
    (tmp_path / "bad.asf").write_text(asf.read_text().replace("lowerneck upperneck", "lowerneck uppernek"))
    with pytest.raises(DataError, match=r"bad.asf.*names bones not in ':bonedata': \['uppernek'\]"):
        load_asf_amc(tmp_path / "bad.asf", amc)


def test_folder_with_cmu_layout(tmp_path):
    write_asf(tmp_path / "07.asf")
    write_amc(tmp_path / "07_01.amc", [{}, {}, {}])
    (tmp_path / "07_02.amc").write_text("1\nroot 0 0 0\n")
    report = SkipReport()
    ms = load_asf_amc_folder(tmp_path, labels="{subject}_{trial}", report=report)
    assert [(m.labels["subject"], m.labels["trial"], m.num_frames) for m in ms] == [("07", "01", 3)]
    assert len(report) == 1 and "root' has 3 numbers, expected 6" in report.skipped[0][1]
