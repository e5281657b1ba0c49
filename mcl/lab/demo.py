"""`make demo` (`python -m mcl.lab.demo`): the notebooks explore the shipped `open` model, notebook 01 fine-tunes it.

    python -m mcl.lab.demo            # 01 fine-tunes `open` on DeepMimic (runs/deepmimic-finetune, ~2 min); 00, 02–06
                                      # explore `open` (MODEL_CARD.md); notebooks/executed/, figures/
    python -m mcl.lab.demo --train    # `make demo-train`: train the cpu preset from scratch (runs/deepmimic-cpu,
                                      # ~17 min on 2 cores) and explore that run in every notebook, as before #13
    python -m mcl.lab.demo --fast     # a tiny model in runs/deepmimic-fast, the notebooks' fast settings (minutes);
                                      # figures go to notebooks/executed/figures-fast

Training resumes when a previous demo was interrupted and is skipped when the run is complete; `ensure_run` is the
same rule notebook 01 uses. Everything is offline: the space is `auto` (CLIP ViT-B/32 when its weights are on the
machine, MiniLM otherwise).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from ..cli import entry
from ..training import checkpoint as ckpt
from ..training.config import TrainConfig, merge, preset
from ..training.loop import train
from .notebooks import ROOT, error_outputs, execute_all

# `fast=True`: a model small enough that training and all notebooks take a few minutes on two CPU cores
FAST_OVERRIDES = {"epochs": 3, "warmup_steps": 0, "model": {"n_layers": 1, "d_model": 64, "n_heads": 2, "d_ff": 128}}
RUN_DIR = "runs/deepmimic-cpu"
FAST_RUN_DIR = "runs/deepmimic-fast"
# `make demo`: notebook 01 fine-tunes the shipped model for a few minutes instead of training from scratch
SHIPPED = "open"
FINETUNE_RUN_DIR = "runs/deepmimic-finetune"
FINETUNE_OVERRIDES = {"max_steps": 200, "lr": 1e-4, "warmup_steps": 20}


def run_status(run_dir: str | Path) -> str:
    """`"missing"` (no checkpoint), `"partial"` (stopped before its last epoch / max_steps) or `"complete"`.

    Example: `run_status("runs/deepmimic-cpu")` → `"complete"` after `mcl train` finished.
    """

    latest = ckpt.manifest(run_dir, "latest")
    if latest is None:
        return "missing"
    cfg = TrainConfig.from_dict(latest["config"])
    done = latest.get("epoch", 0) >= cfg.epochs or (cfg.max_steps is not None and latest.get("step", 0) >= cfg.max_steps)
    return "complete" if done else "partial"


def ensure_run(run_dir: str | Path = RUN_DIR, data: str = "deepmimic", space: str = "auto", fast: bool = False,
               retrain: bool = False, progress: bool = True, init: str | None = None, **overrides) -> Path:
    """A trained run in `run_dir`: reused when complete, resumed when interrupted, trained (`cpu` preset) otherwise.

    `fast=True` shrinks the model and epochs (`FAST_OVERRIDES`); `init` (e.g. `"open"`) fine-tunes that model for
    `FINETUNE_OVERRIDES` steps instead of training from scratch; `overrides` are any other TrainConfig fields.
    `retrain=True` deletes `run_dir` and trains from scratch. A run trained on other data is not reused silently:
    that is an error naming both. Example: `run = mcl.load(ensure_run("runs/deepmimic-cpu"))`.
    """

    run_dir = Path(run_dir)
    if retrain and run_dir.exists():
        print(f"retrain=True: removing {run_dir}")
        shutil.rmtree(run_dir)
    status = run_status(run_dir)
    if status != "missing":
        saved = ckpt.manifest(run_dir, "latest")
        if saved.get("data_spec") != data:
            raise ValueError(f"{run_dir} was trained on data {saved.get('data_spec')!r}, not {data!r}: pass another "
                             f"run_dir, or retrain=True to replace it")
    if status == "complete":
        m = ckpt.manifest(run_dir, "latest")
        print(f"reusing the complete run {run_dir} (epoch {m['epoch']}, step {m['step']}); retrain=True trains anew")
        return run_dir
    if status == "partial":
        print(f"resuming the interrupted run {run_dir}")
        return Path(train(None, out=str(run_dir), resume=True, progress=progress))
    cfg = preset("cpu", data=data, space=space, out=str(run_dir), progress=progress)
    if fast:
        cfg = merge(cfg, **{k: (dict(v) if isinstance(v, dict) else v) for k, v in FAST_OVERRIDES.items()})
    if init:
        cfg = merge(cfg, init=init, **(FINETUNE_OVERRIDES if not fast else {}))
    if overrides:
        cfg = merge(cfg, **overrides)
    what = f"fine-tuning {init}" if init else f"training the {'fast ' if fast else ''}cpu preset"
    print(f"{what} on {data} into {run_dir}")
    return Path(train(cfg))


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fast", action="store_true", help="tiny model and the notebooks' fast settings")
    p.add_argument("--train", action="store_true", help=f"train the cpu preset from scratch ({RUN_DIR}) and explore "
                   f"it in every notebook (`make demo-train`) instead of exploring the shipped {SHIPPED!r} model")
    p.add_argument("--run-dir", help=f"notebook 01's run dir (default: {FINETUNE_RUN_DIR}; with --train {RUN_DIR}, "
                                     f"with --fast {FAST_RUN_DIR})")
    p.add_argument("--data", default="deepmimic", help="data spec (default: %(default)s)")
    p.add_argument("--space", default="auto", help="frozen space (default: %(default)s)")
    p.add_argument("--retrain", action="store_true", help="delete the run dir and train from scratch")
    p.add_argument("--out", default=str(ROOT / "notebooks" / "executed"), help="executed notebooks (default: "
                                                                                "notebooks/executed)")
    p.add_argument("--figures", help="figure folder (default: figures; with --fast notebooks/executed/figures-fast, "
                                     "so a quick run never overwrites the real figures)")
    p.add_argument("--notebooks", nargs="*", help="only these notebooks (name prefixes, e.g. 00 06)")
    p.add_argument("--no-notebooks", action="store_true", help="only train")


def register(subparsers) -> None:
    """Add `mcl demo` (the same as `python -m mcl.lab.demo`) to the `mcl` command."""
    p = subparsers.add_parser("demo", help="run the notebooks on the shipped model (01 fine-tunes it), write figures/",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train (or reuse) the demo run, execute the notebooks into `args.out`, write the figures; 1 if any failed.

    Default: notebook 01 fine-tunes the shipped model (`init`), the others explore the shipped model itself;
    `--train` / `--fast`: every notebook explores the run notebook 01 trains from scratch."""
    shipped = not (args.train or args.fast)
    init = SHIPPED if shipped else None
    run_dir = Path(args.run_dir or (FAST_RUN_DIR if args.fast else RUN_DIR if args.train else FINETUNE_RUN_DIR))
    args.figures = args.figures or str(Path(args.out) / "figures-fast" if args.fast else ROOT / "figures")
    if not run_dir.is_absolute():
        run_dir = ROOT / run_dir
    timings: list[tuple[str, float]] = []
    t0 = time.time()
    before = "missing" if args.retrain else run_status(run_dir)
    ensure_run(run_dir, data=args.data, space=args.space, fast=args.fast, retrain=args.retrain, init=init)
    done = {"missing": "fine-tuned" if init else "trained", "partial": "resumed and finished",
            "complete": "reused the complete"}[before]
    timings.append((f"training: {done} run {run_dir}", time.time() - t0))

    failed = []
    if not args.no_notebooks:
        params = {"fast": args.fast, "run_dir": str(run_dir), "data": args.data, "space": args.space,
                  "figures_dir": args.figures, "init": init}
        explore = {"run_dir": SHIPPED} if shipped else {}  # 00, 02–06 explore the shipped model
        for r in execute_all(params, args.out, names=args.notebooks, explore=explore):
            errors = error_outputs(r.path) if r.path.exists() else []
            status = "ok" if r.error is None and not errors else f"FAILED ({r.error or errors[0][1]})"
            timings.append((f"notebook {r.name}: {status} → {r.path}", r.seconds))
            if status != "ok":
                failed.append(r.name)

    print("\nmcl demo — what was done:")
    for what, s in timings:
        print(f"  {s:7.1f} s  {what}")
    print(f"  {time.time() - t0:7.1f} s  total")
    figs = sorted(Path(args.figures).glob("*.png")) if not args.no_notebooks else []
    if figs:
        print(f"figures in {args.figures}: " + ", ".join(f.name for f in figs))
    if failed:
        print(f"notebooks with errors: {', '.join(failed)} (open the executed copies in {args.out})")
    out = Path(args.out).resolve()
    out = out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out
    print("\nnext: `make lab` opens the notebooks in JupyterLab: start with notebooks/00_quickstart.ipynb, then 01 … 06\n"
          f"      (the executed copies, with outputs, are in {out}/); `make explore` serves the explorers and the\n"
          "      UMAP map on one page (mcl explore RUN for another run)")
    return 1 if failed else 0


if __name__ == "__main__":  # `python -m mcl.lab.demo …` is `mcl demo …`, with the same error handling
    sys.exit(entry(["demo", *sys.argv[1:]]))
