"""One error path: every error a user can cause is one `mcl: error:` line naming the file/field/value and what to do
(`MCL_DEBUG=1` keeps the traceback); exit 2 when nothing was done, 1 when work was done and kept. Damaged files
(truncated weights or optimizer state, empty or garbage manifests, a damaged cache, UTF-16 BVH) included."""
import json
import pickle
import shutil
import sqlite3

import numpy as np
import pytest

from guard_helpers import motions, one_error_line, run_mcl, space, tiny_cfg
from mcl.training import checkpoint as ckpt
from mcl.cli import EXIT_NOTHING_DONE, EXIT_PARTIAL, user_error
from mcl.data.bvh import parse_bvh
from mcl.data.errors import DataError
from mcl.training.run_dir import RunLocked
from mcl.spaces.base import SpaceUnavailable
from mcl.training.loop import TrainingDiverged, train


@pytest.mark.parametrize("exc,code,words", [
    (TrainingDiverged("step 2 (epoch 0): loss term 'rc' is nan; … kept"), EXIT_PARTIAL, "training diverged: step 2"),
    (SpaceUnavailable("clip-vit-b32: no weights found (set MCL_CLIP_WEIGHTS)"), EXIT_NOTHING_DONE, "MCL_CLIP_WEIGHTS"),
    (PermissionError(13, "Permission denied", "/ro/run/config.json"), EXIT_NOTHING_DONE,
     "/ro/run/config.json: Permission denied — choose a writable place"),
    (NotADirectoryError(20, "Not a directory", "/tmp/cachefile/embeddings"), EXIT_NOTHING_DONE,
     "/tmp/cachefile/embeddings: Not a directory — a path component is a file"),
    (OSError(30, "Read-only file system", "/mnt/ro/run"), EXIT_NOTHING_DONE, "/mnt/ro/run: Read-only file system"),
    (sqlite3.DatabaseError("file is not a database"), EXIT_NOTHING_DONE, "embedding cache: file is not a database"),
    (pickle.UnpicklingError("Weights only load failed"), EXIT_NOTHING_DONE, "never unpickles"),
    (RunLocked("runs/x: run dir is in use by pid 7 on h"), EXIT_NOTHING_DONE, "in use by pid 7"),
    (DataError("walk.bvh", "MOTION section missing"), EXIT_NOTHING_DONE, "walk.bvh: MOTION section missing"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_every_user_error_maps_to_one_line_and_an_exit_code(exc, code, words):
    message, got = user_error(exc)
    assert got == code and words in message and "\n" not in message.split(" — ")[0]


def test_a_bug_is_not_hidden():
    assert user_error(ZeroDivisionError("bug")) is None and user_error(AssertionError()) is None


def test_safetensor_error_is_formatted():
    from safetensors import SafetensorError

    message, code = user_error(SafetensorError("Error while deserializing header: HeaderTooLarge"))
    assert code == EXIT_NOTHING_DONE and "damaged safetensors file" in message


def test_diverged_training_exits_1_through_the_cli(tmp_path, monkeypatch, capsys):
    """`mcl train --lr 1e6`: the guard stops it, one line, exit 1 (checkpoints may exist: work was done)."""
    monkeypatch.setattr("mcl.training.loop.resolve_space", lambda s, cache_dir=None: space())
    code, _, err = run_mcl(["train", "--data", "synthetic?n=6&frames=150", "--preset", "cpu", "--lr", "1e6",
                            "--epochs", "3", "--batch-size", "4", "--layers", "1", "--d-model", "32", "--heads", "2",
                            "--ff", "64", "--no-progress", "--out", tmp_path / "run"], monkeypatch, capsys)
    line = one_error_line(err)
    assert code == EXIT_PARTIAL and line.startswith("mcl: error: training diverged: step ") and "lower lr" in line


def test_mcl_debug_keeps_the_traceback(tmp_path, monkeypatch):
    from mcl.cli import entry

    monkeypatch.setenv("MCL_DEBUG", "1")
    monkeypatch.setattr("sys.argv", ["mcl", "train", "--out", str(tmp_path / "nope"), "--resume"])
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        entry()


def test_out_under_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "afile").write_text("x")
    code, _, err = run_mcl(["train", "--data", "synthetic", "--out", tmp_path / "afile" / "run"], monkeypatch, capsys)
    assert code == 2 and "afile" in one_error_line(err)


def test_mcl_cache_pointing_at_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    from mcl.spaces import SPACES

    if not SPACES["minilm"].availability()[0]:
        pytest.skip("minilm space unavailable")
    (tmp_path / "cachefile").write_text("x")
    code, _, err = run_mcl(["train", "--data", "synthetic?n=4&frames=120", "--space", "minilm", "--epochs", "1",
                            "--layers", "1", "--d-model", "32", "--heads", "2", "--ff", "64", "--no-progress",
                            "--out", tmp_path / "run"], monkeypatch, capsys, env={"MCL_CACHE": str(tmp_path /
                                                                                                    "cachefile")})
    assert code == 2 and "cachefile" in one_error_line(err), err


def test_a_damaged_embedding_cache_names_the_file(tmp_path):
    from mcl.spaces.cache import CachedSpace

    (tmp_path / "fake-16.sqlite").write_bytes(b"this is not sqlite at all, just bytes" * 100)
    with pytest.raises(ValueError, match=r"fake-16.sqlite: damaged embedding cache .*delete the file"):
        CachedSpace(space(), tmp_path).encode_text(["a person walks"])


# --- damaged run files --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return train(tiny_cfg(tmp_path_factory.mktemp("d") / "run", epochs=1), motions=motions(), space=space())


@pytest.fixture
def run(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def _latest(run, suffix):
    m = ckpt.manifest(run)
    return run / "checkpoints" / (m["weights"] if suffix == "safetensors" else m["state"])


def test_truncated_safetensors_is_one_line_on_load_and_resume(run):
    path = _latest(run, "safetensors")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=rf"{path}: cannot read the weights .*truncated or damaged"):
        ckpt.load(run, space=space())
    with pytest.raises(ValueError, match=rf"{path}: cannot read the weights"):
        train(tiny_cfg(run, epochs=2, resume=True), motions=motions(), space=space())


def test_truncated_state_is_one_line_on_resume_and_nothing_is_changed(run):
    path = _latest(run, "state")
    path.write_bytes(path.read_bytes()[:200])
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    with pytest.raises(ValueError, match=rf"{path}: cannot read the optimizer state .*truncated or damaged"):
        train(tiny_cfg(run, epochs=2, resume=True), motions=motions(), space=space())
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"step": 3}'])
def test_empty_or_garbage_latest_json_is_one_line(run, content, tmp_path, monkeypatch, capsys):
    path = run / "checkpoints" / "latest.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=rf"{path}: (damaged JSON|expected a JSON object|damaged manifest)"):
        ckpt.load(run, space=space())
    code, _, err = run_mcl(["generate", "walk", "--run", run, "-o", tmp_path / "x.npz"], monkeypatch, capsys)
    assert code == 2 and str(path) in one_error_line(err)


def test_garbage_config_json_is_one_line_on_resume(run, monkeypatch, capsys):
    (run / "config.json").write_text("\x00\x00garbage")
    code, _, err = run_mcl(["train", "--out", run, "--resume"], monkeypatch, capsys)
    assert code == 2 and f"{run / 'config.json'}: damaged JSON" in one_error_line(err)


# --- data ------------------------------------------------------------------------------------------------------------
def test_data_info_on_a_missing_folder_is_an_error(monkeypatch, capsys):
    code, out, err = run_mcl(["data", "info", "bvh:/nonexistent", "--no-progress"], monkeypatch, capsys)
    assert code == 2 and "/nonexistent does not exist" in one_error_line(err) and "clips: 0" not in out


def test_data_info_on_a_folder_without_clips_is_an_error(tmp_path, monkeypatch, capsys):
    code, out, err = run_mcl(["data", "info", f"bvh:{tmp_path}", "--no-progress"], monkeypatch, capsys)
    assert code == 2 and "no clips could be read" in one_error_line(err)


def _bvh(tmp_path, name="walk.bvh", frames=70):
    from test_bvh import skeleton, write_bvh

    root = np.tile([0.0, 0.95, 0.0], (frames, 1)) + np.arange(frames)[:, None] * [0, 0, 0.02]
    return write_bvh(tmp_path / name, skeleton(), {}, root)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "latin-1"])
def test_utf16_and_other_encodings_of_bvh_are_decoded(tmp_path, encoding):
    path = _bvh(tmp_path)
    text = path.read_text().replace("JOINT Head", "JOINT Kopf\u00e9" if encoding == "latin-1" else "JOINT Head")
    path.write_bytes(text.encode(encoding))
    src = parse_bvh(path)
    assert src.rotations.shape[0] == 70


def test_binary_bvh_is_named(tmp_path):
    path = tmp_path / "x.bvh"
    path.write_bytes(b"\x00\x01" * 3000)
    with pytest.raises(DataError, match=r"x.bvh: binary data, not BVH text"):
        parse_bvh(path)


def test_training_on_a_bvh_folder_without_captions_says_so_and_trains(tmp_path, capsys):
    folder = tmp_path / "bvh"
    folder.mkdir()
    for i in range(3):
        _bvh(folder, f"take{i}.bvh", frames=90)
    run = train(tiny_cfg(tmp_path / "run", data=f"bvh:{folder}", epochs=1, val_split="none"), space=space())
    assert "has no captions: the text terms are off" in capsys.readouterr().out
    assert ckpt.manifest(run)["step"] >= 1
    assert json.loads((run / "config.json").read_text())["texts"] == 0
