"""Every common rig comes out standing on the floor with no joint map beyond names (issue 14, findings 1 and 2).

Small synthetic BVH files in the rest poses people export: y-up and z-up, T-pose and arms down, metres and cm,
root channels absolute (zero OFFSET) or relative to a root OFFSET (iClone), and a rig whose zero pose lies upside
down while its root rotation stands every frame up (iClone's CC_Base). Standing = in frame 0 the head is above the
pelvis, the pelvis above both feet, and the lowest joint within 5 cm above the floor (y = 0).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from test_bvh import ARM_DOWN, ARM_T, END, skeleton, smpl_joints, write_bvh

from mcl.body.skeleton import JOINT_INDEX
from mcl.data.bvh import load_bvh
from mcl.data.retarget import RetargetWarning

T = 4
WALK = np.arange(T)[:, None] * [0, 0, 0.05]  # a few cm forward per frame


def assert_standing(m, what):
    J = smpl_joints(m)[0]
    y = J[:, 1]
    i = JOINT_INDEX
    assert y[i["head"]] > y[i["pelvis"]] + 0.3, f"{what}: head not above pelvis ({y[i['head']]:.2f} m)"
    for side in ("left", "right"):
        assert y[i["pelvis"]] > y[i[f"{side}_ankle"]] + 0.5, f"{what}: pelvis not above the {side} foot"
    assert 0.0 <= y.min() <= 0.05, f"{what}: lowest joint {y.min():.3f} m, not on the floor"


def turned(joints, R):
    """The same skeleton with every OFFSET (and End Site) turned by R: another up axis or a lying rest pose."""
    return [(n, p, tuple(R @ np.asarray(o))) for n, p, o in joints]


@pytest.fixture
def end_sites():
    saved = dict(END)
    yield END
    END.clear()
    END.update(saved)


Z_UP = Rotation.from_euler("x", 90, degrees=True).as_matrix()      # y → z
UPSIDE = Rotation.from_euler("x", 180, degrees=True).as_matrix()   # y → -y, z → -z


@pytest.mark.parametrize("arms", [ARM_T, ARM_DOWN], ids=["t-pose", "arms-down"])
@pytest.mark.parametrize("axes", ["y-up", "z-up"])
@pytest.mark.parametrize("root", ["absolute", "offset"], ids=["root-channels-absolute", "root-offset+channels"])
@pytest.mark.parametrize("unit", [1.0, 100.0], ids=["m", "cm"])
def test_common_rigs_stand_on_the_floor(tmp_path, end_sites, arms, axes, root, unit):
    joints = skeleton(arms)
    pos = np.tile([0.0, 0.95, 0.0], (T, 1)) + WALK
    root_offset = (0.0, 0.95, 0.0) if root == "offset" else None
    if axes == "z-up":
        joints = turned(joints, Z_UP)
        END.update({k: tuple(Z_UP @ np.asarray(v)) for k, v in END.items()})
        pos = pos @ Z_UP.T
        root_offset = None if root_offset is None else tuple(Z_UP @ np.asarray(root_offset))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetargetWarning)  # a normal rig gives no warning
        m = load_bvh(write_bvh(tmp_path / "clip.bvh", joints, {}, pos, unit=unit, root_offset=root_offset))
    assert_standing(m, f"{axes} {root} unit {unit}")
    assert m.source["up_axis"] == ("+y" if axes == "y-up" else "+z")


def test_root_channels_relative_to_offset_no_longer_sink(tmp_path):
    """Finding 2: root OFFSET 0.95 m and position channels near 0 (iClone): the body used to sink 0.95 m."""
    pos = np.tile([0.0, 0.95, 0.0], (T, 1)) + WALK
    a = load_bvh(write_bvh(tmp_path / "abs.bvh", skeleton(), {}, pos))
    b = load_bvh(write_bvh(tmp_path / "rel.bvh", skeleton(), {}, pos, root_offset=(0.0, 0.95, 0.0)))
    np.testing.assert_allclose(smpl_joints(a), smpl_joints(b), atol=1e-4)
    # channels that *replace* the offset (the BVH convention) put the pelvis at 0 m: the floor fixes it, and says so
    sunk = write_bvh(tmp_path / "sunk.bvh", skeleton(), {}, WALK + [0, 0.0, 0], root_offset=None)
    with pytest.warns(RetargetWarning, match="under the floor"):
        m = load_bvh(sunk)
    assert_standing(m, "sunk")
    assert m.source["floor_shift_m"] > 0.8


def test_rig_resting_upside_down_stands_up_with_a_plain_name_map(tmp_path, end_sites):
    """Finding 1: a rig whose zero pose is upside down (head 1.4 m below the feet) and whose root rotation turns
    every frame upright, loaded with a plain `{source: smpl}` map (no "up" key), stands, with no warning."""
    joints = turned(skeleton(), UPSIDE)
    END.update({k: tuple(UPSIDE @ np.asarray(v)) for k, v in END.items()})
    names = {n: f"CC_Base_{n}" for n, _, _ in joints}
    frames = {"Hips": np.broadcast_to(UPSIDE, (T, 3, 3))}  # the root rotation stands the figure up
    path = write_bvh(tmp_path / "cc.bvh", joints, frames, np.tile([0.0, 0.95, 0.0], (T, 1)) + WALK, unit=100.0,
                     rename=names, root_offset=(0.0, -95.0 / 100, 0.0))
    from mcl.data.retarget import load_rig
    plain = {names[k]: v for k, v in load_rig("cmu").joints.items() if k in names}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetargetWarning)
        m = load_bvh(path, joint_map=plain)
    assert_standing(m, "upside-down rest")
    assert m.source["up_from"] == "clip"
    # and it faces +z: the toes are in front of the ankles, walking forward
    J = smpl_joints(m)
    assert J[0, JOINT_INDEX["left_foot"], 2] > J[0, JOINT_INDEX["left_ankle"], 2]
    assert np.all(np.diff(m.trans[:, 2]) > 0)


def test_a_clip_left_upside_down_warns(tmp_path):
    """A map whose "up" key is wrong gives an upside-down body: that is warned about, never silent."""
    path = write_bvh(tmp_path / "w.bvh", skeleton(), {}, np.tile([0.0, 0.95, 0.0], (T, 1)) + WALK)
    from mcl.data.retarget import load_rig
    table = {"joints": dict(load_rig("cmu").joints), "up": "-y"}
    with pytest.warns(RetargetWarning) as caught:
        m = load_bvh(path, rig=table)
    said = " ".join(str(w.message) for w in caught)
    assert "upside down" in said and "under the floor" in said  # turned over, its head was below the floor too
    assert len(m.source["warnings"]) == 2
