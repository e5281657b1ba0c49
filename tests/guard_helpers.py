"""Shared pieces of the tests/test_guards_*.py family: a tiny training config, and `mcl` run as a user runs it."""
from __future__ import annotations

import json
import sys

from fake_space import FakeSpace
from mcl.training.config import preset
from mcl.data import synthetic_dataset

TINY = dict(n_layers=1, d_model=32, n_heads=2, d_ff=64)


def tiny_cfg(out, **kw):
    """The cpu preset on a tiny model: 6 synthetic clips → 2 steps an epoch."""
    base = dict(out=str(out), epochs=2, batch_size=4, lr=1e-3, progress=False, threads=1, model=dict(TINY),
                lr_schedule="constant", warmup_steps=0, checkpoint_seconds=0.0, fixed_windows=False)
    base.update(kw)
    return preset("cpu", **base)


def motions(n=6, frames=150):
    return synthetic_dataset(n, frames=frames)


def space():
    return FakeSpace(16)


def rows(run, split=None):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if split is None or r["split"] == split]


def run_mcl(argv, monkeypatch, capsys, env: dict | None = None) -> tuple[int, str, str]:
    """`mcl ARGV` through the console script's entry point: `(exit code, stdout, stderr)`."""
    from mcl.cli import entry

    monkeypatch.delenv("MCL_DEBUG", raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(sys, "argv", ["mcl"] + [str(a) for a in argv])
    try:
        code = entry()
    except SystemExit as e:  # argparse: usage errors exit 2 with its own `mcl …: error:` line
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str) -> str:
    """The `mcl: error:` line of stderr (asserting there is one and no traceback)."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert lines, err
    return lines[0]
