"""The latent space of a trained MotionCLIP: encode, decode, text-to-motion, editing, interpolation, recognition.

All functions take a loaded run (`mcl.training.checkpoint.load(run_dir)`: `.model` with `encode (B,25,6,T) → (B,D)` and
`decode ((B,D), n_frames) → (B,25,6,T)`, `.space` with `encode_text(list[str]) → (N,D)`). The latent z lives in the
frozen text(-image) space, so a text embedding can stand wherever an encoded motion can (the paper's key property):
every "operand" below is a `Motion`, a text (`str`) or a ready latent vector `(D,)`.

Lengths: the model is trained on 60-frame windows at 30 fps, but its decoder takes any number of positional queries,
so `n_frames` may differ. Measured with `mcl.latent.evaluate.length_study` on two DeepMimic CPU-preset models (docs/latent.md,
"Measured on DeepMimic"): a 120-frame decode keeps its first 60 frames as good as the 60-frame decode (MPJPE within
3 mm) but is jerkier after frame 60 (mean joint acceleration ×1.5–2.3) and, for one model, slower (joint speed
0.68×); a 30-frame decode is not the first second of the 60-frame one. Other lengths work but extrapolate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np
import torch

from ..body.skeleton import load_skeleton
from ..data.errors import SkipReport
from ..data.motion import Motion
from ..data.screen import check_finite_motion
from ..data.sources import load as load_motions
from ..data.windows import WINDOW_FPS, make_windows

Operand = Union[Motion, str, torch.Tensor, np.ndarray]


# --- plumbing ----------------------------------------------------------------------------------------------------

def _model(loaded):
    return loaded.model if hasattr(loaded, "model") else loaded


def _device(loaded) -> torch.device:
    try:
        return next(_model(loaded).parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


# --- encode / decode ---------------------------------------------------------------------------------------------

@torch.no_grad()
def encode(loaded, motions: Sequence[Motion], batch_size: int = 64, progress: bool = False) -> torch.Tensor:
    """Latents `(N, D)` of motions (any length; resampled to 30 fps first, as the model was trained).

    Motions of equal length are batched together; order is kept.
    Example: `z = encode(run, make_windows(load("deepmimic")))` → `(n_windows, 384)` for the MiniLM space.
    """
    motions = list(motions)
    if not motions:
        raise ValueError("encode() got no motions")
    model, dev = _model(loaded), _device(loaded)
    model.eval()
    xs = [m.resample(WINDOW_FPS).face_forward().to_tensor() for m in motions]  # the heading training used
    by_len: dict[int, list[int]] = {}
    for i, x in enumerate(xs):
        by_len.setdefault(x.shape[-1], []).append(i)
    out: list[torch.Tensor | None] = [None] * len(xs)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(xs), desc="encode", disable=not progress)
    for idx in by_len.values():
        for sl in _batches(len(idx), batch_size):
            sel = idx[sl]
            z = model.encode(torch.stack([xs[i] for i in sel]).to(dev)).float().cpu()
            for i, zi in zip(sel, z):
                out[i] = zi
            bar.update(len(sel))
    bar.close()
    return torch.stack(out)


@torch.no_grad()
def embed_texts(loaded, texts: Sequence[str]) -> torch.Tensor:
    """Text embeddings `(N, D)` from the run's frozen space (cached by the space). Example: `embed_texts(run, ["walk"])`."""
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("embed_texts() got no texts")
    e = loaded.space.encode_text(texts)
    return (e if isinstance(e, torch.Tensor) else torch.as_tensor(np.asarray(e))).detach().float().cpu()


# --- text embeddings as latents ----------------------------------------------------------------------------------
# The losses align z with text embeddings by cosine only, so nothing ties their norms: with MiniLM (unit vectors)
# the encoder's z ends up an order of magnitude longer than a text embedding (‖z‖ ≈ 13 vs 1 on the DeepMimic CPU
# run). The decoder has only seen encoder outputs, so a text embedding is put on the same scale before it is
# decoded or mixed with encoded motions: its direction is kept and its norm set to the mean ‖z‖ of encoded
# training windows (`latent_norm`). `text_norm="raw"` decodes the embedding as it is, exactly as the paper does
# with CLIP's raw features.

NORM_FILE = "latent_norm.json"


def calibrate(loaded, motions: Sequence[Motion], max_windows: int = 512) -> float:
    """Measure the mean ‖z‖ over (up to `max_windows`) 60-frame windows of `motions` and remember it for this run
    (in `run_dir/latent_norm.json`, one entry per checkpoint step). Example: `calibrate(run, train_clips)`."""
    import json


    ws = make_windows(motions)[:max_windows] or [m.resample(WINDOW_FPS) for m in motions][:max_windows]
    if not ws:
        raise ValueError("calibrate() got no motions")
    norm = float(encode(loaded, ws).norm(dim=-1).mean())
    loaded.__dict__["latent_norm"] = norm
    run_dir = getattr(loaded, "run_dir", None)
    if run_dir is not None:
        from pathlib import Path

        f = Path(run_dir) / NORM_FILE
        saved = json.loads(f.read_text()) if f.exists() else {}
        saved[str(int(getattr(loaded, "step", 0)))] = {"norm": norm, "windows": len(ws)}  # one entry per checkpoint
        f.write_text(json.dumps(saved, indent=1))
    return norm


def latent_norm(loaded) -> float:
    """The run's mean ‖z‖ of encoded training windows: remembered, read from `run_dir/latent_norm.json` (same
    checkpoint step), or measured on the run's data spec (then saved). Example: `latent_norm(run)` → 12.9."""
    import json

    if "latent_norm" in getattr(loaded, "__dict__", {}):
        return loaded.__dict__["latent_norm"]
    run_dir = getattr(loaded, "run_dir", None)
    if run_dir is not None:
        from pathlib import Path

        f = Path(run_dir) / NORM_FILE
        if f.exists():
            d = json.loads(f.read_text()).get(str(int(getattr(loaded, "step", 0))))
            if d is not None:
                loaded.__dict__["latent_norm"] = float(d["norm"])
                return float(d["norm"])
    spec = str(getattr(loaded, "data_spec", "") or "")
    if not spec or spec.startswith("custom"):
        raise ValueError(f"run {run_dir}: its training data ({spec or 'unknown'}) cannot be reloaded to measure the "
                         f"latent scale; call mcl.latent.ops.calibrate(run, training_motions) once, or pass "
                         f"text_norm='raw'")

    return calibrate(loaded, load_motions(spec, SkipReport(), required=True))


def text_latents(loaded, texts: Sequence[str], text_norm: str = "match") -> torch.Tensor:
    """Text embeddings `(N, D)` ready to be decoded as z: scaled to the run's latent norm (`text_norm="match"`,
    default; runs imported from the official code use raw, as its text2motion does) or as they are (`"raw"`, the
    paper). Example: `decode(run, text_latents(run, ["a person jumps"]))`."""
    e = embed_texts(loaded, texts)
    if text_norm == "match" and getattr(getattr(_model(loaded), "cfg", None), "codec", "mcl") == "official":
        text_norm = "raw"  # a model trained by the official code: its text2motion decodes raw CLIP text features
    if text_norm == "raw":
        return e
    if text_norm != "match":
        raise ValueError(f"text_norm={text_norm!r}: expected 'match' or 'raw'")
    return e / e.norm(dim=-1, keepdim=True).clamp_min(1e-12) * latent_norm(loaded)


def latents(loaded, operands: Sequence[Operand], text_norm: str = "match") -> torch.Tensor:
    """`(N, D)`: each operand as a latent — a Motion is encoded, a str embedded as text (scaled, see
    `text_latents`), a vector used as it is.

    Example: `latents(run, ["walk", walk_motion])` → both in the same space, so they can be added and compared.
    """

    operands = list(operands)
    out: list[torch.Tensor | None] = [None] * len(operands)
    mot = [i for i, o in enumerate(operands) if isinstance(o, Motion)]
    for i in mot:  # finite in: a NaN frame would make the whole decoded motion NaN
        check_finite_motion(operands[i], f"operand {i} ({_describe(operands[i])}, {operands[i].source.get('file', '')})")
    txt = [i for i, o in enumerate(operands) if isinstance(o, str)]
    if mot:
        for i, z in zip(mot, encode(loaded, [operands[i] for i in mot])):
            out[i] = z
    if txt:
        for i, z in zip(txt, text_latents(loaded, [operands[i] for i in txt], text_norm)):
            out[i] = z
    for i, o in enumerate(operands):
        if out[i] is None:
            if not isinstance(o, (torch.Tensor, np.ndarray)):
                raise TypeError(f"operand {i} is a {type(o).__name__}: expected a Motion, a text or a latent vector")
            out[i] = torch.as_tensor(np.asarray(o) if isinstance(o, np.ndarray) else o).float().reshape(-1).cpu()
    z = torch.stack(out)
    bad = [i for i in range(len(z)) if not torch.isfinite(z[i]).all()]
    if bad:
        raise ValueError(f"operand {bad[0]} ({_describe(operands[bad[0]])}) gives a latent with NaN/inf values; "
                         f"check that operand (and the run's weights)")
    return z


def _describe(o: Operand) -> str:
    if isinstance(o, str):
        return o
    if isinstance(o, Motion):
        return o.texts[0] if o.texts else o.name
    return "<latent>"


@torch.no_grad()
def decode(loaded, z, n_frames: int = 60, texts: Sequence[str] | None = None, batch_size: int = 64) -> list[Motion]:
    """Motions of `n_frames` at 30 fps from latents `z` `(N, D)` (or one `(D,)`).

    The decoder predicts translation relative to the first frame (its frame-0 offset is removed), so each motion
    starts with its pelvis at `(0, floor_below_pelvis, 0)`: standing on the floor at the origin. Any `n_frames ≥ 1` works (see module doc for
    how quality changes away from the trained 60). Example: `decode(run, encode(run, [m]))[0].num_frames == 60`.
    """

    z = torch.as_tensor(z).float()
    if z.ndim == 1:
        z = z[None]
    model, dev = _model(loaded), _device(loaded)
    limit = int(getattr(getattr(model, "cfg", None), "max_frames", 5000))
    if not 1 <= n_frames <= limit:
        raise ValueError(f"n_frames={n_frames}: expected 1 … {limit} (the model's positional table, "
                         f"model.max_frames)")
    if not torch.isfinite(z).all():
        raise ValueError("the latent to decode has NaN/inf values; check the operands and the edit scale")
    model.eval()
    xs = [model.decode(z[sl].to(dev), n_frames=n_frames).float().cpu() for sl in _batches(len(z), batch_size)]
    x = torch.cat(xs)
    if not torch.isfinite(x).all():  # finite out: never hand back (or write) a NaN motion
        raise ValueError(f"the decoder produced NaN/inf values for {int((~torch.isfinite(x)).flatten(1).any(1).sum())} "
                         f"of {len(x)} motion(s); the run's weights may be damaged (check its checkpoint)")
    x[:, -1, :3] -= x[:, -1, :3, :1].clone()  # the model's translation is relative to frame 0: make it exactly so
    start = np.array([0.0, load_skeleton().floor_below_pelvis, 0.0], np.float32)
    texts = list(texts) if texts is not None else [""] * len(z)
    return [Motion.from_tensor(xi, fps=WINDOW_FPS, start=start, texts=[t] if t else [],
                               source={"dataset": "generated", "name": t or f"decoded-{i}"})
            for i, (xi, t) in enumerate(zip(x, texts))]


def reconstruct(loaded, motions: Sequence[Motion], n_frames: int | None = None) -> list[Motion]:
    """Encode then decode (`n_frames` defaults to each motion's length at 30 fps); each output starts where its
    input starts, so the two can be compared frame by frame. Example: `reconstruct(run, windows[:4])`."""
    motions = [m.resample(WINDOW_FPS) for m in motions]
    z = encode(loaded, motions)
    out = []
    for m, zi in zip(motions, z):
        d = decode(loaded, zi, n_frames or m.num_frames, texts=m.texts[:1] or None)[0]  # a motion may have no text
        out.append(d.replace(trans=d.trans - d.trans[:1] + m.trans[:1],
                             source={"dataset": "reconstruction", "name": m.name}))
    return out


# --- generation and editing --------------------------------------------------------------------------------------

def text_to_motion(loaded, prompts: str | Sequence[str], n_frames: int = 60, text_norm: str = "match") -> list[Motion]:
    """Decode each prompt's text embedding directly as z (the paper's text-to-motion: no text encoder of our own),
    scaled to the run's latent norm unless `text_norm="raw"` (see `text_latents`).

    Example: `text_to_motion(run, ["a person jumps", "a person walks"])` → two 60-frame motions at 30 fps.
    """
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    return decode(loaded, text_latents(loaded, prompts, text_norm), n_frames, texts=prompts)


def edit_latent(z_base: torch.Tensor, z_minus: torch.Tensor, z_plus: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """`z_base + scale · (z_plus − z_minus)`: the paper's `base − from + to` at `scale = 1`.

    >>> edit_latent(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), scale=0.5).tolist()
    [0.5, 2.0]
    """
    if not math.isfinite(float(scale)):
        raise ValueError(f"edit scale={scale!r}: expected a finite number (1 is the paper's edit)")
    return z_base + scale * (z_plus - z_minus)


def edit(loaded, base: Operand, minus: Operand, plus: Operand, scale: float = 1.0, n_frames: int = 60,
         text_norm: str = "match") -> Motion:
    """Latent arithmetic edit: decode `z_base + scale · (z_plus − z_minus)` (MotionCLIP: base − v_start + v_end).

    Operands are Motions, texts or latents. Style: `edit(run, walk, "normal", "elderly")` adds "elderly minus
    normal" to a walk; `minus == plus` gives back the decoded base. Example: `edit(run, "jump", "walk", "walk old")`.
    """
    zb, zm, zp = latents(loaded, [base, minus, plus], text_norm)
    title = f"{_describe(base)} − {_describe(minus)} + {_describe(plus)}"
    return decode(loaded, edit_latent(zb, zm, zp, scale), n_frames, texts=[title])[0]


def compose_parts(loaded, upper: Operand, lower: Operand, neutral: Operand = "stand", n_frames: int = 60,
                  text_norm: str = "match") -> Motion:
    """Upper body of one motion on the lower body of another, by latent arithmetic as MotionCLIP does.

    MotionCLIP composes body parts without any joint masking (paper Fig. 5, the repo's `assets/paper_edits.csv`:
    "walk" − "Standing" + "drink from mug", "high jump" − "Standing" + "bowling"): the motion that gives the legs
    is the base, a neutral motion ("stand") is subtracted and the motion that gives the arms is added,
    `z = z_lower − z_neutral + z_upper`. It works because the neutral motion shares the lower body with neither and
    the upper-body action is mostly an arm movement on top of standing. Example: `compose_parts(run, "drink from mug",
    "walk")` → a walk while drinking (when the space and training data know both).
    """
    zu, zl, zn = latents(loaded, [upper, lower, neutral], text_norm)
    title = f"{_describe(lower)} − {_describe(neutral)} + {_describe(upper)}"
    return decode(loaded, edit_latent(zl, zn, zu), n_frames, texts=[title])[0]


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation of directions with the norm interpolated linearly; exact at t = 0 and 1.

    >>> [round(v, 4) for v in slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 3.0]), 0.5).tolist()]  # 45°, norm 2
    [1.4142, 1.4142]
    """
    if t == 0:
        return a.clone()
    if t == 1:
        return b.clone()
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    omega = torch.arccos(torch.clamp((ua * ub).sum(), -1.0, 1.0))
    if omega < 1e-6:
        u = ua
    else:
        u = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return u * ((1 - t) * na + t * nb)


def interpolate_latents(za: torch.Tensor, zb: torch.Tensor, steps: int = 5, spherical: bool = False) -> torch.Tensor:
    """`(steps, D)` latents from `za` to `zb` at t = 0, 1/(steps−1), …, 1 (linear as the paper, or slerp).

    >>> interpolate_latents(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), steps=3).tolist()
    [[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]]
    """
    if steps < 2:
        raise ValueError(f"steps must be ≥ 2 (both endpoints), got {steps}")
    ts = np.linspace(0.0, 1.0, steps)
    if spherical:
        return torch.stack([slerp(za, zb, float(t)) for t in ts])
    zs = [za.clone() if t == 0 else zb.clone() if t == 1 else (1 - t) * za + t * zb for t in ts]
    return torch.stack(zs)


def interpolate(loaded, a: Operand, b: Operand, steps: int = 5, spherical: bool = False,
                n_frames: int = 60, text_norm: str = "match") -> list[Motion]:
    """`steps` motions decoded along the latent path from `a` to `b` (Motions, texts or latents).

    t = 0 and t = 1 use the endpoint latents unchanged, so they decode to exactly `decode(a)` and `decode(b)`.
    Example: `interpolate(run, "walk", "run", steps=5)`.
    """
    za, zb = latents(loaded, [a, b], text_norm)
    zs = interpolate_latents(za, zb, steps, spherical)
    ts = np.linspace(0.0, 1.0, steps)
    titles = [f"{_describe(a)} → {_describe(b)} t={t:.2f}" for t in ts]
    return decode(loaded, zs, n_frames, texts=titles)


# --- recognition -------------------------------------------------------------------------------------------------

@dataclass
class Classification:
    """Zero-shot recognition result. `probs (N, C)` softmax(100·cos); `topk (N, k)` class indices, best first;
    `names` the class names; `predicted` the top-1 names."""
    probs: torch.Tensor
    topk: torch.Tensor
    names: list[str]
    prompts: list[str] = field(default_factory=list)

    @property
    def predicted(self) -> list[str]:
        return [self.names[i] for i in self.topk[:, 0].tolist()]

    def top(self, i: int) -> list[tuple[str, float]]:
        """The k best (name, probability) pairs of item i."""
        return [(self.names[c], float(self.probs[i, c])) for c in self.topk[i].tolist()]


def class_scores(z_items: torch.Tensor, z_classes: torch.Tensor, logit_scale: float = 100.0) -> torch.Tensor:
    """softmax(logit_scale · cos(z, class embedding)) `(N, C)`, CLIP's zero-shot rule with its scale of 100.

    >>> p = class_scores(torch.tensor([[1.0, 0.1], [0.0, 1.0]]), torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    >>> p.shape, p.argmax(dim=-1).tolist()  # each item's class is the one its direction matches (norms ignored)
    (torch.Size([2, 2]), [0, 1])
    """
    zi = torch.nn.functional.normalize(torch.as_tensor(z_items).float(), dim=-1)
    zc = torch.nn.functional.normalize(torch.as_tensor(z_classes).float(), dim=-1)
    return (logit_scale * zi @ zc.T).softmax(dim=-1)


def class_prompts(class_names: Sequence[str], prompt: str | Sequence[str | Sequence[str]] = "{}") -> list:
    """The text embedded for each class: `prompt.format(name)`, or `prompt` itself when it is a list (one per class;
    an item may be a list of several prompts, whose embeddings are averaged: CLIP's prompt ensembling).

    >>> class_prompts(["walk", "run"], "a person {}s")
    ['a person walks', 'a person runs']
    >>> class_prompts(["walk", "run"], [["a person walks", "walking"], "a person runs"])
    [['a person walks', 'walking'], 'a person runs']
    """
    if isinstance(prompt, str):
        return [prompt.format(n) for n in class_names]
    prompts = [str(p) if isinstance(p, str) else [str(x) for x in p] for p in prompt]
    if len(prompts) != len(class_names):
        raise ValueError(f"{len(prompts)} prompts for {len(class_names)} classes: give one per class or a template")
    return prompts


def class_embeddings(loaded, prompts: Sequence[str | Sequence[str]]) -> torch.Tensor:
    """One embedding `(C, D)` per class: its prompt's, or the normalised mean of its prompts' unit embeddings (CLIP's
    prompt ensembling, Radford et al. 2021). Example: `class_embeddings(run, ["walk", ["a person runs", "running"]])`.
    """
    groups = [[p] if isinstance(p, str) else list(p) for p in prompts]
    if any(not g for g in groups):
        raise ValueError("a class has no prompt")
    flat = [t for g in groups for t in g]
    e = torch.nn.functional.normalize(embed_texts(loaded, flat), dim=-1)
    out, i = [], 0
    for g in groups:
        out.append(torch.nn.functional.normalize(e[i:i + len(g)].mean(0), dim=-1))
        i += len(g)
    return torch.stack(out)


def classify(loaded, motions: Sequence[Operand], class_names: Sequence[str], prompt: str | Sequence[str] = "{}",
             k: int = 5) -> Classification:
    """Zero-shot recognition: each motion against the embeddings of `prompt.format(name)` for every class.

    `prompt` may also be a list with one text per class. `motions` may be latents (`(N, D)` tensor) to avoid
    re-encoding. Example: `classify(run, windows, ["walk", "run", "jump"], prompt="a person {}s", k=2).predicted`.
    """
    names = [str(n) for n in class_names]
    if not names:
        raise ValueError("classify() needs at least one class name")
    if len(set(names)) != len(names):
        raise ValueError("class names must be distinct")
    z = motions if isinstance(motions, torch.Tensor) else latents(loaded, list(motions))
    prompts = class_prompts(names, prompt)
    probs = class_scores(z, class_embeddings(loaded, prompts))
    k = min(k, len(names))
    return Classification(probs, probs.topk(k, dim=-1).indices, names, prompts)
