"""Where and how mcl writes files.

Models shipped with mcl (`PRETRAINED`) live under `mcl/pretrained/NAME/` as normal run dirs; `pretrained_path`
turns a name into that folder. The cache root: one rule for every cache (embeddings, motions, rendered frames,
extracted archives): `$MCL_CACHE` when it is set and not empty, else `~/.cache/mcl`; each cache is a folder under
that root. Atomic writes: a file is written beside its target and renamed over it, so a reader (or a run killed
mid-write) never sees half a file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


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



# Models shipped inside the package: name → what it is (its model card says the rest). `mcl.load(NAME)`,
# `mcl … --run NAME` and `--judge NAME` load them with no training and no network.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
PRETRAINED = {
    "open": "MotionCLIP trained on Bandai-Namco ds-2 (train takes) + DeepMimic (+ mirror images), MiniLM space; "
            "CC BY-NC 4.0, non-commercial use only (MODEL_CARD.md)",
}


def pretrained_path(run: str | os.PathLike, part: str = "") -> Path:
    """The folder `run` names: a shipped model's (`mcl/pretrained/NAME/PART`) when `run` is one of `PRETRAINED` and no
    run or judge of that name is here (a folder `open/` of other files does not hide the shipped `open`), else `run`
    itself (a run dir, a judge folder).

    >>> pretrained_path("open").relative_to(PRETRAINED_DIR).as_posix(), pretrained_path("open", "judge").name
    ('open', 'judge')
    >>> str(pretrained_path("runs/deepmimic-cpu"))
    'runs/deepmimic-cpu'
    """
    local = Path(run)
    if isinstance(run, str) and run in PRETRAINED and not ((local / "checkpoints").is_dir() or
                                                           (local / "judge.json").is_file()):
        return PRETRAINED_DIR / run / part if part else PRETRAINED_DIR / run
    return local


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it over `path` (the parent is created).

    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> atomic_write(d / "a" / "x.txt", lambda tmp: Path(tmp).write_text("hi")); (d / "a" / "x.txt").read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
