"""`mcl explore [RUN]`: the explorers (text → motion, arithmetic, interpolation, recognition) and the clickable UMAP
map of a run on one page, served on 127.0.0.1 by Voilà.

Voilà runs the shipped notebook `mcl/explore.ipynb` in a fresh kernel per visitor and shows its outputs only (no
code); the explorers are ipywidgets, so every change is computed in that kernel and redrawn in place. Voilà is the
Jupyter project's own server for exactly this (a notebook of widgets as a web page), so it renders the plotly
mimetype and the plotly `FigureWidget` with the same extensions as JupyterLab. The run, the data and the working
directory reach the kernel through the environment (`MCL_EXPLORE_*`).

    mcl explore                           # the shipped model `open`, http://127.0.0.1:8866/
    mcl explore runs/my-run --port 9000
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from ..paths import pretrained_path
from ..training import checkpoint as ckpt

NOTEBOOK = Path(__file__).with_name("explore.ipynb")
DEFAULT_RUNS = ("open", "runs/deepmimic-cpu", "runs/deepmimic-fast")  # the shipped model first (mcl.paths.PRETRAINED)


def pick_run(run: str | None) -> Path:
    """`run` when it holds a checkpoint (a run dir or a shipped model's name); with no `run`, the shipped `open`
    model, else the demo's runs.

    Example: `pick_run(None)` → `.../mcl/pretrained/open`.
    """

    candidates = [run] if run else list(DEFAULT_RUNS)
    for c in candidates:
        if ckpt.manifest(c, "latest") is not None:
            return pretrained_path(c).resolve()
    if run:
        raise FileNotFoundError(f"{run}: no trained run there (no checkpoints/latest.json); train one with "
                                f"`mcl train` or `make demo`, or pass another run directory")
    raise FileNotFoundError(f"no trained run in {' or '.join(DEFAULT_RUNS)}: run `make demo` (or "
                            f"`python -m mcl.lab.demo --fast` for a tiny one in minutes), or pass a run directory")


def free_port(port: int, host: str = "127.0.0.1") -> int:
    """`port` when nothing listens on it, else a free port chosen by the OS (so the printed URL is the real one)."""
    for p in (port, 0):
        with socket.socket() as s:
            try:
                s.bind((host, p))
                return s.getsockname()[1]
            except OSError:
                continue
    raise OSError(f"no free port on {host}")


def voila_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The Voilà command line that serves the explorer notebook on `host:port`, with no browser and no token."""
    return [sys.executable, "-m", "voila", str(NOTEBOOK), f"--port={port}", f"--Voila.ip={host}", "--no-browser",
            "--Voila.token=", "--show_tracebacks=True"]


def register(subparsers) -> None:
    """Add `mcl explore` to the `mcl` command."""
    p = subparsers.add_parser("explore", help="serve the explorers and the UMAP map of a run on one page (Voilà)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help=f"run directory (default: {DEFAULT_RUNS[0]}, else {DEFAULT_RUNS[1]})")
    p.add_argument("--data", default="deepmimic", help="data spec for the windows, map and classes "
                                                       "(default: %(default)s)")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: %(default)s; a free one "
                                                          "when it is taken)")
    p.add_argument("--fast", action="store_true", help="fewer windows in the UMAP map (quicker to start)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the URL and become Voilà on 127.0.0.1 (runs until Ctrl-C)."""
    try:
        import voila  # noqa: F401
    except ImportError:
        raise FileNotFoundError("mcl explore needs voila: pip install -e '.[notebooks]' (make setup installs it)")
    run_dir = pick_run(args.run)
    port = free_port(args.port)
    env = dict(os.environ, MCL_EXPLORE_RUN=str(run_dir), MCL_EXPLORE_DATA=args.data, MCL_EXPLORE_CWD=os.getcwd(),
               MCL_EXPLORE_FAST="1" if args.fast else "0", TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    url = f"http://127.0.0.1:{port}/"
    print(f"mcl explore: run {run_dir}, data {args.data}\n  open {url}  (each visit starts a kernel; the UMAP map "
          f"takes a little while to compute). Ctrl-C stops the server.", flush=True)
    # Voilà takes this process's place: Ctrl-C or a kill stops the server itself, not a wrapper around it
    cmd = voila_command(port)
    os.execve(cmd[0], cmd, env)
