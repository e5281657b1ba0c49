"""Fixtures shared by the notebook and browser tests; one torch thread in every test."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch thread in the test process (subprocesses and kernels keep their own settings; `mcl.train` sets its
    config's `threads` and restores this after). The tests' models are tiny, and on the 2-core machine with another
    job on one core two threads wait for each other: the official forward-pass test (8 layers, d 512) took 0.7 s with
    one thread and 5.4 s with two (2026-12-07). Set before every test, not once: numba's parallel kernels (the
    renderer) reset the OpenMP thread count that torch shares."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The fast demo run (1 layer, d 64, 3 epochs) on DeepMimic with MiniLM, its caches in the tmp dir."""
    from mcl.lab.demo import ensure_run

    root = tmp_path_factory.mktemp("nbrun")
    return ensure_run(root / "run", data="deepmimic", space="minilm", fast=True, progress=False,
                      cache_dir=str(root / "cache"))
