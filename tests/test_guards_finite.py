"""Finite in, finite out: NaN/inf or absurd motions are repaired or refused with a counted, printed reason when they
are loaded; latent operands and edit scales must be finite; nothing writes a NaN motion and exits 0."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from guard_helpers import motions, one_error_line, run_mcl, space, tiny_cfg
from mcl.training import checkpoint as ckpt
from mcl.data import synthetic_motion
from mcl.data.errors import SkipReport
from mcl.data.screen import screen_motions
from mcl.latent.io import save_motions
from mcl.training.loop import train


def _with(m, **arrays):
    return m.replace(**arrays)


def test_screen_repairs_nan_frames_and_refuses_absurd_values_with_counted_reasons():
    m = synthetic_motion(seed=0, frames=120)
    trans = m.trans.copy()
    trans[100] = np.nan
    nan_tail = _with(m, trans=trans, source={"name": "nan-tail"})
    huge = m.trans.copy()
    huge[:, 0] = 1e30
    far = _with(m, trans=huge, source={"name": "far"})
    poses = m.poses.copy()
    poses[5, 3] = 1e9
    spun = _with(m, poses=poses, source={"name": "spun"})
    all_nan = _with(m, poses=m.poses * np.nan, source={"name": "all-nan"})
    report = SkipReport()
    out = screen_motions([m, nan_tail, far, spun, all_nan], report)
    assert [x.name for x in out] == [m.name, "nan-tail"]
    assert out[1].num_frames == 100 and np.isfinite(out[1].trans).all()
    why = {what: reason for what, reason in report.skipped}
    assert why["nan-tail"] == "repaired: 1 of 120 frame(s) had NaN/inf values; kept the longest finite stretch"
    assert why["far"].startswith("refused: root position 1e+30 m is beyond 1000 m")
    assert why["spun"].startswith("refused: joint angle 1e+09 rad is beyond 1000 rad")
    assert why["all-nan"] == "refused: no frame without NaN/inf values"
    text = report.summary()  # what the user reads: each reason once, the clips under it
    assert "1 × refused: no frame without NaN/inf values\n    - all-nan" in text


def test_a_clip_with_one_nan_frame_trains_with_random_windows_and_a_printed_repair(tmp_path, capsys):
    ms = motions()
    poses = ms[0].poses.copy()
    poses[75, 0, 0] = np.nan  # mid-clip: a random window would include it (the paper preset's windows)
    ms[0] = ms[0].replace(poses=poses)
    run = train(tiny_cfg(tmp_path / "run", fixed_windows=False, epochs=2), motions=ms, space=space())
    out = capsys.readouterr().out
    assert "repaired: 1 of 150 frame(s) had NaN/inf values" in out
    assert ckpt.manifest(run)["step"] == 4


def test_root_positions_of_1e30_metres_are_refused_by_every_source(tmp_path, monkeypatch, capsys):
    from test_bvh import skeleton, write_bvh

    folder = tmp_path / "bvh"
    folder.mkdir()
    root = np.tile([0.0, 0.95, 0.0], (40, 1))
    write_bvh(folder / "ok.bvh", skeleton(), {}, root)
    write_bvh(folder / "far.bvh", skeleton(), {}, root + [1e30, 0, 0])
    code, out, err = run_mcl(["data", "info", f"bvh:{folder}", "--no-progress"], monkeypatch, capsys)
    assert code == 0, err
    assert "clips: 1" in out and "refused: root position" in out and "beyond 1000 m" in out and "    - far" in out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train(tiny_cfg(tmp_path_factory.mktemp("g") / "run", data="synthetic?n=6&frames=150", epochs=1),
                 space=space())


@pytest.fixture
def fake_load(monkeypatch):
    real = ckpt.load
    monkeypatch.setattr(ckpt, "load", lambda run, which="latest", device="cpu": real(run, which, device,
                                                                                      space=space()))


@pytest.mark.parametrize("scale", ["nan", "inf", "-inf"])
def test_edit_scale_must_be_finite(scale, run_dir, tmp_path, monkeypatch, capsys, fake_load):
    out = tmp_path / "e.npz"
    code, _, err = run_mcl(["edit", "--run", run_dir, "--base", "walk", "--minus", "walk", "--plus", "run",
                            f"--scale={scale}", "-o", out], monkeypatch, capsys)
    assert code == 2 and f"argument --scale: '{scale}': expected a finite number" in one_error_line(err)
    assert not out.exists()


def test_edit_function_refuses_a_non_finite_scale(run_dir, fake_load):
    from mcl.latent.ops import edit

    with pytest.raises(ValueError, match="edit scale=nan: expected a finite number"):
        edit(ckpt.load(run_dir), "walk", "walk", "run", scale=float("nan"))


def test_npz_operand_with_nan_frames_is_refused_naming_the_file(run_dir, tmp_path, monkeypatch, capsys, fake_load):
    m = synthetic_motion(seed=1, frames=60)
    bad = tmp_path / "bad.npz"
    poses = m.poses.copy()
    poses[10:12] = np.nan
    np.savez(bad, poses=poses[None], trans=m.trans[None], fps=np.float32(30), texts=np.array(["x"]))
    out = tmp_path / "e.npz"
    code, _, err = run_mcl(["edit", "--run", run_dir, "--base", f"npz:{bad}", "--minus", "walk", "--plus", "run",
                            "-o", out], monkeypatch, capsys)
    line = one_error_line(err)
    assert code == 2 and str(bad) in line and "2 of 60 frame(s) have NaN/inf values (first: frame 10)" in line
    assert not out.exists()


def test_decode_never_writes_a_nan_motion(run_dir, tmp_path, monkeypatch, capsys, fake_load):
    """Weights that went NaN (a damaged run): `mcl generate` fails with one line and writes nothing."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    path = broken / "checkpoints" / ckpt.manifest(broken)["weights"]
    w = load_file(str(path))
    name = next(k for k in w if "out" in k or "final" in k or k.endswith("weight"))
    w[name] = torch.full_like(w[name], float("nan"))
    save_file(w, str(path))
    out = tmp_path / "g.npz"
    code, _, err = run_mcl(["generate", "walk", "--run", broken, "-o", out], monkeypatch, capsys)
    assert code == 2 and "NaN/inf" in one_error_line(err)
    assert not out.exists()


def test_save_motions_refuses_a_nan_motion(tmp_path):
    m = synthetic_motion(seed=2, frames=30)
    m = m.replace(trans=m.trans * np.nan)
    with pytest.raises(ValueError, match=r"x.npz: not written: motion\(s\) .* have NaN/inf values"):
        save_motions([m], tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
