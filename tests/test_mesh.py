"""Body meshes: torch LBS against mannequin-x's own numpy skinning, agreement with the skeleton, the SMPL plumbing."""
import numpy as np
import pytest
import torch

from mcl.body import joints_from_rotvec, load_skeleton
from mcl.body.mesh import MANNEQUIN_SOURCE, MannequinMesh, load_body_mesh
from mcl.body.smpl import find_smpl_file
from fake_smpl import fake_smpl as _fake_smpl


@pytest.fixture(scope="module")
def mesh():
    return load_body_mesh(quiet=True)


def _random_pose(n, seed, scale=0.6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 24, 3, generator=g) * scale, torch.randn(n, 3, generator=g)


def test_default_is_mannequin(mesh, monkeypatch):
    monkeypatch.delenv("MCL_SMPL_DIR", raising=False)
    assert isinstance(mesh, MannequinMesh) and mesh.source == MANNEQUIN_SOURCE
    assert mesh.faces.shape == (48396, 3) and mesh.faces.dtype == np.int64
    assert mesh.faces.min() == 0 and mesh.faces.max() == mesh.num_vertices - 1


def test_lbs_matches_mannequin_numpy(mesh):
    """Our torch skinning = `Mannequin.vertices` with pelvis_rotation = joint 0, body_pose = 1–21, index1 = 22/23."""
    from mannequin import Mannequin

    poses, trans = _random_pose(4, seed=1)
    ours = mesh.vertices(poses, trans).numpy()
    model = Mannequin("wooden")
    hand = np.zeros((4, 30, 3), np.float32)
    hand[:, 0], hand[:, 15] = poses[:, 22].numpy(), poses[:, 23].numpy()
    ref = model.vertices(dict(body_pose=poses[:, 1:22].numpy(), hand_pose=hand,
                              head_pose=np.zeros((4, 3, 3), np.float32), pelvis_rotation=poses[:, 0].numpy(),
                              global_translation=trans.numpy() - model._identity["local_joint_offsets"][0]))
    assert ours.shape == ref.shape == (4, mesh.num_vertices, 3)
    assert np.abs(ours - ref).max() < 1e-4
    # and the poses really move the mesh (the comparison is not between two rest poses)
    assert np.abs(ours[0] - ours[1]).max() > 0.1


def test_mesh_joints_agree_with_skeleton(mesh):
    """`trans` is the pelvis; mesh joints (incl. index1 for 22/23) = `joints_from_rotvec` with the default skeleton."""
    poses, trans = _random_pose(3, seed=2)
    _, pos = mesh.joint_transforms(poses, trans)
    ref = joints_from_rotvec(poses, trans, load_skeleton())
    assert torch.allclose(pos[:, mesh.driven], ref, atol=1e-5)
    assert torch.allclose(pos[:, 0], trans)


def test_vertices_batched_and_translation(mesh):
    poses, trans = _random_pose(6, seed=3)
    batched = mesh.vertices(poses.reshape(2, 3, 24, 3), trans.reshape(2, 3, 3))
    assert batched.shape == (2, 3, mesh.num_vertices, 3) and batched.dtype == torch.float32
    single = mesh.vertices(poses[4], trans[4])
    assert torch.allclose(batched[1, 1], single, atol=1e-5)
    shifted = mesh.vertices(poses[4], trans[4] + torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(shifted - single, torch.tensor([1.0, 2.0, 3.0]).expand_as(single), atol=1e-5)
    with pytest.raises(ValueError, match="24, 3"):
        mesh.vertices(torch.zeros(5, 22, 3), torch.zeros(5, 3))


def test_rest_mesh_stands_on_floor_below_pelvis(mesh):
    v = mesh.vertices(torch.zeros(24, 3), torch.zeros(3))
    sk = load_skeleton()
    assert abs(-float(v[:, 1].min()) - sk.floor_below_pelvis) < 1e-4
    assert 1.6 < float(v[:, 1].max() - v[:, 1].min()) < 2.0  # a person-sized figure
    # the left arm (joint 16 onward) is on +x in the rest pose
    assert float(v[:, 0].max()) > 0.7 and float(v[:, 0].min()) < -0.7


def test_simplified_mesh_is_a_vertex_subset(mesh):
    light = mesh.simplified(0.04)
    assert light.faces.shape[0] < mesh.faces.shape[0] / 4
    assert light.faces.max() < light.num_vertices
    poses, trans = _random_pose(2, seed=4)
    assert torch.equal(light.vertices(poses, trans), mesh.vertices(poses, trans)[:, light.keep])


def test_smpl_path_with_fake_model(tmp_path):
    rest = load_skeleton().rest.numpy() + np.array([0.1, 0.2, 0.3], np.float32)  # off-origin on purpose
    _fake_smpl(tmp_path, rest)
    mesh = load_body_mesh(tmp_path, quiet=True)
    assert mesh.source.startswith("SMPL neutral") and mesh.num_vertices == 6890 and mesh.faces.shape == (200, 3)
    sk = load_skeleton(tmp_path)
    assert torch.allclose(sk.rest, torch.from_numpy(rest), atol=1e-6)
    poses, trans = _random_pose(3, seed=5, scale=0.4)
    v = mesh.vertices(poses, trans)
    # a vertex on joint j skinned only to j follows joint j: SMPL's skinning = our FK on SMPL's skeleton
    assert torch.allclose(v[:, :24], joints_from_rotvec(poses, trans, sk), atol=1e-4)


def test_smpl_missing_or_pickled_files_explain_themselves(tmp_path):
    with pytest.raises(FileNotFoundError, match="SMPL_NEUTRAL.npz"):
        find_smpl_file(tmp_path)
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"not read")
    with pytest.raises(FileNotFoundError, match="convert it to .npz"):
        find_smpl_file(tmp_path)


def test_render_skinning_matches_torch(mesh):
    """The numba skinning the renderer uses gives the torch `vertices` (the differentiable reference)."""
    from mcl.render.scene import posed_vertices

    poses, trans = _random_pose(3, seed=6)
    assert np.abs(posed_vertices(mesh, poses, trans) - mesh.vertices(poses, trans).numpy()).max() < 1e-5
