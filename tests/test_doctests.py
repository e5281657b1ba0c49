"""The `>>>` examples in the public API's docstrings run, so they stay true (issue #16: "doctests of the public API
run"). Part of the fast tier: every example is cheap (no training, no network, no weights; tiny models, synthetic
data, a 32-d random CLIP); `# doctest: +SKIP` only where an example needs files that cannot be here.

A module listed below with no example fails (the list cannot rot), and a module of mcl with a `>>>` that is not
listed fails too (a new example cannot be forgotten).
"""
from __future__ import annotations

import doctest
import importlib
import io
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

MODULES = [
    "mcl",  # the tour: load, encode, decode, text_to_motion, edit, interpolate, classify
    "mcl.body.mesh",
    "mcl.body.rotations",
    "mcl.body.skeleton",
    "mcl.cli",
    "mcl.codec",
    "mcl.data.motion",
    "mcl.data.sources",
    "mcl.data.synthetic",
    "mcl.data.windows",
    "mcl.latent.ops",
    "mcl.model",
    "mcl.paths",
    "mcl.lab.figures",
    "mcl.training.checkpoint",
    "mcl.training.config",
    "mcl.training.flags",
    "mcl.training.loop",  # `train`'s examples are +SKIP (they train for minutes): parsed, not run
    "mcl.training.losses",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_module_with_examples_is_listed():
    with_examples = {_module_name(p) for p in (ROOT / "mcl").rglob("*.py") if ">>>" in p.read_text(encoding="utf-8")}
    missing = sorted(with_examples - set(MODULES))
    assert not missing, f"modules with >>> examples that tests/test_doctests.py does not run: {missing}; list them"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    tests = [t for t in doctest.DocTestFinder().find(importlib.import_module(name)) if t.examples]
    assert tests, f"{name} has no >>> example: add one or take it off MODULES"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = io.StringIO()
    environ = dict(os.environ)
    try:
        with torch.random.fork_rng(devices=[]):  # examples that build models draw from the global RNG
            for test in sorted(tests, key=lambda t: t.name):
                runner.run(test, out=report.write)
    finally:  # examples may set variables (MCL_CACHE): leave the environment as it was
        os.environ.clear()
        os.environ.update(environ)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} examples of {name} failed:\n{report.getvalue()}"
