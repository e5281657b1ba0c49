"""MiniLM, `auto`, the registry and the `mcl spaces` CLI (offline; no CLIP weights on this machine)."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from mcl.spaces import SPACES, available_spaces, get_space, register_space
from mcl.spaces import cli as spaces_cli
from mcl.spaces.auto import choose_auto
from mcl.spaces.minilm import MiniLMSpace, SentenceTransformerSpace


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.cache/clip/ViT-B-32.pt there
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "mcl-cache"))
    monkeypatch.delenv("MCL_CLIP_WEIGHTS", raising=False)


@pytest.fixture(scope="module")
def minilm():
    return MiniLMSpace(verbose=False)


def test_minilm_meaning(minilm):
    assert minilm.name.startswith("minilm@") and minilm.dim == 384 and not minilm.has_images
    z = minilm.encode_text(["a person is running", "someone jogs", "a red car parked on the street"])
    assert z.shape == (3, 384) and z.dtype == torch.float32
    cos = torch.nn.functional.cosine_similarity
    assert cos(z[0], z[1], dim=0) > cos(z[0], z[2], dim=0)


def test_minilm_warns_on_truncation(minilm):
    with pytest.warns(UserWarning, match=r"prompt 1 .*truncated"):
        minilm.encode_text(["a person walks", "a person walks and then runs " * 60])


def test_lazy_export():
    import mcl
    assert mcl.get_space is get_space


def test_minilm_is_text_only(minilm):
    with pytest.raises(TypeError, match=r"minilm@.* is text-only and cannot encode images"):
        minilm.encode_image(np.zeros((1, 8, 8, 3), np.uint8))


def test_minilm_empty_prompt(minilm):
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        minilm.encode_text(["a person walks", " "])


def test_auto_picks_minilm_and_says_why(capsys):
    space = get_space("auto")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert "CLIP weights not found" in out[0] and "using minilm" in out[0] and "image alignment disabled" in out[0]
    assert space.name.startswith("minilm@")


def test_auto_would_pick_clip_when_weights_are_local(tmp_path, monkeypatch):
    weights = tmp_path / "ViT-B-32.pt"
    weights.write_bytes(b"x")
    monkeypatch.setenv("MCL_CLIP_WEIGHTS", str(weights))
    name, why = choose_auto()
    assert name == "clip-vit-b32" and str(weights) in why


def test_auto_never_picks_random_clip():
    assert choose_auto()[0] != "random-clip"


def test_unknown_space_name():
    with pytest.raises(ValueError, match="unknown space 'clip'.*minilm"):
        get_space("clip")


def test_available_spaces_here():
    avail = {name: (ok, why) for name, ok, why in available_spaces()}
    assert set(avail) >= {"clip-vit-b32", "minilm", "random-clip"}
    assert avail["minilm"][0] and avail["random-clip"][0]
    assert not avail["clip-vit-b32"][0] and "not found" in avail["clip-vit-b32"][1]
    assert "MEANINGLESS" in avail["random-clip"][1]


def test_register_a_sentence_transformers_space(minilm, capsys):
    @register_space("minilm-copy-for-test")
    class Copy(SentenceTransformerSpace):
        default_model = minilm.model_dir
    try:
        space = get_space("minilm-copy-for-test")
        assert space.name.startswith("minilm-copy-for-test@") and space.dim == 384
        torch.testing.assert_close(space.encode_text(["a person waves"]), minilm.encode_text(["a person waves"]))
        with pytest.raises(ValueError, match="already registered"):
            register_space("minilm")(Copy)
    finally:
        SPACES.pop("minilm-copy-for-test")


def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="mcl")
    spaces_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_lists_spaces(capsys):
    assert _run_cli(["spaces"]) == 0
    out = capsys.readouterr().out
    for name in ("clip-vit-b32", "minilm", "random-clip", "auto"):
        assert name in out
    assert "→ minilm" in out
    assert _run_cli(["spaces", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in data["spaces"]}
    assert rows["minilm"] == {**rows["minilm"], "dim": 384, "images": False, "available": True}
    assert rows["clip-vit-b32"]["images"] and not rows["clip-vit-b32"]["available"]
    assert data["auto"]["choice"] == "minilm"


def test_cli_help():
    with pytest.raises(SystemExit) as e:
        _run_cli(["spaces", "--help"])
    assert e.value.code == 0
