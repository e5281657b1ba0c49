"""Command-line flags generated from dataclass fields: one flag per field, nested dataclasses by dotted names.

The scheme (as lerobot's draccus and tyro do it): field `batch_size` → `--batch-size`, field `d_model` of the nested
`model` → `--model.d-model`. Types come from the annotations: `int`/`float`/`str`, `X | None` (the word `none` gives
None), `Literal[...]` (choices), `bool` (`--x/--no-x`), `list[X]`/`tuple[X, ...]` (several values). A number field
named in the class's `NUMBERS` (`{"epochs": "count"}`) is parsed by the `mcl.validate` type of that kind, so argparse
refuses `--epochs 0` with the config's own rule. The help text is the field's comment in the source (the `#` lines
right above it and the one on its line) and ends with the value the base config gives it.

Every flag defaults to None: a flag not given is not an override. Example:

>>> import argparse
>>> from mcl.training.config import TrainConfig, merge, preset
>>> p = argparse.ArgumentParser()
>>> flags = add_flags(p, TrainConfig, base=preset("cpu"))
>>> cfg = merge(preset("cpu"), **overrides(p.parse_args(["--model.d-model", "64"]), flags))
>>> cfg.model.d_model, cfg.model.n_layers  # n_layers: no flag given, the preset's value
(64, 4)
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import io
import textwrap
import tokenize
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from .. import validate


class _Unset:
    """The value of an optional field's flag given as `none`: set the field to None (a flag not given is None)."""

    def __repr__(self) -> str:
        return "none"


NONE = _Unset()


# --- reading the annotations ---------------------------------------------------------------------------------------
def optional_of(hint) -> tuple[Any, bool]:
    """`(X, True)` for `X | None` / `Optional[X]`, else `(hint, False)`."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True
    return hint, False


def choices_of(hint) -> tuple | None:
    """The values of a `Literal[...]` annotation (also inside `| None`), else None."""
    hint, _ = optional_of(hint)
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else None


@functools.lru_cache(maxsize=None)
def hints(cls) -> dict[str, Any]:
    """The resolved annotations of a dataclass's fields (`from __future__ import annotations` leaves strings)."""
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls)}


# --- reading the comments ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def field_comments(cls) -> dict[str, str]:
    """Each field's comment in `cls`'s source: the `#` lines right above it (no blank line between) followed by the
    one at the end of its line, joined with spaces; "" for a field without one (or when the source is not there).

    >>> from mcl.training.config import TrainConfig
    >>> field_comments(TrainConfig)["weight_decay"]
    "torch's AdamW default, which the official code uses"
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {f.name: "" for f in dataclasses.fields(cls)}
    lines = source.splitlines()
    trailing: dict[int, str] = {}  # line number (1-based) → the comment that ends a line of code
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and lines[tok.start[0] - 1][:tok.start[1]].strip():
            trailing[tok.start[0]] = _comment_text(tok.string)
    body = ast.parse(source).body[0].body
    out = {}
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above, n = [], node.lineno - 1
        while n >= 1 and lines[n - 1].strip().startswith("#"):
            above.insert(0, _comment_text(lines[n - 1].strip()))
            n -= 1
        after = [trailing[i] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1) if i in trailing]
        out[node.target.id] = " ".join(p for p in above + after if p)
    return {f.name: out.get(f.name, "") for f in dataclasses.fields(cls)}


def _comment_text(comment: str) -> str:
    return comment.lstrip("#").strip()


# --- building the flags --------------------------------------------------------------------------------------------
@dataclass
class Flag:
    """One generated flag: the field it sets (`path`, e.g. `("model", "d_model")`) and its argparse dest."""
    path: tuple[str, ...]
    dest: str
    option_strings: list[str] = field(default_factory=list)
    as_tuple: bool = False  # a `tuple[...]` field: argparse's list becomes a tuple

    @property
    def name(self) -> str:
        return ".".join(self.path)


def flag_name(path: tuple[str, ...]) -> str:
    """`("model", "d_model")` → `--model.d-model`."""
    return "--" + ".".join(p.replace("_", "-") for p in path)


def leaf_paths(cls, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of `cls` that holds a value, nested dataclasses walked: `[("epochs",), ("model", "d_model")…]`."""
    out = []
    for f in dataclasses.fields(cls):
        hint = hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            out += leaf_paths(hint, prefix + (f.name,))
        else:
            out.append(prefix + (f.name,))
    return out


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(map(_show, value))
    return str(value)


def default_note(path: tuple[str, ...], base, others: dict[str, Any] | None = None) -> str:
    """`[default: 1.0; paper: none]`: the field's value in `base`, and in each of `others` where it differs."""
    diff = "".join(f"; {k}: {_show(_get(c, path))}" for k, c in (others or {}).items()
                   if _get(c, path) != _get(base, path))
    return f"[default: {_show(_get(base, path))}{diff}]".replace("%", "%%")


def _get(obj, path):
    for p in path:
        obj = getattr(obj, p)
    return obj


def _parser_type(cls, name: str, hint):
    """`(type, nargs)` for a field: the mcl.validate kind when `cls.NUMBERS` names one, else the annotation's type."""
    base, optional = optional_of(hint)
    nargs = None
    if typing.get_origin(base) in (list, tuple):
        args = [a for a in typing.get_args(base) if a is not Ellipsis]
        base, nargs = (args[0] if args else str), "+"
    if typing.get_origin(base) is Literal:
        base = type(typing.get_args(base)[0])
    kind = getattr(cls, "NUMBERS", {}).get(name)
    convert = getattr(validate, kind) if kind else (base if base in (int, float, str) else str)
    if optional:
        inner = convert

        def convert(text: str):
            return NONE if text.lower() == "none" else inner(text)
        convert.__name__ = getattr(inner, "__name__", "value")
    return convert, nargs


def add_flags(parser, cls, base=None, others: dict[str, Any] | None = None, prefix: tuple[str, ...] = (),
              aliases: dict[str, list[str]] | None = None, skip: set[str] = frozenset(),
              switches: set[str] = frozenset(), choices: dict[str, list] | None = None,
              groups: dict[str, Any] | None = None) -> list[Flag]:
    """Add a flag for every field of the dataclass `cls` (recursively) to `parser`; return them.

    `base`: the config whose values the help shows as the defaults (`others`: more configs by name, shown where they
    differ: `{"paper": preset("paper")}`); `aliases`: more option strings by dotted field name, put first (argparse
    names a flag by its first option string in errors); `skip`: dotted names the caller adds flags for by hand;
    `switches`: bool fields that are actions (`--resume`: no `--no-resume`); `choices`: for str fields; `groups`:
    an argparse group for the fields of a nested dataclass, by its name.
    """
    aliases, choices, groups, others = aliases or {}, choices or {}, groups or {}, others or {}
    comments = field_comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        path = prefix + (f.name,)
        name, hint = ".".join(path), hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            out += add_flags(groups.get(name, parser), hint, base, others, path, aliases, skip, switches, choices,
                             groups)
            continue
        if name in skip:
            continue
        help_text = comments[f.name].replace("%", "%%")
        if base is not None and name not in switches:
            help_text += " " + default_note(path, base, others)
        flag = Flag(path, name, aliases.get(name, []) + [flag_name(path)],
                    as_tuple=typing.get_origin(optional_of(hint)[0]) is tuple)
        kw: dict[str, Any] = dict(dest=flag.dest, default=None, help=help_text)
        base_hint, optional = optional_of(hint)
        if base_hint is bool and name in switches:
            kw.update(action="store_const", const=True)
        elif base_hint is bool:
            kw.update(action=argparse.BooleanOptionalAction)
        else:
            kw["type"], nargs = _parser_type(cls, f.name, hint)
            if nargs:
                kw["nargs"] = nargs
            values = choices.get(name) or choices_of(hint)
            if values:
                kw["choices"] = list(values) + ([NONE] if optional else [])
                kw["metavar"] = "{" + ",".join(map(str, values)) + (",none" if optional else "") + "}"
            else:
                kw["metavar"] = f.name.upper() + ("|none" if optional else "")
        parser.add_argument(*flag.option_strings, **kw)
        if base_hint is bool and name not in switches:
            flag.option_strings.append("--no-" + flag_name(path)[2:])  # argparse's own: --no-model.film
        out.append(flag)
    return out


def overrides(args: argparse.Namespace, flags: list[Flag]) -> dict[str, Any]:
    """The fields the flags given set, nested as `merge` takes them: `{"epochs": 3, "model": {"d_model": 64}}`."""
    out: dict[str, Any] = {}
    for flag in flags:
        value = getattr(args, flag.dest, None)
        if value is None:
            continue
        value = None if value is NONE else (tuple(value) if flag.as_tuple else value)
        node = out
        for p in flag.path[:-1]:
            node = node.setdefault(p, {})
        node[flag.path[-1]] = value
    return out

