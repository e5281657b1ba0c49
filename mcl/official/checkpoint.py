"""Official MotionCLIP checkpoints <-> mcl run dirs.

What an official checkpoint is (`src/train/train.py`): `torch.save({k: v for k, v in model.state_dict().items()
if not k.startswith('clip_model.')}, 'checkpoint_0100.pth.tar')` — a plain dict of tensors, read back by
`src/utils/misc.py::load_model_wo_clip` (`load_state_dict(strict=False)`; no unexpected keys, only `clip_model.*`
missing). Its keys (`src/models/architectures/transformer.py`, seq-first `nn.Transformer*` layers):

    encoder.muQuery, encoder.sigmaQuery              (num_classes, d)   z is the output at mu; sigma attends, unread
    encoder.skelEmbedding.{weight,bias}              Linear(150 → d)
    encoder.sequence_pos_encoder.pe                  (5000, 1, d)       sinusoidal table (a buffer, not learned)
    encoder.seqTransEncoder.layers.N.*               self_attn, linear1/2, norm1/2
    decoder.actionBiases                             (num_classes, d)   never used by the forward pass (commented out)
    decoder.sequence_pos_encoder.pe                  (5000, 1, d)
    decoder.seqTransDecoder.layers.N.*               self_attn, multihead_attn, linear1/2, norm1/2/3
    decoder.finallayer.{weight,bias}                 Linear(d → 150)

mcl's `MotionCLIP` with `query_tokens=2`, `latent_dim = d_model` and `codec="official"` computes the same function
(the layers' parameter names are identical; batch-first vs seq-first changes no weight). Parameters the official
forward never reads (`decoder.actionBiases`, query rows of other classes) are listed when importing and kept in
`official_unused.safetensors` in the run dir, so an export gives them back bit for bit.

Example:
    import_official("exps/paper-model/checkpoint_0100.pth.tar", out="runs/official-paper")
    export_official("runs/official-paper", "exps/from-mcl/checkpoint_0100.pth.tar")
"""
from __future__ import annotations

import hashlib
import math
import os
import pickle
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..model import MotionCLIP
from ..paths import atomic_write
from ..training import checkpoint as ckpt
from ..training.config import LossConfig, ModelConfig, TrainConfig
from .opt import PAPER, check_supported, read_opt

UNUSED_FILE = "official_unused.safetensors"
MAX_LEN = 5000  # PositionalEncoding(max_len=5000) in the official code
ENC, DEC = "encoder.seqTransEncoder.layers.", "decoder.seqTransDecoder.layers."
ENC_LAYER_PARAMS = ("self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                    "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                    "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")
DEC_LAYER_PARAMS = ENC_LAYER_PARAMS[:4] + tuple(p.replace("self_attn", "multihead_attn") for p in ENC_LAYER_PARAMS[:4]) \
    + ENC_LAYER_PARAMS[4:] + ("norm3.weight", "norm3.bias")


def official_key_shapes(num_layers: int = 8, d: int = 512, ff: int = 1024, num_classes: int = 1,
                        max_len: int = MAX_LEN) -> dict[str, tuple[int, ...]]:
    """Every key of an official checkpoint and its shape (paper: 8 layers, d 512, ff 1024, one class).

    Example: `len(official_key_shapes())` → 249.
    """
    def layer_shapes(prefix_params, n):
        shapes = {"in_proj_weight": (3 * d, d), "in_proj_bias": (3 * d,), "out_proj.weight": (d, d),
                  "out_proj.bias": (d,), "linear1.weight": (ff, d), "linear1.bias": (ff,), "linear2.weight": (d, ff),
                  "linear2.bias": (d,)}
        out = {}
        for i in range(n):
            for p in prefix_params[1]:
                tail = p.split(".", 1)[1] if p.startswith(("self_attn", "multihead_attn")) else p
                out[f"{prefix_params[0]}{i}.{p}"] = shapes.get(tail, (d,))
        return out

    keys = {"encoder.muQuery": (num_classes, d), "encoder.sigmaQuery": (num_classes, d),
            "encoder.skelEmbedding.weight": (d, 150), "encoder.skelEmbedding.bias": (d,),
            "encoder.sequence_pos_encoder.pe": (max_len, 1, d)}
    keys.update(layer_shapes((ENC, ENC_LAYER_PARAMS), num_layers))
    keys.update({"decoder.actionBiases": (num_classes, d), "decoder.sequence_pos_encoder.pe": (max_len, 1, d)})
    keys.update(layer_shapes((DEC, DEC_LAYER_PARAMS), num_layers))
    keys.update({"decoder.finallayer.weight": (150, d), "decoder.finallayer.bias": (150,)})
    return keys


def sinusoid_table(d: int, max_len: int = MAX_LEN) -> torch.Tensor:
    """The official `PositionalEncoding.pe` buffer `(max_len, 1, d)` (the same formula as `mcl.model`)."""
    position = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    return pe[:, None]


# --- reading -----------------------------------------------------------------------------------------------------
def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_official_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state dict of an official `.pth.tar`, read with `torch.load(weights_only=True)`: tensors and plain
    containers only. A file that needs any other global (code that would run while unpickling) is refused with the
    global named. Example: `sd = read_official_checkpoint("exps/paper-model/checkpoint_0100.pth.tar")`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: official checkpoint not found (download it from the official README's "
                                f"link and unzip it, e.g. to exps/paper-model/checkpoint_0100.pth.tar)")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f"the global {found.group(1)}" if found else "a Python object that is not a tensor"
        raise ValueError(f"{path}: refused — unpickling it would need {what}, which an official MotionCLIP "
                         f"checkpoint (a dict of tensors) never contains; it was not loaded. Only open files "
                         f"you trust, and never with weights_only=False") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise ValueError(f"{path}: not a readable torch checkpoint ({str(e).splitlines()[0]})") from None
    for key in ("state_dict", "model"):  # tolerate a wrapped dict (not what train.py writes, but common)
        if isinstance(sd, dict) and isinstance(sd.get(key), dict) and "encoder.muQuery" not in sd:
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ValueError(f"{path}: expected a dict of tensors (what the official train.py saves), "
                         f"got {type(sd).__name__}")
    return {str(k): v for k, v in sd.items()}


# --- official <-> mcl weights --------------------------------------------------------------------------------------
def architecture(sd: dict[str, torch.Tensor], opt: dict, where: str) -> ModelConfig:
    """The `ModelConfig` an official state dict needs (shapes from the weights, heads/activation/dropout from opt)."""
    if "encoder.muQuery" not in sd or "decoder.finallayer.weight" not in sd:
        raise ValueError(f"{where}: not an official MotionCLIP checkpoint (no encoder.muQuery / "
                         f"decoder.finallayer.weight; has {', '.join(sorted(sd)[:4])}, …)")
    d = int(sd["encoder.muQuery"].shape[1])
    n_layers = len({k[len(ENC):].split(".")[0] for k in sd if k.startswith(ENC)})
    ff = int(sd[f"{ENC}0.linear1.weight"].shape[0])
    for key, got in (("latent_dim", d), ("num_layers", n_layers), ("ff_size", ff)):
        if key in opt and int(opt[key]) != got:
            raise ValueError(f"{where}: opt.yaml says {key}={opt[key]} but the weights have {got}")
    return ModelConfig(n_layers=n_layers, d_model=d, n_heads=int(opt.get("num_heads", PAPER["num_heads"])), d_ff=ff,
                       dropout=float(opt.get("dropout", PAPER["dropout"])),
                       activation=str(opt.get("activation", PAPER["activation"])), latent_dim=d, max_frames=MAX_LEN,
                       query_tokens=2, codec="official")


def official_to_mcl_state(sd: dict[str, torch.Tensor], cfg: ModelConfig, where: str
                          ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], list[str]]:
    """Map every official key → `(mcl state dict, unused official tensors, notes)`. Unknown keys or wrong shapes
    raise a ValueError naming them; the positional tables are checked against the sinusoid formula."""
    expected = official_key_shapes(cfg.n_layers, cfg.d_model, cfg.d_ff, int(sd["encoder.muQuery"].shape[0]))
    unknown = sorted(set(sd) - set(expected))
    missing = sorted(set(expected) - set(sd))
    wrong = [f"{k}: {tuple(sd[k].shape)} (expected {v})" for k, v in expected.items()
             if k in sd and tuple(sd[k].shape) != v]
    if unknown or missing or wrong:
        lines = [f"{where}: the weights are not the official MotionCLIP architecture:"]
        lines += [f"  unknown keys: {', '.join(unknown[:6])}"] if unknown else []
        lines += [f"  missing keys: {', '.join(missing[:6])}"] if missing else []
        lines += [f"  wrong shapes: {'; '.join(wrong[:4])}"] if wrong else []
        raise ValueError("\n".join(lines))
    notes = []
    table = sinusoid_table(cfg.d_model)
    for key in ("encoder.sequence_pos_encoder.pe", "decoder.sequence_pos_encoder.pe"):
        err = float((sd[key].float() - table).abs().max())
        if err > 1e-4:
            raise ValueError(f"{where}: {key} differs from the sinusoidal table by {err:.3g}; mcl recomputes it, "
                             f"so these weights would decode differently")
    notes.append("positional tables (encoder/decoder sequence_pos_encoder.pe) equal the sinusoid formula; recomputed")
    f32 = {k: v.detach().float().contiguous() for k, v in sd.items()}
    out = {"query": torch.stack([f32["encoder.muQuery"][0], f32["encoder.sigmaQuery"][0]])[None],
           "embed.weight": f32["encoder.skelEmbedding.weight"], "embed.bias": f32["encoder.skelEmbedding.bias"],
           "head.weight": f32["decoder.finallayer.weight"], "head.bias": f32["decoder.finallayer.bias"]}
    for k, v in f32.items():
        if k.startswith(ENC):
            out["encoder.layers." + k[len(ENC):]] = v
        elif k.startswith(DEC):
            out["decoder.layers." + k[len(DEC):]] = v
    unused = {"decoder.actionBiases": f32["decoder.actionBiases"]}
    notes.append("decoder.actionBiases: unused by the official forward pass (`z + actionBiases[y]` is commented "
                 f"out); kept in {UNUSED_FILE}")
    n_classes = f32["encoder.muQuery"].shape[0]
    if n_classes > 1:
        unused["encoder.muQuery"], unused["encoder.sigmaQuery"] = f32["encoder.muQuery"], f32["encoder.sigmaQuery"]
        notes.append(f"encoder.muQuery/sigmaQuery have {n_classes} class rows: the official AMASS/BABEL datasets "
                     f"label every window class 0, so row 0 is used; all rows kept in {UNUSED_FILE}")
    return out, unused, notes


def mcl_to_official_state(sd: dict[str, torch.Tensor], cfg: ModelConfig,
                          unused: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """An mcl state dict (paper layout: `query_tokens=2`, `latent_dim == d_model`) → the official keys, in the
    official order. `unused` (from an import) restores `decoder.actionBiases` and extra class rows; else zeros."""
    unused = unused or {}
    d = cfg.d_model
    table = sinusoid_table(d)
    mu, sigma = sd["query"][0, 0][None], sd["query"][0, 1][None]
    if "encoder.muQuery" in unused:  # put the used row back into the full class table
        mu, sigma = unused["encoder.muQuery"].clone(), unused["encoder.sigmaQuery"].clone()
        mu[0], sigma[0] = sd["query"][0, 0], sd["query"][0, 1]
    out = {"encoder.muQuery": mu, "encoder.sigmaQuery": sigma,
           "encoder.skelEmbedding.weight": sd["embed.weight"], "encoder.skelEmbedding.bias": sd["embed.bias"],
           "encoder.sequence_pos_encoder.pe": table}
    for i in range(cfg.n_layers):
        for p in ENC_LAYER_PARAMS:
            out[f"{ENC}{i}.{p}"] = sd[f"encoder.layers.{i}.{p}"]
    out["decoder.actionBiases"] = unused.get("decoder.actionBiases", torch.zeros(mu.shape[0], d))
    out["decoder.sequence_pos_encoder.pe"] = table.clone()
    for i in range(cfg.n_layers):
        for p in DEC_LAYER_PARAMS:
            out[f"{DEC}{i}.{p}"] = sd[f"decoder.layers.{i}.{p}"]
    out["decoder.finallayer.weight"], out["decoder.finallayer.bias"] = sd["head.weight"], sd["head.bias"]
    return {k: v.detach().float().cpu().contiguous().clone() for k, v in out.items()}


# --- run dirs ------------------------------------------------------------------------------------------------------
def _train_config(cfg: ModelConfig, opt: dict, space: str, out: Path) -> TrainConfig:
    text = str(opt.get("clip_text_losses", "cosine"))
    image = str(opt.get("clip_image_losses", "cosine"))
    loss = LossConfig(w_rc=float(opt.get("lambda_rc", 100.0)), w_body=float(opt.get("lambda_rcxyz", 100.0)),
                      w_vel=float(opt.get("lambda_vel", 100.0)),
                      w_text=float(opt.get("clip_lambda_cosine", 1.0)) if "cosine" in text else 0.0,
                      w_image=float(opt.get("clip_lambda_cosine", 1.0)) if "cosine" in image else 0.0,
                      body="vertices" if opt.get("jointstype", "vertices") == "vertices" else "joints")
    return TrainConfig(preset="paper", data="official-amass", space=space, out=str(out),
                       epochs=int(opt.get("num_epochs", 100)), batch_size=int(opt.get("batch_size", 20)),
                       lr=float(opt.get("lr", 1e-4)), seed=10, fps=30.0,
                       window_frames=int(opt.get("num_frames", 60)), chunk_frames=100, model=cfg, loss=loss)


def import_official(checkpoint: str | os.PathLike, opt_path: str | os.PathLike | None = None,
                    out: str | os.PathLike = "runs/official-paper", space: str = "clip-vit-b32",
                    verbose: bool = True) -> Path:
    """Write an official checkpoint as a normal mcl run dir; returns it. `opt_path` defaults to the `opt.yaml`
    beside the checkpoint (the paper's values when there is none). The run records the source file, its SHA-256,
    the opt values, the codec (`official`) and every official parameter the forward pass does not use.

    Example: `run = mcl.load(import_official("exps/paper-model/checkpoint_0100.pth.tar"))`.
    """

    checkpoint = Path(checkpoint)
    sd = read_official_checkpoint(checkpoint)
    if opt_path is None and (checkpoint.parent / "opt.yaml").exists():
        opt_path = checkpoint.parent / "opt.yaml"
    opt = read_opt(opt_path) if opt_path is not None else {}
    check_supported(opt, str(opt_path or checkpoint))
    cfg = architecture(sd, opt, str(checkpoint))
    weights, unused, notes = official_to_mcl_state(sd, cfg, str(checkpoint))
    if opt_path is None:
        notes.insert(0, "no opt.yaml: the paper's options assumed (num_heads 4, gelu, dropout 0.1, rot6d, glob, "
                        "translation, 30 fps, 60-frame windows)")
    ckpt.check_weights(MotionCLIP(cfg), weights, str(checkpoint), "the architecture read from it")
    out = Path(out)
    epoch = re.search(r"(\d+)", checkpoint.name.split("_")[-1])
    imported = {"from": "GuyTevet/MotionCLIP", "file": str(checkpoint.resolve()), "sha256": sha256(checkpoint),
                "opt_file": str(Path(opt_path).resolve()) if opt_path else None,
                "opt": {k: v for k, v in opt.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
                "codec": "official", "unused": sorted(unused), "notes": notes}
    train_cfg = _train_config(cfg, opt, space, out)
    manifest = {"config": train_cfg.to_dict(), "data_spec": "official-amass", "space": space, "imported": imported,
                "step": 0, "epoch": int(epoch.group(1)) if epoch else 0, "metrics": {}}
    ckpt.write_json(out / "config.json", {"config": train_cfg.to_dict(), "data_spec": "official-amass",
                                          "space": space, "git_commit": ckpt.git_commit(), "imported": imported})
    if unused:
        atomic_write(out / UNUSED_FILE, lambda tmp: save_file(unused, tmp, metadata={"source": str(checkpoint)}))
    ckpt.save(out, weights, None, manifest, tags=("latest",))
    if verbose:
        print(f"imported {checkpoint} (sha256 {imported['sha256'][:12]}…) → {out}: {cfg.n_layers} layers, "
              f"d {cfg.d_model}, {cfg.n_heads} heads, ff {cfg.d_ff}, {cfg.activation}, codec official, space {space}")
        for n in notes:
            print(f"  note: {n}")
    return out


def export_official(run_dir: str | os.PathLike, out: str | os.PathLike, which: str = "latest",
                    verbose: bool = True) -> Path:
    """Write an mcl run as an official checkpoint (`torch.save` of a dict with exactly the official keys) plus an
    `opt.yaml` beside it, so `python -m src.visualize.text2motion OUT` of the official code can load it.

    The run must have the official layout: `query_tokens=2`, `latent_dim == d_model` (a CLIP-space run) and
    `codec="official"` (the official scripts feed the official tensor convention). Imported runs always do.
    Example: `export_official("runs/official-paper", "exps/from-mcl/checkpoint_0100.pth.tar")`.
    """
    import yaml


    run_dir = Path(run_dir)
    m = ckpt.manifest(run_dir, which)
    if m is None:
        raise FileNotFoundError(f"{run_dir}: no {which} checkpoint (checkpoints/{which}.json missing)")
    cfg = TrainConfig.from_dict(m["config"]).model
    problems = []
    if cfg.query_tokens != 2:
        problems.append(f"query_tokens={cfg.query_tokens} (the official encoder always has a mu and a sigma token)")
    if cfg.latent_dim != cfg.d_model:
        problems.append(f"latent_dim={cfg.latent_dim} != d_model={cfg.d_model} (the official z is the d-wide token)")
    if cfg.codec != "official":
        problems.append(f"codec={cfg.codec!r} (the official scripts feed rows-6D, z-up tensors)")
    if problems:
        raise ValueError(f"{run_dir}: cannot be exported as an official checkpoint: {'; '.join(problems)}. Import an "
                         f"official checkpoint (mcl import-official) or train with model={{'query_tokens': 2, "
                         f"'codec': 'official'}} and a 512-d CLIP space")
    tensors = load_file(str(run_dir / ckpt.CKPT_DIR / m["weights"]))
    unused_path = run_dir / UNUSED_FILE
    unused = load_file(str(unused_path)) if unused_path.exists() else None
    sd = mcl_to_official_state(tensors, cfg, unused)
    out = Path(out)
    atomic_write(out, lambda tmp: torch.save(sd, tmp))
    opt = dict(PAPER)
    opt.update((m.get("imported") or {}).get("opt") or {})
    opt.update(num_layers=cfg.n_layers, latent_dim=cfg.d_model, activation=cfg.activation, ff_size=cfg.d_ff,
               num_heads=cfg.n_heads, dropout=cfg.dropout)
    opt_file = out.parent / "opt.yaml"
    write_opt = not opt_file.exists()  # never overwrite the options of an official run folder
    if write_opt:
        atomic_write(opt_file, lambda tmp: Path(tmp).write_text(yaml.safe_dump(opt)))
    if verbose:
        print(f"exported {run_dir} ({which}, step {m.get('step')}) → {out} ({len(sd)} official keys)"
              + (f"; wrote {opt_file}" if write_opt else f"; kept the existing {opt_file}"))
    return out
