import argparse
import json

import pytest

from mcl.training import cli as train_cli


def _parse(argv):
    p = argparse.ArgumentParser(prog="mcl")
    train_cli.register(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit):
        _parse(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--data", "--space", "--preset", "--epochs", "--out", "--resume", "--max-steps", "--threads"):
        assert flag in out


def test_cli_trains_with_minilm_and_resumes_from_the_saved_config(tmp_path):
    from mcl.spaces import SPACES
    ok, why = SPACES["minilm"].availability()
    if not ok:
        pytest.skip(f"minilm space unavailable: {why}")
    out = tmp_path / "run"
    common = ["--layers", "1", "--d-model", "32", "--heads", "2", "--ff", "64", "--no-progress", "--threads", "1"]
    args = _parse(["train", "--data", "synthetic?n=4&frames=120", "--space", "minilm", "--preset", "cpu",
                   "--epochs", "2", "--batch-size", "4", "--out", str(out)] + common)
    assert args.func(args) == 0
    info = json.loads((out / "config.json").read_text())
    assert info["space"] == "minilm" and info["space_dim"] == 384 and info["data_spec"] == "synthetic?n=4&frames=120"
    assert info["config"]["model"]["d_model"] == 32 and info["config"]["epochs"] == 2
    # resume with only --out/--resume/--epochs: everything else comes from the saved config
    args = _parse(["train", "--out", str(out), "--resume", "--epochs", "3", "--no-progress"])
    assert args.func(args) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if r["split"] == "val"] == [0, 1, 2]
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["epoch"] == 3
