"""`mcl train`: train MotionCLIP from the command line (one process, or many under torchrun).

    mcl train --data deepmimic --space minilm --preset cpu --epochs 300 --out runs/deepmimic-cpu
    mcl train --out runs/deepmimic-cpu --resume            # continue a killed run exactly where it stopped
    mcl train --data bandai --space minilm --preset cpu --random-windows --epochs 60 --quiet --out runs/bandai-cpu
    mcl train --preset cpu --model.n-layers 2 --loss.alignment infonce --lr-schedule constant --grad-clip none
    torchrun --nproc_per_node 2 -m mcl.cli train --preset paper --data amass:... --out runs/paper

Every `TrainConfig` field has a flag, generated from the dataclasses (`mcl.training.flags`): `batch_size` →
`--batch-size`, the model's `d_model` → `--model.d-model`, the loss's `w_text` → `--loss.w-text`; the short names of
before (`--layers --d-model --heads --ff --dropout --w-image --w-text --w-text-rc --alignment --temperature --body`)
still work. A field that may be None takes the word `none`. Each help text is the field's comment in
mcl/training/config.py, then [default: the default preset's value; paper: the paper's, where it differs].
"""
from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from ..latent.ops import NORM_FILE, latent_norm
from ..quiet import no_progress_bars
from . import flags as fl
from .checkpoint import load, read_json, ship
from .config import DEFAULT_PRESET, PRESETS, TrainConfig, preset
from .loop import train

PRESET_NOTE = (f"Default preset: {DEFAULT_PRESET} (as mcl.train()); fields whose flags are not given keep the "
               f"preset's values (with --resume and no --preset: the run's saved config). --preset paper is the "
               f"paper's setup.")

# The flag names from before the flags were generated (docs, notebooks and tests use them), put before the generated
# `--model.*`/`--loss.*` names so that argparse's messages (`argument --layers/--model.n-layers: …`) name them.
ALIASES = {"model.n_layers": ["--layers"], "model.d_model": ["--d-model"], "model.n_heads": ["--heads"],
           "model.d_ff": ["--ff"], "model.dropout": ["--dropout"], "loss.w_image": ["--w-image"],
           "loss.w_text": ["--w-text"], "loss.w_text_rc": ["--w-text-rc"], "loss.alignment": ["--alignment"],
           "loss.temperature": ["--temperature"], "loss.body": ["--body"]}
HAND_MADE = {"preset", "progress", "fixed_windows"}  # their flags are written out in `register`
SWITCHES = {"resume", "overwrite"}                   # actions, not settings: `--resume`, no `--no-resume`


def _overrides(args: argparse.Namespace) -> dict:
    """The `TrainConfig` fields the flags given set (`--preset` picks the base, it is no override)."""
    out = fl.overrides(args, args.train_flags)
    out.pop("preset", None)
    return out


def run(args: argparse.Namespace) -> int:
    with no_progress_bars(args.progress is False):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    overrides = _overrides(args)
    out = Path(args.out or preset(args.preset or DEFAULT_PRESET).out)
    saved = out / "config.json"
    if args.resume and saved.exists():
        if args.space is None:  # the space the run resolved, never "auto" again
            recorded = read_json(saved)
            overrides["space"] = recorded.get("space") or recorded["config"]["space"]
        if args.preset is None:  # the saved config is the base, flags given here override it
            overrides["out"] = str(out)
    if args.resume and saved.exists() and args.preset is None:
        run_dir = train(None, **overrides)
    else:
        run_dir = train(preset(args.preset or DEFAULT_PRESET), **overrides)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks
        print(f"run dir: {run_dir}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train MotionCLIP (checkpoints, metrics, resume, torchrun/DDP)",
                       description=__doc__ + "\n" + textwrap.fill(PRESET_NOTE, 116),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    base, comments = preset(DEFAULT_PRESET), fl.field_comments(TrainConfig)
    others = {name: preset(name) for name in PRESETS if name != DEFAULT_PRESET}
    p.add_argument("--preset", choices=sorted(PRESETS), help=(
        f"{comments['preset']} [default: {DEFAULT_PRESET}; with --resume: the run's saved config]"))
    train_group = p.add_argument_group("training (TrainConfig)")
    groups = {"model": p.add_argument_group("model (ModelConfig): --model.NAME"),
              "loss": p.add_argument_group("loss (LossConfig): --loss.NAME")}
    made = fl.add_flags(train_group, TrainConfig, base, others, aliases=ALIASES, skip=HAND_MADE, switches=SWITCHES,
                        groups=groups)

    windows = train_group.add_mutually_exclusive_group()
    windows.add_argument("--fixed-windows", dest="fixed_windows", action="store_const", const=True, default=None,
                         help=f"{comments['fixed_windows']} {fl.default_note(('fixed_windows',), base, others)}")
    windows.add_argument("--random-windows", "--no-fixed-windows", dest="fixed_windows", action="store_const",
                         const=False, help="a random window of each chunk every epoch (the paper's)")
    bars = train_group.add_mutually_exclusive_group()
    bars.add_argument("-q", "--quiet", "--no-progress", dest="progress", action="store_const", const=False,
                      default=None, help="no progress bars at all (data, texts, images, weights, training); long "
                                         "lists go to OUT/log.txt (progress=False)")
    bars.add_argument("--progress", dest="progress", action="store_const", const=True,
                      help=f"{comments['progress']} {fl.default_note(('progress',), base, others)}")
    made += [fl.Flag(("preset",), "preset", ["--preset"]),
             fl.Flag(("fixed_windows",), "fixed_windows",
                     ["--fixed-windows", "--random-windows", "--no-fixed-windows"]),
             fl.Flag(("progress",), "progress", ["--progress", "-q", "--quiet", "--no-progress"])]
    p.set_defaults(func=run, train_flags=made)

    p = sub.add_parser("ship", help="write a run's weights as a model to ship (fp16 safetensors + config + judge)",
                       description="Write a run as a shipped model folder: config.json, checkpoints/latest.json and "
                                   "one fp16 safetensors file (no optimizer state), plus a copy of its judge. "
                                   "`mcl.load(OUT)` loads it like a run. Example (the open model, MODEL_CARD.md): "
                                   "mcl ship runs/open --out mcl/pretrained/open --judge judges/open")
    p.add_argument("run", help="run dir")
    p.add_argument("--out", required=True, help="folder to write (its old checkpoint files are replaced)")
    p.add_argument("--judge", help="a judge folder (`mcl judge train`) to ship beside the weights, as OUT/judge")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="checkpoint (default latest)")
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (default: fp16, half the size)")
    p.set_defaults(func=run_ship)


def run_ship(args: argparse.Namespace) -> int:
    # texts are decoded at the scale of encoded training windows: measure it now, while the training data is here
    norm = latent_norm(load(args.run, which=args.which))
    print(f"latent scale of {args.run}: {norm:.2f} (kept in {NORM_FILE})")
    out = ship(args.run, args.out, which=args.which, fp16=not args.fp32, judge=args.judge, files=(NORM_FILE,))
    size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file())
    print(f"shipped {args.run} ({args.which}) → {out}: {size / 1e6:.1f} MB")
    return 0
