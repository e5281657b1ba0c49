"""No hostile file executes code: pickled CLIP weights, a pickled optimizer state on `--resume`, an SMPL `.pkl`, an
object `.npz` operand. Each is refused with one line naming the file, and the payload never runs."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from guard_helpers import motions, one_error_line, run_mcl, space, tiny_cfg
from mcl.training import checkpoint as ckpt
from mcl.training.loop import train


class Evil:
    """Unpickling this writes the marker file: if it exists afterwards, code ran."""
    marker = ""

    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({self.marker!r}).write_text('pwned')",))


@pytest.fixture
def evil(tmp_path):
    e = Evil()
    e.marker = str(tmp_path / "PWNED")
    yield e
    assert not Path(e.marker).exists(), "a hostile pickle ran code"


def test_pickled_optimizer_state_on_resume_is_refused_and_never_run(tmp_path, evil, monkeypatch, capsys):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=space())
    state = run / "checkpoints" / ckpt.manifest(run)["state"]
    torch.save({"optimizer": evil, "rng": {}}, state)
    with pytest.raises(ValueError, match=rf"{state}: cannot read the optimizer state .*never unpickles"):
        train(tiny_cfg(run, epochs=2, resume=True), motions=motions(), space=space())
    monkeypatch.setattr("mcl.training.loop.resolve_space", lambda s, cache_dir=None: space())
    code, _, err = run_mcl(["train", "--out", run, "--resume", "--epochs", "2", "--no-progress"], monkeypatch, capsys)
    assert code == 2 and str(state) in one_error_line(err)


def test_pickled_clip_weights_are_refused_and_never_run(tmp_path, evil):
    from mcl.spaces.clip_loader import load_clip_state_dict

    torch.save({"text_projection": evil}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="cannot read CLIP weights"):
        load_clip_state_dict(tmp_path / "evil.pt")


def test_smpl_pkl_is_never_unpickled(tmp_path, evil):
    import pickle

    from mcl.body.smpl import find_smpl_file

    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps({"v_template": evil}))
    with pytest.raises(FileNotFoundError, match="convert it to .npz"):
        find_smpl_file(tmp_path)


def test_smpl_npz_with_pickled_objects_is_refused(tmp_path, evil):
    from mcl.body.smpl import load_smpl

    np.savez(tmp_path / "SMPL_NEUTRAL.npz", J_regressor=np.array([evil], dtype=object))
    with pytest.raises(ValueError, match="holds pickled objects"):
        load_smpl(tmp_path)


def test_object_npz_operand_is_refused_naming_the_file(tmp_path, evil, monkeypatch, capsys):
    from mcl.latent.io import load_npz_motions
    from mcl.data.errors import DataError

    path = tmp_path / "op.npz"
    np.savez(path, poses=np.array([evil], dtype=object), trans=np.zeros((1, 60, 3)), fps=np.float32(30))
    with pytest.raises(DataError, match=rf"{path}: holds object \(pickled\) arrays, which mcl never unpickles"):
        load_npz_motions(path)
    run = train(tiny_cfg(tmp_path / "run", data="synthetic?n=6&frames=150", epochs=1), space=space())
    real = ckpt.load
    monkeypatch.setattr(ckpt, "load", lambda r, which="latest", device="cpu": real(r, which, device, space=space()))
    code, _, err = run_mcl(["interpolate", f"npz:{path}", "walk", "--run", run, "-o", tmp_path / "i.npz"],
                           monkeypatch, capsys)
    assert code == 2 and f"{path}: holds object (pickled) arrays" in one_error_line(err)
    assert not (tmp_path / "i.npz").exists()


def test_amass_npz_with_object_arrays_is_not_unpickled(tmp_path, evil):
    from mcl.data.amass import load_amass_npz

    path = tmp_path / "clip_poses.npz"
    np.savez(path, poses=np.zeros((10, 156)), trans=np.zeros((10, 3)), mocap_framerate=np.float64(30),
             gender=np.array([evil], dtype=object))
    try:
        load_amass_npz(path)
    except (ValueError, KeyError, OSError):
        pass  # refusing is fine; running the payload is not (checked by the fixture)
    assert not os.path.exists(evil.marker)
