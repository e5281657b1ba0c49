"""The `mcl` command. Each subsystem adds its own subcommands through a `register(subparsers)` function.

`mcl --help` lists them; `mcl COMMAND --help` explains each.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that provide `register(subparsers)`; each registers one or more subcommands.
COMMAND_MODULES = [
    "mcl.data.cli",
    "mcl.spaces.cli",
    "mcl.train_cli",
    "mcl.latent_cli",
    "mcl.demo",
    "mcl.render.cli",
    "mcl.explore",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcl", description="MotionCLIP research workbench.")
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


def entry() -> int:
    """The console script: bad input (a file, a value, a missing run) prints one `mcl: error: …` line and exits 2
    instead of a traceback; `MCL_DEBUG=1` shows the traceback."""
    import os

    from .data.errors import DataError

    try:
        return main()
    except (DataError, FileNotFoundError, ValueError, TypeError) as e:
        if os.environ.get("MCL_DEBUG"):
            raise
        print(f"mcl: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(entry())
