"""The classes of each data set: which label of its windows is the class, the class names and the text embedded per
class (for recognition, UMAP colouring and the explorers)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .amass import babel_action_classes
from .bandai import CONTENTS, STYLES
from .deepmimic import CLIP_NAMES, TEXTS
from .motion import Motion


@dataclass
class ClassSetup:
    """How a data set is labelled: the label key of its windows, the class names and the text embedded per class."""
    label_key: str
    names: list[str]
    prompts: list[str]


def class_setup(data: str, motions: Sequence[Motion] | None = None, by: str | None = None) -> ClassSetup:
    """Class names and prompts for recognition and UMAP colouring of a data spec.

    DeepMimic: the 15 clip names, each prompted with its canonical description ("a person does a cartwheel");
    Bandai: the 10 contents ("walk turn left"), or with `by="style"` the 7 styles ("an elderly person");
    AMASS+BABEL: the BABEL-60 classes; anything else: the distinct `action` labels of `motions`.
    Example: `class_setup("deepmimic").prompts[0] == "a person walks forward"`.
    """
    source = data.split(":", 1)[0].split("?", 1)[0]
    if source == "bandai" and by == "style":
        return ClassSetup("style", list(STYLES), [f"{'an' if s[0] in 'aeiou' else 'a'} {s} person" for s in STYLES])
    if by not in (None, "style"):
        raise ValueError(f"by={by!r}: only 'style' (Bandai) is known")
    if source == "deepmimic":
        return ClassSetup("action", list(CLIP_NAMES), [TEXTS[n][0] for n in CLIP_NAMES])
    if source == "bandai":
        return ClassSetup("content", list(CONTENTS), [c.replace("-", " ") for c in CONTENTS])
    if source == "amass":
        names = list(babel_action_classes())
        return ClassSetup("actions", names, names)
    if motions is None:
        raise ValueError(f"data {data!r}: no known class list; pass its motions so their labels can be used")
    for key in ("action", "content", "actions"):
        names = sorted({str(x) for m in motions for x in as_list(m.labels.get(key))})
        if names:
            return ClassSetup(key, names, names)
    raise ValueError(f"data {data!r}: its motions carry no 'action', 'content' or 'actions' labels")


def as_list(v) -> list:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)
