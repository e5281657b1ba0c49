"""`--quiet` for every `mcl` command: no progress bars anywhere in the process, long lists kept out of the console.

Bars come from our code, sentence-transformers, transformers and huggingface_hub, all built on `tqdm.std.tqdm`, so
one switch on that class silences them all (tqdm's own `TQDM_DISABLE` loses to an explicit `disable=` argument).
Long lists (every extended clip, every skipped file) go to a log file; the console gets one line saying where.
Example: `with no_progress_bars(): ...`; `short_note("extended 900 clips: a; b; …", Path("runs/x/log.txt"))`.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["no_progress_bars", "short_note", "LONG_NOTE"]

LONG_NOTE = 300  # characters: a console line longer than this goes to the log file instead


@contextlib.contextmanager
def no_progress_bars(enabled: bool = True):
    """Inside the block (when `enabled`), every tqdm bar in the process is disabled; restored afterwards.
    Example: `with no_progress_bars(args.quiet): train(...)`."""
    if not enabled:
        yield
        return
    import tqdm.std

    env = {k: os.environ.get(k) for k in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}
    os.environ.update(HF_HUB_DISABLE_PROGRESS_BARS="1", TQDM_DISABLE="1")
    hf = None
    try:  # transformers' "Loading weights" bars and its warnings
        from transformers.utils import logging as hf_logging
        hf = (hf_logging, hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
    original = tqdm.std.tqdm.__init__

    def quiet_init(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm.std.tqdm.__init__ = quiet_init
    try:
        yield
    finally:
        tqdm.std.tqdm.__init__ = original
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if hf is not None:
            hf[0].set_verbosity(hf[2])
            if hf[1]:
                hf[0].enable_progress_bar()


def short_note(note: str, log_file: str | os.PathLike | None, max_lines: int = 15) -> str:
    """`note` itself when no line is longer than `LONG_NOTE` and it has at most `max_lines` lines; else those lines
    cut short plus where the whole note is (appended to `log_file` when one is given).
    Example: `short_note("extended 900 clips: " + "; ".join(names), "runs/r/log.txt")`."""
    lines = note.splitlines() or [""]
    if all(len(line) <= LONG_NOTE for line in lines) and len(lines) <= max_lines:
        return note
    where = ""
    if log_file is not None:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a") as f:
            f.write(note.rstrip("\n") + "\n")
        where = f" (in full in {log_file})"
    cut = [line if len(line) <= LONG_NOTE else line[:LONG_NOTE].rstrip() + "…" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        cut.append(f"… {len(lines) - max_lines} more line(s)")
    return "\n".join(cut) + where
