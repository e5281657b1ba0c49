"""`mcl generate / edit / compose / interpolate / eval` on a tiny saved run (random weights, no training)."""
import argparse
import json

import numpy as np
import pytest
import torch

from latent_fakes import HashSpace
from mcl.training import checkpoint
from mcl.latent import cli as latent_cli
from mcl.training.config import ModelConfig, preset


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run dir as `mcl train` writes it: safetensors weights + JSON manifest, trained with the MiniLM space."""
    from mcl.model import MotionCLIP

    d = tmp_path_factory.mktemp("run")
    cfg = preset("cpu", data="synthetic", space="minilm", val_split="time",
                 model=ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=384))
    torch.manual_seed(0)
    model = MotionCLIP(cfg.model)
    checkpoint.save(d, model, None, {"step": 1, "epoch": 1, "config": cfg.to_dict(), "space": "minilm",
                                     "data_spec": "synthetic"}, tags=("latest", "best"))
    return d


@pytest.fixture
def fast_space(monkeypatch):
    """Load runs with a 384-d hash space instead of building MiniLM in every command (the real load path is
    covered by `test_generate_through_real_load`)."""
    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda run, which="latest", device="cpu": real(run, which, device,
                                                                                           space=HashSpace(384)))


def cli(*argv):
    parser = argparse.ArgumentParser(prog="mcl")
    latent_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_help_everywhere(capsys):
    for cmd in ("generate", "edit", "compose", "interpolate", "eval"):
        with pytest.raises(SystemExit) as e:
            cli(cmd, "--help")
        assert e.value.code == 0
        assert "--run" in capsys.readouterr().out


@pytest.mark.slow
def test_generate_through_real_load(run_dir, tmp_path, capsys):
    out = tmp_path / "jump.npz"
    assert cli("generate", "a person jumps", "a person walks", "--run", run_dir, "-o", out) == 0
    with np.load(out, allow_pickle=False) as f:
        assert f["poses"].shape == (2, 60, 24, 3) and f["trans"].shape == (2, 60, 3)
        assert f["texts"].tolist() == ["a person jumps", "a person walks"] and float(f["fps"]) == 30.0


def test_generate_json_and_length(run_dir, tmp_path, fast_space):
    out = tmp_path / "wave.json"
    cli("generate", "a person waves", "--run", run_dir, "--frames", "45", "-o", out)
    rec = json.loads(out.read_text())["motions"][0]
    assert rec["text"] == "a person waves" and len(rec["poses_axis_angle"]) == 45 and rec["fps"] == 30.0
    assert rec["joint_names"][0] == "pelvis"
    # the latent scale was measured once on the run's data and remembered beside the checkpoint
    saved = json.loads((run_dir / "latent_norm.json").read_text())
    assert saved["1"]["norm"] > 0 and saved["1"]["windows"] == 64  # keyed by checkpoint step


def test_edit_minus_equal_plus_and_npz_operands(run_dir, tmp_path, fast_space):
    base = tmp_path / "base.npz"
    cli("generate", "a person walks", "--run", run_dir, "-o", base)
    out = tmp_path / "edit.npz"
    cli("edit", "--run", run_dir, "--base", f"npz:{base}#0", "--minus", "normal", "--plus", "normal", "-o", out)
    # editing with minus == plus re-decodes the (re-encoded) base
    from mcl.latent import ops as latent
    from mcl.data.motion import Motion

    run = checkpoint.load(run_dir)
    with np.load(base) as f:
        m = Motion(f["poses"][0], f["trans"][0], 30.0)
    ref = latent.decode(run, latent.encode(run, [m]))[0]
    with np.load(out) as f:
        np.testing.assert_allclose(Motion(f["poses"][0], f["trans"][0], 30.0).to_tensor(), ref.to_tensor(), atol=1e-4)
    out3 = tmp_path / "edit3.npz"
    cli("edit", "--run", run_dir, "--base", "walk", "--minus", "normal", "--plus", "elderly", "--with-inputs",
        "-o", out3)
    with np.load(out3) as f:
        assert len(f["poses"]) == 4 and "elderly" in f["texts"][3]


def test_compose_and_interpolate(run_dir, tmp_path, fast_space):
    out = tmp_path / "comp.npz"
    cli("compose", "--run", run_dir, "--upper", "drink from mug", "--lower", "walk", "-o", out)
    with np.load(out) as f:
        assert f["texts"][0] == "walk − stand + drink from mug"
    out = tmp_path / "interp.npz"
    cli("interpolate", "walk", "run", "--run", run_dir, "--steps", "4", "-o", out)
    with np.load(out) as f:
        assert f["poses"].shape[:2] == (4, 60)


def test_bad_operand_file_names_the_file(run_dir, tmp_path, fast_space):
    from mcl.data.errors import DataError

    with pytest.raises(DataError, match="nope.npz"):
        cli("edit", "--run", run_dir, "--base", f"npz:{tmp_path}/nope.npz", "--minus", "a", "--plus", "b",
            "-o", tmp_path / "x.npz")
    with pytest.raises(ValueError, match="unknown output format"):
        cli("generate", "walk", "--run", run_dir, "-o", tmp_path / "x.bvh")


@pytest.mark.parametrize("task", ["reconstruction", "recognition", "retrieval", "generation"])
def test_eval_tasks_print_and_write_json(run_dir, tmp_path, fast_space, capsys, task):
    out = tmp_path / f"{task}.json"
    extra = ["--lengths", "30,90"] if task == "reconstruction" else []
    cli("eval", task, "--run", run_dir, "--data", "synthetic", "--split", "all", "--limit", "6", "--json", out,
        *extra)
    res = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert res["task"] == task and res["windows"] == 6 * 4  # 6 synthetic clips of 240 frames → 4 windows each
    if task == "reconstruction":
        assert res["mpjpe_mm"] > 0 and res["angle_deg"] > 0 and set(res["lengths"]) == {"30", "90"}
        assert "mpjpe_mm" in printed
    elif task == "recognition":
        assert res["classes"] == ["bob", "sway", "swing", "twist"] and 0 <= res["top1"] <= 100
        assert res["top5"] == 100.0  # 4 classes: every label is in the top 5
    elif task == "retrieval":
        assert res["info"]["distinct_texts"] == 4 and "skipped" in res["batches"]  # 24 < 32 windows
        assert 0 <= res["all"]["t2m/R01"] <= 100
    else:
        assert res["n"] == 6 and len(res["dist_mm"]) == 6


def test_eval_recognition_classes_from_file(run_dir, tmp_path, fast_space):
    classes = tmp_path / "classes.txt"
    classes.write_text("# synthetic actions\nswing\nsway\n")
    out = tmp_path / "r.json"
    cli("eval", "recognition", "--run", run_dir, "--data", "synthetic", "--split", "all", "--limit", "4",
        "--classes", classes, "--json", out)
    res = json.loads(out.read_text())
    assert res["classes"] == ["swing", "sway"]
    assert res["n"] == 8 and res["skipped"] == 8  # the bob/twist clips' windows are left out and counted


@pytest.mark.slow  # renders with the mannequin mesh
def test_generate_gif(run_dir, tmp_path, fast_space):
    import imageio.v2 as imageio

    out = tmp_path / "jump.gif"
    cli("generate", "a person jumps", "a person walks", "--run", run_dir, "--frames", "6", "-o", out)
    frames = imageio.mimread(out)
    assert len(frames) == 6 and frames[0].ndim == 3


def test_babel60_class_shortcut():
    names = latent_cli._class_names("babel60")
    assert len(names) == 60 and names[:2] == ["walk", "stand"]
    assert latent_cli._class_names("walk, run ,jump") == ["walk", "run", "jump"]
