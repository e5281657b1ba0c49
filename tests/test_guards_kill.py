"""`kill -9` at random moments (mostly while checkpointing: a tiny model that checkpoints every step), then resume:
every time the run dir is consistent (the manifest names complete files that load, no duplicated metrics rows, the
stale lock is taken over, temp files are cleaned), and the run finishes with one row per step."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import mcl
from guard_helpers import space
from mcl.training import checkpoint as ckpt

REPO = Path(mcl.__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
KILLS = int(os.environ.get("MCL_TEST_KILLS", "3"))  # the probe's 12: MCL_TEST_KILLS=12 pytest tests/test_guards_kill.py

SCRIPT = """
import sys
from guard_helpers import motions, space, tiny_cfg
from mcl.training.loop import train
train(tiny_cfg(sys.argv[1], epochs=int(sys.argv[3]), checkpoint_every=1, resume=sys.argv[2] == "1"),
      motions=motions(), space=space())
print("DONE")
"""


def _start(run: Path, resume: bool, epochs: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(TESTS)]))
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(run), "1" if resume else "0", str(epochs)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _latest_step(run: Path) -> int:
    try:
        return int(json.loads((run / "checkpoints" / "latest.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return -1


def _check_consistent(run: Path) -> int:
    """The run dir after a kill: what resume will read is complete and loadable. Returns the checkpoint's step."""
    m = ckpt.manifest(run, "latest")
    assert m is not None
    weights = ckpt.load_weights(run / "checkpoints" / m["weights"])
    assert all(torch.isfinite(v).all() for v in weights.values())
    assert "optimizer" in ckpt.load_state(run, "latest")
    assert ckpt.load(run, space=space()).step == m["step"]
    return int(m["step"])


def _kill_loop(tmp_path, kills: int, seed: int):
    rng = random.Random(seed)
    run = tmp_path / "run"
    epochs = 4 * kills + 5  # 2 steps an epoch; each round runs 1-6 steps past the last checkpoint before its kill
    last = -1
    for i in range(kills):
        proc = _start(run, resume=i > 0, epochs=epochs)
        target, deadline = max(last, 0) + rng.randint(1, 5), time.time() + 120
        while _latest_step(run) < target and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)  # progress every round, whatever the machine's speed
        time.sleep(rng.uniform(0.0, 0.03))  # then a random moment: mid-step, mid-checkpoint, mid-metrics write
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the trainer ended before kill {i + 1} (rc {proc.returncode}):\n{out}\n{err[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        step = _check_consistent(run)
        assert step > last, f"kill {i + 1}: no progress ({step})"
        last = step
    proc = _start(run, resume=True, epochs=epochs)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "DONE" in out, err[-3000:]
    assert "took over the stale lock" in out  # the killed trainer's lock
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if r["split"] == "train"]
    assert steps == list(range(1, 2 * epochs + 1))  # one row per step: nothing duplicated, nothing lost
    assert _check_consistent(run) == 2 * epochs
    assert not list(run.rglob("*.tmp")) and not (run / ".lock").exists()


@pytest.mark.slow
def test_kill_minus_9_while_checkpointing_then_resume_keeps_the_run_consistent(tmp_path):
    _kill_loop(tmp_path, kills=KILLS, seed=int(os.environ.get("MCL_TEST_KILL_SEED", "0")))
