"""A run dir is owned: one trainer at a time, nothing of an earlier run deleted before the new one has a checkpoint,
leftovers of a kill (temp files, a torn metrics line, a stale lock) cleaned up with a note."""
import json
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from guard_helpers import motions, rows, space, tiny_cfg
from mcl.training import checkpoint as ckpt
from mcl.training.run_dir import RunLock, RunLocked, read_metrics_rows
from mcl.training.loop import TrainingDiverged, train


def _files(run):
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and "tb" not in p.parts)


@pytest.fixture
def live_pid():
    """The pid of another live process (a second trainer stand-in)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_second_trainer_on_the_same_out_fails_at_once_naming_the_holder(tmp_path, live_pid):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps({"pid": live_pid, "host": socket.gethostname(),
                                           "started": "2026-01-01T10:00:00"}))
    with pytest.raises(RunLocked, match=rf"in use by pid {live_pid} on {socket.gethostname()} \(since "
                                        r"2026-01-01T10:00:00\)"):
        train(tiny_cfg(run), motions=motions(), space=space())
    assert _files(run) == [".lock"]  # nothing written, the holder's lock untouched
    assert json.loads((run / ".lock").read_text())["pid"] == live_pid


def test_a_lock_held_on_another_host_is_not_taken(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "t"}))
    with pytest.raises(RunLocked, match=r"pid 1 on host elsewhere.*delete .*\.lock if that process is gone"):
        RunLock(run).acquire()


def test_a_stale_lock_is_reported_and_taken_over_and_released_after(tmp_path, capsys):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a pid that is no longer running: a trainer that was killed -9
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps({"pid": proc.pid, "host": socket.gethostname(), "started": "t0"}))
    train(tiny_cfg(run, epochs=1), motions=motions(), space=space())
    assert f"took over the stale lock {run / '.lock'}: pid {proc.pid} (started t0) is not running" in \
        capsys.readouterr().out
    assert not (run / ".lock").exists()  # released when train returns


def test_starting_over_on_a_finished_run_needs_overwrite_and_deletes_nothing(tmp_path):
    run = train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
    before = {p: (run / p).read_bytes() for p in _files(run)}
    with pytest.raises(ValueError, match=r"already holds a run \(latest checkpoint: epoch 2, step 4\); use --resume "
                                         r"to continue it, --overwrite"):
        train(tiny_cfg(run), motions=motions(), space=space())
    assert {p: (run / p).read_bytes() for p in _files(run)} == before  # byte for byte


def test_overwrite_keeps_the_old_checkpoints_until_the_new_run_has_one(tmp_path, monkeypatch):
    import mcl.training.loop as train_mod

    run = train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
    old_weights = (run / "checkpoints" / ckpt.manifest(run)["weights"]).read_bytes()
    # the new run dies at its first step, before any checkpoint: the old run is still there, set aside
    real = train_mod.compute_losses

    def poisoned(*a, **k):
        total, terms = real(*a, **k)
        return total * float("nan"), terms
    monkeypatch.setattr(train_mod, "compute_losses", poisoned)
    with pytest.raises(TrainingDiverged, match="no checkpoint had been written yet"):
        train(tiny_cfg(run, overwrite=True), motions=motions(), space=space())
    kept = run / "previous" / "checkpoints"
    assert (kept / "latest.json").exists()
    assert (kept / json.loads((kept / "latest.json").read_text())["weights"]).read_bytes() == old_weights
    assert (run / "previous" / "metrics.jsonl").exists()
    # a new run that does checkpoint replaces it; only then is the set-aside copy deleted
    monkeypatch.setattr(train_mod, "compute_losses", real)
    train(tiny_cfg(run, overwrite=True, epochs=1), motions=motions(), space=space())
    assert not (run / "previous").exists()
    assert ckpt.manifest(run)["step"] == 2 and [r["step"] for r in rows(run, "train")] == [1, 2]


def test_cli_overwrite_flag_and_refusal(tmp_path, monkeypatch, capsys):
    from guard_helpers import one_error_line, run_mcl

    from mcl.spaces import SPACES
    ok, why = SPACES["minilm"].availability()
    if not ok:
        pytest.skip(f"minilm space unavailable: {why}")
    out = tmp_path / "run"
    common = ["train", "--data", "synthetic?n=4&frames=120", "--space", "minilm", "--preset", "cpu",
              "--epochs", "1", "--batch-size", "4", "--layers", "1", "--d-model", "32", "--heads", "2", "--ff", "64",
              "--no-progress", "--out", out, "--cache-dir", tmp_path / "cache"]
    code, _, err = run_mcl(common, monkeypatch, capsys)
    assert code == 0, err
    code, _, err = run_mcl(common, monkeypatch, capsys)
    assert code == 2 and "already holds a run" in one_error_line(err) and "--overwrite" in err
    code, outp, err = run_mcl(common + ["--overwrite"], monkeypatch, capsys)
    assert code == 0 and "moved to" in outp and not (out / "previous").exists()


def test_resume_on_a_mistyped_run_dir_is_an_error_not_a_fresh_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"runz: nothing to resume \(no config.json, no "
                                                r"checkpoints/latest.json\); check --out"):
        train(tiny_cfg(tmp_path / "runz", resume=True), motions=motions(), space=space())
    assert not (tmp_path / "runz" / "checkpoints").exists()


def test_resuming_a_complete_run_is_an_error_saying_nothing_to_do(tmp_path):
    run = train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
    before = (run / "config.json").read_text()
    with pytest.raises(ValueError, match=r"already complete \(epoch 2, step 4; epochs=2.*nothing to do; raise "
                                         r"--epochs"):
        train(tiny_cfg(run, resume=True), motions=motions(), space=space())
    assert (run / "config.json").read_text() == before


def test_leftover_temp_files_are_cleaned_on_the_next_start(tmp_path, capsys):
    run = train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
    for p in (run / "checkpoints" / ".step-00000004.safetensors.abc123.tmp", run / ".config.json.x1.tmp"):
        p.write_bytes(b"half a file")
    train(tiny_cfg(run, resume=True, epochs=3), motions=motions(), space=space())
    assert "removed 2 temp file(s) left by an interrupted run" in capsys.readouterr().out
    assert not list(run.rglob("*.tmp"))


def test_a_torn_last_metrics_line_is_dropped_on_resume_with_a_note(tmp_path, capsys):
    run = train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"split": "train", "epoch": 2, "st')  # a kill in the middle of a write
    train(tiny_cfg(run, resume=True, epochs=3), motions=motions(), space=space())
    assert "dropped a torn last line" in capsys.readouterr().out
    assert [r["step"] for r in rows(run, "train")] == [1, 2, 3, 4, 5, 6]


def test_a_damaged_metrics_line_in_the_middle_names_file_and_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\nGARBAGE\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl, line 2: damaged metrics row 'GARBAGE'"):
        read_metrics_rows(path)


def test_update_guard_keeps_the_last_good_checkpoint_good(tmp_path, monkeypatch):
    """A huge lr gives finite losses but an update that blows the weights up: stopped before they are saved."""
    import mcl.training.loop as train_mod

    real = train_mod.learning_rate
    monkeypatch.setattr(train_mod, "learning_rate", lambda cfg, step, total: 1e6 if step >= 2 else real(cfg, step,
                                                                                                          total))
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"step 3 \(epoch 1\): the update took the weights' norm from .* "
                                               r"\(lr 1e\+06\).*last good checkpoint \(step 2\) is kept"):
        train(tiny_cfg(run, checkpoint_every=1, epochs=3), motions=motions(), space=space())
    assert ckpt.manifest(run)["step"] == 2
    weights = load_file(str(run / "checkpoints" / ckpt.manifest(run)["weights"]))
    assert max(float(v.abs().max()) for v in weights.values()) < 10  # initialised weights, not 1e6-sized ones


def test_gradient_guard_stops_on_a_non_finite_gradient(tmp_path, monkeypatch):
    import mcl.training.loop as train_mod

    real = train_mod.compute_losses

    def inf_grad(z, *a, **k):  # a finite loss whose gradient is infinite
        total, terms = real(z, *a, **k)
        return total + torch.sqrt((z * 0).sum()), terms  # value 0, gradient 0 · ∞ = NaN into every weight
    monkeypatch.setattr(train_mod, "compute_losses", inf_grad)
    with pytest.raises(TrainingDiverged, match=r"step 1 \(epoch 0\): the gradient norm is (inf|nan)"):
        train(tiny_cfg(tmp_path / "run"), motions=motions(), space=space())
