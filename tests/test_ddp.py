"""Two CPU processes (gloo DDP) take the same optimizer step as one process on the combined batch."""
import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from mcl.training import checkpoint as ckpt
from mcl.training.config import preset
from mcl.data import synthetic_dataset

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not available")


def _cfg(out):
    # dropout 0: the two runs draw different dropout masks otherwise; batch 4 → 2 windows per rank. SGD, because
    # Adam's first step lr·g/(|g|+eps) turns the float noise of tiny gradients (~eps) into O(lr) differences.
    # No warm-up, so the one step takes the full lr; the preset's gradient clipping stays on (clipped after the
    # all-reduce, so every rank scales alike).
    return preset("cpu", out=str(out), epochs=1, batch_size=4, lr=0.05, optimizer="sgd", progress=False, max_steps=1,
                  warmup_steps=0, model=dict(n_layers=1, d_model=32, n_heads=2, d_ff=64, dropout=0.0))


def _worker(rank, world, port, out, tests_dir):
    sys.path.insert(0, tests_dir)
    from fake_space import FakeSpace
    from mcl.training.loop import train
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    train(_cfg(out), motions=synthetic_dataset(6, frames=150), space=FakeSpace(16))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights(run):
    return load_file(str(run / "checkpoints" / ckpt.manifest(run)["weights"]))


def test_two_processes_equal_one_process_on_the_combined_batch(tmp_path):
    from fake_space import FakeSpace
    from mcl.training.loop import train

    ctx = mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), str(Path(__file__).parent)), nprocs=2,
                   join=False)
    deadline = time.monotonic() + 300
    while not ctx.join(timeout=5):  # a hung rendezvous fails the test instead of hanging the suite
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.terminate()
            pytest.fail("the two DDP workers did not finish within 300 s")
    single = train(_cfg(tmp_path / "single"), motions=synthetic_dataset(6, frames=150), space=FakeSpace(16))
    a, b = _weights(tmp_path / "ddp"), _weights(single)
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5, msg=lambda m: f"{k}: {m}")
    # the step did move the weights away from the (seeded, shared) initialisation
    from dataclasses import replace
    from mcl.model import MotionCLIP
    torch.manual_seed(10)
    init = MotionCLIP(replace(_cfg("x").model, latent_dim=16)).state_dict()
    assert sum(not torch.allclose(init[k], a[k]) for k in a) > len(a) // 2
    # only rank 0 wrote: one metrics row, one set of checkpoint files
    assert (tmp_path / "ddp" / "metrics.jsonl").read_text().count("\n") == 1
    assert len(list((tmp_path / "ddp" / "checkpoints").glob("*.safetensors"))) == 1


@pytest.mark.slow  # torchrun starts 2 processes that each import torch and mcl and train: ~20 s
def test_torchrun_two_gloo_processes_equal_one_process_through_the_cli(tmp_path):
    """The documented command, `torchrun --standalone --nproc_per_node 2 -m mcl.cli train …`, takes the same step as
    `mcl train` in one process on the combined batch (SGD, dropout 0, one step)."""
    import subprocess

    from mcl.spaces import SPACES
    ok, why = SPACES["minilm"].availability()
    if not ok:
        pytest.skip(f"minilm space unavailable: {why}")
    args = ["train", "--data", "synthetic?n=4&frames=120", "--space", "minilm", "--preset", "cpu", "--epochs", "1",
            "--batch-size", "4", "--lr", "0.05", "--optimizer", "sgd", "--max-steps", "1", "--warmup-steps", "0",
            "--layers", "1", "--d-model", "32", "--heads", "2", "--ff", "64", "--dropout", "0", "--threads", "1",
            "--device", "cpu", "--no-progress", "--cache-dir", str(tmp_path / "cache")]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    runs = {"ddp": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "mcl.cli"], "single": [sys.executable, "-m", "mcl.cli"]}
    for name, launcher in runs.items():
        done = subprocess.run(launcher + args + ["--out", str(tmp_path / name)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
    info = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert info["world_size"] == 2
    assert ckpt.manifest(tmp_path / "ddp")["step"] == ckpt.manifest(tmp_path / "single")["step"] == 1
    a, b = _weights(tmp_path / "ddp"), _weights(tmp_path / "single")
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5, msg=lambda m: f"{k}: {m}")
