import csv
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from fake_space import FakeSpace
from mcl.training import checkpoint as ckpt
from mcl.training.batches import WindowSet, fit_to_window, mirror_motion, split_motions
from mcl.training.checkpoint import load
from mcl.training.config import preset
from mcl.data import synthetic_dataset, synthetic_motion
from mcl.training.loop import TrainingDiverged, learning_rate, train

TINY = dict(n_layers=1, d_model=32, n_heads=2, d_ff=64)


def _cfg(out, **kw):
    # the cpu preset's losses on a tiny model; random windows (6 clips → 6 chunks → 2 batches an epoch), constant lr
    base = dict(out=str(out), epochs=3, batch_size=4, lr=1e-3, progress=False, threads=1, model=dict(TINY),
                fixed_windows=False, lr_schedule="constant", warmup_steps=0, grad_clip=None)
    base.update(kw)
    return preset("cpu", **base)


def _rows(run, split="train"):
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["split"] == split]


def _motions(n=6, frames=150):
    return synthetic_dataset(n, frames=frames)


def test_run_dir_records_everything_and_loads(tmp_path):
    space = FakeSpace(16)
    run = train(_cfg(tmp_path / "run"), motions=_motions(), space=space)
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["model"]["latent_dim"] == 16 and info["space"] == "fake"
    assert info["git_commit"] and info["data_spec"].startswith("custom")
    assert len(set(space.encoded)) == len(space.encoded)  # every text encoded exactly once
    assert len(_rows(run)) == 3 * 2 and len(_rows(run, "val")) == 3
    assert (run / "metrics.csv").read_text().count("\n") == 1 + 6 + 3
    with open(run / "metrics.csv") as f:  # every term has its own column (the cpu preset has text_rc on)
        first = next(csv.DictReader(f))
    assert {"rc", "body", "vel", "text", "text_rc"} <= set(first) and float(first["text_rc"]) > 0
    assert list((run / "tb").iterdir())
    loaded = load(run, space=FakeSpace(16))
    assert not loaded.model.training and loaded.step == 6 and loaded.epoch == 3
    z = loaded.model.encode(torch.zeros(2, 25, 6, 60))
    assert z.shape == (2, 16) and loaded.model.decode(z).shape == (2, 25, 6, 60)
    with pytest.raises(ValueError, match="space mismatch.*'fake'.*dim 16.*dim 8"):
        load(run, space=FakeSpace(8))


def test_mismatched_config_gives_a_clear_error(tmp_path):
    run = train(_cfg(tmp_path / "run", epochs=1), motions=_motions(4), space=FakeSpace(16))
    path = run / "checkpoints" / "latest.json"
    m = json.loads(path.read_text())
    m["config"]["model"]["d_model"] = 48
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match=r"(?s)weights in .*step-\d+\.safetensors do not match the model config in "
                                         r".*latest\.json.*d_model=48.*shape \(32,.*\(48,"):
        load(run, which="latest", space=FakeSpace(16))


def test_resume_reproduces_the_uninterrupted_loss_curve(tmp_path, monkeypatch):
    import mcl.training.loop as train_mod
    motions = _motions()
    sched = dict(lr_schedule="cosine", warmup_steps=2)  # the lr depends on the step: it must resume with it
    full = train(_cfg(tmp_path / "full", **sched), motions=motions, space=FakeSpace(16))
    real_save = train_mod.ckpt.save

    def save_then_die(run, model, opt, manifest, *args, **kwargs):  # the process is killed right after step 3's save
        real_save(run, model, opt, manifest, *args, **kwargs)
        if manifest["step"] == 3:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(train_mod.ckpt, "save", save_then_die)
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):  # step 3 is mid-epoch 1
        train(_cfg(part, checkpoint_every=3, **sched), motions=motions, space=FakeSpace(16))
    monkeypatch.setattr(train_mod.ckpt, "save", real_save)
    assert [r["step"] for r in _rows(part)] == [1, 2, 3]
    train(_cfg(part, resume=True, **sched), motions=motions, space=FakeSpace(16))
    a, b = _rows(full), _rows(part)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    assert len({r["lr"] for r in a}) == 5  # warm-up then decay: the lr changed every step
    for ra, rb in zip(a, b):  # dropout is on: this needs the RNG, the data order and the optimizer restored
        for k in ("loss", "rc", "body", "vel", "text", "text_rc", "lr"):
            assert ra[k] == pytest.approx(rb[k], rel=1e-6, abs=1e-7), (ra["step"], k)
    va, vb = _rows(full, "val"), _rows(part, "val")
    assert [r["loss"] for r in va] == pytest.approx([r["loss"] for r in vb], rel=1e-6)
    wa = load_file(str(full / "checkpoints" / ckpt.manifest(full)["weights"]))
    wb = load_file(str(part / "checkpoints" / ckpt.manifest(part)["weights"]))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_nan_guard_stops_with_the_step_and_term_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import mcl.training.loop as train_mod
    real = train_mod.compute_losses
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        total, terms = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:  # the 4th training step (validation is switched off below)
            terms["body"] = terms["body"] * float("nan")
            total = total + terms["body"]
        return total, terms

    monkeypatch.setattr(train_mod, "compute_losses", poisoned)
    monkeypatch.setattr(train_mod, "evaluate", lambda *a, **k: {})  # only training calls count
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"step 4 \(epoch 1\): loss term 'body' is nan.*last good "
                                               r"checkpoint \(step 3\) is kept"):
        train(_cfg(run, checkpoint_every=1), motions=_motions(), space=FakeSpace(16))
    assert ckpt.manifest(run)["step"] == 3
    weights = load_file(str(run / "checkpoints" / ckpt.manifest(run)["weights"]))
    assert all(torch.isfinite(v).all() for v in weights.values())


def test_validation_loss_decreases_on_deepmimic(tmp_path):
    pytest.importorskip("pybullet_data", reason="DeepMimic clips ship with pybullet")
    from mcl.data.sources import load as load_motions
    from mcl.data import SkipReport
    motions = load_motions("deepmimic", SkipReport(), required=True)
    run = train(_cfg(tmp_path / "dm", epochs=25, batch_size=20, lr=2e-3,
                     model=dict(n_layers=2, d_model=64, n_heads=4, d_ff=128)), motions=motions, space=FakeSpace(32))
    val = [r["loss"] for r in _rows(run, "val")]
    assert len(val) == 25 and val[-1] < 0.5 * val[0], val


def test_split_and_window_set_are_deterministic():
    motions = [m.resample(30) for m in _motions(5, 100)]
    tr, va, how = split_motions(motions, "time", 0.3, 30)
    assert how.startswith("time") and len(va) == 5 and all(m.num_frames == 70 for m in tr)
    assert split_motions(motions, "auto", 0.2, 60)[2].startswith("mirror")
    ids = {}
    ws = WindowSet.build(tr, ids, window=30, chunk=50)
    p1, p2 = ws.plan(10, 3), ws.plan(10, 3)
    assert (p1.order == p2.order).all() and (p1.starts == p2.starts).all()
    assert not (ws.plan(10, 4).starts == p1.starts).all() or not (ws.plan(10, 4).order == p1.order).all()
    b = ws.batch(p1, range(3))
    assert b.x.shape == (3, 25, 6, 30) and torch.allclose(b.x[:, 24, :, 0], torch.zeros(3, 6))


def test_phase_candidates_are_the_chunks_other_windows_with_the_same_caption():
    from mcl.data.motion import Segment
    motions = [m.resample(30) for m in _motions(3, 100)]
    ws = WindowSet.build(motions, {}, window=30, chunk=50)
    plan = ws.plan(10, 0)
    b = ws.batch(plan, range(4), phase_stride=5)
    assert b.x_phases.shape == (4, 6, 25, 6, 30)  # starts 0, 5, …, 20 of a 50-frame chunk + the window itself
    assert torch.equal(b.x_phases[:, 0], b.x) and torch.equal(b.x, ws.batch(plan, range(4)).x)  # the same windows
    for row, i in enumerate(plan.order[:4]):  # every candidate is a normalised window of the same chunk
        for k, s in enumerate(range(0, 21, 5)):
            want = ws._windows([(int(i), s)])[0]
            assert any(torch.allclose(want, b.x_phases[row, j]) for j in range(6)), (row, s)
    # a chunk whose caption changes with the start: only the starts with the window's caption are candidates
    m = motions[0].slice(0, 50).replace(segments=[Segment(0.0, 0.5, "walk"), Segment(0.5, 1.7, "jump")])
    ws = WindowSet.build([m], {}, window=30, chunk=50)  # starts 0–14 see "walk and jump", 15–20 "jump" alone
    assert ws._phase_starts(0, 20, 5) == [15] and ws._phase_starts(0, 0, 5) == [5, 10]


def test_text_rc_stride_trains_and_is_refused_where_there_is_no_other_window(tmp_path, monkeypatch):
    strides, phases = [], []
    batch = WindowSet.batch

    def spy(self, plan, positions, phase_stride=0):
        b = batch(self, plan, positions, phase_stride)
        strides.append(phase_stride)
        phases.append(None if b.x_phases is None else b.x_phases.shape[1])
        return b
    monkeypatch.setattr(WindowSet, "batch", spy)
    run = train(_cfg(tmp_path / "r", epochs=1, loss=dict(w_text=10.0, w_text_rc=100.0, text_rc_stride=10)),
                motions=_motions(), space=FakeSpace())
    assert all(math.isfinite(r["text_rc"]) for r in _rows(run))
    assert 10 in strides and max(k for k in phases if k) == 6  # the window + starts 0, 10, …, 40 of a 100-frame chunk
    with pytest.raises(ValueError, match="text_rc_stride=10 .*fixed_windows"):
        _cfg(tmp_path / "f", fixed_windows=True, loss=dict(text_rc_stride=10))
    with pytest.raises(ValueError, match="text_rc_stride=50: .*no other window"):
        _cfg(tmp_path / "s", loss=dict(w_text_rc=100.0, text_rc_stride=50))
    with pytest.raises(ValueError, match="text_rc_stride=10 .*w_text_rc=0"):
        _cfg(tmp_path / "w", loss=dict(w_text_rc=0.0, text_rc_stride=10))


def test_short_clips_are_extended_and_mirroring_is_an_involution():
    m = synthetic_motion(40, seed=1).replace(source={"name": "loop", "loop": "wrap"})
    notes = []
    long = fit_to_window(m, 60, notes)
    assert long.num_frames >= 60 and "looped" in notes[0]
    held = fit_to_window(synthetic_motion(40, seed=1), 60, notes)
    assert held.num_frames == 60 and (held.poses[-1] == held.poses[39]).all()
    back = mirror_motion(mirror_motion(m))
    assert abs(back.poses - m.poses).max() < 1e-6 and abs(back.trans - m.trans).max() < 1e-6


def test_image_term_with_a_space_that_has_images(tmp_path):
    pytest.importorskip("mcl.render", reason="renderer not available")
    space = FakeSpace(16, has_images=True)
    run = train(_cfg(tmp_path / "img", epochs=1, val_split="none", cache_dir=str(tmp_path / "cache")),
                motions=_motions(2, 100), space=space)
    rows = _rows(run)
    assert all("image" in r and math.isfinite(r["image"]) for r in rows)
    assert any("image loss on" in n for n in json.loads((run / "config.json").read_text())["notes"])


def test_bf16_precision_trains_and_saves_float32_weights(tmp_path):
    run = train(_cfg(tmp_path / "bf16", precision="bf16", epochs=2), motions=_motions(), space=FakeSpace(16))
    rows = _rows(run)
    assert rows and all(math.isfinite(r["loss"]) for r in rows)
    weights = load_file(str(next((run / "checkpoints").rglob("*.safetensors"))))
    assert all(t.dtype == torch.float32 for t in weights.values())
    with pytest.raises(ValueError, match="precision='fp16'"):
        preset("cpu", precision="fp16")


def test_body_term_on_smpl_vertices_when_smpl_is_configured(tmp_path, monkeypatch):
    from fake_smpl import fake_smpl
    from mcl.body import load_skeleton

    fake_smpl(tmp_path, load_skeleton().rest.numpy())
    monkeypatch.setenv("MCL_SMPL_DIR", str(tmp_path))
    run = train(_cfg(tmp_path / "smpl", epochs=1), motions=_motions(4), space=FakeSpace(16))
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["loss"]["body"] == "vertices"   # "auto" resolved and recorded
    assert all(math.isfinite(r["body"]) for r in _rows(run) + _rows(run, "val"))
    monkeypatch.delenv("MCL_SMPL_DIR")
    with pytest.raises(ValueError, match="needs SMPL model files"):
        train(_cfg(tmp_path / "again", epochs=1, loss={"body": "vertices"}), motions=_motions(4), space=FakeSpace(16))


def test_learning_rate_schedules():
    const = preset("paper")
    assert [learning_rate(const, s, 100) for s in (0, 50, 99)] == [const.lr] * 3
    cos = preset("paper", lr=1e-3, lr_schedule="cosine", warmup_steps=10, min_lr_ratio=0.1)
    lrs = [learning_rate(cos, s, 110) for s in range(110)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)      # linear warm-up to the peak
    assert lrs[10] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-4)    # cosine down to 0.1·lr at the end
    assert lrs[60] == pytest.approx(0.55e-3, rel=0.02)                          # half-way: the mean of the two
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    with pytest.raises(ValueError, match="lr_schedule='linear'"):
        preset("paper", lr_schedule="linear")
