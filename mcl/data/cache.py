"""An on-disk cache of parsed motions, for sources that are slow to parse (AMASS: thousands of npz files).

One entry = a safetensors file with every clip's poses and translations end to end, and a JSON file beside it with
each clip's frame rate, texts, segments, labels and source, plus the skip report of the run that built it. The JSON
is written last, so an interrupted write is simply rebuilt. The entry's name is a hash of everything the result
depends on (file paths, sizes and times, options, the skeleton), so a changed input never reads a stale entry.
Lives under `$MCL_CACHE/motions` (default `~/.cache/mcl/motions`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..body.skeleton import load_skeleton
from ..paths import cache_root
from .errors import SkipReport
from .motion import Motion, Segment

FORMAT_VERSION = 1


def motion_cache_dir() -> Path:
    """`$MCL_CACHE/motions`, else `~/.cache/mcl/motions`. Example: `motion_cache_dir().name == 'motions'`."""
    return cache_root() / "motions"


def cache_key(**parts) -> str:
    """A short hash (16 hex digits) of JSON-able `parts`. Example: `cache_key(split="val", fps=30.0)`."""
    text = json.dumps(dict(parts, format=FORMAT_VERSION), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def file_stamp(path: str | os.PathLike) -> tuple[str, int, int]:
    """`(path, size, mtime_ns)`: what a cache key records about an input file."""
    st = os.stat(path)
    return str(path), st.st_size, st.st_mtime_ns


def code_stamp(*modules: str) -> str:
    """A hash of the named `mcl.data` module files and the skeleton's rest joints: parsed clips depend on both.

    Example: `code_stamp("amass.py", "motion.py")`.
    """

    h = hashlib.sha1()
    for name in modules:
        h.update((Path(__file__).parent / name).read_bytes())
    sk = load_skeleton()
    h.update(sk.source.encode() + sk.rest.numpy().tobytes())
    return h.hexdigest()[:16]


def save_motions(path: str | os.PathLike, motions: list[Motion], report: SkipReport | None = None) -> None:
    """Write `motions` (and the skip report) to `path.safetensors` + `path.json`."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "poses": np.concatenate([m.poses for m in motions]) if motions else np.zeros((0, 24, 3), np.float32),
        "trans": np.concatenate([m.trans for m in motions]) if motions else np.zeros((0, 3), np.float32),
        "lengths": np.array([m.num_frames for m in motions], np.int64),
    }
    save_file(tensors, str(path.with_suffix(".safetensors")))
    meta = {"format": FORMAT_VERSION,
            "clips": [{"fps": m.fps, "texts": m.texts, "labels": m.labels, "source": m.source,
                       "segments": [[s.start, s.end, s.text, list(s.actions)] for s in m.segments]} for m in motions],
            "skipped": list(report.skipped) if report is not None else []}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, default=str))
    tmp.replace(path.with_suffix(".json"))


def read_motions(path: str | os.PathLike) -> tuple[list[Motion], SkipReport] | None:
    """The motions and skip report saved at `path`, or None when there is no complete entry."""
    from safetensors.numpy import load_file

    path = Path(path)
    meta_file, data_file = path.with_suffix(".json"), path.with_suffix(".safetensors")
    if not (meta_file.exists() and data_file.exists()):
        return None
    try:
        meta = json.loads(meta_file.read_text())
        arrays = load_file(str(data_file))
    except (OSError, ValueError):  # a damaged entry is rebuilt, not trusted
        return None
    if meta.get("format") != FORMAT_VERSION or len(meta["clips"]) != len(arrays["lengths"]):
        return None
    ends = np.cumsum(arrays["lengths"])
    out = []
    for clip, stop, n in zip(meta["clips"], ends, arrays["lengths"]):
        start = stop - n
        out.append(Motion(arrays["poses"][start:stop], arrays["trans"][start:stop], clip["fps"], texts=clip["texts"],
                          segments=[Segment(a, b, t, tuple(acts)) for a, b, t, acts in clip["segments"]],
                          labels=clip["labels"], source=clip["source"]))
    return out, SkipReport([tuple(x) for x in meta["skipped"]])


def cached_motions(name: str, key: str, build: Callable[[SkipReport], list[Motion]],
                   report: SkipReport | None = None, enabled: bool = True) -> list[Motion]:
    """`build(report)` once; later calls with the same `key` read the result (and its skip report) from disk.

    Example: `cached_motions("amass-val", cache_key(files=stamps, fps=30), lambda r: parse_all(r), report)`.
    """
    report = report if report is not None else SkipReport()
    path = motion_cache_dir() / f"{name}-{key}"
    if enabled:
        hit = read_motions(path)
        if hit is not None:
            report.extend(hit[1])
            return hit[0]
    fresh = SkipReport()
    motions = build(fresh)
    report.extend(fresh)
    if enabled:
        save_motions(path, motions, fresh)
    return motions


def folder_cache_key(kind: str, files: list, modules: tuple[str, ...], **options) -> str:
    """The cache key of a parsed folder of mocap files: the files' stamps, the options (a file-valued option such
    as a rig map or labels CSV by its stamp), the parsing code and the shipped rig tables.

    Example: `folder_cache_key("bvh", files, ("bvh.py", "retarget.py"), rig=None, labels="{action}_{_}")`.
    """
    opts = {k: (file_stamp(v) if isinstance(v, (str, Path)) and Path(v).is_file() else v) for k, v in options.items()}
    rigs = sorted((Path(__file__).parent / "rigs").glob("*.json"))
    return cache_key(kind=kind, files=[file_stamp(f) for f in files], options=opts, code=code_stamp(*modules),
                     rigs=hashlib.sha1(b"".join(p.read_bytes() for p in rigs)).hexdigest())
