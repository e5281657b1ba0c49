"""The `mcl` command. Each subsystem adds its own subcommands through a `register(subparsers)` function.

`mcl --help` lists them; `mcl COMMAND --help` explains each.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .spaces.base import SpaceUnavailable
from .training.loop import TrainingDiverged
from .training.run_dir import RunLocked

# Modules that provide `register(subparsers)`; each registers one or more subcommands.
COMMAND_MODULES = [
    "mcl.data.cli",
    "mcl.spaces.cli",
    "mcl.training.cli",
    "mcl.latent.cli",
    "mcl.lab.demo",
    "mcl.render.cli",
    "mcl.official.cli",
    "mcl.lab.explore",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcl", description="MotionCLIP research workbench.",
        epilog="Errors are one `mcl: error:` line (MCL_DEBUG=1 shows the traceback). Exit codes: 0 done; 1 stopped "
               "part-way, work kept (e.g. a diverged run's last good checkpoint); 2 nothing was done (bad input, a "
               "damaged or missing file, a run dir in use); 130 interrupted.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    return int(args.func(args) or 0)


# Exit codes: 0 done; 1 stopped part-way (work was done and kept, e.g. a diverged run's last good checkpoint);
# 2 nothing was done (bad input, a damaged or missing file, a run dir in use: fix what the message names, rerun);
# 130 interrupted (Ctrl-C).
EXIT_PARTIAL, EXIT_NOTHING_DONE, EXIT_INTERRUPTED = 1, 2, 130


def user_error(e: BaseException) -> tuple[str, int] | None:
    """`(one-line message, exit code)` for an exception a user can cause, or None for a bug (shown as a traceback).

    >>> user_error(PermissionError(13, "Permission denied", "/runs"))
    ('/runs: Permission denied — choose a writable place (--out, MCL_CACHE)', 2)
    >>> user_error(FileNotFoundError("runs/x: no checkpoint"))
    ('runs/x: no checkpoint', 2)
    >>> user_error(ZeroDivisionError("division by zero")) is None
    True
    """
    import pickle
    import sqlite3


    if isinstance(e, TrainingDiverged):
        return f"training diverged: {e}", EXIT_PARTIAL
    if isinstance(e, KeyboardInterrupt):
        return "interrupted; rerun with --resume to continue a training run", EXIT_INTERRUPTED
    if isinstance(e, OSError) and e.filename is not None and not isinstance(e, FileNotFoundError):
        hint = {13: "choose a writable place (--out, MCL_CACHE)", 30: "choose a writable place (--out, MCL_CACHE)",
                20: "a path component is a file; fix --out / MCL_CACHE", 28: "free some disk space"}.get(e.errno, "")
        return f"{e.filename}: {e.strerror or e}" + (f" — {hint}" if hint else ""), EXIT_NOTHING_DONE
    if isinstance(e, sqlite3.DatabaseError):
        return (f"embedding cache: {e}; delete the damaged cache file (mcl spaces shows where) or set MCL_CACHE",
                EXIT_NOTHING_DONE)
    if isinstance(e, pickle.UnpicklingError):
        return f"{e} (mcl never unpickles foreign objects)", EXIT_NOTHING_DONE
    if type(e).__name__ == "SafetensorError":
        return f"damaged safetensors file: {e}", EXIT_NOTHING_DONE
    if isinstance(e, (ValueError, TypeError, OSError, RunLocked, SpaceUnavailable)):  # DataError is a ValueError
        return str(e) or type(e).__name__, EXIT_NOTHING_DONE
    return None


def entry(argv: list[str] | None = None) -> int:
    """The console script: an error a user can cause (a bad value, a damaged or missing file, a run dir in use, a
    space without weights, a diverged run) prints one `mcl: error: …` line and exits with the code above instead
    of a traceback; `MCL_DEBUG=1` shows the traceback."""
    import os

    try:
        return main(argv)
    except (Exception, KeyboardInterrupt) as e:
        known = user_error(e)
        if known is None or os.environ.get("MCL_DEBUG"):
            raise
        message, code = known
        print(f"mcl: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(entry())
