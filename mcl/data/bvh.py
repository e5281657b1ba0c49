"""BVH import: parse any BVH file into a `SourceMotion`, then retarget it onto SMPL-24 (`mcl.data.retarget`).

The parser takes any hierarchy (ROOT / JOINT / End Site), any channel order and count per joint (6 channels on
non-root joints too: their position channels replace the OFFSET, as in the Bandai-Namco files), and reads the
MOTION block with numpy's C `loadtxt`. Bad input raises `DataError` naming the file, the line and the fix.

Example:
    m = load_bvh("walk.bvh")                  # rig auto-detected from the joint names
    m = load_bvh("walk.bvh", rig="cmu")       # or a shipped table, or a JSON/YAML map
    ms = load_bvh_folder("bvh/", labels="{subject}_{action}")
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import torch

from ..body.rotations import euler_to_rotmat
from .cache import cached_motions, folder_cache_key
from .errors import DataError, SkipReport
from .labels import in_data_folder, load_folder
from .motion import Motion
from .retarget import SourceMotion, one_thread, retarget, warn_retarget

__all__ = ["parse_bvh", "load_bvh", "load_bvh_folder"]

_POS = {"xposition": 0, "yposition": 1, "zposition": 2}
_ROT = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}


def _parse_hierarchy(lines: list[str], file: str):
    """Joints of the HIERARCHY block: names, parents, offsets, channels. End Sites become joints without channels."""
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    pending: int | None = None  # joint declared, its "{" not yet seen
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line == "HIERARCHY":
            continue
        key, rest = (line.split(None, 1) + [""])[:2]
        key_l = key.lower()
        if key_l in ("root", "joint") or line.lower().startswith("end site"):
            if key_l == "root" and names:
                raise DataError(file, f"line {no}: a second ROOT '{rest.strip()}'",
                                "files with several skeletons are not supported; export one character per file")
            name = rest.strip() if key_l != "end" else f"{names[stack[-1]] if stack else 'root'}_end"
            if not name:
                raise DataError(file, f"line {no}: {key} without a name")
            if key_l != "root" and not stack:
                raise DataError(file, f"line {no}: {key} '{name}' outside of any ROOT block")
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            pending = len(names) - 1
        elif line == "{":
            if pending is None:
                raise DataError(file, f"line {no}: '{{' without a ROOT/JOINT/End Site before it")
            stack.append(pending)
            pending = None
        elif line == "}":
            if not stack:
                raise DataError(file, f"line {no}: unbalanced '}}'")
            stack.pop()
        elif key_l == "offset":
            vals = rest.split()
            try:
                offsets[stack[-1]] = [float(v) for v in vals]
            except (ValueError, IndexError):
                raise DataError(file, f"line {no}: OFFSET needs 3 numbers, got '{rest.strip()}'") from None
            if len(vals) != 3:
                raise DataError(file, f"line {no}: OFFSET needs 3 numbers, got {len(vals)}")
        elif key_l == "channels":
            vals = rest.split()
            if not stack or not vals or not vals[0].isdigit() or int(vals[0]) != len(vals) - 1:
                raise DataError(file, f"line {no}: malformed CHANNELS line '{line}'",
                                "expected 'CHANNELS n name1 … namen'")
            bad = [c for c in vals[1:] if c.lower() not in _POS and c.lower() not in _ROT]
            if bad:
                raise DataError(file, f"line {no}: unknown channel(s) {bad}",
                                "channels must be X/Y/Z position or rotation")
            channels[stack[-1]] = [c.lower() for c in vals[1:]]
        else:
            raise DataError(file, f"line {no}: unexpected '{line[:60]}' in HIERARCHY")
    if stack or pending is not None:
        raise DataError(file, "HIERARCHY ends inside a joint block (missing '}')", "the file may be truncated")
    if not names:
        raise DataError(file, "no ROOT joint in HIERARCHY", "check the file is a BVH export")
    return names, parents, np.asarray(offsets, np.float64), channels


def _read_frames(text: str, first_line: int, n_channels: int, file: str) -> np.ndarray:
    """The MOTION numbers `(T, n_channels)`; on a bad line, say which line and what is wrong."""
    try:
        data = np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2)
        if data.size == 0 or data.shape[1] == n_channels:
            return data.reshape(-1, n_channels)
    except ValueError:
        pass
    # Slow path only to name the offending line.
    for no, line in enumerate(text.splitlines(), start=first_line):
        vals = line.split()
        if not vals:
            continue
        if len(vals) != n_channels:
            raise DataError(file, f"line {no}: {len(vals)} numbers, expected {n_channels} "
                                  f"(the sum of the CHANNELS counts in HIERARCHY)",
                            "the file is truncated or its HIERARCHY does not match its MOTION data")
        try:
            [float(v) for v in vals]
        except ValueError:
            bad = next(v for v in vals if not _is_float(v))
            raise DataError(file, f"line {no}: non-numeric value '{bad}' in the MOTION data",
                            "fix or re-export the file") from None
    raise DataError(file, "MOTION data could not be read", "re-export the file")


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _decode(data: bytes, file: str) -> str:
    text = _decode_bytes(data, file)
    head = text[:4096]
    if head and not head.lstrip().upper().startswith("HIERARCHY") and \
            sum(not (c.isprintable() or c in "\t\r\n") for c in head) > len(head) // 100:
        raise DataError(file, "binary data, not BVH text", "give a text .bvh export")
    return text


def _decode_bytes(data: bytes, file: str) -> str:
    """BVH text in any common encoding: UTF-8 (with or without BOM), UTF-16/32 (BOM, or NUL-interleaved ASCII
    without one), else Latin-1 (joint names in a legacy code page). Binary data is an error naming the file."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                raise DataError(file, f"starts with a {enc} byte-order mark but is not valid {enc}",
                                "re-save it as UTF-8 or ASCII text") from None
    head = data[:4096]
    if head and head.count(0) > len(head) // 4:  # UTF-16 without a BOM: every other byte of ASCII text is NUL
        enc = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            raise DataError(file, "binary data, not BVH text", "give a text .bvh export") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def parse_bvh(path: str | os.PathLike) -> SourceMotion:
    """Read a BVH file into a `SourceMotion` (the source skeleton and its local rotations, not yet retargeted).

    Shapes: `rotations (T, J, 3, 3)` local, `translations (T, J, 3)` local (OFFSET, or the position channels where
    a joint has them), in the file's own units. End Sites are joints named `<parent>_end` with no channels.
    Example: `src = parse_bvh("walk.bvh"); src.names[:2], src.rotations.shape`.
    """
    file = str(path)
    try:
        text = _decode(Path(path).read_bytes(), file)
    except OSError as e:
        raise DataError(file, f"cannot read the file ({e.strerror})", "check the path") from None
    m = re.search(r"^[ \t]*MOTION[ \t]*\r?$", text, flags=re.MULTILINE)
    if m is None:
        raise DataError(file, "MOTION section missing", "check the file is a complete BVH export (HIERARCHY, then "
                                                      "MOTION with Frames, Frame Time and one line per frame)")
    head_lines = text[:m.start()].splitlines()
    names, parents, offsets, channels = _parse_hierarchy(head_lines, file)

    rest = text[m.end():]
    line_no = len(head_lines) + 1
    lines = rest.split("\n")
    n_frames = frame_time = None
    i = 0
    while i < len(lines) and (n_frames is None or frame_time is None):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        low = line.lower()
        if low.startswith("frames:"):
            try:
                n_frames = int(line.split(":", 1)[1])
            except ValueError:
                raise DataError(file, f"line {line_no + i - 1}: bad frame count '{line}'") from None
        elif low.startswith("frame time:"):
            try:
                frame_time = float(line.split(":", 1)[1])
            except ValueError:
                raise DataError(file, f"line {line_no + i - 1}: bad frame time '{line}'") from None
        else:
            raise DataError(file, f"line {line_no + i - 1}: expected 'Frames:' and 'Frame Time:' after MOTION, "
                                  f"got '{line[:60]}'")
    if n_frames is None or frame_time is None:
        raise DataError(file, "MOTION section lacks 'Frames:' or 'Frame Time:'", "the file may be truncated")
    if n_frames <= 0:
        raise DataError(file, f"zero frames (Frames: {n_frames})", "the clip is empty; export at least one frame")
    if not frame_time > 0:
        raise DataError(file, f"Frame Time is {frame_time}, expected a positive number of seconds")

    n_channels = sum(len(c) for c in channels)
    data = _read_frames("\n".join(lines[i:]), line_no + i, n_channels, file)
    if data.shape[0] == 0:
        raise DataError(file, f"zero frames of MOTION data (header says {n_frames})", "the file is truncated")
    if data.shape[0] != n_frames:
        raise DataError(file, f"header says Frames: {n_frames} but there are {data.shape[0]} frame lines",
                        "the file is truncated or was edited; fix the Frames: line or re-export")

    T, J = data.shape[0], len(names)
    rotations = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    translations = np.broadcast_to(offsets, (T, J, 3)).copy()
    col = 0
    groups: dict[str, list[tuple[int, list[int]]]] = {}  # rotation order → (joint, columns)
    for j, chans in enumerate(channels):
        rot_cols, order = [], ""
        for k, c in enumerate(chans):
            if c in _POS:
                translations[:, j, _POS[c]] = data[:, col + k]
            else:
                rot_cols.append(col + k)
                order += _ROT[c]
        if order:
            groups.setdefault(order, []).append((j, rot_cols))
        col += len(chans)
    for order, items in groups.items():  # one batched Euler conversion per channel order
        idx = [j for j, _ in items]
        angles = torch.from_numpy(data[:, [c for _, cols in items for c in cols]].reshape(T, len(items), len(order)))
        rotations[:, idx] = euler_to_rotmat(order, angles).numpy()

    fps = 1.0 / frame_time
    fps = float(round(fps)) if abs(fps - round(fps)) < 1e-3 else fps
    # Root position channels replace the root OFFSET (the BVH convention); some exporters (iClone) write them
    # relative to it. Retargeting puts every clip on the floor either way; the offset lets it tell the two apart.
    meta = {"root_offset": offsets[0]} if any(c in _POS for c in channels[0]) and offsets[0].any() else {}
    return SourceMotion(names=names, parents=parents, offsets=offsets, rotations=rotations,
                        translations=translations, fps=fps, file=file, meta=meta)


def load_bvh(path: str | os.PathLike, rig=None, joint_map: dict[str, str] | None = None,
             scale: float | None = None, to_smpl_size: bool = True) -> Motion:
    """A BVH file as an SMPL-24 `Motion` (poses `(T, 24, 3)`, pelvis `trans (T, 3)` in metres, y up, faces +z).

    `rig`: None = auto-detect among the shipped tables (`bandai`, `cmu`, `mixamo`), a table name, or a JSON/YAML
    file or dict (see `mcl.data.retarget.load_rig`); `joint_map` (`{"source name": "smpl_name"}`) overrides it.
    `scale`: metres per file unit (None: detected from the figure height, cm or m); `to_smpl_size`: scale the root
    path by the SMPL/source leg-length ratio so the SMPL body's feet move like the source's.
    Example: `m = load_bvh("dataset-2_walk_normal_001.bvh", rig="bandai"); m.poses.shape == (273, 24, 3)`.
    """
    with one_thread():
        src = parse_bvh(path)
        motion = retarget(src, rig=rig, joint_map=joint_map, scale=scale, to_smpl_size=to_smpl_size)
    motion.source.update(dataset="bvh", name=Path(path).stem)
    warn_retarget(motion)
    return motion


def load_bvh_folder(folder: str | os.PathLike, rig=None, joint_map: dict[str, str] | None = None,
                    labels: str | os.PathLike | None = None, report: SkipReport | None = None,
                    recursive: bool = True, caption: str | None = None, quiet: bool = False, cache: bool = True,
                    **kwargs) -> list[Motion]:
    """All `*.bvh` under `folder` as SMPL-24 motions, with labels and texts from `labels`.

    `labels`: None, a file-name pattern like `"dataset-2_{content}_{style}_{id}"` (fields → `Motion.labels`,
    `{_}` ignores a part) or a CSV (`file` + any label columns, `text` optional; a relative path is looked up in
    `folder` first); `caption`: template for clips with labels but no text (see `labels.caption_from_labels`);
    `rig`: as for `load_bvh` (a relative map file is looked up in `folder` first). Files that fail to parse or
    have no labels are skipped and counted in `report` (printed at the end); a progress bar runs over the files.
    `cache`: keep the parsed clips in the motion cache (`mcl.data.cache`), keyed by the files' sizes and times,
    the options and the code, so a second load (every `mcl eval`) reads one file.
    Example: `report = SkipReport(); ms = load_bvh_folder("bvh/", labels="{subject}_{take}", report=report)`.
    """

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "no such folder", "give the folder that holds the .bvh files")
    if isinstance(rig, (str, Path)) and str(rig).lower().endswith((".json", ".yaml", ".yml")):
        rig = in_data_folder(rig, folder)
    if labels is not None and str(labels).lower().endswith(".csv"):
        labels = in_data_folder(labels, folder)
    files = sorted(folder.rglob("*.bvh") if recursive else folder.glob("*.bvh"))

    def build(rep: SkipReport) -> list[Motion]:
        return load_folder(files, lambda f: load_bvh(f, rig=rig, joint_map=joint_map, **kwargs), labels=labels,
                           report=rep, what=f"BVH files in {folder}", folder=folder, quiet=quiet, caption=caption)

    key = folder_cache_key("bvh", files, ("bvh.py", "retarget.py", "labels.py", "motion.py", "rig_guess.py"),
                           rig=str(rig) if rig is not None else None, joint_map=joint_map, labels=labels,
                           caption=caption, **{k: str(v) for k, v in kwargs.items()})
    return cached_motions(f"bvh-{folder.name}", key, build, report, enabled=cache and bool(files))
