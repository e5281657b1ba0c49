"""`CachedSpace`: a space with its embeddings remembered in memory and on disk, so each text/image is encoded once.

Disk store: one SQLite file per space (`<cache_dir>/<space.name>.sqlite`), rows `(kind, key) → float32 bytes`, where
key is the text itself, or for images the SHA-256 of the RGB uint8 pixels plus their shape. SQLite gives atomic
transactions and safe concurrent readers/writers across processes (WAL journal, 30 s busy timeout), with nothing
to install. The space's `name` carries its weights fingerprint, so other weights never share a file.
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..paths import cache_root
from .base import Space


def default_cache_dir() -> Path:
    """`$MCL_CACHE/embeddings` when `MCL_CACHE` is set (the root of mcl's caches), else `~/.cache/mcl/embeddings`."""
    return cache_root() / "embeddings"


@dataclass
class CacheStats:
    """Counters since the `CachedSpace` was made: items served from memory / disk, items encoded, encoder calls."""
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0          # distinct items actually encoded
    encoder_calls: int = 0   # calls into the wrapped space

    @property
    def hits(self) -> int:
        return self.memory_hits + self.disk_hits


class EmbeddingStore:
    """SQLite-backed `(kind, key) → vector` map for one space. Safe to share between processes.

    Example: `s = EmbeddingStore("/tmp/x.sqlite", dim=4); s.put("text", {"hi": np.ones(4, np.float32)})`.
    """
    CHUNK = 500  # keys per SELECT, under SQLite's bound-parameter limit

    def __init__(self, path: str | os.PathLike, dim: int):
        self.path, self.dim = Path(path), dim
        self._conn, self._pid = None, None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked worker must not reuse its parent's handle
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                with conn:
                    conn.execute("CREATE TABLE IF NOT EXISTS emb (kind TEXT, key TEXT, vec BLOB, PRIMARY KEY (kind, "
                                 "key)) WITHOUT ROWID")
            except sqlite3.DatabaseError as e:  # not a database / damaged: a cache, so say to delete it
                conn.close()
                raise ValueError(f"{self.path}: damaged embedding cache ({e}); delete the file (it is only a cache "
                                 f"and is rebuilt) or point MCL_CACHE elsewhere") from None
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, kind: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors among `keys` (absent keys are simply missing from the result)."""
        found = {}
        for i in range(0, len(keys), self.CHUNK):
            chunk = keys[i:i + self.CHUNK]
            rows = self.conn.execute(f"SELECT key, vec FROM emb WHERE kind = ? AND key IN ({','.join('?' * len(chunk))})",
                                     [kind, *chunk])
            for key, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape == (self.dim,):  # a row of another width is a foreign/corrupt entry: re-encode it
                    found[key] = vec
        return found

    def put(self, kind: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors in one transaction (all or nothing); keys already present are replaced."""
        with self.conn:
            self.conn.executemany("INSERT OR REPLACE INTO emb (kind, key, vec) VALUES (?, ?, ?)",
                                  [(kind, k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()])

    def count(self, kind: str | None = None) -> int:
        """Number of stored vectors (of one kind, or all)."""
        q = "SELECT COUNT(*) FROM emb" + (" WHERE kind = ?" if kind else "")
        return self.conn.execute(q, [kind] if kind else []).fetchone()[0]

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


def image_key(image: np.ndarray) -> str:
    """Cache key of a uint8 `(H, W, 3)` image: SHA-256 of its pixel bytes and shape."""
    return hashlib.sha256(np.ascontiguousarray(image).tobytes() + repr(image.shape).encode()).hexdigest()


class CachedSpace(Space):
    """Same interface as `space`; embeddings cached in memory and on disk. `stats` counts hits/misses/encoder calls.

    Only the items not yet cached are encoded (in one call to the wrapped space), so a 10k-text call with 9k cached
    encodes 1k. Example: `space = CachedSpace(get_space("minilm")); space.encode_text(texts); space.stats.hits`.
    """

    def __init__(self, space: Space, cache_dir: str | os.PathLike | None = None):
        self.space = space
        self.name, self.dim, self.has_images = space.name, space.dim, space.has_images
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        safe = re.sub(r"[^A-Za-z0-9._@-]", "_", space.name)
        self.store = EmbeddingStore(self.cache_dir / f"{safe}.sqlite", space.dim)
        self.stats = CacheStats()
        self._memory: dict[tuple[str, str], torch.Tensor] = {}

    def _lookup(self, kind: str, keys: list[str], items: list, encode) -> torch.Tensor:
        out: list[torch.Tensor | None] = [self._memory.get((kind, k)) for k in keys]
        self.stats.memory_hits += sum(v is not None for v in out)
        todo = list(dict.fromkeys(k for k, v in zip(keys, out) if v is None))  # distinct, in order
        if todo:
            for k, vec in self.store.get(kind, todo).items():
                self._memory[(kind, k)] = torch.from_numpy(vec.copy())
            todo_set = set(todo)
            for i, k in enumerate(keys):
                if out[i] is None and (kind, k) in self._memory:
                    out[i] = self._memory[(kind, k)]
                    self.stats.disk_hits += 1
            missing = list(dict.fromkeys(k for k, v in zip(keys, out) if v is None and k in todo_set))
            if missing:
                first: dict[str, int] = {}
                for i, k in enumerate(keys):
                    first.setdefault(k, i)
                fresh = encode([items[first[k]] for k in missing]).float().cpu()
                self.stats.encoder_calls += 1
                self.stats.misses += len(missing)
                self.store.put(kind, {k: fresh[j].numpy() for j, k in enumerate(missing)})
                for j, k in enumerate(missing):
                    self._memory[(kind, k)] = fresh[j].clone()
                out = [v if v is not None else self._memory[(kind, k)] for k, v in zip(keys, out)]
        return torch.stack(out)

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        return self._lookup("text", texts, texts, self.space.encode_text)

    def _encode_image(self, images: list[np.ndarray]) -> torch.Tensor:
        return self._lookup("image", [image_key(im) for im in images], images, self.space.encode_image)

    def __repr__(self) -> str:
        return f"CachedSpace({self.space!r}, cache={self.store.path})"
