"""A first joint map for a rig no shipped table knows, guessed from the joint names and the hierarchy.

Names are matched by body-part words after dropping namespaces and common prefixes (`mixamorig:`, `CC_Base_`,
`Bip01 `…) and reading the side from `L`/`Left`/`_l` forms; twist, roll, end and face joints are left out. The
pelvis is the joint where the legs and the spine meet; spine joints fill `spine1..3` from the bottom up. The guess
is written as a ready-to-edit JSON rig map (see `mcl.data.retarget.load_rig` for every key), so a user checks and
fixes it instead of typing 22 names. Example: `guess_joint_map(["Hips", "LeftUpLeg", ...], parents)["Hips"] ==
"pelvis"`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..body.skeleton import JOINT_NAMES, REQUIRED

__all__ = ["guess_joint_map", "rig_map_template", "write_rig_map_template"]

_SKIP = re.compile(r"twist|roll|share|nub|_end$|end$|breast|eye|jaw|teeth|tongue|toe_?end|helper|ik|pole|prop|weapon")
_PREFIX = re.compile(r"^(cc_base_|mixamorig\d*_?|bip\d*_?|b_|j_|jnt_|def_|bone_|character\d*_|rig_)")
# body part → SMPL stem (side added later), tried in order: more specific words first
_PARTS = [
    (r"up_?leg|upper_?leg|thigh|femur", "hip"),
    (r"fore_?arm|lower_?arm|elbow|radius|ulna", "elbow"),
    (r"up_?arm|upper_?arm|humerus", "shoulder"),
    (r"clavicle|collar", "collar"),
    (r"shoulder", "shoulder?"),  # collar when the rig also has an upper arm, else the upper arm
    (r"calf|shin|knee|tibia|lower_?leg|^leg$", "knee"),
    (r"toe|ball", "foot"),
    (r"foot|ankle", "ankle"),
    (r"index_?1|index_?finger_?1|finger_?base|index$", "hand"),
    (r"hand|wrist", "wrist"),
    (r"arm$", "shoulder"),
    (r"hip|hips", "hip?"),  # a side: the thigh; no side: the pelvis
]
_SIDE = re.compile(r"(^|_)(l|left)(_|$)|^left|left$|(^|_)(r|right)(_|$)|^right|right$")


def _clean(name: str) -> str:
    n = name.rsplit(":", 1)[-1]
    n = re.sub(r"([a-z])([A-Z])", r"\1_\2", n).lower()
    n = re.sub(r"[\s.\-]+", "_", n)
    while True:
        m = _PREFIX.match(n)
        if not m or not n[m.end():]:
            break
        n = n[m.end():]
    return n.strip("_")


def _side(n: str) -> str | None:
    m = _SIDE.search(n)
    if not m:
        return None
    return "left" if "l" == m.group(0).strip("_")[:1] else "right"


def guess_joint_map(names: list[str], parents: list[int]) -> dict[str, str]:
    """`{source name: SMPL-24 name}` for the joints whose names say what they are (see the module docstring)."""
    clean = [_clean(n) for n in names]
    has_upper_arm = any(re.search(r"up_?arm|upper_?arm|humerus|(^|_)arm$", c) for c in clean)
    depth = []
    for p in parents:
        depth.append(0 if p < 0 else depth[p] + 1)
    found: dict[str, int] = {}
    rank: dict[str, tuple[int, int]] = {}
    spine: list[int] = []
    for i, c in enumerate(clean):
        if _SKIP.search(c) or names[i].endswith("_end"):
            continue
        side = _side(c)
        word = re.sub(_SIDE, "_", c).strip("_") if side else c
        if side is None and c[:1] in ("l", "r") and any(re.search(rx, c[1:]) for rx, _ in _PARTS[:-1]):
            # ASF style: lfemur, rhumerus
            side, word = ("left" if c[0] == "l" else "right"), c[1:]
        elif side is None and c[:1] in ("l", "r") and re.fullmatch(r"hip_?joint", c[1:]):
            side, word = ("left" if c[0] == "l" else "right"), c[1:]
        if re.search(r"spine|chest|waist|abdomen|lower_?back|upper_?back|thorax|torso", word) and not side:
            spine.append(i)
            continue
        if re.fullmatch(r"neck(_?\d*|_?twist_?0?1)?|lower_?neck", word) and not side:
            found.setdefault("neck", i)
            continue
        if re.fullmatch(r"head", word) and not side:
            found.setdefault("head", i)
            continue
        for prio, (rx, stem) in enumerate(_PARTS):
            if not re.search(rx, word):
                continue
            if stem == "shoulder?":
                stem = "collar" if has_upper_arm else "shoulder"
            if stem == "hip?":
                stem = "hip" if side else "pelvis"
            target = stem if stem == "pelvis" else (f"{side}_{stem}" if side else None)
            if target and (target not in found or (prio, depth[i]) < rank[target]):
                found[target], rank[target] = i, (prio, depth[i])
            break
    # the pelvis is where legs and spine meet (the lowest common ancestor of a thigh and the spine's base)
    def chain(i):
        out = []
        while i >= 0:
            out.append(i)
            i = parents[i]
        return out
    legs = [found[k] for k in ("left_hip", "right_hip") if k in found]
    if legs and spine:
        up = set(chain(min(spine, key=lambda i: depth[i])))
        meet = next((a for a in chain(legs[0]) if a in up), None)
        if meet is not None and meet not in spine:
            found["pelvis"] = meet
        spine = [i for i in spine if i != found.get("pelvis")]
    for k, i in zip(("spine1", "spine2", "spine3"), sorted(spine, key=lambda i: depth[i])[:3]):
        found[k] = i
    used: set[int] = set()
    out = {}
    for smpl in JOINT_NAMES:
        i = found.get(smpl)
        if i is not None and i not in used:
            used.add(i)
            out[names[i]] = smpl
    return out


def rig_map_template(names: list[str], parents: list[int], name: str = "my-rig") -> dict:
    """A ready-to-edit rig map: the guessed `joints`, an `up` of null (found from the clips), and, for reference,
    the SMPL joints still missing and the source joints left unmapped (keys starting with `_` are ignored)."""

    joints = guess_joint_map(names, parents)
    mapped = set(joints.values())
    missing = [n for n in JOINT_NAMES if n not in mapped]
    return {"name": name,
            "description": "joint map written by mcl for an unknown rig: check each line, add the missing joints",
            "up": None,
            "joints": joints,
            "_missing_required": [n for n in REQUIRED if n not in mapped] +
                                 ([] if {"head", "neck"} & mapped else ["head (or neck)"]),
            "_missing_optional": [n for n in missing if n not in REQUIRED],
            "_unmapped_source_joints": [n for n in names if n not in joints and not n.endswith("_end")],
            "_help": "source joint name → SMPL-24 name; see docs/data.md, 'Your own mocap', for every key"}


def write_rig_map_template(names: list[str], parents: list[int], data_file: str | Path) -> tuple[Path | None, str]:
    """Write the template beside the data (`<folder>/mcl-rig-map.json`, never over an existing file) and return
    `(path, json_text)`; `path` is None when the folder cannot be written (print the text instead)."""
    folder = Path(data_file).parent
    text = json.dumps(rig_map_template(names, parents, folder.name or "my-rig"), indent=2, ensure_ascii=False) + "\n"
    path = folder / "mcl-rig-map.json"
    if path.exists():
        if path.read_text() == text:
            return path, text
        path = folder / "mcl-rig-map.new.json"
    try:
        path.write_text(text)
    except OSError:
        return None, text
    return path, text
