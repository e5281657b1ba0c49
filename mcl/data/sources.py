"""The source registry: data-spec strings → motions. Used by `mcl data`, `mcl train --data`, `mcl eval --data`.

A spec is `SOURCE[:PATH][?KEY=VALUE&KEY=VALUE]`:

    deepmimic                                 the 15 DeepMimic clips that ship with pybullet (the default data)
    deepmimic?clips=walk,run                  some of them
    synthetic?n=16&frames=240&seed=0          SYNTHETIC swings, for tests only (never training or demo data)
    bandai  |  bandai:PATH?limit=100&contents=walk,run&styles=elderly&split=train|test|all
                                              Bandai-Namco ds-2 (the shared archive by default, or PATH); split=
                                              one side of the published held-out split by take id (default all)
    amass:AMASS_ROOT?babel=BABEL_DIR&split=val&fps=30
                                              AMASS with BABEL labels (without babel=: unlabelled AMASS files);
                                              fps=30 resamples while loading (all of AMASS at 120 fps is GBs),
                                              cache=0 skips the on-disk cache of parsed clips
    official-amass:FILE?trust=1&split=vald     the official MotionCLIP's parsed AMASS (amass_db/*.pt: pickles, loaded
                                              only with trust=1) or its .npz from `mcl convert-official-amass`
    bvh:FOLDER?labels=PATTERN_OR_CSV&rig=bandai|cmu|mixamo|MAP.json&caption=TEMPLATE&cache=0
    asf:FOLDER?labels=PATTERN_OR_CSV&rig=cmu&fps=120&skeleton=FILE.asf&caption=TEMPLATE&cache=0
                                              BVH / ASF-AMC folders (CMU, HDM05: 120 fps); relative labels/rig
                                              files are looked up in FOLDER first; parsed clips are cached

Every source also takes `mirror=1` (add each clip's left-right mirror image, captions' left/right swapped;
`mirror=only`: the mirror images alone) and
`repeat=N` (each clip N times: oversample a small source in a union, e.g.
`bandai?split=train + deepmimic?mirror=1&repeat=20`); copies are named `NAME #k`.

`amass` without a path uses `$MCL_AMASS_DIR` and, without `babel=`, `$MCL_BABEL_DIR` when set. Loaders return clips
at their native frame rate; `make_windows` resamples to 30 fps.
Example: `motions = load("deepmimic")`; `ws = make_windows(motions)`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote, unquote

from . import amass, asf_amc, bandai, bvh, deepmimic, official_amass, synthetic  # the adapters, called as module.fn
from .errors import DataError, SkipReport
from .motion import Motion, mirror_motion
from .screen import screen_motions


@dataclass
class DataSpec:
    """A parsed data spec: `source`, optional `path`, string `options`. `str(spec)` gives the spec string back.

    >>> spec = parse_spec("amass:/data/amass?babel=/data/babel&split=val"); spec.options["split"]
    'val'
    >>> str(spec)
    'amass:/data/amass?babel=/data/babel&split=val'
    """
    source: str
    path: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        s = self.source + (f":{self.path}" if self.path else "")
        if self.options:
            s += "?" + "&".join(f"{k}={quote(v, safe='/:,{}.~_-')}" for k, v in self.options.items())
        return s

    def list_option(self, key: str) -> list[str] | None:
        """A comma-separated option as a list (`clips=walk,run` → `["walk", "run"]`), None when absent."""
        v = self.options.get(key)
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    def int_option(self, key: str, default: int | None) -> int | None:
        v = self.options.get(key)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise DataError(f"data spec '{self}'", f"option {key}={v!r} is not a whole number") from None


@dataclass(frozen=True)
class SourceInfo:
    """One registered source: whether it can be loaded here, why (or why not), and what it is."""
    name: str
    available: bool
    why: str
    description: str


@dataclass(frozen=True)
class _Source:
    description: str
    usage: str
    options: tuple[str, ...]
    path: str  # "none" | "optional" | "required"
    load: Callable[[DataSpec, SkipReport, bool], list[Motion]]
    status: Callable[[], tuple[bool, str]]


# --- loaders (imports inside, so a missing optional module only affects its own source) -----------------------------
def _load_deepmimic(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    return deepmimic.load_deepmimic(spec.list_option("clips"), report=report, progress=progress)


def _load_synthetic(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    return synthetic.synthetic_dataset(spec.int_option("n", 16), frames=spec.int_option("frames", 240),
                             seed=spec.int_option("seed", 0))


def _load_bandai(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    return bandai.load_bandai(spec.path, report=report, limit=spec.int_option("limit", None),
                       contents=spec.list_option("contents"), styles=spec.list_option("styles"),
                       split=spec.options.get("split") or "all")


def _load_amass(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    root = spec.path or os.environ.get("MCL_AMASS_DIR")
    if not root:
        raise DataError(f"data spec '{spec}'", "no AMASS folder given",
                        "write amass:AMASS_ROOT?babel=BABEL_DIR&split=train (or set MCL_AMASS_DIR)")
    babel = spec.options.get("babel") or os.environ.get("MCL_BABEL_DIR")
    fps = spec.options.get("fps")
    try:
        kw = {"fps": float(fps) if fps else None, "cache": spec.options.get("cache", "1") not in ("0", "no", "false")}
    except ValueError:
        raise DataError(f"data spec '{spec}'", f"option fps={fps!r} is not a number") from None
    if babel:
        return amass.load_amass_babel(root, babel, spec.options.get("split", "train"), report=report, progress=progress,
                                **kw)
    if "split" in spec.options:
        raise DataError(f"data spec '{spec}'", "split= needs BABEL labels",
                        "add babel=BABEL_DIR (or set MCL_BABEL_DIR)")
    return amass.load_amass_folder(root, report=report, progress=progress, **kw)


def _load_official_amass(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    return official_amass.load_official_amass(spec.path, trust=_flag(spec, "trust", default=False),
                               split=spec.options.get("split"), report=report)


def _flag(spec: DataSpec, key: str, default: bool = True) -> bool:
    v = spec.options.get(key)
    if v is None or v == "":
        return default
    if v.lower() in ("1", "yes", "true", "on"):
        return True
    if v.lower() in ("0", "no", "false", "off"):
        return False
    raise DataError(f"data spec '{spec}'", f"option {key}={v!r} is not 1/0 (yes/no)")


def _load_bvh(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    return bvh.load_bvh_folder(spec.path, rig=spec.options.get("rig"), labels=spec.options.get("labels"), report=report,
                           caption=spec.options.get("caption"), quiet=not progress, cache=_flag(spec, "cache"))


def _load_asf(spec: DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    fps = spec.options.get("fps")
    try:
        kw = {"fps": float(fps)} if fps else {}
    except ValueError:
        raise DataError(f"data spec '{spec}'", f"option fps={fps!r} is not a number") from None
    return asf_amc.load_asf_amc_folder(spec.path, rig=spec.options.get("rig"), labels=spec.options.get("labels"),
                               report=report, skeleton=spec.options.get("skeleton"),
                               caption=spec.options.get("caption"), quiet=not progress, cache=_flag(spec, "cache"),
                               **kw)


# --- availability ---------------------------------------------------------------------------------------------------
def _deepmimic_status() -> tuple[bool, str]:
    try:
        files = deepmimic.deepmimic_files()
    except (ImportError, DataError) as e:
        return False, str(e)
    missing = [n for n, f in files.items() if not f.exists()]
    if missing:
        return False, f"pybullet_data lacks {', '.join(missing)}: reinstall pybullet"
    return True, f"{len(files)} clips in {next(iter(files.values())).parent}"


def _bandai_status() -> tuple[bool, str]:
    p = bandai.default_bandai_path()
    if p is None or not p.exists():
        return False, "archive not found: pass bandai:PATH or set MCL_BANDAI"
    return True, f"found {p}"


def _amass_status() -> tuple[bool, str]:
    root, babel = os.environ.get("MCL_AMASS_DIR"), os.environ.get("MCL_BABEL_DIR")
    if root and Path(root).expanduser().is_dir():
        return True, f"MCL_AMASS_DIR={root}" + (f", MCL_BABEL_DIR={babel}" if babel else " (no BABEL labels)")
    return False, ("needs a path: amass:AMASS_ROOT?babel=BABEL_DIR (AMASS and BABEL are downloaded after registering "
                   "at amass.is.tue.mpg.de and babel.is.tue.mpg.de)")


SOURCES: dict[str, _Source] = {
    "deepmimic": _Source("the 15 DeepMimic mocap clips shipped with pybullet (walk, run, cartwheel, …)",
                         "deepmimic[?clips=walk,run]", ("clips",), "none", _load_deepmimic, _deepmimic_status),
    "synthetic": _Source("SYNTHETIC random joint swings — for unit tests only, not mocap",
                         "synthetic[?n=16&frames=240&seed=0]", ("n", "frames", "seed"), "none", _load_synthetic,
                         lambda: (True, "generated on the fly (tests only)")),
    "bandai": _Source("Bandai-Namco ds-2: 2,902 BVH clips, 10 actions × 7 styles, with captions (CC BY-NC 4.0)",
                      "bandai[:PATH][?limit=N&contents=walk,run&styles=elderly&split=train|test|all]",
                      ("limit", "contents", "styles", "split"),
                      "optional", _load_bandai, _bandai_status),
    "amass": _Source("AMASS SMPL-H mocap with BABEL action labels (the paper's training data)",
                     "amass:AMASS_ROOT[?babel=BABEL_DIR&split=train|val&fps=30&cache=0]",
                     ("babel", "split", "fps", "cache"), "optional",
                     _load_amass, _amass_status),
    "bvh": _Source("a folder of BVH files, labels from file names or a CSV",
                   "bvh:FOLDER[?labels=PATTERN_OR_CSV&rig=bandai|cmu|mixamo|MAP.json&caption=TEMPLATE&cache=0]",
                   ("labels", "rig", "caption", "cache"),
                   "required", _load_bvh, lambda: (True, "needs a folder: bvh:FOLDER")),
    "asf": _Source("a folder of ASF/AMC files (CMU, HDM05: ASF per subject or per trial), labels from names or a CSV",
                   "asf:FOLDER[?labels=PATTERN_OR_CSV&rig=cmu&fps=120&skeleton=FILE.asf&caption=TEMPLATE&cache=0]",
                   ("labels", "rig", "fps", "skeleton", "caption", "cache"), "required",
                   _load_asf,
                   lambda: (True, "needs a folder: asf:FOLDER")),
    "official-amass": _Source("the official MotionCLIP's parsed AMASS + BABEL (data/amass_db/*.pt from its "
                              "amass_parser.py; pickles: refused unless trust=1, or convert once to .npz)",
                              "official-amass:FILE[?trust=1&split=train|vald|test]", ("trust", "split"), "required",
                              _load_official_amass,
                              lambda: (True, "needs a file: official-amass:amass_30fps_vald.npz (or .pt?trust=1)")),
}

_SPEC = re.compile(r"^(?P<source>[A-Za-z_][\w-]*)(?::(?P<path>[^?]*))?(?:\?(?P<query>.*))?$")


COMMON_OPTIONS = ("mirror", "repeat")  # taken by every source (see `_augment`)
UNION = " + "  # joins several specs in one string (`mcl train --data "bandai?split=train + deepmimic"`)


def parse_spec(spec: str | DataSpec) -> DataSpec:
    """Parse `SOURCE[:PATH][?KEY=VALUE&…]` (see the module docstring) and check the source and its options.

    Example: `parse_spec("bvh:~/mocap?labels={action}_{_}&rig=cmu")` →
    `DataSpec(source='bvh', path='/home/me/mocap', options={'labels': '{action}_{_}', 'rig': 'cmu'})`.

    >>> parse_spec("bvh:/mocap?labels={action}_{_}&rig=cmu")
    DataSpec(source='bvh', path='/mocap', options={'labels': '{action}_{_}', 'rig': 'cmu'})
    >>> parse_spec("deepmimic:/x")
    Traceback (most recent call last):
    ...
    mcl.data.errors.DataError: data spec 'deepmimic:/x': deepmimic takes no path ...
    """
    if isinstance(spec, DataSpec):
        return spec
    text = str(spec).strip()
    if UNION in text:
        raise DataError(f"data spec '{text}'", "several specs joined by ' + '",
                        "mcl train/eval and mcl.data.load take them; this command reads one spec at a time")
    m = _SPEC.match(text)
    if not m:
        raise DataError(f"data spec '{text}'", "not of the form SOURCE[:PATH][?KEY=VALUE&...]",
                        f"e.g. deepmimic, or one of: {_usages()}")
    name = m["source"].lower()
    if name not in SOURCES:
        raise DataError(f"data spec '{text}'", f"unknown source '{name}'", f"known sources: {', '.join(SOURCES)}")
    src = SOURCES[name]
    path = (m["path"] or "").strip() or None
    if path is not None:
        if src.path == "none":
            raise DataError(f"data spec '{text}'", f"{name} takes no path", f"write {src.usage}")
        path = str(Path(path).expanduser())
    options: dict[str, str] = {}
    for item in filter(None, (m["query"] or "").split("&")):
        key, _, value = item.partition("=")
        key, value = unquote(key).strip(), unquote(value)  # not unquote_plus: "+" may be part of a path
        if key in options:
            raise DataError(f"data spec '{text}'", f"option '{key}' given twice")
        if key not in src.options + COMMON_OPTIONS:
            allowed = ", ".join(src.options + COMMON_OPTIONS)
            raise DataError(f"data spec '{text}'", f"unknown option '{key}' for {name}", f"options: {allowed}")
        options[key] = value
    for key in ("babel", "labels"):
        if key in options and ("/" in options[key] or options[key].startswith("~")):
            options[key] = str(Path(options[key]).expanduser())
    if src.path == "required" and path is None:
        raise DataError(f"data spec '{text}'", f"{name} needs a folder", f"write {src.usage}")
    return DataSpec(name, path, options)


def _usages() -> str:
    return "; ".join(s.usage for s in SOURCES.values())


def load(spec: str | DataSpec | Iterable[str | DataSpec], report: SkipReport | None = None,
         progress: bool = True, required: bool = False) -> list[Motion]:
    """Motions of one data spec (or several, concatenated), at their native frame rates.

    Several specs: a list, or one string joined by `" + "` (spaces around the plus, so that a `+` inside a path or an
    option stays what it is) — the form `mcl train --data` and `TrainConfig.data` take, e.g.
    `"bandai?split=train + deepmimic"`.

    Skipped items (unreadable files, unlabelled clips, BABEL entries without AMASS files) are added to `report`.
    `required=True` (training, evaluation) raises DataError with the skip report — what each file lacked and how to
    fix it — when the spec gives no motion.
    Example: `r = SkipReport(); ms = load("deepmimic", report=r)`; `load(["deepmimic", "bandai?limit=50"])`.

    >>> ms = load("synthetic", progress=False); len(ms), ms[0].source["dataset"]
    (16, 'synthetic')
    >>> len(load("synthetic?n=2 + synthetic?n=3", progress=False))
    5
    """
    report = report if report is not None else SkipReport()
    if isinstance(spec, str) and UNION in spec:
        spec = [s.strip() for s in spec.split(UNION)]
        if not all(spec):
            raise DataError(f"data spec '{UNION.join(spec)}'", "an empty spec between or around ' + '",
                            "write SPEC + SPEC, e.g. bandai?split=train + deepmimic")
    if not isinstance(spec, (str, DataSpec)):
        motions = [m for s in spec for m in load(s, report=report, progress=progress)]
    else:
        motions = _load_one(spec, report, progress)
    if required and not motions:
        raise DataError(f"data spec '{spec}'", "gave no motions" + (f"\n{report.summary(limit=3)}" if len(report) else
                                                                    ": no files found"))
    return motions


def _load_one(spec: str | DataSpec, report: SkipReport, progress: bool) -> list[Motion]:
    parsed = parse_spec(spec)
    if parsed.path is not None and not Path(parsed.path).exists():
        raise DataError(f"data spec '{spec}'", f"{parsed.path} does not exist", "check the path")
    return _augment(parsed, screen_motions(SOURCES[parsed.source].load(parsed, report, progress), report))  # finite in


def _augment(spec: DataSpec, motions: list[Motion]) -> list[Motion]:
    """The common options: `mirror=1` appends every clip's mirror image (`mirror=only`: replaces the clip by it),
    then `repeat=N` gives each clip N times
    (copies after the first named `NAME #2`, `#3`, … so that names stay unique).

    >>> ms = _augment(parse_spec("synthetic?mirror=1&repeat=2"), load("synthetic?n=2", progress=False))
    >>> [m.name for m in ms][::3]
    ['synthetic-0', 'synthetic-1 (mirrored)', 'synthetic-0 (mirrored) #2']
    """
    mirror = spec.options.get("mirror", "0")
    if mirror not in ("0", "1", "only"):
        raise DataError(f"data spec '{spec}'", f"option mirror={mirror!r}",
                        "write mirror=1 (add mirror images), mirror=only (the mirror images instead) or mirror=0")
    if mirror == "only":
        motions = [mirror_motion(m) for m in motions]
    repeat = spec.int_option("repeat", 1)
    if repeat < 1:
        raise DataError(f"data spec '{spec}'", f"option repeat={repeat}", "write repeat=N with N ≥ 1")
    if mirror == "1":
        motions = motions + [mirror_motion(m) for m in motions]
    copies = [m.replace(source=dict(m.source, name=f"{m.name} #{k + 1}")) for k in range(1, repeat) for m in motions]
    return motions + copies


def list_sources() -> list[SourceInfo]:
    """Every registered source with whether it can be loaded on this machine and why (or why not).

    >>> [(s.name, s.available) for s in list_sources()][:2]
    [('deepmimic', True), ('synthetic', True)]
    """
    out = []
    for name, src in SOURCES.items():
        try:
            ok, why = src.status()
        except Exception as e:  # a broken optional source must not hide the others
            ok, why = False, f"status check failed: {e}"
        out.append(SourceInfo(name, ok, why, f"{src.description}. Spec: {src.usage}"))
    return out
