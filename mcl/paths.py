"""Where mcl keeps what it caches: one rule for every cache (embeddings, motions, rendered frames, extracted archives).

`$MCL_CACHE` when it is set and not empty, else `~/.cache/mcl`; each cache is a folder under that root.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The root of mcl's caches.

    >>> import os; os.environ["MCL_CACHE"] = "/tmp/mcl-cache"; str(cache_root())
    '/tmp/mcl-cache'
    >>> os.environ["MCL_CACHE"] = ""; cache_root() == Path("~/.cache/mcl").expanduser()
    True
    >>> del os.environ["MCL_CACHE"]
    """
    root = os.environ.get("MCL_CACHE")
    return Path(root).expanduser() if root else Path("~/.cache/mcl").expanduser()

