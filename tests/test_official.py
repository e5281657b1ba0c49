"""The official MotionCLIP inside mcl: checkpoint import/export, the official codec, the amass_db source.

The reference model and formulas are re-implemented from the official code in `official_reference.py`.
"""
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import roma
import torch
import yaml
from fake_space import FakeSpace
from official_reference import OfficialMotionCLIP, load_model_wo_clip, official_load

from mcl.cli import entry
from mcl.training.checkpoint import load
from mcl.data.errors import DataError
from mcl.data.motion import Motion, face_forward_tensor
from mcl.data.sources import load as load_data
from mcl.official.checkpoint import (UNUSED_FILE, export_official, import_official, official_key_shapes,
                                     read_official_checkpoint)
from mcl.official.codec import OfficialCodec, mcl_to_official, motion_to_official, official_to_motion

ROOT = Path(__file__).resolve().parent.parent


def save_official(tmp: Path, layers=8, d=512, ff=1024, seed=0, opt=None) -> tuple[Path, OfficialMotionCLIP]:
    """An official-layout model with random weights, saved as `train.py` does (state dict without clip_model) with
    an `opt.yaml` as `save_args` writes it (`yaml.dump` of the options dict)."""
    torch.manual_seed(seed)
    ref = OfficialMotionCLIP(d=d, ff=ff, layers=layers).eval()
    with torch.no_grad():  # no parameter left at a trivial init (norms 1, biases 0)
        for name, p in ref.named_parameters():
            p.add_(0.05 * torch.randn_like(p))
    folder = tmp / "exps" / "paper-model"
    folder.mkdir(parents=True, exist_ok=True)
    state_dict_wo_clip = {k: v for k, v in ref.state_dict().items() if not k.startswith("clip_model.")}
    path = folder / "checkpoint_0100.pth.tar"
    torch.save(state_dict_wo_clip, path)
    options = dict(opt or {}, num_layers=layers, latent_dim=d, activation="gelu", pose_rep="rot6d", glob=True,
                   glob_rot=[3.141592653589793, 0, 0], translation=True, num_frames=60, dataset="amass",
                   lambda_rc=100.0, lambda_rcxyz=100.0, lambda_vel=100.0, clip_text_losses="cosine",
                   clip_image_losses="cosine", jointstype="vertices", vertstrans=False, batch_size=20, lr=0.0001,
                   num_epochs=100, modelname="motionclip_transformer_rc_rcxyz_vel", ablation=None)
    with open(folder / "opt.yaml", "w") as f:
        yaml.dump(options, f)
    return path, ref


def random_windows(B: int, T: int, seed: int = 0) -> torch.Tensor:
    """Faced-forward mcl tensors of random poses and a random pelvis path."""
    g = torch.Generator().manual_seed(seed)
    poses = 0.6 * torch.randn(B, T, 24, 3, generator=g)
    trans = torch.cumsum(0.02 * torch.randn(B, T, 3, generator=g), dim=1)
    x = torch.stack([Motion(p.numpy(), t.numpy(), 30).to_tensor() for p, t in zip(poses, trans)])
    return face_forward_tensor(x)


# --- the paper checkpoint: keys, import, forward pass ------------------------------------------------------------
@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("official")
    path, ref = save_official(tmp)
    run_dir = import_official(path, out=tmp / "runs" / "official-paper", verbose=False)
    return path, ref, run_dir


def test_checkpoint_has_every_official_key_and_shape(paper):
    path, ref, _ = paper
    sd = read_official_checkpoint(path)
    expected = official_key_shapes()  # 8 layers, d 512, ff 1024, one class, 5000-row tables
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert len(expected) == 5 + 8 * 12 + 2 + 8 * 18 + 2 == 249
    assert expected["encoder.muQuery"] == (1, 512) and expected["decoder.actionBiases"] == (1, 512)
    assert expected["decoder.seqTransDecoder.layers.7.multihead_attn.in_proj_weight"] == (1536, 512)


# 90 frames, a length other than the training windows', in `make test-all` only: the paper-sized model is seconds a pass
@pytest.mark.parametrize("T", [60, pytest.param(90, marks=pytest.mark.slow)])
def test_imported_paper_model_equals_the_official_forward_pass(paper, T):
    _, ref, run_dir = paper
    run = load(run_dir, space=FakeSpace(512))
    model = run.model.eval()
    assert (model.cfg.query_tokens, model.cfg.codec, model.cfg.n_layers, model.cfg.d_model) == (2, "official", 8, 512)
    x = random_windows(3, T)
    with torch.no_grad():
        z_ref = ref.encode(mcl_to_official(x))
        z = model.encode(x)
        assert (z - z_ref).abs().max() < 1e-5
        zq = torch.randn(3, 512)
        out_ref = ref.decode(zq, T)
        assert (model.decode_native(zq, T) - out_ref).abs().max() < 1e-5
        # mcl's decode: the same motion in mcl's convention (y up, facing +z). Gram–Schmidt of the raw 6D rows and
        # the turn to +z amplify the ~1e-6 float differences above a little, hence 1e-4 here.
        assert (model.decode(zq, T) - OfficialCodec().from_model(out_ref)).abs().max() < 1e-4
        assert (model.decode(z, T) - OfficialCodec().from_model(ref.decode(z_ref, T))).abs().max() < 1e-4


def test_import_records_source_sha_and_unused_parameters(paper):
    import hashlib
    import json

    path, _, run_dir = paper
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["imported"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cfg["imported"]["file"] == str(path.resolve())
    assert cfg["imported"]["unused"] == ["decoder.actionBiases"]
    assert cfg["config"]["model"]["codec"] == "official"
    assert (run_dir / UNUSED_FILE).exists()


# --- the codec ---------------------------------------------------------------------------------------------------
def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    Ra, Rb = roma.rotvec_to_rotmat(torch.from_numpy(a).double()), roma.rotvec_to_rotmat(torch.from_numpy(b).double())
    return roma.rotmat_to_rotvec(Ra.transpose(-1, -2) @ Rb).norm(dim=-1).numpy()


def test_codec_round_trip_of_a_deepmimic_clip():
    m = load_data("deepmimic?clips=cartwheel")[0]
    x = motion_to_official(m)
    assert x.shape == (25, 6, m.num_frames)
    back = official_to_motion(x, fps=m.fps, start=m.trans[0])
    assert _angle(back.poses, m.poses).max() < 1e-5
    assert np.abs(back.trans - m.trans).max() < 1e-5
    # not the identity: rows-6D and a z-up root. The standing body's up axis (+y in SMPL's frame) points to +z in
    # the official (AMASS) world, as it does in AMASS files
    assert (x - m.to_tensor()).abs().max() > 0.5
    from mcl.official.codec import official_6d_to_rotmat
    up = official_6d_to_rotmat(x[0, :, 0]) @ torch.tensor([0.0, 1.0, 0.0])
    assert up[2] > 0.9, up
    # the model-side codec gives a faced-forward window back unchanged
    w = m.resample(30).slice(0, 60).face_forward().to_tensor()
    assert (OfficialCodec().from_model(OfficialCodec().to_model(w[None]))[0] - w).abs().max() < 1e-5


def _amass_db_fixture(rng) -> dict:
    """What amass_parser.py stores for two sequences (120 and 75 frames at 30 fps)."""
    db = {k: [] for k in ("vid_names", "thetas", "joints3d", "clip_images", "clip_pathes", "text_raw_labels",
                          "text_proc_labels", "action_cat")}
    for name, T in (("CMU_86_86_05_poses", 120), ("ACCAD_s1_walk_poses", 75)):
        db["vid_names"].append(np.array([name] * T))
        db["thetas"].append(rng.normal(0, 0.5, (T, 72)))
        db["joints3d"].append(rng.normal(0, 0.3, (T, 18, 3)))
        raw = np.full(T, "", dtype=object)
        raw[:40], raw[40:90] = "walk forward", "turn around"
        cat = np.full(T, "", dtype=object)
        cat[:40], cat[40:90] = "walk", "turn,walk"
        db["text_raw_labels"].append(raw)
        db["text_proc_labels"].append(raw.copy())
        db["action_cat"].append(cat)
        db["clip_images"].append(None)
        db["clip_pathes"].append(None)
    return db


def test_official_tensor_of_an_amass_db_window_matches_the_official_load(tmp_path, capsys):
    db = _amass_db_fixture(np.random.default_rng(3))
    path = tmp_path / "amass_30fps_vald.pt"
    joblib.dump(db, path)
    with pytest.raises(DataError, match=r"trust=1"):
        load_data(f"official-amass:{path}")
    motions = load_data(f"official-amass:{path}?trust=1")
    assert [m.num_frames for m in motions] == [120, 75] and motions[0].fps == 30
    for start in (0, 37):
        frame_ix = np.arange(start, start + 60)
        want = official_load(db["thetas"][0], db["joints3d"][0], frame_ix)
        got = motion_to_official(motions[0].slice(start, start + 60)).numpy()
        assert np.abs(got - want).max() < 1e-5
    # BABEL labels as segments and actions; a window's text is its distinct labels joined by " and "
    m = motions[0]
    assert [(round(s.start * 30), round(s.end * 30), s.text, s.actions) for s in m.segments] == \
        [(0, 40, "walk forward", ("walk",)), (40, 90, "turn around", ("turn", "walk"))]
    assert m.labels["actions"] == ["walk", "turn"]
    from mcl.data.windows import make_windows
    assert make_windows([m])[0].texts == ["walk forward and turn around"]
    # the one-time conversion gives the same motions without unpickling (`entry` is the `mcl` console script; in
    # process, as a subprocess would spend seconds importing torch)
    npz = tmp_path / "amass_vald.npz"
    capsys.readouterr()
    assert entry(["convert-official-amass", str(path), "--out", str(npz)]) != 0
    assert "--trust" in "".join(capsys.readouterr())
    assert entry(["convert-official-amass", str(path), "--trust", "--out", str(npz)]) == 0, capsys.readouterr().err
    again = load_data(f"official-amass:{npz}")
    assert np.abs(again[1].poses - motions[1].poses).max() < 1e-6
    assert np.abs(again[1].trans - motions[1].trans).max() < 1e-6
    assert again[0].segments == motions[0].segments


# --- unsafe files ------------------------------------------------------------------------------------------------
class _CreatesAFile:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path, capsys):
    target = tmp_path / "pwned.txt"
    bad = tmp_path / "checkpoint_0100.pth.tar"
    torch.save({"encoder.muQuery": torch.zeros(1, 8), "payload": _CreatesAFile(target)}, bad)
    assert not target.exists()
    with pytest.raises(ValueError, match=r"refused — unpickling it would need the global .*open"):
        import_official(bad, out=tmp_path / "run", verbose=False)
    assert not target.exists() and not (tmp_path / "run").exists()
    capsys.readouterr()
    assert entry(["import-official", str(bad), "--out", str(tmp_path / "r")]) == 2  # the console script, in process
    assert "refused" in capsys.readouterr().err and not target.exists()


def test_crafted_amass_db_is_refused_even_when_trusted(tmp_path):
    target = tmp_path / "pwned.txt"
    bad = tmp_path / "amass_30fps_train.pt"
    joblib.dump({"thetas": [_CreatesAFile(target)]}, bad)
    with pytest.raises(DataError, match="refused"):
        load_data(f"official-amass:{bad}")
    with pytest.raises(DataError, match=r"global (builtins|io)\.open is not allowed"):
        load_data(f"official-amass:{bad}?trust=1")
    assert not target.exists()


# --- export ------------------------------------------------------------------------------------------------------
def test_export_then_import_gives_identical_weights(tmp_path, capsys):
    from safetensors.torch import load_file

    path, ref = save_official(tmp_path, layers=2, d=64, ff=128)
    run1 = import_official(path, out=tmp_path / "run1", verbose=False)
    out = tmp_path / "exps" / "from-mcl" / "checkpoint_0100.pth.tar"
    assert entry(["export-official", str(run1), "--out", str(out)]) == 0, capsys.readouterr().err
    exported = torch.load(out, weights_only=True)
    assert list(exported) == list(official_key_shapes(2, 64, 128))  # exactly the official keys, official order
    original = torch.load(path, weights_only=True)
    for k in original:
        assert torch.equal(exported[k], original[k]) or (k.endswith(".pe") and torch.allclose(exported[k], original[k]))
    fresh = OfficialMotionCLIP(d=64, ff=128, layers=2)
    load_model_wo_clip(fresh, exported)  # what the official scripts call
    assert (out.parent / "opt.yaml").exists()
    run2 = import_official(out, out=tmp_path / "run2", verbose=False)
    w1 = load_file(str(next((run1 / "checkpoints").glob("*.safetensors"))))
    w2 = load_file(str(next((run2 / "checkpoints").glob("*.safetensors"))))
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    assert torch.equal(load_file(str(run1 / UNUSED_FILE))["decoder.actionBiases"],
                       load_file(str(run2 / UNUSED_FILE))["decoder.actionBiases"])


def test_export_refuses_a_run_without_the_official_layout(tmp_path):
    from mcl.training import checkpoint as ckpt
    from mcl.training.config import preset
    from mcl.model import MotionCLIP

    cfg = preset("cpu", model={"n_layers": 1, "d_model": 32, "n_heads": 2, "d_ff": 64, "latent_dim": 32})
    ckpt.save(tmp_path / "run", MotionCLIP(cfg.model), None, {"step": 1, "config": cfg.to_dict()})
    with pytest.raises(ValueError, match=r"query_tokens=1.*codec='mcl'"):
        export_official(tmp_path / "run", tmp_path / "x.pth.tar", verbose=False)


# --- docs/official.md (the README's "gated assets" points there), as a new user runs it -----------------------------
def _doc_commands() -> list[str]:
    text = (ROOT / "docs" / "official.md").read_text()
    assert text.startswith("# Use the paper's pretrained model")
    blocks = text.split("```bash")[1:]
    cmds = []
    for b in blocks:
        for line in b.split("```", 1)[0].splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                cmds.append(line)
    return cmds


@pytest.mark.slow  # every command of the doc in a subprocess, a ViT-B/32-sized random CLIP: about a minute
def test_official_doc_runs_as_written(tmp_path):
    """Fixture files in place of the download; random CLIP ViT-B/32 weights in place of OpenAI's (not obtainable
    here): every command of docs/official.md runs in a fresh folder."""
    from safetensors.torch import save_file

    from mcl.spaces.random_clip import random_clip_model

    save_official(tmp_path, layers=1, d=512, ff=1024)
    (tmp_path / "data" / "amass_db").mkdir(parents=True)
    joblib.dump(_amass_db_fixture(np.random.default_rng(0)), tmp_path / "data" / "amass_db" / "amass_30fps_vald.pt")
    weights = tmp_path / "random-clip.safetensors"
    save_file({k: v.contiguous() for k, v in random_clip_model(0).state_dict().items()}, str(weights))
    env = dict(os.environ, MCL_CLIP_WEIGHTS=str(weights), PYTHONPATH=str(ROOT), MCL_CACHE=str(tmp_path / "cache"))
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    cmds = _doc_commands()
    assert any(c.startswith("mcl import-official") for c in cmds) and any(c.startswith("mcl generate") for c in cmds)
    for c in cmds:
        r = subprocess.run(c, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"{c}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"


# --- the notebooks that take run_dir, on an imported run ----------------------------------------------------------
@pytest.fixture(scope="module")
def imported_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("official_nb")
    path, _ = save_official(tmp, layers=1, d=512, ff=1024)
    # random-clip: the CLIP ViT-B/32 architecture with seeded random weights (OpenAI's are not obtainable here)
    return import_official(path, out=tmp / "runs" / "official-paper", space="random-clip", verbose=False)


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("name", ["00", "02", "03", "04", "05"])
def test_notebook_runs_on_an_imported_official_run(imported_run, tmp_path, name):
    pytest.importorskip("papermill")
    from mcl.lab.notebooks import error_outputs, execute, notebook_paths

    path = notebook_paths([name])[0]
    r = execute(path, tmp_path / path.name, {"fast": True, "run_dir": str(imported_run), "data": "deepmimic",
                                             "space": "random-clip"})
    assert r.error is None and not error_outputs(tmp_path / path.name), r.error


def test_a_model_with_the_official_layout_trains_in_mcl_space():
    """forward() returns mcl tensors without the turn to +z (a heading error stays visible to the loss)."""
    from mcl.training.config import ModelConfig
    from mcl.model import MotionCLIP
    from mcl.official.codec import official_to_mcl

    model = MotionCLIP(ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=32, query_tokens=2,
                                   codec="official")).eval()  # eval: the same dropout-free pass twice
    x = random_windows(2, 60)
    z, x_hat = model(x)
    assert torch.allclose(x_hat, official_to_mcl(model.decode_native(z, 60)), atol=1e-6)
    ((x_hat - x) ** 2).mean().backward()
    assert model.query.grad.shape == (1, 2, 32) and model.query.grad[0, 1].abs().sum() > 0  # sigma attends
