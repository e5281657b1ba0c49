"""CLIP side of mcl.spaces: module loading, tokenizer, preprocessing, weight formats, random CLIP. No real weights."""
from __future__ import annotations

import ast
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mcl.spaces import SpaceUnavailable, get_space
from mcl.spaces import clip_loader
from mcl.spaces.clip_loader import (OFFICIAL_URL, VIT_B32, build_clip, check_official, download_clip_weights,
                                    find_local_clip_weights, load_clip_state_dict)
from mcl.spaces.clip_vit import ClipModelSpace, ClipSpace, encode_tokens, tokenize
from mcl.spaces.preprocess import CLIP_MEAN, CLIP_STD, clip_preprocess
from mcl.spaces.random_clip import TINY, RandomClipSpace, random_clip_model


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # no test may see (or write) the real ~/.cache: weights lookup and the sha256 memo go to tmp
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "mcl-cache"))
    monkeypatch.delenv("MCL_CLIP_WEIGHTS", raising=False)


@pytest.fixture(scope="module")
def tiny():
    return random_clip_model(seed=3, config=TINY)


@pytest.fixture(scope="module")
def full_random():
    """The ViT-B/32-sized random CLIP (~151M parameters), built once for the module; weights rounded to fp16
    values (kept in float32) so an fp16 checkpoint of it, like OpenAI's, round-trips exactly."""
    space = RandomClipSpace(seed=0, verbose=False)
    with torch.no_grad():
        for p in space.model.parameters():
            p.copy_(p.half().float())
    return space


def _images(n=2, h=50, w=70, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


# -- loading clip's modules and the official URL ------------------------------------------------------------------------
def test_modules_load_without_running_clip_init():
    mods = clip_loader.clip_modules()
    assert hasattr(mods.model, "CLIP") and hasattr(mods.model, "build_model")
    assert hasattr(mods.simple_tokenizer, "SimpleTokenizer")
    import sys
    assert "clip.clip" not in sys.modules  # the package __init__ (which needs torchvision) never ran


def test_official_url_is_the_one_in_clip_py():
    src = Path(importlib.util.find_spec("clip").submodule_search_locations[0], "clip.py").read_text()
    models = next(ast.literal_eval(n.value) for n in ast.parse(src).body
                  if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_MODELS")
    assert models["ViT-B/32"] == OFFICIAL_URL
    assert clip_loader.OFFICIAL_SHA256 == OFFICIAL_URL.split("/")[-2]


# -- tokenizer ------------------------------------------------------------------------------------------------------------
def test_tokenizer_ids():
    ids = tokenize(["a person walking"])
    assert ids.shape == (1, 77) and ids.dtype == torch.long
    assert ids[0, :5].tolist() == [49406, 320, 2533, 3941, 49407]
    assert ids[0, 5:].eq(0).all()


def test_long_prompt_is_truncated_with_warning():
    long = "a person walks " + "and then jumps " * 40
    with pytest.warns(UserWarning, match=r"prompt 1 .*a person walks.*truncated"):
        ids = tokenize(["short", long])
    assert ids[1, -1].item() == 49407 and ids[1, 0].item() == 49406 and ids[1].ne(0).all()


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_prompt_is_an_error_naming_its_index(tiny, bad):
    space = ClipModelSpace(tiny, name="tiny", verbose=False)
    with pytest.raises(ValueError, match="prompt 2 is empty"):
        space.encode_text(["a person walks", "a person sits", bad])


def test_single_string_is_rejected(tiny):
    with pytest.raises(TypeError, match="list of strings"):
        ClipModelSpace(tiny, name="tiny", verbose=False).encode_text("a person walks")


def test_short_context_text_encoding_is_exact(tiny):
    tokens = tokenize(["a person walking", "someone jumps over a box and then sits down on the floor", "run"])
    with torch.no_grad():
        full = tiny.encode_text(tokens)
        short = encode_tokens(tiny, tokens)
    torch.testing.assert_close(short, full, rtol=1e-5, atol=1e-5)


# -- preprocessing ----------------------------------------------------------------------------------------------------
def test_preprocess_equals_formula_on_224_image():
    img = _images(1, 224, 224, seed=1)[0]
    got = clip_preprocess([img])
    want = (torch.from_numpy(img).float().permute(2, 0, 1) / 255 - torch.tensor(CLIP_MEAN).view(3, 1, 1)) \
        / torch.tensor(CLIP_STD).view(3, 1, 1)
    assert got.shape == (1, 3, 224, 224) and got.dtype == torch.float32
    torch.testing.assert_close(got[0], want, rtol=0, atol=1e-6)


def test_preprocess_center_crops_the_long_side():
    # 224 high, 448 wide: no resize, the crop keeps columns 112..335
    img = _images(1, 224, 448, seed=2)[0]
    got = clip_preprocess([Image.fromarray(img)])[0]
    crop = img[:, 112:336]
    want = (torch.from_numpy(crop).float().permute(2, 0, 1) / 255 - torch.tensor(CLIP_MEAN).view(3, 1, 1)) \
        / torch.tensor(CLIP_STD).view(3, 1, 1)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_preprocess_resizes_shorter_side_bicubic():
    img = _images(1, 100, 150, seed=4)[0]
    got = clip_preprocess([img])[0]
    ref = Image.fromarray(img).resize((336, 224), Image.BICUBIC).crop((56, 0, 280, 224))  # torchvision's geometry
    want = (torch.from_numpy(np.array(ref)).float().permute(2, 0, 1) / 255
            - torch.tensor(CLIP_MEAN).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    flat = clip_preprocess([np.full((300, 200, 3), 128, np.uint8)])[0]  # constant colour stays constant
    torch.testing.assert_close(flat, ((128 / 255 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD))
                               .view(3, 1, 1).expand(3, 224, 224), rtol=0, atol=1e-6)


def test_images_must_be_uint8_rgb(tiny):
    space = ClipModelSpace(tiny, name="tiny", verbose=False)
    with pytest.raises(ValueError, match="uint8"):
        space.encode_image(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        space.encode_image(np.zeros((32, 32, 3), np.uint8))


# -- weights: formats, round trips, checks --------------------------------------------------------------------------
def _embeddings(model, images):
    space = ClipModelSpace(model, name="x", verbose=False)
    return space.encode_text(["a person walking", "a person waves"]), space.encode_image(images)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
def test_loader_round_trip_torchscript_statedict_safetensors(tiny, tmp_path):
    images = _images(2, 40, 60)
    want_text, want_image = _embeddings(tiny, images)

    traced = torch.jit.trace(tiny, (torch.randn(1, 3, 32, 32), tokenize(["x"])), check_trace=False)
    torch.jit.save(traced, str(tmp_path / "tiny_jit.pt"))
    torch.save(tiny.state_dict(), tmp_path / "tiny_sd.pt")
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in tiny.state_dict().items()}, str(tmp_path / "tiny.safetensors"))

    assert clip_loader._is_torchscript(tmp_path / "tiny_jit.pt")
    assert not clip_loader._is_torchscript(tmp_path / "tiny_sd.pt")
    for name in ("tiny_jit.pt", "tiny_sd.pt", "tiny.safetensors"):
        model = build_clip(load_clip_state_dict(tmp_path / name))
        assert all(p.dtype == torch.float32 for p in model.parameters())
        text, image = _embeddings(model, images)
        assert torch.equal(text, want_text), name
        assert torch.equal(image, want_image), name


def test_fp16_checkpoint_is_widened_to_float32(tiny, tmp_path):
    torch.save({k: v.half() for k, v in tiny.state_dict().items()}, tmp_path / "half.pt")
    model = build_clip(load_clip_state_dict(tmp_path / "half.pt"))
    assert model.text_projection.dtype == torch.float32
    torch.testing.assert_close(model.text_projection, tiny.text_projection.half().float(), rtol=0, atol=0)


def test_not_a_clip_file_is_a_clear_error(tmp_path):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a CLIP state dict"):
        load_clip_state_dict(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="cannot read CLIP weights"):
        load_clip_state_dict(tmp_path / "junk.pt")


def test_pickled_code_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))
    torch.save({"text_projection": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="cannot read CLIP weights"):
        load_clip_state_dict(tmp_path / "evil.pt")
    assert not Path("PWNED").exists()


def test_sha_mismatch_on_official_name_warns(tmp_path):
    fake = tmp_path / "ViT-B-32.pt"
    fake.write_bytes(b"x")
    with pytest.warns(UserWarning, match="SHA-256 is .* not the published"):
        note = check_official(fake, "0" * 64)
    assert "MISMATCH" in note
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "not the official file" in check_official(tmp_path / "converted.safetensors", "0" * 64)
        assert check_official(fake, clip_loader.OFFICIAL_SHA256) is None


def test_weights_lookup_order(tmp_path, monkeypatch):
    assert find_local_clip_weights() == (None, "~/.cache/clip/ViT-B-32.pt")  # shown with ~, not this machine's home
    cached = tmp_path / "home/.cache/clip/ViT-B-32.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_local_clip_weights()[0] == cached
    env = tmp_path / "env.pt"
    env.write_bytes(b"x")
    monkeypatch.setenv("MCL_CLIP_WEIGHTS", str(env))
    assert find_local_clip_weights()[0] == env
    explicit = tmp_path / "explicit.pt"
    explicit.write_bytes(b"x")
    assert find_local_clip_weights(explicit)[0] == explicit
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_local_clip_weights(tmp_path / "missing.pt")


def test_download_checks_sha256_and_fails_clearly(tmp_path):
    src = tmp_path / "src" / "ViT-B-32.pt"
    src.parent.mkdir()
    src.write_bytes(b"pretend weights")
    import hashlib
    sha = hashlib.sha256(b"pretend weights").hexdigest()
    got = download_clip_weights(src.as_uri(), target=tmp_path / "dst" / "ViT-B-32.pt", sha256=sha)
    assert got.read_bytes() == b"pretend weights"
    with pytest.raises(SpaceUnavailable, match="SHA-256 is .* expected"):
        download_clip_weights(src.as_uri(), target=tmp_path / "bad" / "ViT-B-32.pt", sha256="0" * 64)
    assert not (tmp_path / "bad" / "ViT-B-32.pt").exists()  # nothing half-checked is left in place
    with pytest.raises(SpaceUnavailable, match=r"could not download .* put the official file .* MCL_CLIP_WEIGHTS"):
        download_clip_weights((tmp_path / "nowhere.pt").as_uri(), target=tmp_path / "x" / "ViT-B-32.pt",
                              sha256="0" * 64)


def test_clip_space_without_local_weights_and_no_download(tmp_path):
    with pytest.raises(SpaceUnavailable, match="CLIP weights not found at .*ViT-B-32.pt"):
        ClipSpace(allow_download=False)


def test_clip_space_rejects_other_architectures(tiny, tmp_path):
    torch.save(tiny.state_dict(), tmp_path / "tiny.pt")
    with pytest.raises(ValueError, match="not a ViT-B/32"):
        ClipSpace(weights=tmp_path / "tiny.pt", verbose=False)


# -- full-size random CLIP ------------------------------------------------------------------------------------------
def test_random_clip_space_is_vit_b32_and_says_meaningless(full_random, capsys):
    assert full_random.name.startswith("random-clip") and full_random.dim == 512 and full_random.has_images
    assert clip_loader.clip_architecture(full_random.model) == VIT_B32
    z = full_random.encode_image(_images(2, 240, 320))
    t = full_random.encode_text(["a person walking"])
    assert z.shape == (2, 512) and t.shape == (1, 512) and z.dtype == torch.float32
    RandomClipSpace(seed=0, config=TINY, verbose=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert out and all("MEANINGLESS" in line for line in out)
    with pytest.raises(ValueError, match="takes no weights"):
        get_space("random-clip", weights="x.pt")


def test_random_clip_is_seeded(tiny):
    again = random_clip_model(seed=3, config=TINY)
    other = random_clip_model(seed=4, config=TINY)
    assert torch.equal(again.text_projection, tiny.text_projection)
    assert not torch.equal(other.text_projection, tiny.text_projection)


@pytest.mark.slow  # writes and reads a 300 MB checkpoint, encodes with the full ViT-B/32: ~7 s
def test_clip_space_loads_a_vit_b32_checkpoint(full_random, tmp_path, capsys):
    # a ViT-B/32-shaped checkpoint (random weights, fp16 like OpenAI's) goes through the real ClipSpace path
    from safetensors.torch import save_file
    sd = {k: v.half().contiguous() for k, v in full_random.model.state_dict().items()}
    path = tmp_path / "vitb32-random.safetensors"
    save_file(sd, str(path))
    space = get_space("clip-vit-b32", weights=path)
    line = capsys.readouterr().out
    assert space.name.startswith("clip-vit-b32@") and len(space.name.split("@")[1]) == 12
    assert "not the official file" in line
    assert torch.equal(space.encode_text(["a person walking"]), full_random.encode_text(["a person walking"]))
    image = _images(1, 224, 224)
    assert torch.equal(space.encode_image(image), full_random.encode_image(image))
    torch.testing.assert_close(space.encode_text(["a person walking"], normalize=True).norm(dim=-1),
                               torch.ones(1))
