"""The independent judge (mcl.latent.judge): trained on real-looking motions with separable labels, saved without
pickle, loaded back to the same predictions; bad files name the file and field; the CLI (`mcl judge train / eval`,
`mcl eval judged`) on fake data and a tiny random run. Fast, no ../shared/data (one `shared` test reads the archive)."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from latent_fakes import HashSpace
from mcl.body.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from mcl.body.skeleton import JOINT_INDEX
from mcl.data import bandai
from mcl.data.errors import DataError
from mcl.data.motion import Motion
from mcl.latent import cli as latent_cli, evaluate, judge as J
from mcl.model import MotionCLIP
from mcl.training import checkpoint
from mcl.training.config import ModelConfig, preset

CONTENTS, STYLES = ("walk", "run", "wave-right-hand"), ("normal", "elderly")


def fake_motion(content: str, style: str, seed: int, frames: int = 60, take: str = "001") -> Motion:
    """A body that walks / runs / waves, upright (normal) or bent and slow (elderly), random heading and phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    slow = 0.6 if style == "elderly" else 1.0
    ph = rng.uniform(0, 2 * np.pi)
    poses = rng.normal(0, 0.02, (frames, 24, 3))
    trans = np.zeros((frames, 3))
    if content in ("walk", "run"):
        amp, f, v = (0.5, 1.0, 1.2) if content == "walk" else (0.9, 1.6, 3.0)
        swing = amp * np.sin(2 * np.pi * f * slow * t + ph)
        poses[:, JOINT_INDEX["left_hip"], 0] += swing
        poses[:, JOINT_INDEX["right_hip"], 0] -= swing
        poses[:, JOINT_INDEX["left_knee"], 0] += np.abs(swing)
        trans[:, 2] = v * slow * t
    else:
        poses[:, JOINT_INDEX["right_shoulder"], 2] += 1.3 + 0.4 * np.sin(2 * np.pi * 1.5 * slow * t + ph)
    if style == "elderly":
        poses[:, JOINT_INDEX["spine1"], 0] += 0.45
        poses[:, JOINT_INDEX["neck"], 0] += 0.3
    yaw = rng.uniform(-np.pi, np.pi)  # which way it faces must not matter
    poses[:, 0, 1] += yaw
    c, s = np.cos(yaw), np.sin(yaw)
    trans = trans @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    trans[:, 1] += 0.9
    return Motion(poses, trans, fps=30.0, labels={"content": content, "style": style, "id": take},
                  source={"file": f"dataset-2_{content}_{style}_{take}.bvh"})


def fake_set(n: int = 4, seed: int = 0, frames: int = 60) -> list[Motion]:
    return [fake_motion(c, s, seed * 1000 + 10 * i + k, frames) for k, (c, s) in
            enumerate((c, s) for c in CONTENTS for s in STYLES) for i in range(n)]


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return J.train_judge(fake_set(4, seed=1), ("content", "style"), held_out=fake_set(2, seed=2), data="fake",
                         progress=False)


def test_features_shape_heading_and_length(trained):
    m = fake_motion("walk", "normal", 5, frames=150)
    X, owner = J.features([m])
    assert X.shape == (2, J.NUM_FEATURES) and owner.tolist() == [0, 0]  # 150 frames → 2 windows of 60
    turn = rotvec_to_rotmat(torch.tensor([0.0, 1.0, 0.0]))  # the whole motion turned about the vertical axis
    poses = m.poses.copy()
    poses[:, 0] = rotmat_to_rotvec(turn @ rotvec_to_rotmat(torch.from_numpy(poses[:, 0]))).numpy()
    turned = m.replace(poses=poses, trans=(m.trans @ turn.numpy().T).astype(np.float32))
    assert np.allclose(J.features([turned])[0], X, atol=1e-3)  # heading-normalised
    with pytest.raises(ValueError, match="has 40 frames.*shorter than the judge's 60-frame window"):
        J.features([fake_motion("walk", "normal", 0, frames=40)])


def test_train_predict_and_held_out(trained):
    held = trained.info["held_out"]
    assert held["content"]["top1"] == 100.0 and held["style"]["top1"] == 100.0
    assert held["style"]["classes"] == ["elderly", "normal"] and np.sum(held["style"]["confusion"]) == 12
    assert trained.weak() == {"content": False, "style": False} and "warning" not in trained.info
    new = fake_set(1, seed=3)
    pred = trained.predict(new)
    assert pred["content"] == [m.labels["content"] for m in new] and pred["style"] == [m.labels["style"] for m in new]


def test_save_load_same_predictions_no_pickle(trained, tmp_path):
    trained.save(tmp_path / "j")
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["judge.json", "judge.safetensors"]
    meta = json.loads((tmp_path / "j" / "judge.json").read_text())
    assert meta["format"] == "mcl-judge" and meta["features"] == J.FEATURES and meta["trained_on"] == "fake"
    assert meta["heads"]["style"]["classes"] == ["elderly", "normal"] and meta["weak_heads"] == []
    assert meta["held_out"]["content"]["top1"] == 100.0
    back = J.Judge.load(tmp_path / "j" / "judge.json")
    ms = fake_set(1, seed=4)
    a, b = trained.predict_proba(ms), back.predict_proba(ms)
    assert all(np.array_equal(a[k], b[k]) for k in a) and back.predict(ms) == trained.predict(ms)


def test_weak_head_is_said(tmp_path):
    ms, held = fake_set(3, seed=5), fake_set(2, seed=6)
    for m in held:  # held-out style labels that disagree with the motions: the style head scores 0 % there
        m.labels["style"] = STYLES[1 - STYLES.index(m.labels["style"])]
    j = J.train_judge(ms, ("content", "style"), held_out=held, progress=False)
    assert j.info["held_out"]["style"]["top1"] == 0.0 and not j.weak()["content"]
    assert j.weak()["style"] and "style" in j.info["warning"] and "meaningful" in j.info["warning"]
    j.save(tmp_path)
    assert json.loads((tmp_path / "judge.json").read_text())["weak_heads"] == ["style"]
    assert J.train_judge(ms[:12], ("content",), progress=False).weak() == {"content": True}  # unmeasured


def test_bad_inputs_name_the_file_and_field(trained, tmp_path):
    with pytest.raises(DataError, match=r"judge.json: missing"):
        J.Judge.load(tmp_path)
    d = trained.save(tmp_path / "j")
    meta = json.loads((d / "judge.json").read_text())
    (d / "judge.json").write_text(json.dumps(dict(meta, format="other")))
    with pytest.raises(DataError, match=r"judge.json: field 'format' is 'other'"):
        J.Judge.load(d)
    (d / "judge.json").write_text(json.dumps(dict(meta, features="v0")))
    with pytest.raises(DataError, match=r"judge.json: field 'version'/'features'.*mcl judge train"):
        J.Judge.load(d)
    (d / "judge.json").write_text(json.dumps(dict(meta, heads={"style": {"classes": ["a", "b", "c"]}})))
    with pytest.raises(DataError, match=r"judge.safetensors: tensors 'style.coef' \(3, 474\)"):
        J.Judge.load(d)
    (d / "judge.json").write_text("{nope")
    with pytest.raises(DataError, match=r"judge.json: not JSON"):
        J.Judge.load(d)
    (d / "judge.json").write_text(json.dumps(meta))
    (d / "judge.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(DataError, match=r"judge.safetensors: unreadable"):
        J.Judge.load(d)
    with pytest.raises(ValueError, match=r"needs ≥ 2 classes.*labels\['mood'\]"):
        J.train_judge(fake_set(1), ("mood",), progress=False)


def cli(*argv):
    parser = argparse.ArgumentParser(prog="mcl")
    latent_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture
def fake_data(monkeypatch):
    """`load_motions` in the latent CLI answers bandai?split=… with fake labelled motions (held out: other seeds)."""
    seen = []

    def fake_load(spec, report=None, progress=True, required=False):
        seen.append(str(spec))
        return fake_set(3, seed=7, frames=90) if "split=train" in str(spec) else fake_set(2, seed=8)

    monkeypatch.setattr(latent_cli, "load_motions", fake_load)
    return seen


def test_cli_judge_train_and_eval(fake_data, tmp_path, capsys):
    cli("judge", "train", "--data", "bandai?split=train", "--out", tmp_path / "j", "-q")
    assert fake_data == ["bandai?split=train", "bandai?split=test"]  # held out chosen automatically
    meta = json.loads((tmp_path / "j" / "judge.json").read_text())
    assert meta["held_out_data"] == "bandai?split=test" and meta["train_windows"] == 18 * 2  # 90 frames, stride 30
    out = capsys.readouterr().out
    assert "style: top-1 100.0 %" in out and "confusion" in out and "judge.safetensors" in out
    cli("judge", "eval", "--judge", tmp_path / "j", "--data", "bandai?split=test", "--json", tmp_path / "e.json", "-q")
    assert json.loads((tmp_path / "e.json").read_text())["content"]["top1"] == 100.0
    with pytest.raises(SystemExit):
        cli("judge", "train", "--data", "x")  # --out is required


def test_eval_judged_on_a_tiny_run(fake_data, tmp_path, monkeypatch, capsys):
    cli("judge", "train", "--data", "bandai?split=train", "--out", tmp_path / "j", "-q")
    run = tmp_path / "run"
    cfg = preset("cpu", data="synthetic", space="minilm", val_split="time",
                 model=ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=384))
    torch.manual_seed(0)
    checkpoint.save(run, MotionCLIP(cfg.model), None, {"step": 1, "epoch": 1, "config": cfg.to_dict(),
                                                       "space": "minilm", "data_spec": "synthetic"}, tags=("latest",))
    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda r, which="latest", device="cpu": real(r, which, device,
                                                                                         space=HashSpace(384)))
    with pytest.raises(SystemExit):  # a negative count of pairs is refused by argparse, not skipped
        cli("eval", "judged", "--run", run, "--data", "bandai?split=test", "--interp-pairs", "-3")
    with pytest.raises(ValueError, match="needs --judge"):
        cli("eval", "judged", "--run", run, "--data", "bandai?split=test")
    monkeypatch.setattr(evaluate.latent, "latent_norm", lambda loaded: 10.0)
    cli("eval", "judged", "--run", run, "--data", "bandai?split=test", "--judge", tmp_path / "j", "-q",
        "--json", tmp_path / "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["content_prompts"]["content"]["n"] == 3 and r["style_prompts"]["style"]["n"] == 2
    assert r["caption_prompts"]["style"]["n"] == 3 * 2 * 3 and r["edit"]["n"] == 2  # 2 walk/normal windows
    assert r["reconstruction"]["style"]["real"] == 100.0 and r["judge_weak_heads"] == []
    assert 0 <= r["edit"]["after"] <= 100 and r["edit"]["real"] == 0.0  # real walk/normal: never judged elderly
    assert "judged elderly" in capsys.readouterr().out
    d = r["interpolation"]
    assert d["n"] == 30 and d["steps"] == 5 and len(d["items"]) == 30 and d["real"] == 100.0
    assert all(it["a"] != it["b"] and len(it["judged"]) == 5 for it in d["items"])


def test_judged_interpolation_scores_the_path_not_the_model(trained, monkeypatch):
    """With a 'model' whose decode is the real window nearest to z (z = one-hot window index), a path from A to B
    decodes A for t < 1/2 and B after: every endpoint right, one switch each; a decoder that returns A all the way
    scores end 0 % and one switch 0 %."""
    ws = fake_set(2, seed=2)
    eye = torch.eye(len(ws))
    index = {id(w): i for i, w in enumerate(ws)}
    monkeypatch.setattr(evaluate.latent, "encode", lambda loaded, motions: eye[[index[id(m)] for m in motions]])
    monkeypatch.setattr(evaluate.latent, "decode", lambda loaded, z, n_frames=60: [ws[int(i)] for i in z.argmax(1)])
    d = evaluate.judged_interpolation(None, trained, ws, "content", pairs=12, steps=5)
    assert (d["start"], d["end"], d["both"], d["one_switch"], d["real"]) == (100.0,) * 5
    # t = ½ is a tie, which argmax breaks by window index: A or B there
    assert all(it["judged"][:2] == [it["a"]] * 2 and it["judged"][3:] == [it["b"]] * 2 for it in d["items"])
    monkeypatch.setattr(evaluate.latent, "decode", lambda loaded, z, n_frames=60: [ws[int(z[0].argmax())]] * len(z))
    d = evaluate.judged_interpolation(None, trained, ws, "content", pairs=1, steps=5)
    assert (d["start"], d["end"], d["one_switch"]) == (100.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="two 'content' classes"):
        evaluate.judged_interpolation(None, trained, [w for w in ws if w.labels["content"] == "walk"])
    with pytest.raises(ValueError, match="no head 'mood'"):
        evaluate.judged_interpolation(None, trained, ws, "mood")


@pytest.mark.shared
@pytest.mark.skipif(bandai.default_bandai_path() is None or not bandai.default_bandai_path().exists(),
                    reason="Bandai-Namco ds-2 not found (../shared/data or $MCL_BANDAI)")
def test_judge_on_real_bandai_walks():
    """A judge trained on a few real train takes tells walk from wave on held-out takes."""
    tr = bandai.load_bandai(contents=["walk", "wave-both-hands"], styles=["normal"], split="train", limit=None)
    te = bandai.load_bandai(contents=["walk", "wave-both-hands"], styles=["normal"], split="test")
    j = J.train_judge(tr, ("content",), held_out=te, progress=False)
    assert j.info["held_out"]["content"]["top1"] > 90
