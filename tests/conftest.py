"""Fixtures shared by the notebook and browser tests."""
import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The fast demo run (1 layer, d 64, 3 epochs) on DeepMimic with MiniLM, its caches in the tmp dir."""
    from mcl.lab.demo import ensure_run

    root = tmp_path_factory.mktemp("nbrun")
    return ensure_run(root / "run", data="deepmimic", space="minilm", fast=True, progress=False,
                      cache_dir=str(root / "cache"))
