"""Checkpoints: safetensors weights + JSON manifest (+ our own optimizer/RNG file), written atomically; `load`.

Layout of a run dir:
    config.json                          the full TrainConfig, data spec, space, git commit (written at start)
    checkpoints/step-00000420.safetensors  model weights
    checkpoints/step-00000420.state.pt     optimizer + RNG state (torch.save of plain tensors/containers, ours)
    checkpoints/latest.json, best.json     manifests naming those files, the epoch/step and the metrics

Every file is written to a temp name and `os.replace`d; a manifest is replaced last, so a run killed at any moment
leaves the previous manifest pointing at complete files. Loading never unpickles anything: weights come from
safetensors, configs from JSON, and the state file is read with `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..model import MotionCLIP
from ..paths import atomic_write, pretrained_path
from ..spaces import get_space
from ..spaces.cache import CachedSpace
from ..validate import check_model_fits
from .config import TrainConfig

CKPT_DIR = "checkpoints"


# --- atomic writes ---------------------------------------------------------------------------------------------
def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    def w(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, default=str)
    atomic_write(Path(path), w)


def read_json(path: str | os.PathLike) -> dict:
    """A JSON object from `path`; an empty, torn or non-object file is a ValueError naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: damaged JSON ({str(e)[:80] or 'empty file'}); it was probably cut off by a kill "
                         f"or edited — restore it, or delete the run dir's checkpoints and start over") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, found a {type(obj).__name__}; restore the file")
    return obj


def read_run_config(path: str | os.PathLike) -> dict:
    """A run's `config.json` (checked: a JSON object with a `config` object)."""
    info = read_json(path)
    if not isinstance(info.get("config"), dict):
        raise ValueError(f"{path}: no 'config' object; this is not a run config written by `mcl train`")
    return info


def recorded_fingerprint(info: dict) -> str:
    """The space fingerprint (name + weights hash) recorded in a run's config.json or a manifest ('' if none)."""
    return str(info.get("space_fingerprint") or info.get("space_id") or "")


def git_commit() -> str:
    """The commit of the mcl source tree (`<sha>` or `<sha>-dirty`), or `unknown` outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "mcl"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- saving ----------------------------------------------------------------------------------------------------
def save(run_dir: str | os.PathLike, model: MotionCLIP | dict[str, torch.Tensor],
         optimizer: torch.optim.Optimizer | None, manifest: dict, rng: dict | None = None,
         tags: tuple[str, ...] = ("latest",)) -> Path:
    """Write the weights and state of step `manifest["step"]`, then point each tag's manifest (`latest`, `best`) at it.

    `model` may be a state dict (a kept copy of the best weights). `manifest` holds JSON values (epoch, step,
    metrics, config, …). Files that no manifest names any more are removed.
    Example: `save("runs/x", model, opt, {"step": 10, "epoch": 1, "config": cfg.to_dict()}, tags=("latest", "best"))`.
    """
    ckdir = Path(run_dir) / CKPT_DIR
    stem = f"step-{int(manifest['step']):08d}"
    weights, state = ckdir / f"{stem}.safetensors", ckdir / f"{stem}.state.pt"
    sd = model if isinstance(model, dict) else model.state_dict()
    tensors = {k: v.detach().cpu().contiguous() for k, v in sd.items()}
    atomic_write(weights, lambda tmp: save_file(tensors, tmp, metadata={"step": str(manifest["step"])}))
    if optimizer is not None:
        payload = {"optimizer": optimizer.state_dict(), "rng": rng or {}}
        atomic_write(state, lambda tmp: torch.save(payload, tmp))
    entry = dict(manifest, weights=weights.name, state=state.name if optimizer is not None else None)
    for tag in tags:
        write_json(ckdir / f"{tag}.json", entry)
    _prune(ckdir)
    return weights


def _prune(ckdir: Path) -> None:
    keep = set()
    for tag in ckdir.glob("*.json"):
        try:
            m = read_json(tag)
        except (OSError, ValueError):
            continue
        keep |= {m.get("weights"), m.get("state")}
    for f in list(ckdir.glob("step-*.safetensors")) + list(ckdir.glob("step-*.state.pt")):
        if f.name not in keep:
            f.unlink(missing_ok=True)


def ship(run_dir: str | os.PathLike, out: str | os.PathLike, which: str = "latest", fp16: bool = True,
         judge: str | os.PathLike | None = None, files: tuple[str, ...] = ()) -> Path:
    """Write a run's weights as a model to ship: `out/config.json`, `out/checkpoints/latest.json` + one safetensors file
    (fp16 unless `fp16=False`; no optimizer state), copies of the run dir's `files` (e.g. the measured latent scale,
    which needs the training data to measure again) and, with `judge`, a copy of that judge folder as `out/judge/`.
    `load(out)` loads it like any run. Example: `ship("runs/open", "mcl/pretrained/open", judge="judges/open")`.
    """
    run_dir, out = Path(run_dir), Path(out)
    m = manifest(run_dir, which)
    if m is None:
        raise FileNotFoundError(f"{run_dir}: no {which} checkpoint to ship")
    tensors = load_weights(run_dir / CKPT_DIR / m["weights"])
    if fp16:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    info = read_run_config(run_dir / "config.json") if (run_dir / "config.json").exists() else {"config": m["config"]}
    shipped = {"from_run": str(run_dir), "which": which, "step": m["step"], "dtype": "float16" if fp16 else "float32"}
    if (out / CKPT_DIR).exists():  # a previous ship: its files go, so the folder holds exactly one weights file
        for f in (out / CKPT_DIR).iterdir():
            f.unlink()
    write_json(out / "config.json", dict(info, shipped=shipped))
    keep = ("config", "data_spec", "space", "space_fingerprint", "space_id", "step", "epoch", "metrics")
    save(out, tensors, None, dict({k: m[k] for k in keep if k in m}, shipped=shipped), tags=("latest",))
    for name in files:
        if not (run_dir / name).exists():
            raise FileNotFoundError(f"{run_dir / name}: missing; it must be shipped with the weights")
        atomic_write(out / name, lambda tmp, name=name: shutil.copyfile(run_dir / name, tmp))
    if judge is not None:
        judge_files = [f for f in Path(judge).glob("judge.*") if f.is_file()]  # judge.json + judge.safetensors
        if not judge_files:
            raise FileNotFoundError(f"{judge}: no judge files (judge.json, judge.safetensors); write one with "
                                    f"`mcl judge train`")
        for f in judge_files:
            atomic_write(out / "judge" / f.name, lambda tmp, f=f: shutil.copyfile(f, tmp))
    return out


# --- loading ---------------------------------------------------------------------------------------------------
def manifest(run_dir: str | os.PathLike, which: str = "latest") -> dict | None:
    """The manifest of a run's `latest` / `best` checkpoint (a run dir, or a shipped model's name), or None when there
    is none yet. A damaged manifest is a ValueError naming it."""
    path = pretrained_path(run_dir) / CKPT_DIR / f"{which}.json"
    if not path.exists():
        return None
    m = read_json(path)
    bad = [k for k in ("weights", "step", "config") if k not in m]
    if bad or not isinstance(m.get("config"), dict):
        raise ValueError(f"{path}: damaged manifest (missing {bad or ['config']}); restore it, or start over with "
                         f"--overwrite")
    return m


def _damaged(path: Path, e: Exception, what: str) -> ValueError:
    return ValueError(f"{path}: cannot read the {what} ({type(e).__name__}: {str(e)[:100]}); the file is truncated "
                      f"or damaged — resume from another checkpoint, or retrain (mcl never unpickles such a file)")


def load_weights(path: str | os.PathLike, device: str = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a `.safetensors` file; a missing, truncated or foreign file is a ValueError naming it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: weights file missing (the manifest names it); restore it or retrain")
    try:
        return load_file(str(path), device=str(device))
    except Exception as e:  # SafetensorError, OSError, ValueError: all mean the file cannot be used
        raise _damaged(path, e, "weights") from None


def load_state(run_dir: str | os.PathLike, which: str = "latest") -> dict:
    """The optimizer + RNG payload of a checkpoint (our own file, read with `weights_only=True`)."""
    m = manifest(run_dir, which)
    if m is None or not m.get("state"):
        raise FileNotFoundError(f"{run_dir}: no {which} checkpoint with optimizer state to resume from")
    path = Path(run_dir) / CKPT_DIR / m["state"]
    if not path.exists():
        raise FileNotFoundError(f"{path}: optimizer state missing (the manifest names it); restore it or retrain")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # never runs pickled code
    except Exception as e:  # UnpicklingError (foreign objects), EOFError / RuntimeError (truncated)
        raise _damaged(path, e, "optimizer state") from None
    if not isinstance(state, dict) or "optimizer" not in state:
        raise ValueError(f"{path}: not an mcl optimizer state (no 'optimizer' entry); restore it or retrain")
    return state


def check_weights(model: MotionCLIP, tensors: dict[str, torch.Tensor], where: str, cfg_where: str) -> None:
    """Raise a clear ValueError when `tensors` (from `where`) do not fit `model` (built from `cfg_where`)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = [(k, tuple(tensors[k].shape), tuple(v.shape)) for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    if missing or extra or wrong:
        c = model.cfg
        lines = [f"weights in {where} do not match the model config in {cfg_where} "
                 f"(n_layers={c.n_layers}, d_model={c.d_model}, n_heads={c.n_heads}, d_ff={c.d_ff}, "
                 f"latent_dim={c.latent_dim}):"]
        lines += [f"  {k}: shape {a} in the weights, {b} in the config" for k, a, b in wrong[:5]]
        lines += [f"  missing from the weights: {', '.join(missing[:5])}"] if missing else []
        lines += [f"  not in the config's model: {', '.join(extra[:5])}"] if extra else []
        lines.append("  use the config.json written with these weights, or retrain")
        raise ValueError("\n".join(lines))


@dataclass
class Loaded:
    """A trained model ready for use: `model` (eval mode), `space` (CachedSpace of its frozen space), `config`
    (TrainConfig), `run_dir`, `data_spec`, plus `step`, `epoch` and the checkpoint's `metrics`."""
    model: MotionCLIP
    space: Any
    config: TrainConfig
    run_dir: Path
    data_spec: str
    step: int = 0
    epoch: int = 0
    metrics: dict = field(default_factory=dict)


def load(run_dir: str | os.PathLike, which: str = "latest", device: str | torch.device = "cpu",
         space: Any = None) -> Loaded:
    """Load a trained MotionCLIP from a run dir written by `mcl.training.loop.train`, or a model shipped with mcl by
    its name (`load("open")`: `mcl.paths.PRETRAINED`; fp16 weights are loaded into the fp32 model).

    `which`: `"latest"` (default: the final weights, which the paper's evaluations use) or `"best"` (lowest
    validation loss; falls back to `latest` when there was no validation). On a set as small as DeepMimic the
    validation loss (mirrored clips) bottoms out early while text-to-motion keeps improving, so `best` is an early,
    weaker model there.
    `space`: the frozen space object to use (default: the one named in the config, wrapped in a `CachedSpace`).
    Raises a ValueError naming both sides when the weights disagree with the config or the space's dim with z's.
    Example: `m = load("runs/deepmimic-cpu"); z = m.model.encode(x); x_hat = m.model.decode(z, 60)`. Here an untrained
    1-layer model, saved with a 32-d random CLIP as its space, makes the run:

    >>> import tempfile
    >>> from mcl.training.config import ModelConfig
    >>> from mcl.spaces.random_clip import TINY, RandomClipSpace
    >>> cfg = TrainConfig(model=ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=32))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = save(tmp.name, MotionCLIP(cfg.model), None, {"step": 7, "epoch": 1, "config": cfg.to_dict()})
    >>> m = load(tmp.name, space=RandomClipSpace(config=TINY, verbose=False))
    >>> m.step, m.config == cfg, m.model.training
    (7, True, False)
    >>> z = m.model.encode(torch.zeros(2, 25, 6, 60)); z.shape, m.model.decode(z, 30).shape
    (torch.Size([2, 32]), torch.Size([2, 25, 6, 30]))
    >>> load(tmp.name, space=RandomClipSpace(config=dict(TINY, embed_dim=16), verbose=False))  # a 16-d space
    Traceback (most recent call last):
    ...
    ValueError: space mismatch: run ... was trained with space 'auto' (z dim 32) but space '...' has dim 16; ...
    >>> tmp.cleanup()
    """
    run_dir = pretrained_path(run_dir)
    if which not in ("best", "latest"):
        raise ValueError(f"which={which!r}: expected 'best' or 'latest'")
    ckdir = run_dir / CKPT_DIR
    m = manifest(run_dir, which) or (manifest(run_dir, "latest") if which == "best" else None)
    if m is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint ({ckdir}/{which}.json missing) — train first with "
                                f"`mcl train --out {run_dir}` or pass the right run dir")
    cfg = TrainConfig.from_dict(m["config"], str(ckdir / f"{which}.json"))
    check_model_fits(cfg.model, device=str(device), where=str(ckdir / f"{which}.json"), training=False)
    model = MotionCLIP(cfg.model)
    weights_path = ckdir / m["weights"]
    tensors = load_weights(weights_path)
    check_weights(model, tensors, str(weights_path), str(ckdir / f"{which}.json"))
    model.load_state_dict(tensors)
    model.to(device).eval()
    if space is None:
        space = CachedSpace(get_space(m.get("space", cfg.space)), cfg.cache_dir)
    if int(space.dim) != model.latent_dim:
        raise ValueError(f"space mismatch: run {run_dir} was trained with space {m.get('space', cfg.space)!r} "
                         f"(z dim {model.latent_dim}) but space {getattr(space, 'name', space)!r} has dim {space.dim}; "
                         f"load it with the space it was trained with")
    recorded = recorded_fingerprint(m)
    if not recorded and (run_dir / "config.json").exists():
        recorded = recorded_fingerprint(read_run_config(run_dir / "config.json"))
    if recorded and str(getattr(space, "name", "")) != recorded:
        raise ValueError(f"space mismatch: run {run_dir} was trained with space {recorded!r} but the space here is "
                         f"{getattr(space, 'name', space)!r} (same dim, other weights: its z would mean something "
                         f"else); load it with the space and weights it was trained with")
    return Loaded(model=model, space=space, config=cfg, run_dir=run_dir, data_spec=m.get("data_spec", cfg.data),
                  step=int(m.get("step", 0)), epoch=int(m.get("epoch", 0)), metrics=m.get("metrics", {}))
