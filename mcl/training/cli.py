"""`mcl train`: train MotionCLIP from the command line (one process, or many under torchrun).

    mcl train --data deepmimic --space minilm --preset cpu --epochs 300 --out runs/deepmimic-cpu
    mcl train --out runs/deepmimic-cpu --resume            # continue a killed run exactly where it stopped
    mcl train --data bandai --space minilm --preset cpu --random-windows --epochs 60 --quiet --out runs/bandai-cpu
    torchrun --nproc_per_node 2 -m mcl.cli train --preset paper --data amass:... --out runs/paper
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import validate as v  # argparse types: counts ≥ 1, rates > 0, all finite (named in the error)
from ..quiet import no_progress_bars
from .checkpoint import read_json
from .config import preset
from .loop import train


def _overrides(args: argparse.Namespace) -> dict:
    flat = {"data": args.data, "space": args.space, "epochs": args.epochs, "out": args.out,
            "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "max_steps": args.max_steps,
            "grad_clip": args.grad_clip, "device": args.device, "val_split": args.val_split,
            "val_fraction": args.val_fraction, "checkpoint_every": args.checkpoint_every,
            "cache_dir": args.cache_dir, "optimizer": args.optimizer, "lr_schedule": args.lr_schedule,
            "warmup_steps": args.warmup_steps,
            "threads": args.threads, "precision": args.precision}
    out = {k: v for k, v in flat.items() if v is not None}
    if args.fixed_windows is not None:
        out["fixed_windows"] = args.fixed_windows
    if args.quiet:
        out["progress"] = False
    model = {k: v for k, v in {"n_layers": args.layers, "d_model": args.d_model, "n_heads": args.heads,
                               "d_ff": args.ff, "dropout": args.dropout}.items() if v is not None}
    loss = {k: v for k, v in {"w_image": args.w_image, "w_text": args.w_text, "w_text_rc": args.w_text_rc,
                              "alignment": args.alignment,
                              "temperature": args.temperature, "body": args.body}.items() if v is not None}
    if model:
        out["model"] = model
    if loss:
        out["loss"] = loss
    return out


def run(args: argparse.Namespace) -> int:
    with no_progress_bars(args.quiet):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    overrides = _overrides(args)
    if args.resume:
        overrides["resume"] = True
    if args.overwrite:
        overrides["overwrite"] = True
    saved = Path(args.out or "runs/run") / "config.json"
    if args.resume and args.space is None and saved.exists():  # the space the run resolved, never "auto" again
        recorded = read_json(saved)
        overrides["space"] = recorded.get("space") or recorded["config"]["space"]
    if args.resume and args.preset is None and saved.exists():
        run_dir = train(None, **overrides)  # the saved config is the base, flags given here override it
    else:
        run_dir = train(preset(args.preset or "cpu"), **overrides)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks
        print(f"run dir: {run_dir}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train MotionCLIP (checkpoints, metrics, resume, torchrun/DDP)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="data spec: deepmimic, synthetic, bandai[:PATH], bvh:FOLDER, amass:... "
                                  "(default: the preset's, deepmimic)")
    p.add_argument("--space", help="frozen space: minilm, clip-vit-b32, random-clip, auto (default: auto)")
    p.add_argument("--preset", choices=["paper", "cpu"], help="model/training preset (default: cpu; "
                                                               "with --resume: the run's saved config)")
    p.add_argument("--epochs", type=v.count, help="passes over the training windows (≥ 1)")
    p.add_argument("--out", help="run dir (default: the preset's, e.g. runs/deepmimic-cpu)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/latest exactly")
    p.add_argument("--overwrite", action="store_true", help="start over in an OUT that holds a run (its checkpoints "
                                                            "are moved to OUT/previous until the new run's first)")
    p.add_argument("--batch-size", type=v.count, help="global batch (paper: 20); split across torchrun ranks")
    p.add_argument("--lr", type=v.positive, help="learning rate (> 0)")
    p.add_argument("--seed", type=v.index, help="random seed (≥ 0)")
    p.add_argument("--optimizer", choices=["adamw", "sgd"], help="adamw (the paper, default) or sgd")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"],
                   help="constant (the paper) or cosine decay to 0.1·lr after --warmup-steps of linear warm-up")
    p.add_argument("--warmup-steps", type=v.index, help="linear lr warm-up over this many steps")
    p.add_argument("--max-steps", type=v.count, help="stop (and checkpoint) after this many optimizer steps")
    p.add_argument("--grad-clip", type=v.positive, help="clip the gradient norm to this value")
    p.add_argument("--threads", type=v.index, help="CPU threads for torch (default: the preset's, cpu 1; 0: torch's "
                                               "choice; 1 is much faster when other processes share the cores)")
    p.add_argument("--device", help="auto (cuda:LOCAL_RANK when present), cpu, cuda")
    p.add_argument("--precision", choices=["fp32", "bf16"], help="fp32 (default) or bf16 autocast of the model "
                                                                 "(≈2× faster matmuls on CPUs with AVX512-BF16)")
    p.add_argument("--val-split", choices=["auto", "time", "clip", "mirror", "none"])
    p.add_argument("--val-fraction", type=v.fraction, help="share of each clip held out by --val-split time")
    windows = p.add_mutually_exclusive_group()
    windows.add_argument("--fixed-windows", dest="fixed_windows", action="store_const", const=True, default=None,
                         help="fixed non-overlapping windows (the cpu preset's choice: DeepMimic's 15 looped clips)")
    windows.add_argument("--random-windows", dest="fixed_windows", action="store_const", const=False,
                         help="a random window per 100-frame chunk each epoch (the paper; better for large sets)")
    p.add_argument("--checkpoint-every", type=v.index, help="also checkpoint every N steps (default: each epoch)")
    p.add_argument("--cache-dir", help="where the space/renderer caches live")
    p.add_argument("--layers", type=v.count, help="override model.n_layers")
    p.add_argument("--d-model", type=v.count, help="override model.d_model")
    p.add_argument("--heads", type=v.count, help="override model.n_heads")
    p.add_argument("--ff", type=v.count, help="override model.d_ff")
    p.add_argument("--dropout", type=v.fraction, help="override model.dropout")
    p.add_argument("--w-image", type=v.nonneg, help="image-loss weight (0 disables)")
    p.add_argument("--w-text", type=v.nonneg, help="text-loss weight")
    p.add_argument("--w-text-rc", type=v.nonneg, help="weight of decoding each window's text embedding back to the "
                                                   "window (not in the paper; cpu preset: 100, paper: 0)")
    p.add_argument("--alignment", choices=["cosine", "infonce"])
    p.add_argument("--temperature", type=v.positive, help="InfoNCE temperature")
    p.add_argument("--body", choices=["auto", "joints", "vertices"],
                   help="body term on SMPL-24 joints (FK) or SMPL vertices (needs MCL_SMPL_DIR); default auto: "
                        "vertices when SMPL files are configured")
    p.add_argument("-q", "--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="no progress bars at all (data, texts, images, weights, training); long lists go to "
                        "OUT/log.txt")
    p.set_defaults(func=run)
