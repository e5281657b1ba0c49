"""`mcl train`'s flags are generated from `TrainConfig` (mcl.training.flags): every field, recursively, has a flag whose
help is the field's comment; a flag round-trips into the config; flags not given override nothing; `train()` and
`mcl train` start from one default preset. No training here: the loop's body is replaced where a run would start."""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from mcl.training import cli as train_cli
from mcl.training import flags as fl
from mcl.training.config import DEFAULT_PRESET, PRESETS, LossConfig, ModelConfig, TrainConfig, merge, preset

PATHS = fl.leaf_paths(TrainConfig)
NAMES = [".".join(p) for p in PATHS]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mcl")
    train_cli.register(p.add_subparsers(dest="command"))
    return p


def _parse(argv):
    return _parser().parse_args(["train"] + [str(a) for a in argv])


def _train_sub() -> argparse.ArgumentParser:
    return _parser()._subparsers._group_actions[0].choices["train"]


def _flags() -> dict[str, fl.Flag]:
    return {f.name: f for f in _parse([]).train_flags}


def _help(monkeypatch, capsys) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping: a comment reads as one line
    with pytest.raises(SystemExit):
        _parse(["--help"])
    return capsys.readouterr().out


def _owner(path):
    cls = TrainConfig
    for p in path[:-1]:
        cls = fl.hints(cls)[p]
    return cls, path[-1]


def _get(cfg, path):
    for p in path:
        cfg = getattr(cfg, p)
    return cfg


def _config(args) -> TrainConfig:
    return merge(preset(DEFAULT_PRESET), **train_cli._overrides(args))


# a value other than the default preset's, valid on its own, for every field a plain `--flag VALUE` sets
SPECIAL = {"window_frames": 50, "data": "synthetic", "space": "minilm", "out": "runs/elsewhere", "device": "cpu",
           "cache_dir": "/tmp/mcl-cache-x", "init": "runs/a-run"}
# flags that are only valid together with others (the default preset's fixed windows leave no other phase to compare)
NEEDS = {"loss.text_rc_stride": ["--random-windows"], "model.whiten_z": ["--init", "runs/a-run"]}
HAND_MADE = {  # the flags written out in cli.register: option strings → the value they give the field
    "preset": None,  # picks the base; tested with the entry points below
    "fixed_windows": {("--fixed-windows",): True, ("--random-windows",): False, ("--no-fixed-windows",): False},
    "progress": {("--progress",): True, ("-q",): False, ("--quiet",): False, ("--no-progress",): False},
}


def _sample(path):
    cls, name = _owner(path)
    if name in SPECIAL and cls is TrainConfig:
        return SPECIAL[name]
    value, hint = _get(preset(DEFAULT_PRESET), path), fl.hints(cls)[name]
    choices = fl.choices_of(hint)
    if choices:
        return next(c for c in choices if c != value)
    base, _ = fl.optional_of(hint)
    if base is bool:
        return not value
    kind = cls.NUMBERS[name]
    if kind in ("fraction", "unit"):
        return value / 2 if value else 0.5
    return (value * 2 if value else base(2)) if base in (int, float) else value


def test_every_field_has_a_flag_and_every_flag_a_field():
    flags = _flags()
    assert sorted(flags) == sorted(NAMES)
    options = _train_sub()._option_string_actions
    for name, flag in flags.items():
        assert flag.option_strings, name
        for option in flag.option_strings:
            assert options[option].dest == flag.dest, (name, option)
    # the generated scheme: --name for TrainConfig's own fields, --model.name / --loss.name for the nested ones
    for path in PATHS:
        if ".".join(path) not in HAND_MADE:
            assert fl.flag_name(path) in flags[".".join(path)].option_strings
    assert fl.flag_name(("model", "d_model")) == "--model.d-model"


def test_every_field_has_a_comment_for_its_help():
    for cls in (TrainConfig, ModelConfig, LossConfig):
        comments = fl.field_comments(cls)
        for f in dataclasses.fields(cls):
            if not dataclasses.is_dataclass(fl.hints(cls)[f.name]):
                assert comments[f.name], f"{cls.__name__}.{f.name} has no comment: its flag would have no help"


def test_help_lists_every_field_and_says_the_default_preset(monkeypatch, capsys):
    out = _help(monkeypatch, capsys)
    flags = _flags()
    for name in NAMES:
        for option in flags[name].option_strings:
            assert re.search(rf"(^|[\s,\[|]){re.escape(option)}\b", out), option
    assert f"Default preset: {DEFAULT_PRESET}" in " ".join(out.split())
    assert "fields whose flags are not given keep the preset's values" in " ".join(out.split())


@pytest.mark.parametrize("path", [("weight_decay",), ("lr_schedule",), ("min_lr_ratio",), ("model", "query_tokens"),
                                  ("loss", "w_text_rc"), ("loss", "body")], ids=".".join)
def test_help_text_is_the_field_comment(path, monkeypatch, capsys):
    cls, name = _owner(path)
    comment = fl.field_comments(cls)[name]
    expected = {"weight_decay": "torch's AdamW default, which the official code uses",
                "min_lr_ratio": "the cosine schedule ends at this fraction of lr"}
    if name in expected:
        assert comment == expected[name]
    action = _train_sub()._option_string_actions[fl.flag_name(path)]
    default = fl.default_note(path, preset(DEFAULT_PRESET), {k: preset(k) for k in PRESETS if k != DEFAULT_PRESET})
    assert action.help == f"{comment} {default}"
    out = " ".join(_help(monkeypatch, capsys).split())
    assert f"{comment} {default}" in out


def test_help_shows_the_default_presets_value_and_the_papers_where_it_differs(monkeypatch, capsys):
    out = " ".join(_help(monkeypatch, capsys).split())
    assert "cosine decay to `min_lr_ratio`·lr" in out and "0.1·lr" not in out  # no hard-coded ratio (issue #16)
    assert "[default: 0.0003; paper: 0.0001]" in out                           # --lr
    assert "[default: 0.1]" in out                                             # --min-lr-ratio: the same in both


@pytest.mark.parametrize("name", [n for n in NAMES if n not in HAND_MADE])
def test_each_flag_round_trips_into_the_config(name):
    path = tuple(name.split("."))
    value = _sample(path)
    assert value != _get(preset(DEFAULT_PRESET), path)
    flag = _flags()[name]
    for option in flag.option_strings:
        if isinstance(value, bool):
            if option.startswith("--no-") != (not value):
                continue
            argv = [option]
        else:
            argv = [option, repr(value) if isinstance(value, float) else value]
        cfg = _config(_parse(argv + NEEDS.get(name, [])))
        assert _get(cfg, path) == value, (option, value)
        base = _config(_parse(NEEDS.get(name, [])))
        assert _without(cfg.to_dict(), path) == _without(base.to_dict(), path), option


def _without(d: dict, path) -> dict:
    d = json.loads(json.dumps(d))
    node = d
    for p in path[:-1]:
        node = node[p]
    node.pop(path[-1])
    return d


@pytest.mark.parametrize("name", ["fixed_windows", "progress"])
def test_the_hand_made_flags_set_their_fields(name):
    for argv, value in HAND_MADE[name].items():
        assert getattr(_config(_parse(list(argv))), name) is value, argv
    assert set(_flags()[name].option_strings) == {a for argv in HAND_MADE[name] for a in argv}


@pytest.mark.parametrize("option,path", [("--grad-clip", ("grad_clip",)), ("--max-steps", ("max_steps",)),
                                         ("--cache-dir", ("cache_dir",)),
                                         ("--model.latent-dim", ("model", "latent_dim"))])
def test_optional_fields_take_none(option, path):
    args = _parse([option, "none"])
    overrides = train_cli._overrides(args)
    node = overrides
    for p in path[:-1]:
        node = node[p]
    assert node == {path[-1]: None}
    assert _get(_config(args), path) is None


def test_flags_not_given_override_nothing():
    assert train_cli._overrides(_parse([])) == {}
    assert _config(_parse([])) == preset(DEFAULT_PRESET)


@pytest.mark.parametrize("argv,value", [
    (["--epochs", "0"], "expected a whole number ≥ 1"), (["--model.n-heads", "0"], "expected a whole number ≥ 1"),
    (["--min-lr-ratio", "1.5"], "expected a number in [0, 1]"),
    (["--loss.w-rc", "-1"], "expected a finite number ≥ 0"),
    (["--model.max-frames", "-5"], "expected a whole number ≥ 1"),
    (["--grad-clip", "nan"], "expected a finite number > 0"),
    (["--model.codec", "nope"], "invalid choice"), (["--optimizer", "adam"], "invalid choice"),
])
def test_flags_validate_with_the_configs_rules(argv, value, capsys):
    with pytest.raises(SystemExit) as e:
        _parse(argv)
    err = capsys.readouterr().err
    named = re.search(r"argument (\S+):", err)
    assert e.value.code == 2 and named and argv[0] in named[1].split("/") and value in err, err


# every flag `mcl train` had before the flags were generated (docs, notebooks and tests use them)
OLD_FLAGS = [
    (["--data", "synthetic"], "data", "synthetic"), (["--space", "minilm"], "space", "minilm"),
    (["--epochs", "3"], "epochs", 3), (["--out", "runs/x"], "out", "runs/x"), (["--resume"], "resume", True),
    (["--overwrite"], "overwrite", True), (["--batch-size", "4"], "batch_size", 4), (["--lr", "0.001"], "lr", 1e-3),
    (["--seed", "3"], "seed", 3), (["--optimizer", "sgd"], "optimizer", "sgd"),
    (["--lr-schedule", "constant"], "lr_schedule", "constant"), (["--warmup-steps", "5"], "warmup_steps", 5),
    (["--max-steps", "7"], "max_steps", 7), (["--grad-clip", "0.5"], "grad_clip", 0.5),
    (["--threads", "2"], "threads", 2), (["--device", "cpu"], "device", "cpu"),
    (["--precision", "bf16"], "precision", "bf16"), (["--val-split", "time"], "val_split", "time"),
    (["--val-fraction", "0.3"], "val_fraction", 0.3), (["--fixed-windows"], "fixed_windows", True),
    (["--random-windows"], "fixed_windows", False), (["--checkpoint-every", "10"], "checkpoint_every", 10),
    (["--cache-dir", "/tmp/c"], "cache_dir", "/tmp/c"), (["--layers", "2"], "model.n_layers", 2),
    (["--d-model", "64"], "model.d_model", 64), (["--heads", "2"], "model.n_heads", 2),
    (["--ff", "128"], "model.d_ff", 128), (["--dropout", "0.0"], "model.dropout", 0.0),
    (["--w-image", "0"], "loss.w_image", 0.0), (["--w-text", "2"], "loss.w_text", 2.0),
    (["--w-text-rc", "5"], "loss.w_text_rc", 5.0), (["--alignment", "infonce"], "loss.alignment", "infonce"),
    (["--temperature", "0.1"], "loss.temperature", 0.1), (["--body", "joints"], "loss.body", "joints"),
    (["-q"], "progress", False), (["--quiet"], "progress", False), (["--no-progress"], "progress", False),
]


@pytest.mark.parametrize("argv,name,value", OLD_FLAGS, ids=lambda x: x[0] if isinstance(x, list) else None)
def test_the_flags_of_before_still_parse(argv, name, value):
    assert _get(_config(_parse(argv)), name.split(".")) == value
    assert _parse(["--preset", "paper"]).preset == "paper"


# --- one default preset ---------------------------------------------------------------------------------------------
@pytest.fixture
def started(monkeypatch):
    """The configs runs started with; the loop's body is replaced, so nothing trains."""
    import mcl.training.loop as loop

    seen: list[TrainConfig] = []
    monkeypatch.setattr(loop, "_train", lambda cfg, *a, **k: seen.append(cfg) or Path(cfg.out))
    return seen


def test_train_and_mcl_train_start_from_the_same_preset(tmp_path, started, capsys):
    import mcl

    assert DEFAULT_PRESET == "cpu" and preset().preset == DEFAULT_PRESET
    args = _parse(["--data", "synthetic?n=4", "--out", tmp_path / "run"])
    assert args.func(args) == 0
    mcl.train(data="synthetic?n=4", out=str(tmp_path / "run"))
    cli_cfg, api_cfg = started
    assert cli_cfg == api_cfg == preset(DEFAULT_PRESET, data="synthetic?n=4", out=str(tmp_path / "run"))
    args = _parse(["--data", "synthetic?n=4", "--out", tmp_path / "paper", "--preset", "paper", "--epochs", "2"])
    args.func(args)
    mcl.train(data="synthetic?n=4", out=str(tmp_path / "paper"), preset="paper", epochs=2)
    assert started[2] == started[3] == preset("paper", data="synthetic?n=4", out=str(tmp_path / "paper"), epochs=2)


def test_resume_without_out_finds_the_default_presets_run_dir(tmp_path, started, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    saved = preset(DEFAULT_PRESET, data="synthetic?n=4", epochs=7, space="minilm")
    run = Path(saved.out)
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"config": saved.to_dict(), "space": "minilm"}))
    args = _parse(["--resume", "--epochs", "9"])
    assert args.func(args) == 0
    assert started[-1] == merge(saved, epochs=9, resume=True)  # the saved config, not a fresh preset


# --- the generator on its own --------------------------------------------------------------------------------------
@dataclass
class _Inner:
    # two lines above the field
    # make its help
    depth: int = 2
    mode: Literal["a", "b"] = "a"  # a choice


@dataclass
class _Toy:
    sizes: tuple[int, ...] = (1, 2)  # several numbers
    tags: list[str] | None = None    # several words, or none
    on: bool = False                 # a switch with a --no- form
    rate: float | None = 0.5         # a rate

    inner: _Inner = dataclasses.field(default_factory=_Inner)

    NUMBERS = {"rate": "positive"}


def test_the_generator_reads_types_and_comments_from_any_dataclass():
    assert fl.field_comments(_Inner) == {"depth": "two lines above the field make its help", "mode": "a choice"}
    assert fl.field_comments(_Toy)["sizes"] == "several numbers"
    p = argparse.ArgumentParser()
    made = fl.add_flags(p, _Toy, base=_Toy())
    assert [f.name for f in made] == ["sizes", "tags", "on", "rate", "inner.depth", "inner.mode"]
    args = p.parse_args(["--sizes", "3", "4", "--tags", "x", "y", "--no-on", "--rate", "none", "--inner.depth", "5",
                         "--inner.mode", "b"])
    assert fl.overrides(args, made) == {"sizes": (3, 4), "tags": ["x", "y"], "on": False, "rate": None,
                                        "inner": {"depth": 5, "mode": "b"}}
    assert fl.overrides(p.parse_args(["--on"]), made) == {"on": True}
    assert fl.overrides(p.parse_args([]), made) == {}
    with pytest.raises(SystemExit):
        p.parse_args(["--rate", "-1"])   # mcl.validate's "positive"
    with pytest.raises(SystemExit):
        p.parse_args(["--inner.mode", "c"])
    assert "several numbers [default: 1 2]" in p.format_help()


def test_every_number_field_has_a_kind_so_its_flag_is_checked():
    for cls in (TrainConfig, ModelConfig, LossConfig):
        for name, hint in fl.hints(cls).items():
            if fl.optional_of(hint)[0] in (int, float):
                assert name in cls.NUMBERS, f"{cls.__name__}.{name}"


@pytest.mark.parametrize("cls,kw,message", [
    (TrainConfig, {"optimizer": "adam"}, "optimizer='adam': expected 'adamw' or 'sgd'"),
    (TrainConfig, {"val_split": "x"}, "val_split='x': expected 'auto', 'time', 'clip', 'mirror' or 'none'"),
    (TrainConfig, {"min_lr_ratio": 1.5}, r"min_lr_ratio=1.5: expected a number in \[0, 1\]"),
    (ModelConfig, {"activation": "tanh"}, "model.activation='tanh': expected 'gelu' or 'relu'"),
    (ModelConfig, {"query_tokens": 0}, "model.query_tokens=0: expected a whole number ≥ 1"),
    (LossConfig, {"body": "mesh"}, "loss.body='mesh': expected 'auto', 'joints' or 'vertices'"),
])
def test_the_configs_check_their_choices_from_the_annotations(cls, kw, message):
    with pytest.raises(ValueError, match=message):
        cls(**kw)
