"""Bandai-Namco-Research-Motiondataset-2: 2,902 BVH clips (30 fps, 22-joint rig in cm) of 10 contents × 7 styles.

Files are named `dataset-2_{content}_{style}_{id}.bvh` with a JSON `{"content": i, "style": j}` beside each (indices
into `cfg/content_label.txt` and `cfg/style_label.txt`). Each clip becomes an SMPL-24 `Motion` (rig table
`rigs/bandai.json`) with `labels = {"content", "style", "id"}` and several natural captions in `texts`.
The dataset is licensed CC BY-NC 4.0 (Bandai Namco Research): non-commercial use, with attribution.

Held-out split. `bandai_split.json` (beside this module, shipped with mcl) publishes a FIXED split by take id: a take
id (the `{id}` of the file name, 001–104) is a test id when `int(sha256(id).hexdigest()[:8], 16) / 16**8 < 0.2`
(`split_rule`), and a test id is held out in every (content, style) pair, so no take is on both sides: 20 of the
104 ids, 398 of the 2,902 clips. `load_bandai(split="train" | "test")` (spec `bandai?split=test`) reads one side;
the default `"all"` reads every clip.

Example:
    from mcl.data.bandai import load_bandai
    walks = load_bandai(contents=["walk"], styles=["elderly"], limit=5)
    held_out = load_bandai(split="test")
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tarfile
from pathlib import Path

import mcl

from ..body.skeleton import load_skeleton
from ..paths import cache_root
from .bvh import load_bvh
from .cache import cache_key, cached_motions, file_stamp
from .errors import DataError, SkipReport
from .labels import bandai_captions, load_folder
from .motion import Motion

__all__ = ["CONTENTS", "STYLES", "ARCHIVE_NAME", "SPLITS", "SPLIT_FILE", "default_bandai_path", "bandai_cache_dir",
           "extract_bandai", "load_bandai", "split_rule", "make_split", "published_split", "split_of"]

CONTENTS = ("walk", "walk-turn-left", "walk-turn-right", "run", "wave-both-hands", "wave-left-hand",
            "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand")
STYLES = ("active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful")
ARCHIVE_NAME = "bandai-namco-ds2.tar.xz"
PATTERN = "dataset-2_{content}_{style}_{id}"
SPLITS = ("all", "train", "test")
SPLIT_FILE = Path(__file__).with_name("bandai_split.json")
TEST_FRACTION = 0.2


def split_rule(take_id: str, test_fraction: float = TEST_FRACTION) -> bool:
    """True when `take_id` (e.g. "010") is held out: the first 8 hex digits of sha256(id), read as a fraction of
    16**8, fall below `test_fraction`. The rule `bandai_split.json` was made with (and bench/bandai_eval.py used).

    Example: `split_rule("010")` → True, `split_rule("001")` → False.
    """
    return int(hashlib.sha256(take_id.encode()).hexdigest()[:8], 16) / 16 ** 8 < test_fraction


def make_split(take_ids, test_fraction: float = TEST_FRACTION) -> dict:
    """The content of `bandai_split.json` for these take ids (how the published file was made).

    Example: `make_split([f"{i:03d}" for i in range(1, 105)])["test_ids"][:3]` → `['010', '015', '023']`.
    """
    ids = sorted(set(take_ids))
    test = [i for i in ids if split_rule(i, test_fraction)]
    return {
        "dataset": "Bandai-Namco-Research-Motiondataset-2 (ds-2), files dataset-2_{content}_{style}_{id}.bvh",
        "how": f"a take id is a test id when int(sha256(id.encode()).hexdigest()[:8], 16) / 16**8 < {test_fraction} "
               "(mcl.data.bandai.split_rule); a test id is held out in every (content, style) pair, so no take "
               "is on both sides. Made with mcl.data.bandai.make_split over the ids found in the archive.",
        "test_fraction": test_fraction,
        "test_ids": test,
        "train_ids": [i for i in ids if i not in test],
    }


def published_split(path: str | os.PathLike | None = None) -> dict[str, frozenset[str]]:
    """`{"train": ids, "test": ids}` from the published `bandai_split.json` (or `path`), checked: no id on both sides.

    Example: `len(published_split()["test"])` → 20.
    """
    return _read_split(str(Path(path) if path is not None else SPLIT_FILE))


@functools.lru_cache(maxsize=8)
def _read_split(path: str) -> dict[str, frozenset[str]]:
    try:
        d = json.loads(Path(path).read_text())
        test, train = frozenset(map(str, d["test_ids"])), frozenset(map(str, d["train_ids"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(path, f"unreadable split file ({e!r})",
                        'expected {"test_ids": [...], "train_ids": [...]} (reinstall mcl)') from None
    both = sorted(test & train)
    if both:
        raise DataError(path, f"take ids on both sides of the split: {both}", "reinstall mcl")
    return {"train": train, "test": test}


def split_of(take_id: str) -> str:
    """"test" or "train" for a take id: the published list, or for an id it does not name, the same `split_rule`.

    Example: `split_of("010")` → "test".
    """
    sp = published_split()
    if take_id in sp["test"]:
        return "test"
    if take_id in sp["train"]:
        return "train"
    return "test" if split_rule(take_id) else "train"


def default_bandai_path() -> Path | None:
    """`$MCL_BANDAI` if set, else `../shared/data/bandai-namco-ds2.tar.xz` beside the repository, else None.

    Example: `p = default_bandai_path(); print(p or "Bandai-Namco ds-2 not available")`.
    """
    env = os.environ.get("MCL_BANDAI")
    if env:
        return Path(env).expanduser()

    p = Path(mcl.__file__).resolve().parents[2] / "shared" / "data" / ARCHIVE_NAME
    return p if p.exists() else None


def bandai_cache_dir() -> Path:
    """Where archives are extracted: `$MCL_CACHE/bandai-ds2` (default `~/.cache/mcl/bandai-ds2`)."""
    return cache_root() / "bandai-ds2"


def extract_bandai(archive: str | os.PathLike, cache: str | os.PathLike | None = None) -> Path:
    """Extract the `.tar.xz` once into a cache folder keyed by the archive's size and mtime; return that folder.

    A `.complete` marker is written last, so an interrupted extraction is redone. Shows a progress bar.
    Example: `folder = extract_bandai("../shared/data/bandai-namco-ds2.tar.xz")`.
    """
    from tqdm.auto import tqdm

    archive = Path(archive)
    st = archive.stat()
    target = Path(cache or bandai_cache_dir()) / f"{st.st_size}-{int(st.st_mtime)}"
    if (target / ".complete").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in tqdm(members, desc=f"extracting {archive.name}", unit="file", leave=False):
                tar.extract(member, target, filter="data")  # "data" refuses absolute paths and links out of target
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(archive, f"cannot extract the archive ({e})",
                        "check the file is the complete bandai-namco-ds2.tar.xz") from None
    (target / ".complete").write_text(str(archive))
    return target


def _code_key() -> str:
    """What a retargeted clip depends on besides its file: the parser/retarget code, the rig table, the skeleton."""

    here = Path(__file__).parent
    h = hashlib.sha1()
    for f in (here / "bvh.py", here / "retarget.py", here / "labels.py", here / "rigs" / "bandai.json"):
        h.update(f.read_bytes())
    sk = load_skeleton()
    h.update(sk.source.encode())
    h.update(sk.rest.numpy().tobytes())
    return h.hexdigest()[:16]


def _data_root(path: Path) -> Path:
    """The folder that holds `data/` and `cfg/` (the archive may or may not wrap them in a top folder)."""
    for cand in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        if (cand / "data").is_dir():
            return cand
    raise DataError(path, "no 'data/' folder with the BVH files found",
                    "pass the extracted Bandai-Namco ds-2 folder or its .tar.xz")


def _label_list(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    return [ln.strip().removeprefix("dataset-2_") for ln in path.read_text().splitlines() if ln.strip()]


def load_bandai(path: str | os.PathLike | None = None, report: SkipReport | None = None, limit: int | None = None,
                contents: list[str] | tuple[str, ...] | None = None,
                styles: list[str] | tuple[str, ...] | None = None, cache: bool = True,
                split: str = "all") -> list[Motion]:
    """Bandai-Namco ds-2 clips as SMPL-24 motions at 30 fps, with labels and captions.

    `path`: the extracted folder or the `.tar.xz` (extracted once into `bandai_cache_dir()`); None =
    `default_bandai_path()`. `contents` / `styles` filter by name (see `CONTENTS`, `STYLES`); `split`: "all"
    (default), or "train" / "test", the sides of the published held-out split by take id (`split_of`); `limit` keeps
    the first n matching files (sorted by name). A file whose name disagrees with its JSON is skipped and reported.
    `cache`: keep the result in the motion cache (`mcl.data.cache`), keyed by the selected files (path, size,
    mtime), the parser/retarget code, the rig table and the SMPL skeleton, so a second load reads one file.
    Example: `ms = load_bandai(limit=3); ms[0].labels, ms[0].texts[:2]`.
    """
    path = Path(path).expanduser() if path is not None else default_bandai_path()
    if path is None:
        raise DataError("Bandai-Namco ds-2", "dataset not found",
                        f"pass path=, set MCL_BANDAI, or put {ARCHIVE_NAME} in ../shared/data/")
    if not path.exists():
        raise DataError(path, "no such file or folder", "pass the extracted folder or the .tar.xz")
    root = _data_root(extract_bandai(path) if path.is_file() else path)
    if split not in SPLITS:
        raise DataError(f"Bandai-Namco ds-2 split={split!r}", "unknown split", f"choose from {', '.join(SPLITS)}")
    for name, given, known in (("content", contents, CONTENTS), ("style", styles, STYLES)):
        bad = sorted(set(given or ()) - set(known))
        if bad:
            raise DataError(root, f"unknown {name}(s) {bad}", f"choose from {', '.join(known)}")
    content_names = _label_list(root / "cfg" / "content_label.txt") or list(CONTENTS)
    style_names = _label_list(root / "cfg" / "style_label.txt") or list(STYLES)

    report = report if report is not None else SkipReport()
    files = []
    for f in sorted((root / "data").glob("*.bvh")):
        parts = f.stem.split("_")
        if len(parts) == 4 and (contents is None or parts[1] in contents) and (styles is None or parts[2] in styles):
            if split == "all" or split_of(parts[3]) == split:
                files.append(f)
        elif len(parts) != 4:
            report.add(f, f"file name does not match '{PATTERN}'")
    if limit is not None:
        files = files[:limit]

    def load_one(f: Path) -> Motion:
        m = load_bvh(f, rig="bandai")
        meta = f.with_suffix(".json")
        if meta.exists():
            try:
                ids = json.loads(meta.read_text())
                named = (content_names[ids["content"]], style_names[ids["style"]])
            except (ValueError, KeyError, IndexError, TypeError) as e:
                raise DataError(meta, f"unreadable labels ({e!r})", 'expected {"content": i, "style": j}') from None
            if named != (f.stem.split("_")[1], f.stem.split("_")[2]):
                raise DataError(meta, f"labels {named} disagree with the file name", "the file may be misnamed")
            m.labels.update(content_id=int(ids["content"]), style_id=int(ids["style"]))
        m.source.update(dataset="bandai-namco-ds2", license="CC BY-NC 4.0")
        return m

    def build(rep: SkipReport) -> list[Motion]:
        motions = load_folder(files, load_one, labels=PATTERN, report=rep, what="Bandai-Namco ds-2 clips",
                              folder=root / "data", caption=False)
        for m in motions:
            m.texts = bandai_captions(m.labels["content"], m.labels["style"]) + m.texts
        return motions

    key = cache_key(files=[file_stamp(f) for f in files], code=_code_key())
    return cached_motions("bandai-ds2", key, build, report, enabled=cache)
