"""Labels for file-based sources: from a file-name pattern or a CSV, and natural captions for Bandai-Namco labels.

- Pattern: `"dataset-2_{content}_{style}_{id}"` matched against the file name without extension; `{name}` fields
  become `Motion.labels`, `{_}` ignores a part. A file that does not match is skipped and reported.
- CSV: a `file` column and any label columns, `text` optional (`file,content,style` is enough for recognition);
  `file` is the file name (with or without extension) or a path relative to the data folder; several rows for one
  file give several texts; the other columns become labels. A relative CSV path is looked up in the data folder
  first, then the working directory.
- Captions: a clip with labels but no text gets `caption_template.format(**labels)` (spec option `caption=`),
  else its label values joined (`walk elderly`), `_`/`-` read as spaces.
- Captions: `bandai_captions("walk", "elderly")` → several natural sentences that keep the style word.
"""
from __future__ import annotations

import csv
import os
import re
import warnings
from pathlib import Path
from typing import Callable, Iterable

from .errors import DataError, SkipReport
from .motion import Motion
from .retarget import RetargetWarning

__all__ = ["pattern_regex", "labels_from_name", "read_labels_csv", "LabelSource", "load_folder", "bandai_captions",
           "in_data_folder", "caption_from_labels"]


def pattern_regex(pattern: str) -> re.Pattern:
    """Compile a file-name pattern: `{field}` → a named group, `{_}` → an ignored part, the rest literal.

    Example: `pattern_regex("{subject}_{_}_{take}").fullmatch("07_walk_01").groupdict()` →
    `{'subject': '07', 'take': '01'}`.
    """
    parts = re.split(r"(\{[^{}]*\})", pattern)
    out, seen = [], set()
    for p in parts:
        if p.startswith("{") and p.endswith("}"):
            name = p[1:-1].strip()
            if name in ("", "_"):
                out.append(r".+?")
            elif not name.isidentifier():
                raise ValueError(f"label pattern {pattern!r}: field {p} must be a Python identifier or {{_}}")
            elif name in seen:
                raise ValueError(f"label pattern {pattern!r}: field {p} appears twice")
            else:
                seen.add(name)
                out.append(f"(?P<{name}>.+?)")
        else:
            out.append(re.escape(p))
    return re.compile("".join(out))


def labels_from_name(path: str | os.PathLike, pattern: str | re.Pattern) -> dict[str, str] | None:
    """The pattern's fields from a file name (extension dropped), or None when it does not match.

    Example: `labels_from_name("dataset-2_walk_elderly_003.bvh", "dataset-2_{content}_{style}_{id}")` →
    `{'content': 'walk', 'style': 'elderly', 'id': '003'}`.
    """
    rx = pattern if isinstance(pattern, re.Pattern) else pattern_regex(pattern)
    m = rx.fullmatch(Path(path).stem)
    return m.groupdict() if m else None


def read_labels_csv(path: str | os.PathLike) -> dict[str, tuple[list[str], dict[str, str]]]:
    """`file → (texts, labels)` from a CSV with a header `file[,text][,label columns]`.

    Example: a row `walk01.bvh,a person walks slowly,walk` under `file,text,action` gives
    `{"walk01.bvh": (["a person walks slowly"], {"action": "walk"})}`.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            if "file" not in cols or len(cols) < 2:
                raise DataError(path, f"labels CSV has columns {cols}, needs 'file' and a text or label column",
                                "write a header line such as 'file,text' or 'file,action,style' (columns other "
                                "than file and text become labels)")
            out: dict[str, tuple[list[str], dict[str, str]]] = {}
            for no, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                if not row["file"]:
                    raise DataError(path, f"line {no}: empty 'file' value")
                texts, labels = out.setdefault(row["file"], ([], {}))
                if row.get("text") and row["text"] not in texts:
                    texts.append(row["text"])
                labels.update({k: v for k, v in row.items() if k not in ("file", "text") and k and v})
            return out
    except OSError as e:
        raise DataError(path, f"cannot read the labels CSV ({e.strerror})", "check the path") from None


class LabelSource:
    """Labels for files of one folder from `spec`: None, a file-name pattern, or a CSV path (ends in `.csv`).

    `caption`: template for clips with labels and no text (None: the labels joined; False: leave texts empty).
    `apply(file, motion)` sets `motion.labels`/`texts` and returns True, or returns False with the reason in
    `self.last_reason` when the file has no labels. Example: `LabelSource("{subject}_{take}", folder)`.
    """

    def __init__(self, spec: str | os.PathLike | None, folder: str | os.PathLike | None = None,
                 caption: str | bool | None = None):
        self.spec, self.folder, self.caption = spec, Path(folder) if folder else None, caption
        self.rx = self.table = None
        self.used: set[str] = set()
        self.last_reason = ""
        if spec is None:
            return
        if str(spec).lower().endswith(".csv"):
            self.spec = in_data_folder(spec, self.folder)
            self.table = read_labels_csv(self.spec)
        else:
            self.rx = pattern_regex(str(spec))

    def _csv_row(self, file: Path):
        keys = [file.name, file.stem]
        if self.folder is not None:
            try:
                rel = file.relative_to(self.folder)
                keys += [rel.as_posix(), rel.with_suffix("").as_posix()]
            except ValueError:
                pass
        texts: list[str] = []
        labels: dict[str, str] = {}
        found = False
        for k in dict.fromkeys(keys):  # rows may name the file with or without extension: merge them all
            if k in self.table:
                self.used.add(k)
                found = True
                texts += [t for t in self.table[k][0] if t not in texts]
                labels.update(self.table[k][1])
        return (texts, labels) if found else None

    def apply(self, file: str | os.PathLike, motion: Motion) -> bool:
        file = Path(file)
        if self.rx is not None:
            fields = labels_from_name(file, self.rx)
            if fields is None:
                self.last_reason = f"file name does not match the label pattern '{self.spec}'"
                return False
            motion.labels.update(fields)
        elif self.table is not None:
            row = self._csv_row(file)
            if row is None:
                self.last_reason = f"no row in labels CSV {Path(self.spec).name}"
                return False
            texts, labels = row
            motion.texts = list(texts) + [t for t in motion.texts if t not in texts]
            motion.labels.update(labels)
        if not motion.texts and motion.labels and self.caption is not False:
            motion.texts = [caption_from_labels(motion.labels, self.caption)]
        return True

    def unused_rows(self) -> list[str]:
        """CSV rows that named no file that was loaded."""
        return sorted(set(self.table) - self.used) if self.table is not None else []


def in_data_folder(path: str | os.PathLike, folder: str | os.PathLike | None) -> Path:
    """A relative path named in a data spec (`labels=x.csv`, `rig=map.json`): the data folder's file when it has
    one, else as given (the working directory). Example: `in_data_folder("labels.csv", "mocap/")`."""
    p = Path(path).expanduser()
    if not p.is_absolute() and folder is not None and (Path(folder) / p).exists():
        return Path(folder) / p
    return p


def caption_from_labels(labels: dict, template: str | None = None) -> str:
    """A caption for a clip with labels and no text: `template.format(**labels)`, else the label values joined.

    Example: `caption_from_labels({"content": "walk", "style": "old"}, "a {style} person {content}s")` →
    `'a old person walks'`; `caption_from_labels({"action": "pick_up"})` → `'pick up'`.
    """
    if template:
        try:
            return template.format(**labels)
        except (KeyError, IndexError, ValueError) as e:
            raise DataError(f"caption template {template!r}", f"cannot be filled from the labels {sorted(labels)} "
                                                              f"({e})", "name only label columns in {braces}") from None
    vals = [str(v) for k, v in labels.items() if isinstance(v, str) and k not in ("id", "take", "trial", "file")]
    return " ".join(v.replace("_", " ").replace("-", " ") for v in vals) or " ".join(map(str, labels.values()))


def load_folder(files: Iterable[str | os.PathLike], load: Callable[[Path], Motion],
                labels: str | os.PathLike | None = None, report: SkipReport | None = None,
                what: str = "files", folder: str | os.PathLike | None = None, quiet: bool = False,
                caption: str | bool | None = None) -> list[Motion]:
    """Load each file with `load`, attach labels, skip and count failures; a tqdm progress bar runs over the files.

    Parse errors (`DataError`, with the hint that says what to do) and unlabelled files are added to `report` with
    their reason and the count is printed; retargeting warnings (upside down, under the floor) are counted and
    printed once per kind. Example: `load_folder(sorted(Path("d").glob("*.bvh")), load_bvh, labels="{action}_{take}")`.
    """
    from tqdm.auto import tqdm

    files = [Path(f) for f in files]
    report = report if report is not None else SkipReport()
    if folder is None and files:
        folder = Path(os.path.commonpath([str(f.parent) for f in files]))
    source = LabelSource(labels, folder, caption)
    n_before = len(report)
    out: list[Motion] = []
    warned: dict[str, list[str]] = {}
    for f in tqdm(files, desc=f"loading {what}", unit="file", disable=quiet or None, leave=False):
        if source.rx is not None and labels_from_name(f, source.rx) is None:  # cheap check before parsing
            report.add(f, f"file name does not match the label pattern '{labels}'")
            continue
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                m = load(f)
        except DataError as e:
            report.add(f, f"cannot be read: {e.problem}" + (f" — {e.hint}" if e.hint else ""))
            continue
        for w in caught:
            if issubclass(w.category, RetargetWarning):
                warned.setdefault(str(w.message).split(": ", 1)[-1].split(" (")[0], []).append(f.name)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if not source.apply(f, m):
            report.add(f, source.last_reason)
            continue
        out.append(m)
    for row in source.unused_rows():
        report.add(f"labels CSV row '{row}'", "names no file that was loaded")
    for why, names in warned.items():
        warnings.warn(f"{what}: {len(names)} clip(s) ({', '.join(names[:3])}{', …' if len(names) > 3 else ''}): "
                      f"{why}", RetargetWarning, stacklevel=2)
    skipped = len(report) - n_before
    if skipped and not quiet:
        print(f"{what}: loaded {len(out)} of {len(files)}; skipped {skipped} (see the SkipReport: "
              f"{SkipReport(report.skipped[n_before:]).summary(limit=3)})")
    return out


# --- Bandai-Namco captions ---------------------------------------------------------------------------------------
# content → (3rd-person verb phrase, -ing phrase); "their" keeps the captions gender-neutral.
_CONTENT_PHRASES = {
    "walk": ("walks", "walking"),
    "walk-turn-left": ("walks and turns left", "walking and turning left"),
    "walk-turn-right": ("walks and turns right", "walking and turning right"),
    "run": ("runs", "running"),
    "wave-both-hands": ("waves both hands", "waving both hands"),
    "wave-left-hand": ("waves their left hand", "waving their left hand"),
    "wave-right-hand": ("waves their right hand", "waving their right hand"),
    "raise-up-both-hands": ("raises both hands", "raising both hands"),
    "raise-up-left-hand": ("raises their left hand", "raising their left hand"),
    "raise-up-right-hand": ("raises their right hand", "raising their right hand"),
}
# style → adverb for "someone <verb> <adverb>"
_STYLE_ADVERBS = {
    "active": "energetically", "elderly": "slowly, like an old person", "exhausted": "wearily",
    "feminine": "in a feminine manner", "masculine": "in a masculine manner", "normal": "normally",
    "youthful": "with youthful energy",
}


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def bandai_captions(content: str, style: str) -> list[str]:
    """Several natural captions for a Bandai-Namco (content, style) pair: three name the content and the style, one
    the content alone (what a user types first: "a person walks" should decode to a walk of no marked style).

    Example: `bandai_captions("walk", "elderly")` → `['a person walks in an elderly way', 'an elderly person
    walking', 'someone walks slowly, like an old person', 'a person walks']`.
    """
    verb, ing = _CONTENT_PHRASES.get(content, (content.replace("-", " ") + "s", content.replace("-", " ")))
    adverb = _STYLE_ADVERBS.get(style, f"in {_a(style)} way")
    return [f"a person {verb} in {_a(style)} way", f"{_a(style)} person {ing}", f"someone {verb} {adverb}",
            f"a person {verb}"]
