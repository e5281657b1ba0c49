"""`mcl spaces`: which frozen embedding spaces exist, their width, whether they embed images, and which work here."""
from __future__ import annotations

import argparse
import json

from . import SPACES, available_spaces
from .auto import choose_auto


def run_spaces(args: argparse.Namespace) -> int:
    import os
    if args.clip_weights:
        os.environ["MCL_CLIP_WEIGHTS"] = args.clip_weights
    rows = [dict(name=n, dim=getattr(SPACES[n], "dim", None), images=SPACES[n].has_images, available=ok, why=why)
            for n, ok, why in available_spaces()]
    try:
        auto_name, auto_why = choose_auto()
    except FileNotFoundError as e:
        auto_name, auto_why = None, str(e)
    if args.json:
        print(json.dumps(dict(spaces=rows, auto=dict(choice=auto_name, why=auto_why)), indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'space':<{width}}  {'dim':>4}  images  available  why")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['dim'] or '?':>4}  {'yes' if r['images'] else 'no':<6}  "
              f"{'yes' if r['available'] else 'no':<9}  {r['why']}")
    print(f"{'auto':<{width}}  {'':>4}  {'':<6}  {'→ ' + str(auto_name):<9}  {auto_why}")
    return 0


def register(subparsers) -> None:
    """Add `mcl spaces` to the `mcl` command."""
    p = subparsers.add_parser(
        "spaces", help="list the frozen embedding spaces and which are available here",
        description="List the frozen embedding spaces (CLIP ViT-B/32, MiniLM, random CLIP), their dimension, whether "
                    "they embed images, whether each can be built on this machine and why, and what `auto` picks. "
                    "Builds no model and downloads nothing.")
    p.add_argument("--clip-weights", metavar="PATH", help="check this CLIP ViT-B/32 checkpoint (as $MCL_CLIP_WEIGHTS)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.set_defaults(func=run_spaces)
