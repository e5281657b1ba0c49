"""Every number is checked where it is parsed: CLI flags, TrainConfig fields, run configs read back from JSON; a model
too large for the machine is refused with its estimate before it is built; a zero-step run is an error."""
import json

import pytest

from guard_helpers import motions, one_error_line, run_mcl, space, tiny_cfg
from mcl.training.config import LossConfig, ModelConfig, TrainConfig, preset
from mcl.model import MotionCLIP
from mcl.training.loop import train
from mcl.validate import check_model_fits, model_parameters


@pytest.mark.parametrize("flag,value,expected", [
    ("--epochs", "0", "expected a whole number ≥ 1"),
    ("--epochs", "-1", "expected a whole number ≥ 1"),
    ("--max-steps", "0", "expected a whole number ≥ 1"),
    ("--batch-size", "-2", "expected a whole number ≥ 1"),
    ("--batch-size", "0", "expected a whole number ≥ 1"),
    ("--grad-clip", "-1", "expected a finite number > 0"),
    ("--lr", "nan", "expected a finite number > 0"),
    ("--lr", "inf", "expected a finite number > 0"),
    ("--checkpoint-every", "-1", "expected a whole number ≥ 0"),
    ("--heads", "0", "expected a whole number ≥ 1"),
    ("--layers", "0", "expected a whole number ≥ 1"),
    ("--dropout", "1.5", "expected a number in [0, 1)"),
    ("--val-fraction", "1", "expected a number in [0, 1)"),
    ("--w-text", "-3", "expected a finite number ≥ 0"),
    ("--epochs", "ten", "'ten' is not a number"),
])
def test_bad_training_numbers_exit_2_naming_the_flag_and_value_and_write_nothing(flag, value, expected, tmp_path,
                                                                                  monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_mcl(["train", "--data", "synthetic", "--out", out, flag, value], monkeypatch, capsys)
    line = one_error_line(err)
    assert code == 2 and f"argument {flag}" in line and expected in line, err
    assert "run dir:" not in stdout and not out.exists()


@pytest.mark.parametrize("field,value,message", [
    ("epochs", 0, "epochs=0: expected a whole number ≥ 1"),
    ("max_steps", 0, "max_steps=0: expected a whole number ≥ 1"),
    ("batch_size", -2, "batch_size=-2: expected a whole number ≥ 1"),
    ("grad_clip", -1.0, "grad_clip=-1.0: expected a finite number > 0"),
    ("checkpoint_every", -1, "checkpoint_every=-1: expected a whole number ≥ 0"),
    ("lr", [1, 2], "lr=[1, 2]: expected a finite number > 0, got a list"),
    ("lr", "1e-4", "lr='1e-4': expected a finite number > 0, got a str"),
    ("epochs", 2.5, "epochs=2.5: expected a whole number ≥ 1, got a float"),
    ("epochs", True, "epochs=True: expected a whole number ≥ 1, got a bool"),
    ("lr", float("nan"), "lr=nan: expected a finite number > 0"),
])
def test_trainconfig_checks_every_number(field, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        preset("cpu", **{field: value})


@pytest.mark.parametrize("sub,field,value,message", [
    ("model", "n_heads", 0, "model.n_heads=0"), ("model", "n_layers", 0, "model.n_layers=0"),
    ("model", "dropout", -0.1, "model.dropout=-0.1"), ("model", "max_frames", 0, "model.max_frames=0"),
    ("loss", "w_text", float("inf"), "loss.w_text=inf"), ("loss", "temperature", 0.0, "loss.temperature=0.0"),
])
def test_model_and_loss_configs_check_their_numbers(sub, field, value, message):
    with pytest.raises(ValueError, match=message):
        (ModelConfig if sub == "model" else LossConfig)(**{field: value})


def test_a_run_config_with_a_list_for_lr_names_the_key_and_the_file(tmp_path):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=space())
    path = run / "config.json"
    info = json.loads(path.read_text())
    info["config"]["lr"] = [1, 2]
    path.write_text(json.dumps(info))
    with pytest.raises(ValueError, match=rf"{path}: lr=\[1, 2\]: expected a finite number > 0, got a list — fix the "
                                         r"value in that file"):
        train(None, out=str(run), resume=True, epochs=2)
    with pytest.raises(ValueError, match=r"config.json: model=3: expected a JSON object"):
        TrainConfig.from_dict(dict(info["config"], lr=1e-3, model=3), str(path))


def test_a_huge_model_is_refused_with_its_estimate_before_it_is_built(tmp_path, monkeypatch):
    import mcl.training.loop as train_mod

    def never(*a, **k):
        raise AssertionError("the model must not be built")
    monkeypatch.setattr(train_mod, "MotionCLIP", never)
    with pytest.raises(ValueError, match=r"model too large for this machine \(the run config: n_layers=1000000, "
                                         r"d_model=512, d_ff=1024\): ≈ [\d,.]+ M parameters, ≈ [\d,.]+ GiB to train"):
        train(tiny_cfg(tmp_path / "run", model=dict(n_layers=1_000_000, d_model=512, n_heads=4, d_ff=1024)),
              motions=motions(), space=space())
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_run_config_with_a_huge_model_is_refused_by_load(tmp_path):
    from mcl.training.checkpoint import load

    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=space())
    path = run / "checkpoints" / "latest.json"
    m = json.loads(path.read_text())
    m["config"]["model"]["n_layers"] = 1_000_000
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match=r"model too large .*latest.json: n_layers=1000000.*to load"):
        load(run, space=space())


@pytest.mark.parametrize("sizes", [dict(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=16),
                                   dict(n_layers=4, d_model=256, n_heads=4, d_ff=512, latent_dim=384),
                                   dict(n_layers=8, d_model=512, n_heads=4, d_ff=1024, latent_dim=512)])
def test_the_parameter_estimate_is_the_real_count(sizes):
    c = ModelConfig(**sizes)
    real = sum(p.numel() for p in MotionCLIP(c).parameters())
    assert model_parameters(c.n_layers, c.d_model, c.d_ff, c.latent_dim) == pytest.approx(real, rel=0.02)
    assert check_model_fits(c) > 0


def test_latent_frames_beyond_the_positional_table_is_one_error_line(tmp_path, monkeypatch, capsys):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=space())
    monkeypatch.setattr("mcl.training.checkpoint.load", _load_with_fake_space())
    code, _, err = run_mcl(["generate", "walk", "--run", run, "--frames", "5001", "-o", tmp_path / "x.npz"],
                           monkeypatch, capsys)
    assert code == 2 and "--frames 5001: expected 1 … 5000" in one_error_line(err)
    code, _, err = run_mcl(["generate", "walk", "--run", run, "--frames", "0", "-o", tmp_path / "x.npz"],
                           monkeypatch, capsys)
    assert code == 2 and "argument --frames" in one_error_line(err)
    assert not (tmp_path / "x.npz").exists()


def _load_with_fake_space():
    from mcl.training import checkpoint

    real = checkpoint.load
    return lambda run, which="latest", device="cpu": real(run, which, device, space=space())
