"""The space is part of a run's identity: `--resume` and `mcl.load` refuse a space whose fingerprint (name + weights
hash) differs from the one the run recorded, naming both."""
import json

import pytest

from fake_space import FakeSpace
from guard_helpers import motions, tiny_cfg
from mcl.training.checkpoint import load
from mcl.training.loop import train


def _space(fingerprint: str, dim: int = 16) -> FakeSpace:
    """A stand-in with the same dim but another fingerprint (random-clip vs clip-vit-b32, another CLIP file)."""
    s = FakeSpace(dim)
    s.name = fingerprint
    return s


def test_the_run_records_the_space_fingerprint(tmp_path):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=_space("random-clip@seed0"))
    assert json.loads((run / "config.json").read_text())["space_fingerprint"] == "random-clip@seed0"
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["space_fingerprint"] == "random-clip@seed0"


def test_resume_refuses_another_space_naming_both(tmp_path):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=_space("random-clip@seed0"))
    before = (run / "checkpoints" / "latest.json").read_text()
    with pytest.raises(ValueError, match=r"cannot resume .*run: it was trained with space 'random-clip@seed0' "
                                         r"\(recorded in .*config.json\) but this machine's space is "
                                         r"'clip-vit-b32@4ba6f1a9'"):
        train(tiny_cfg(run, epochs=2, resume=True), motions=motions(), space=_space("clip-vit-b32@4ba6f1a9"))
    assert (run / "checkpoints" / "latest.json").read_text() == before
    # the same space resumes
    train(tiny_cfg(run, epochs=2, resume=True), motions=motions(), space=_space("random-clip@seed0"))


def test_load_refuses_another_space_of_the_same_dim_naming_both(tmp_path):
    run = train(tiny_cfg(tmp_path / "run", epochs=1), motions=motions(), space=_space("clip-vit-b32@aaaa"))
    with pytest.raises(ValueError, match=r"space mismatch: run .* was trained with space 'clip-vit-b32@aaaa' but the "
                                         r"space here is 'clip-vit-b32@bbbb'"):
        load(run, space=_space("clip-vit-b32@bbbb"))
    assert load(run, space=_space("clip-vit-b32@aaaa")).step == 2
