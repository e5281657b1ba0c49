"""Owning a run dir: one trainer at a time, nothing of an earlier run deleted before the new one has a checkpoint,
and leftovers of a killed process (temp files, a torn last metrics line) cleaned up with a note.

    with RunLock("runs/x"):          # a second `mcl train --out runs/x` fails at once, naming this process
        ...
`RunLock` writes `runs/x/.lock` (pid, host, start time) with `O_EXCL`; a lock whose pid is dead on this host is
stale: it is reported and taken over. `set_aside("runs/x")` renames the old checkpoints and metrics to
`runs/x/previous/` (deleted by `drop_set_aside` once the new run has written its own first checkpoint).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

LOCK = ".lock"
PREVIOUS = "previous"           # where a started-over run's old checkpoints wait until the new run has its own
SET_ASIDE = ("checkpoints", "metrics.jsonl", "metrics.csv", "tb")


class RunLocked(RuntimeError):
    """Another live process holds the run dir. The message names it (pid, host, start time) and the lock file."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """The lock on a run dir; `acquire()` returns notes to print (a stale lock taken over). Example:
    `with RunLock("runs/x") as lock: print(lock.notes)`."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK
        self.notes: list[str] = []
        self.held = False

    def _holder(self) -> dict | None:
        try:
            info = json.loads(self.path.read_text())
            return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable / torn: written by a process killed mid-write

    def acquire(self) -> list[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    continue  # released between our open and our read: try again
                pid, host = holder.get("pid"), holder.get("host")
                if holder and host != me["host"]:
                    raise RunLocked(f"{self.path.parent}: run dir is in use by pid {pid} on host {host} (since "
                                    f"{holder.get('started')}); wait for it, use another --out, or delete "
                                    f"{self.path} if that process is gone")
                if holder and pid != me["pid"] and _alive(pid):
                    raise RunLocked(f"{self.path.parent}: run dir is in use by pid {pid} on {host} (since "
                                    f"{holder.get('started')}); wait for it to finish, stop it, or use another --out")
                if holder and pid == me["pid"] and self.held:
                    return self.notes
                what = (f"pid {pid} (started {holder.get('started')}) is not running" if holder
                        else "the lock file is unreadable")
                self.notes.append(f"took over the stale lock {self.path}: {what}")
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self.notes
        raise RunLocked(f"{self.path}: could not take the lock (another process keeps re-creating it)")

    def release(self) -> None:
        if self.held:
            holder = self._holder()
            if holder and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def clean_temp_files(run_dir: str | os.PathLike) -> list[str]:
    """Delete `*.tmp` files a killed process left in the run dir and its checkpoints (our atomic writes use
    `.NAME.XXXX.tmp`); returns a note naming how many, or nothing."""
    run_dir = Path(run_dir)
    found = [p for d in (run_dir, run_dir / "checkpoints") if d.is_dir() for p in d.glob("*.tmp") if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return [f"removed {len(found)} temp file(s) left by an interrupted run: "
            + ", ".join(p.name for p in found[:5])] if found else []


def set_aside(run_dir: str | os.PathLike) -> list[str]:
    """Move an earlier run's checkpoints and metrics into `RUN/previous/` (replacing an older set-aside copy only
    when there is something new to keep); returns a note. Nothing is deleted here."""
    run_dir = Path(run_dir)
    present = [n for n in SET_ASIDE if (run_dir / n).exists()]
    if not present:
        return []
    prev = run_dir / PREVIOUS
    if prev.exists():
        shutil.rmtree(prev)  # an older set-aside copy whose successor never checkpointed: the newer run replaces it
    prev.mkdir()
    for n in present:
        os.replace(run_dir / n, prev / n)
    return [f"started over in {run_dir}: the previous run's {', '.join(present)} moved to {prev} (deleted once this "
            f"run has written its first checkpoint)"]


def drop_set_aside(run_dir: str | os.PathLike) -> None:
    """Delete `RUN/previous/` (called once the new run has a checkpoint of its own)."""
    prev = Path(run_dir) / PREVIOUS
    if prev.exists():
        shutil.rmtree(prev, ignore_errors=True)


def read_metrics_rows(path: str | os.PathLike, notes: list[str] | None = None) -> list[dict]:
    """The rows of a `metrics.jsonl`. A torn last line (a process killed mid-write) is dropped with a note in
    `notes`; a damaged line elsewhere is an error naming the file and line."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or "step" not in row:
                raise ValueError("not a metrics row")
        except ValueError:
            if i == len(lines) - 1:
                if notes is not None:
                    notes.append(f"{path}: dropped a torn last line (a process was killed while writing it)")
                break
            raise ValueError(f"{path}, line {i + 1}: damaged metrics row {line[:60]!r}; delete or fix that line "
                             f"(resume keeps only the rows up to the checkpoint)") from None
        rows.append(row)
    return rows
