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


if __name__ == "__main__":
    sys.exit(main())
