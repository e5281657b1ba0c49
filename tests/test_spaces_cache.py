"""CachedSpace: memory and disk hits, only missing items encoded, images keyed by pixels, several processes."""
from __future__ import annotations

import hashlib
import multiprocessing as mp

import numpy as np
import pytest
import torch

from mcl.spaces import CachedSpace, Space
from mcl.spaces.cache import default_cache_dir
from mcl.spaces.random_clip import TINY, RandomClipSpace


class CountingSpace(Space):
    """A deterministic stand-in encoder that records every batch it is asked to encode."""
    dim, has_images = 8, True

    def __init__(self, name="counting@0"):
        self.name, self.batches = name, []

    def _vec(self, data: bytes) -> torch.Tensor:
        seed = int.from_bytes(hashlib.sha256(data).digest()[:4], "little")
        return torch.from_numpy(np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32))

    def _encode_text(self, texts):
        self.batches.append(list(texts))
        return torch.stack([self._vec(t.encode()) for t in texts])

    def _encode_image(self, images):
        self.batches.append(len(images))
        return torch.stack([self._vec(im.tobytes()) for im in images])


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("MCL_CACHE", str(tmp_path / "mcl-cache"))


def test_second_call_hits_memory_then_disk_across_instances(tmp_path):
    inner = CountingSpace()
    cached = CachedSpace(inner, cache_dir=tmp_path)
    texts = ["a person walks", "a person runs", "a person walks"]
    first = cached.encode_text(texts)
    assert inner.batches == [["a person walks", "a person runs"]]  # duplicates encoded once
    assert (cached.stats.encoder_calls, cached.stats.misses) == (1, 2)
    assert torch.equal(first, inner._encode_text(texts))
    inner.batches.clear()

    again = cached.encode_text(texts)
    assert inner.batches == [] and cached.stats.memory_hits == 3 and torch.equal(again, first)

    fresh = CachedSpace(inner, cache_dir=tmp_path)  # new instance, same directory: served from disk
    from_disk = fresh.encode_text(texts)
    assert inner.batches == [] and fresh.stats.disk_hits == 3 and fresh.stats.encoder_calls == 0
    assert torch.equal(from_disk, first)


def test_only_missing_texts_are_encoded():
    inner = CountingSpace()
    cached = CachedSpace(inner)
    texts = [f"a person does move number {i}" for i in range(10_000)]
    cached.encode_text(texts[:9_000])
    inner.batches.clear()
    out = cached.encode_text(texts)
    assert len(inner.batches) == 1 and inner.batches[0] == texts[9_000:]
    assert cached.stats.encoder_calls == 2 and cached.stats.memory_hits == 9_000
    assert out.shape == (10_000, 8)
    assert torch.equal(out[-1], inner._encode_text([texts[-1]])[0])


def test_default_dir_follows_mcl_cache(tmp_path):
    cached = CachedSpace(CountingSpace())
    assert default_cache_dir() == tmp_path / "mcl-cache" / "embeddings"
    assert cached.store.path.parent == default_cache_dir()
    cached.encode_text(["a person waves"])
    assert cached.store.path.is_file() and cached.store.count("text") == 1


def test_spaces_with_other_weights_do_not_share(tmp_path):
    a, b = CachedSpace(CountingSpace("counting@aaa"), tmp_path), CachedSpace(CountingSpace("counting@bbb"), tmp_path)
    a.encode_text(["a person walks"])
    b.encode_text(["a person walks"])
    assert b.stats.encoder_calls == 1 and a.store.path != b.store.path


def test_normalize_applies_after_the_cache(tmp_path):
    cached = CachedSpace(CountingSpace(), tmp_path)
    raw = cached.encode_text(["a person walks"])
    unit = cached.encode_text(["a person walks"], normalize=True)
    torch.testing.assert_close(unit, raw / raw.norm(dim=-1, keepdim=True))
    assert cached.stats.encoder_calls == 1


def test_images_keyed_by_pixels_with_random_clip(tmp_path):
    space = RandomClipSpace(config=TINY, verbose=False)
    cached = CachedSpace(space, tmp_path)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 40, 60, 3), dtype=np.uint8)
    first = cached.encode_image(images)
    assert cached.stats.misses == 3 and first.shape == (3, 32)
    torch.testing.assert_close(first, space.encode_image(images))
    from PIL import Image
    again = CachedSpace(space, tmp_path).encode_image([Image.fromarray(im) for im in images])  # PIL, from disk
    assert torch.equal(again, first)
    changed = images.copy()
    changed[1, 0, 0, 0] ^= 1  # one pixel differs: a different image
    cached.encode_image(changed)
    assert cached.stats.misses == 4 and cached.stats.memory_hits == 2
    assert cached.encode_text(["a person walks"]).shape == (1, 32)


def test_text_only_space_stays_text_only(tmp_path):
    class TextOnly(CountingSpace):
        has_images = False
    with pytest.raises(TypeError, match="text-only"):
        CachedSpace(TextOnly(), tmp_path).encode_image(np.zeros((1, 4, 4, 3), np.uint8))


def _worker(args):
    cache_dir, start = args
    cached = CachedSpace(CountingSpace(), cache_dir)
    out = cached.encode_text([f"text {i}" for i in range(start, start + 300)])
    return out.sum().item()


def test_several_processes_share_one_store(tmp_path):
    ctx = mp.get_context("spawn")  # a clean interpreter per worker, like DataLoader workers or parallel notebooks
    with ctx.Pool(3) as pool:
        pool.map(_worker, [(str(tmp_path), s) for s in (0, 100, 200)])  # overlapping ranges written concurrently
    cached = CachedSpace(CountingSpace(), tmp_path)
    assert cached.store.count("text") == 500
    out = cached.encode_text([f"text {i}" for i in range(500)])
    assert cached.stats.encoder_calls == 0 and cached.stats.disk_hits == 500
    assert torch.equal(out, CountingSpace()._encode_text([f"text {i}" for i in range(500)]))
