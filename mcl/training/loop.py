"""The training loop: `train(cfg) -> run_dir`, from a notebook, `mcl train`, or `torchrun` on many GPUs/nodes.

One process or many: under `torchrun` (WORLD_SIZE > 1) every rank builds the same data, takes its slice
`rank::world` of each global batch (so the update equals one process on the combined batch), DDP averages the
gradients (gloo on CPU, nccl on GPU), and only rank 0 writes. A run is a directory:

    config.json        full config, data spec, space, git commit, split, skipped items
    metrics.jsonl/.csv one row per step (train) and per epoch (val), every loss term separately
    tb/                TensorBoard scalars
    checkpoints/       latest + best (see mcl.training.checkpoint)

Resuming (`resume=True`) restores weights, optimizer, python/numpy/torch RNG and the position in the epoch; the
data order is a function of (seed, epoch), so the loss curve continues exactly as if never interrupted.
"""
from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..data.errors import SkipReport
from ..data.motion import Motion
from ..data.screen import screen_motions
from ..data.sources import load as load_data
from ..model import MotionCLIP
from ..paths import pretrained_path
from ..quiet import short_note
from ..spaces import get_space
from ..spaces.cache import CachedSpace
from ..validate import check_model_fits
from . import checkpoint as ckpt
from .batches import WindowSet, attach_images, embed_texts, split_motions
from .config import DEFAULT_PRESET, TrainConfig, merge, preset
from .losses import body_mesh_for_loss, compute_losses, resolve_body
from .run_dir import RunLock, clean_temp_files, drop_set_aside, read_metrics_rows, set_aside

TERMS = ("rc", "body", "vel", "text", "image", "text_rc")  # every loss term, logged separately
CSV_COLUMNS = ("split", "epoch", "step", "loss") + TERMS + ("lr", "seconds")


class TrainingDiverged(RuntimeError):
    """A loss term, the gradient or the update became NaN/inf or absurd. The message names the step and what went
    wrong; the weights of that step are never saved, so the last checkpoint is good."""


# The update guard: a gradient norm beyond this, or one step that grows the weights' norm by more than this factor,
# is a divergence (an lr of 1e6 makes ‖θ‖ jump a million-fold; healthy steps change it by well under 1 %)
MAX_GRAD_NORM = 1e8
MAX_WEIGHT_GROWTH = 1.5


# --- setup helpers ---------------------------------------------------------------------------------------------
def space_key(space) -> str:
    """The registry name to rebuild a space with `get_space` (a Space's `name` also carries a weights fingerprint)."""
    for s in (space, getattr(space, "space", None), getattr(space, "inner", None)):
        if s is not None and getattr(s, "registry_name", ""):
            return s.registry_name
    return str(getattr(space, "name", space))


def resolve_space(space, cache_dir=None):
    """A space name → `CachedSpace(get_space(name))`; a space object is used as it is.

    Example: `resolve_space("minilm").dim == 384`.
    """
    if not isinstance(space, str):
        return space
    return CachedSpace(get_space(space), cache_dir)


def _dist_info() -> tuple[int, int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def _device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:  # "cuda" under torchrun: this rank's GPU
        device = torch.device("cuda", local_rank)
    return device


def _rng_state() -> dict:
    np_state = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                       "has_gauss": int(np_state[3]), "cached": float(np_state[4])}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    v, keys, g = state["python"]
    random.setstate((v, tuple(keys), g))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _Metrics:
    """metrics.jsonl + metrics.csv + TensorBoard, written by rank 0 only."""

    def __init__(self, run: Path, enabled: bool, keep_until_step: int | None, notes: list[str] | None = None):
        self.enabled = enabled
        self.jsonl, self.csv = run / "metrics.jsonl", run / "metrics.csv"
        self.tb = None
        if not enabled:
            return
        rows = []
        if keep_until_step is not None and self.jsonl.exists():  # resume: drop rows logged after the checkpoint
            rows = [r for r in read_metrics_rows(self.jsonl, notes) if r["step"] <= keep_until_step]
        elif keep_until_step is None:
            self.jsonl.unlink(missing_ok=True)
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        with open(self.csv, "w", newline="") as f:
            w = csv.DictWriter(f, CSV_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run / "tb"), purge_step=(keep_until_step or 0) + 1)
        except ImportError:  # tensorboard is a dependency, but metrics must not die with it
            self.tb = None

    def log(self, row: dict) -> None:
        if not self.enabled:
            return
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        with open(self.csv, "a", newline="") as f:
            csv.DictWriter(f, CSV_COLUMNS, extrasaction="ignore").writerow(row)
        if self.tb is not None:
            for k in ("loss",) + TERMS:
                if k in row:
                    self.tb.add_scalar(f"{row['split']}/{k}", row[k], row["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


@torch.no_grad()
def evaluate(model: MotionCLIP, ws: WindowSet, cfg: TrainConfig, text_table, image_table, device,
             batch_size: int = 64, body_mesh=None) -> dict[str, float]:
    """Mean of every loss term over the fixed validation windows (eval mode: no dropout, consumes no RNG).

    Example: `evaluate(model, val_set, cfg, text_table, None, "cpu")` → `{"loss": …, "rc": …, "text": …}`.
    """
    if not len(ws):
        return {}
    was_training = model.training
    model.eval()
    plan, sums, n = ws.fixed_plan(), {}, 0
    for b in range(0, len(ws), batch_size):
        batch = ws.batch(plan, range(b, min(b + batch_size, len(ws)))).to(device)
        z, x_hat, x_text = _forward(model, batch, text_table, cfg)
        total, terms = compute_losses(z, x_hat, batch.x, cfg.loss, text_table, batch.text_idx, image_table,
                                      batch.image_idx, x_text=x_text, mesh=body_mesh)
        for k, v in dict(terms, loss=total).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(batch)
        n += len(batch)
    model.train(was_training)
    return {k: v / n for k, v in sums.items()}


def learning_rate(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """The lr of optimizer step `step` (0-based) out of `total_steps`: `cfg.lr` (constant), or linear warm-up over
    `cfg.warmup_steps` then cosine decay to `cfg.min_lr_ratio · cfg.lr` at the last step.

    Example: `learning_rate(preset("cpu"), 0, 1000)` is the warm-up's first, smallest lr.
    """
    warm = cfg.warmup_steps
    if warm and step < warm:
        return cfg.lr * (step + 1) / warm
    if cfg.lr_schedule == "constant":
        return cfg.lr
    progress = min(1.0, (step - warm) / max(1, total_steps - 1 - warm))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _forward(net, batch, text_table, cfg: TrainConfig):
    """`(z, x_hat, x_text | None)` in float32; x_text only when the `text_rc` term is on (windows without a text
    decode a zero embedding, masked out of the loss)."""
    if not (cfg.loss.w_text_rc and text_table is not None and len(text_table)):  # no captions at all: no text_rc
        z, x_hat = net(batch.x)
        return z.float(), x_hat.float(), None
    idx = batch.text_idx
    emb = text_table[idx.clamp_min(0)] * (idx >= 0)[:, None]
    z, x_hat, x_text = net(batch.x, emb)
    return z.float(), x_hat.float(), x_text.float()


def _resolve_config(cfg: TrainConfig | None, overrides: dict) -> TrainConfig:
    if cfg is None:
        out = overrides.get("out")
        saved = Path(out) / "config.json" if out else None
        if overrides.get("resume") and saved is not None and saved.exists():
            cfg = TrainConfig.from_dict(ckpt.read_run_config(saved)["config"], str(saved))  # resume: saved is the base
            cfg = replace(cfg, overwrite=False)  # an action of the run that started over, not a setting to inherit
        else:
            cfg = preset(overrides.pop("preset", DEFAULT_PRESET))  # as `mcl train` (see config.DEFAULT_PRESET)
    cfg = merge(cfg, **overrides) if overrides else cfg
    return _from_init(cfg) if cfg.init and not cfg.resume else cfg


def _from_init(cfg: TrainConfig) -> TrainConfig:
    """A fine-tune (`init`): the model's architecture and space are those of the run it starts from, whatever the
    preset says (its weights only fit that architecture; its z only means something in that space). Dropout is a
    training setting, not architecture: the fine-tune's own applies (`--dropout`). The decoder options (`--model.film`,
    `--model.synth-rank`, `--model.frame-head`, more `--model.decoder-layers`, `--model.whiten-z`) may be added to a
    model trained without them (see `_added_parts`)."""
    m = ckpt.manifest(cfg.init, "latest")  # a run dir or a shipped model's name
    if m is None:
        raise FileNotFoundError(f"init={cfg.init!r}: no checkpoint there (a run dir with checkpoints/latest.json, or a "
                                f"shipped model's name: open)")
    init = _init_config(cfg)
    space = m.get("space", init.space)
    if cfg.space not in ("auto", space):
        raise ValueError(f"init={cfg.init!r} was trained in space {space!r}, not {cfg.space!r}: a fine-tune keeps its "
                         f"space (leave --space unset)")
    deeper = max(cfg.model.decoder_layers or 0, init.model.decoder_layers or init.model.n_layers)
    model = replace(init.model, dropout=cfg.model.dropout, film=init.model.film or cfg.model.film,
                    decoder_layers=None if deeper == init.model.n_layers else deeper,
                    synth_rank=cfg.model.synth_rank or init.model.synth_rank,
                    frame_head=cfg.model.frame_head or init.model.frame_head,
                    whiten_z=init.model.whiten_z or cfg.model.whiten_z)
    return replace(cfg, model=model, space=space)


def _check_run_dir(cfg: TrainConfig, run: Path) -> dict | None:
    """What the run dir holds, checked before any work: a resume needs a run to resume (a mistyped --out is an
    error, not a fresh run); a fresh run in a dir that holds checkpoints needs `overwrite`. Returns the latest
    manifest to resume from (None: start at step 0)."""
    latest = ckpt.manifest(run, "latest")
    if cfg.resume:
        if latest is None and not (run / "config.json").exists():
            raise FileNotFoundError(f"{run}: nothing to resume (no config.json, no checkpoints/latest.json); check "
                                    f"--out, or drop --resume to start a new run there")
        return latest
    if latest is not None and not cfg.overwrite:
        raise ValueError(f"{run} already holds a run (latest checkpoint: epoch {latest.get('epoch')}, step "
                         f"{latest.get('step')}); use --resume to continue it, --overwrite (overwrite=True) to start "
                         f"over (its checkpoints are kept in {run / 'previous'} until the new run has its own), or "
                         f"another --out")
    return None


def _check_resumable(cfg: TrainConfig, saved: dict, run: Path) -> None:
    old = TrainConfig.from_dict(saved["config"], str(run / ckpt.CKPT_DIR / "latest.json"))
    for name in ("data", "seed", "fps", "window_frames", "chunk_frames", "fixed_windows", "val_split",
                 "val_fraction", "batch_size"):
        if getattr(old, name) != getattr(cfg, name):
            raise ValueError(f"cannot resume {run}: {name}={getattr(cfg, name)!r} now but {getattr(old, name)!r} in "
                             f"{run / 'config.json'}; resume with the same setting or use a new --out")
    mine = replace(cfg.model, latent_dim=old.model.latent_dim)
    if mine != old.model:
        raise ValueError(f"cannot resume {run}: model config {mine} differs from {old.model} in "
                         f"{run / 'config.json'}")


def _check_same_space(run: Path, space) -> None:
    """A resumed run must use the space it started with: its fingerprint (name + weights hash) is recorded."""
    path = run / "config.json"
    if not path.exists():
        return
    recorded = ckpt.recorded_fingerprint(ckpt.read_run_config(path))
    now = str(getattr(space, "name", ""))
    if recorded and now != recorded:
        raise ValueError(f"cannot resume {run}: it was trained with space {recorded!r} (recorded in {path}) but this "
                         f"machine's space is {now!r}; resume with --space set to the run's space and its weights, "
                         f"or start a new --out")


def _weight_norm(model: torch.nn.Module) -> float:
    return float(torch.linalg.vector_norm(torch.stack([p.detach().float().norm() for p in model.parameters()])))


def _diverged(run: Path, step: int, epoch: int, what: str):
    good = ckpt.manifest(run, "latest")
    kept = (f"the last good checkpoint (step {good['step']}) is kept in {run / ckpt.CKPT_DIR}" if good
            else "no checkpoint had been written yet")
    raise TrainingDiverged(f"step {step + 1} (epoch {epoch}): {what}; training stopped before saving these weights "
                           f"and {kept}. Try a lower lr or a grad_clip, or check the data for extreme values.")


# --- the loop --------------------------------------------------------------------------------------------------
def train(cfg: TrainConfig | None = None, *, motions: list[Motion] | None = None, space=None,
          **overrides) -> Path:
    """Train MotionCLIP; returns the run dir (config, metrics, TensorBoard logs, `latest`/`best` checkpoints).

    `cfg`: a TrainConfig (default: the `cpu` preset as `mcl train`, or the saved config when resuming); `overrides`:
    any TrainConfig field (`epochs=3`, `model={"n_layers": 2}`, `resume=True`). `motions` replaces loading `cfg.data`
    (the run records `custom`); `space` may be a space object instead of `cfg.space`'s name.
    Example:
        >>> run = train(preset("cpu"), data="deepmimic", space="minilm", epochs=300)   # doctest: +SKIP
        >>> m = mcl.load(run)                                                          # doctest: +SKIP
    """
    if isinstance(space, str):  # `space="minilm"` (what `mcl train --space` passes) is the config field, not an object
        overrides["space"], space = space, None
    cfg = _resolve_config(cfg, dict(overrides))
    run = Path(cfg.out)
    if _dist_info()[0] != 0:  # under torchrun only rank 0 owns and checks the run dir
        return _train(cfg, motions, space, None, [])
    lock = RunLock(run)
    early = lock.acquire()  # a second trainer on this --out stops here, before any work
    try:
        latest = _check_run_dir(cfg, run)
        early += clean_temp_files(run)
        return _train(cfg, motions, space, latest, early)
    finally:
        lock.release()


def _train(cfg: TrainConfig, motions, space, latest: dict | None, early: list[str]) -> Path:
    """The body of `train` (rank 0 holds the run dir's lock; `latest` is the checkpoint to resume from)."""
    rank, world, local_rank = _dist_info()
    own_pg = world > 1 and not dist.is_initialized()
    if own_pg:
        dist.init_process_group("nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo")
    threads_before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)  # restored when train() returns
    device = _device(cfg.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    main, run = rank == 0, Path(cfg.out)
    say = (lambda msg: tqdm.write(msg)) if main else (lambda msg: None)
    for note in early:
        say(note)
    _seed_everything(cfg.seed)

    data = _prepare_data(cfg, motions, space, device, main)
    for n in data.notes:  # a long list (every extended clip) goes to the run's log.txt, the console gets its start
        say(short_note(n, run / "log.txt" if main else None))
    cfg = _settle_config(cfg, data.space, run, named=space is None)
    body_mesh = body_mesh_for_loss(cfg.loss.body) if cfg.loss.w_body else None
    if body_mesh is not None:
        body_mesh.to(device)
    say(f"body term on {'SMPL vertices (' + body_mesh.source + ')' if body_mesh is not None else 'SMPL-24 joints'}")
    model, opt = _build_model(cfg, device, world, rank)
    if world > 1:  # rank 0 checked the run dir; every rank reads the same manifest
        latest = ckpt.manifest(run, "latest") if cfg.resume else None
    at = _resume(cfg, run, model, opt, latest, device, rank, world, say)
    if cfg.model.whiten_z and latest is None and not _init_config(cfg).model.whiten_z:
        _whiten(model, data.train_set, cfg, device, say)

    B, n = cfg.batch_size, len(data.train_set)
    if world > 1 and B % world:
        raise ValueError(f"batch_size={B} is not divisible by the {world} ranks; use a multiple of {world}")
    n_batches = math.ceil(n / B)
    total_steps = n_batches * cfg.epochs if cfg.max_steps is None else min(n_batches * cfg.epochs, cfg.max_steps)
    if latest is not None and (at.step >= total_steps or at.epoch >= cfg.epochs):
        raise ValueError(f"{run} is already complete (epoch {at.epoch}, step {at.step}; epochs={cfg.epochs}, "
                         f"max_steps={cfg.max_steps}): nothing to do; raise --epochs or --max-steps to train further")
    if main:
        _write_run_config(cfg, run, data, world, at.step, fresh=latest is None, say=say)
    metric_notes: list[str] = []
    metrics = _Metrics(run, main, at.step if latest is not None else None, metric_notes)
    for note in metric_notes:
        say(note)
    saver = _Checkpointer(run, model, opt, dict(config=cfg.to_dict(), **data.manifest), main, world, at.best)
    net = model if world == 1 else torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)

    epoch, first_batch, step, finished = at.epoch, at.first_batch, at.step, False
    bar = tqdm(total=total_steps, initial=min(step, total_steps), desc="training", disable=not (cfg.progress and main),
               dynamic_ncols=True)
    t0 = time.time()
    try:
        while epoch < cfg.epochs and step < total_steps:
            plan = data.train_set.plan(cfg.seed, epoch, random_windows=not cfg.fixed_windows)
            if world > 1:  # wrap around so that every global batch is full and splits evenly
                pad = n_batches * B - n
                plan.order = np.concatenate([plan.order, plan.order[:pad]]) if pad else plan.order
            net.train()
            last, done = {}, first_batch  # done: batches of this epoch behind us
            for b in range(first_batch, n_batches):
                positions = range(b * B, min((b + 1) * B, len(plan.order)))
                batch = data.train_set.batch(plan, list(positions)[rank::world],
                                             phase_stride=cfg.loss.text_rc_stride).to(device)
                # bf16 autocast covers the transformer only; the losses (FK, cosines) stay in float32
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                    z, x_hat, x_text = _forward(net, batch, data.text_table, cfg)
                total, terms = compute_losses(z, x_hat, batch.x, cfg.loss, data.text_table, batch.text_idx,
                                              data.image_table, batch.image_idx, x_text=x_text, mesh=body_mesh,
                                              x_phases=batch.x_phases)
                last = _mean_over_ranks({"loss": total, **terms}, world)
                _check_finite(last, run, step, epoch)  # before the update, so the weights stay good
                opt.zero_grad(set_to_none=True)
                total.backward()
                lr = learning_rate(cfg, step, total_steps)
                _guarded_update(model, opt, cfg.grad_clip, lr, run, step, epoch)
                step, done = step + 1, b + 1
                metrics.log(dict(last, split="train", epoch=epoch, step=step, lr=lr,
                                 seconds=round(time.time() - t0, 3)))
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in last.items()}, refresh=False)
                if step >= total_steps or done == n_batches:
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    saver.save(epoch, done, step, {"train": last})
            if done < n_batches:  # max_steps reached mid-epoch: the run ends here, at this position
                saver.save(epoch, done, step, {"train": last})
                break
            # end of epoch: validate, remember the best weights, checkpoint at most every checkpoint_seconds
            val = evaluate(model, data.val_set, cfg, data.text_table, data.image_table, device,
                           body_mesh=body_mesh) if main else {}
            if main and val:
                metrics.log(dict(val, split="val", epoch=epoch, step=step, seconds=round(time.time() - t0, 3)))
                saver.offer_best(val, epoch + 1, step, last)
                if epoch % max(1, cfg.epochs // 20) == 0 or epoch == cfg.epochs - 1:  # ~20 lines per run
                    say(f"epoch {epoch}: train loss {last.get('loss', float('nan')):.4g}, val loss {val['loss']:.4g}")
            epoch, first_batch = epoch + 1, 0
            if saver.due(step >= total_steps or epoch >= cfg.epochs, cfg.checkpoint_seconds):
                saver.save(epoch, 0, step, {"train": last, "val": val})
        finished = True
    finally:
        torch.set_num_threads(threads_before)
        bar.close()
        metrics.close()
        if own_pg:
            # DDP's reducer goes before its process group, and the ranks leave together: a rank that tore the group
            # down under a live DDP object could hang in its destructor after rank 0 had exited
            net = None
            if finished:
                dist.barrier()
            dist.destroy_process_group()
    return run


# --- setup helpers of _train, in the order it calls them ----------------------------------------------------------
@dataclass
class _Data:
    """What a run trains on: window sets, the frozen space and its embedding tables, and what to record of them."""
    train_set: WindowSet
    val_set: WindowSet
    space: object
    text_table: torch.Tensor
    image_table: torch.Tensor | None
    n_texts: int
    notes: list[str]
    manifest: dict  # data spec, space name and fingerprint, git commit: recorded in config.json and every checkpoint


def _prepare_data(cfg: TrainConfig, motions, space, device, main: bool) -> _Data:
    """motions → split → window sets; every distinct caption encoded once; images (one rendered frame per chunk)
    when the space has them. Every rank builds the same sets (deterministic), then shards the batches."""
    report = SkipReport()
    data_spec = cfg.data if motions is None else f"custom ({len(motions)} motions)"
    if motions is None:
        motions = load_data(cfg.data, report, progress=cfg.progress and main, required=True)
    else:
        motions = screen_motions(motions, report)
    if not motions:
        raise ValueError(f"data {data_spec!r} gave no usable motions\n{report.summary()}")
    motions = [m.resample(cfg.fps) for m in motions]
    train_m, val_m, split_desc = split_motions(motions, cfg.val_split, cfg.val_fraction, cfg.window_frames, report)
    text_ids: dict[str, int] = {}
    extended: list[str] = []
    train_set = WindowSet.build(train_m, text_ids, cfg.window_frames, cfg.chunk_frames, cfg.fixed_windows, report,
                                notes=extended)
    val_set = WindowSet.build(val_m, text_ids, cfg.window_frames, fixed=True, report=report, desc="val windows",
                              notes=extended)
    if not len(train_set):
        raise ValueError(f"no training windows from data {data_spec!r}: every clip is shorter than "
                         f"{cfg.window_frames} frames at {cfg.fps} fps\n{report.summary()}")

    space = resolve_space(space if space is not None else cfg.space, cfg.cache_dir)
    notes = [f"data {data_spec}: {len(motions)} clips, {len(train_set)} train chunks, {len(val_set)} val windows",
             f"validation split {split_desc}", f"space {space_key(space)} (dim {space.dim}), {len(text_ids)} texts"]
    text_table = embed_texts(space, list(text_ids), progress=cfg.progress and main).to(device)
    image_table = None
    if cfg.loss.w_image:
        image_table, msg = attach_images([train_set, val_set], space, cfg.cache_dir, cfg.progress and main)
        image_table = image_table.to(device) if image_table is not None else None
        notes.append(msg)
    if not text_ids:
        notes.append(f"data {data_spec} has no captions: the text terms are off and the model will not follow text "
                     f"(give captions, e.g. bvh:FOLDER?labels=captions.csv)")
    if extended:
        notes.append(f"extended {len(extended)} clip(s) shorter than a window: " + "; ".join(extended))
    if len(report):
        notes.append(report.summary())
    fingerprint = str(getattr(space, "name", ""))
    manifest = {"data_spec": data_spec, "space": space_key(space), "space_fingerprint": fingerprint,
                "git_commit": ckpt.git_commit()}
    return _Data(train_set, val_set, space, text_table, image_table, len(text_ids), notes, manifest)


def _settle_config(cfg: TrainConfig, space, run: Path, named: bool) -> TrainConfig:
    """The config the run records: the space's registry name (what "auto" resolved to, so a resume rebuilds the same
    space), latent_dim = the space's dim, the body the loss resolved. A resume must find the space it started with."""
    if cfg.resume:  # every rank, so that all of them stop together
        _check_same_space(run, space)
    latent = cfg.model.latent_dim or int(space.dim)
    if latent != int(space.dim):
        raise ValueError(f"model.latent_dim={latent} but space {space_key(space)!r} has dim {space.dim}: z must live "
                         f"in the space; leave latent_dim unset to take the space's dim")
    return replace(cfg, space=space_key(space) if named else cfg.space, model=replace(cfg.model, latent_dim=latent),
                   loss=replace(cfg.loss, body=resolve_body(cfg.loss.body)))


def _build_model(cfg: TrainConfig, device, world: int, rank: int):
    """Model + optimizer, identical on every rank (same seed; DDP also broadcasts rank 0's weights), then each rank's
    own dropout stream. With `init`, the weights start from that run's (a resume then replaces them)."""
    check_model_fits(cfg.model, max(1, cfg.batch_size // world), cfg.window_frames, str(device), "the run config")
    torch.manual_seed(cfg.seed)
    model = MotionCLIP(cfg.model)
    if cfg.init:
        init = pretrained_path(cfg.init)
        weights = init / ckpt.CKPT_DIR / ckpt.manifest(init, "latest")["weights"]
        tensors = ckpt.load_weights(weights)
        tensors = {**_added_parts(model, tensors), **tensors}
        ckpt.check_weights(model, tensors, str(weights), "the run config (init)")
        model.load_state_dict(tensors)  # fp16 shipped weights are copied into the fp32 model
    model = model.to(device)
    optimizer = torch.optim.SGD if cfg.optimizer == "sgd" else torch.optim.AdamW
    opt = optimizer(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    torch.manual_seed(cfg.seed + 1 + rank)
    return model, opt


def _init_config(cfg: TrainConfig) -> TrainConfig:
    return TrainConfig.from_dict(ckpt.manifest(cfg.init, "latest")["config"], f"{cfg.init}: checkpoints/latest.json")


@torch.no_grad()
def _whiten(model: MotionCLIP, train_set, cfg: TrainConfig, device, say, n: int = 4096) -> None:
    """`model.whiten_z` added by this fine-tune: measure the whitening on the z of up to `n` training windows (the
    first epochs' plans: small data gives each chunk's windows at several starts), folded into the decoder so that
    training starts from the init run's function."""
    model.eval()
    zs: list[torch.Tensor] = []
    for epoch in range(32):
        plan = train_set.plan(cfg.seed, epoch, random_windows=not cfg.fixed_windows)
        take = list(range(min(n - sum(map(len, zs)), len(plan.order))))
        zs += [model.encode(train_set.batch(plan, take[i:i + 256]).to(device).x) for i in range(0, len(take), 256)]
        if sum(map(len, zs)) >= n:
            break
    z = torch.cat(zs)
    if len(z) <= z.shape[1]:
        raise ValueError(f"model.whiten_z: {len(z)} training windows are too few to measure the covariance of a "
                         f"{z.shape[1]}-d z; train on more data or drop --model.whiten-z")
    model.set_whitening(z.float())
    say(f"whitened z on {len(z)} training windows (variances {float(z.var(0).max()):.3g} … "
        f"{float(z.var(0).min()):.3g} per dim before)")


def _added_parts(model: MotionCLIP, init: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights a fine-tune adds to its init run's (`--model.film`, `--model.synth-rank`, `--model.frame-head`,
    more `--model.decoder-layers`, the whitening buffers), set so that they start by changing little: FiLM, the
    synthesis path and the frame head at zero, the whitening at identity until `_whiten` measures it; a new decoder
    layer with its attention and feed-forward outputs at zero, so it only re-normalises what it is given."""
    new = {k: v for k, v in model.state_dict().items() if k not in init
           and k.startswith(("film.", "synth.", "frame_head.", "decoder.layers.", "z_mean", "z_whiten"))}
    for k in new:
        if k.startswith("decoder.layers.") and any(p in k for p in ("out_proj.", "linear2.")):
            new[k] = torch.zeros_like(new[k])
    return new


@dataclass
class _Position:
    """Where training stands: the next epoch, the next batch within it, optimizer steps taken, best val loss."""
    epoch: int = 0
    first_batch: int = 0
    step: int = 0
    best: float = math.inf


def _resume(cfg: TrainConfig, run: Path, model, opt, latest: dict | None, device, rank: int, world: int,
            say) -> _Position:
    """Restore weights, optimizer and this rank's RNG from the `latest` checkpoint; the position to continue from."""
    if cfg.resume and latest is None:
        say(f"{run}: no checkpoint yet (the run stopped before its first one); starting at step 0")
    if latest is None:
        return _Position()
    _check_resumable(cfg, latest, run)
    model.load_state_dict(ckpt.load_weights(run / ckpt.CKPT_DIR / latest["weights"], device=str(device)))
    state = ckpt.load_state(run, "latest")
    opt.load_state_dict(state["optimizer"])
    rngs = state["rng"].get("ranks", [])
    if len(rngs) == world:
        _set_rng_state(rngs[rank])
    else:
        say(f"resuming on {world} rank(s) from a {len(rngs)}-rank run: dropout RNG re-seeded")
    say(f"resumed {run} at epoch {latest['epoch']}, step {latest['step']}")
    return _Position(latest["epoch"], latest["epoch_batch"], latest["step"], latest.get("best_val", math.inf))


def _write_run_config(cfg: TrainConfig, run: Path, data: _Data, world: int, step: int, fresh: bool, say) -> None:
    """config.json (rank 0): the full config, what the data and space were, and one entry per start of the run."""
    run.mkdir(parents=True, exist_ok=True)
    if fresh and cfg.overwrite:  # set aside, not deleted, until this run has a checkpoint of its own
        for note in set_aside(run):
            say(note)
    old = ckpt.read_run_config(run / "config.json") if (run / "config.json").exists() and cfg.resume else {}
    fingerprint = data.manifest["space_fingerprint"]
    ckpt.write_json(run / "config.json", {
        "config": cfg.to_dict(), "data_spec": data.manifest["data_spec"], "space": data.manifest["space"],
        "space_id": fingerprint, "space_fingerprint": fingerprint, "space_dim": int(data.space.dim),
        "git_commit": data.manifest["git_commit"],
        "world_size": world, "torch": torch.__version__, "notes": data.notes, "texts": data.n_texts,
        "starts": old.get("starts", []) + [{"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "step": step}]})


class _Checkpointer:
    """The one save path: `latest` (weights, optimizer, every rank's RNG, position) plus the best weights seen since
    the last save. Saving is collective (every rank's RNG is gathered); only rank 0 writes."""

    def __init__(self, run: Path, model, opt, manifest: dict, main: bool, world: int, best: float):
        self.run, self.model, self.opt, self.manifest = run, model, opt, manifest
        self.main, self.world, self.best = main, world, best
        self.best_copy = None  # (weights on cpu, manifest) of the best validation not yet written
        self.last_save = time.time()

    def offer_best(self, val: dict, next_epoch: int, step: int, last: dict) -> None:
        """Keep a copy of the weights when `val` is the lowest validation loss so far (rank 0)."""
        if val["loss"] < self.best:
            self.best = val["loss"]
            weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            self.best_copy = (weights, dict(self.manifest, epoch=next_epoch, epoch_batch=0, step=step,
                                            best_val=self.best, metrics={"train": last, "val": val}))

    def due(self, final: bool, every_seconds: float) -> bool:
        """An end-of-epoch save is due at the run's end or `every_seconds` after the last one; rank 0 decides (and
        shares its best loss), so every rank joins the same collective saves."""
        due = final or time.time() - self.last_save >= every_seconds
        if self.world > 1:
            holder = [self.best, due]
            dist.broadcast_object_list(holder, src=0)
            self.best, due = holder
        return due

    def save(self, epoch: int, epoch_batch: int, step: int, metrics: dict) -> None:
        rngs = [_rng_state()]
        if self.world > 1:
            rngs = [None] * self.world
            dist.all_gather_object(rngs, _rng_state())
        if self.main:
            ckpt.save(self.run, self.model, self.opt, dict(self.manifest, epoch=epoch, epoch_batch=epoch_batch,
                                                           step=step, best_val=self.best, metrics=metrics),
                      rng={"ranks": rngs}, tags=("latest",))
            if self.best_copy is not None:
                ckpt.save(self.run, self.best_copy[0], None, self.best_copy[1], tags=("best",))
            drop_set_aside(self.run)  # this run has its own checkpoint now: the set-aside one may go
        self.best_copy, self.last_save = None, time.time()


# --- one update, guarded --------------------------------------------------------------------------------------------
def _mean_over_ranks(terms: dict[str, torch.Tensor], world: int) -> dict[str, float]:
    """Every loss term (and `loss`) as a float, averaged over the ranks."""
    values = torch.stack([t.detach().float() for t in terms.values()])
    if world > 1:
        dist.all_reduce(values)
        values /= world
    return dict(zip(terms, values.tolist()))


def _check_finite(values: dict[str, float], run: Path, step: int, epoch: int) -> None:
    """The NaN guard: names a term before the total."""
    for name, v in sorted(values.items(), key=lambda nv: nv[0] == "loss"):
        if not math.isfinite(v):
            _diverged(run, step, epoch, f"loss term {name!r} is {v}")


def _guarded_update(model, opt, grad_clip: float | None, lr: float, run: Path, step: int, epoch: int) -> None:
    """Clip, step at `lr`. A non-finite or absurd gradient, or a step that blows the weights up, stops the run before
    those weights can be checkpointed (identical on every rank: the gradients are all-reduced)."""
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or math.inf))
    if not grad_norm <= MAX_GRAD_NORM:
        _diverged(run, step, epoch, f"the gradient norm is {grad_norm:.3g} (bound {MAX_GRAD_NORM:.0e})")
    for group in opt.param_groups:
        group["lr"] = lr
    norm_before = _weight_norm(model)
    opt.step()
    norm_after = _weight_norm(model)
    if not norm_after <= MAX_WEIGHT_GROWTH * norm_before:
        _diverged(run, step, epoch, f"the update took the weights' norm from {norm_before:.4g} to {norm_after:.4g} "
                                    f"(lr {lr:.3g})")
