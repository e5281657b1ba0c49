"""What the notebooks show, as functions: a run's windows and classes, loss curves, reconstructions, UMAP maps,
confusion matrices and the paper-style figures of `notebooks/06_paper_figures.ipynb` (PNG + PDF).

Every `*_figure` function returns a matplotlib `Figure` and, given `path` ("figures/t2m" or "figures/t2m.png"),
writes `path.png` and `path.pdf`. Interactive views (`loss_curves`, `umap_plotly`) return plotly figures.
Example:
    run = mcl.load("runs/deepmimic-cpu")
    text_to_motion_figure(run, ["a person walks forward", "a person jumps forward"], path="figures/fig1_text_to_motion")
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.classes import ClassSetup, as_list, class_setup  # noqa: F401 (class_setup: the notebooks use it from here)
from ..data.deepmimic import TEXTS
from ..data.errors import SkipReport
from ..data.motion import Motion
from ..data.sources import load as load_motions
from ..data.windows import WINDOW_FPS, windows
from ..latent.ops import decode, edit, embed_texts, encode, interpolate, latents, text_to_motion
from ..render import filmstrip
from ..training.batches import fit_to_window, split_motions
from .umap_map import embed_2d

WINDOW = 60

# figure file stem → (the paper figure it corresponds to, what it shows)
PAPER_FIGURES: dict[str, tuple[str, str]] = {
    "fig1_text_to_motion": ("Fig. 1 (teaser) and the text-to-motion results", "key poses of motions decoded from "
                                                                               "text prompts"),
    "fig_style_edit": ("the motion-editing figure (Fig. 5: latent arithmetic)", "a motion, then the motion − text A "
                                                                               "+ text B"),
    "fig_interpolation": ("the latent-interpolation figure", "motions decoded along the line between two latents"),
    "fig_umap": ("the latent-space visualisation figure", "UMAP of window latents and class-name text embeddings"),
    "fig_confusion": ("the action-recognition table (BABEL-60 protocol)", "zero-shot recognition confusion matrix"),
}


# --- data the notebooks use ----------------------------------------------------------------------------------------

def dataset_windows(data: str | Sequence[Motion], split: str = "all", loaded=None, stride: int | None = None,
                    fit: bool = True, report: SkipReport | None = None) -> list[Motion]:
    """60-frame windows at 30 fps of a data spec (or motions), optionally only the run's held-out part.

    `split="val"` / `"train"` applies the run's own split rule (`mcl.training.batches.split_motions` with `loaded.config`), so
    `val` windows are frames the model never trained on (DeepMimic: the mirror images of the clips); when `data` is
    not the run's training spec (`loaded.data_spec`), there is no rule to apply and every window is given. `fit=True`
    extends clips shorter than a window as training does (loops cyclic clips, holds the last frame otherwise), so
    every clip gives at least one window. Example: `ws = dataset_windows("deepmimic", "val", run)`.
    """

    report = report if report is not None else SkipReport()
    if isinstance(data, str):
        motions = load_motions(data, report, required=True)
    else:
        motions = list(data)
    if split not in ("all", "train", "val"):
        raise ValueError(f"split={split!r}: expected 'all', 'train' or 'val'")
    if split != "all" and loaded is not None and isinstance(data, str) and data != loaded.data_spec:
        split = "all"  # not the run's training data: its split rule means nothing here (as `mcl eval --split auto`)
    if split != "all":
        if loaded is None:
            raise ValueError(f"split={split!r} needs the loaded run (its config holds the split rule)")
        cfg = loaded.config
        train, val, _ = split_motions(motions, cfg.val_split, cfg.val_fraction, cfg.window_frames, report)
        motions = val if split == "val" else train
    out: list[Motion] = []
    for m in motions:
        m = m.resample(WINDOW_FPS)
        if fit:
            m = fit_to_window(m, WINDOW)
        out += windows(m, WINDOW, stride, report)
    return out


def first_window_per_label(windows: Sequence[Motion], label_key: str) -> dict[str, Motion]:
    """label → the first window carrying it (a window with a list of labels counts for each).

    Example: `first_window_per_label(dataset_windows("deepmimic"), "action")["walk"]`.
    """
    out: dict[str, Motion] = {}
    for w in windows:
        for lab in as_list(w.labels.get(label_key)):
            out.setdefault(str(lab), w)
    return out


@dataclass
class Examples:
    """The worked examples the notebooks use for a data set: prompts for text-to-motion, one edit
    (`base_label`, `minus`, `plus`), one body-part composition (`upper`, `lower`, `neutral`) and one interpolation."""
    prompts: list[str]
    free_prompts: list[str]
    base_label: str
    minus: str
    plus: str
    upper: str
    lower: str
    neutral: str
    interpolate: tuple[str, str]


def examples(data: str, trained_on: str | None = None) -> Examples:
    """Worked examples for `data`. DeepMimic has one clip per action and no styles, so its "style" edit swaps the
    action word (walk − "walks" + "runs"); Bandai edits a normal walk into an elderly one, as the paper's Fig. 5.
    `trained_on` (the run's data spec, `run.data_spec`): a model that learnt Bandai's styles (the shipped `open`
    model) gets the style prompts and the elderly edit on DeepMimic's walk too.
    Example: `examples("deepmimic").plus == "a person runs forward"`.

    >>> examples("deepmimic", "bandai?split=train + deepmimic?mirror=1&repeat=10").plus
    'a person walks in an elderly way'
    """
    source = data.split(":", 1)[0].split("?", 1)[0]
    bandai = Examples(["a person walks in a normal way", "an elderly person walking", "a person runs in an active way",
                       "a person waves both hands"], ["a person walks sadly", "a person jumps"],
                      "walk", "a person walks in a normal way", "a person walks in an elderly way",
                      "a person waves the right hand", "a person walks in a normal way", "a person stands",
                      ("a person walks in a normal way", "a person runs in a normal way"))
    if source == "bandai":
        return bandai
    ex = Examples([TEXTS[n][0] for n in ("walk", "jump", "cartwheel", "punch", "backflip", "crawl")],
                  ["a person walks backwards", "a person waves hello", "a person sits down", "a person is dancing"],
                  "walk", TEXTS["walk"][0], TEXTS["run"][0],
                  TEXTS["punch"][0], TEXTS["walk"][0], "a person stands still",
                  (TEXTS["walk"][0], TEXTS["cartwheel"][0]))
    if trained_on and "bandai" in trained_on:
        return replace(ex, prompts=ex.prompts[:3] + bandai.prompts[1:], minus=bandai.minus, plus=bandai.plus,
                       interpolate=(bandai.prompts[1], bandai.prompts[2]))
    return ex


def figures_table(figures_dir: str | os.PathLike = "figures") -> str:
    """A markdown table: each paper-style figure file in `figures_dir`, the paper figure it corresponds to, what it
    shows. Example: `IPython.display.Markdown(figures_table("figures"))`."""
    rows = ["| file | paper | shows |", "|---|---|---|"]
    for stem, (paper, what) in PAPER_FIGURES.items():
        files = [p.name for p in sorted(Path(figures_dir).glob(stem + ".*"))]
        rows.append(f"| {', '.join(files) or f'{stem} (not written)'} | {paper} | {what} |")
    return "\n".join(rows)


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The rows of a run's `metrics.jsonl` (train rows per step, val rows per epoch)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no metrics yet — train the run first (notebook 01 or `mcl train`)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def loss_curves(run_dir: str | os.PathLike, log_y: bool = True):
    """A plotly figure of a run's losses against the optimizer step: total and each term, train and validation.

    Each term is shown unweighted (the total is the weighted sum). Example: `loss_curves("runs/deepmimic-cpu").show()`.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = read_metrics(run_dir)
    terms = [k for k in ("loss", "rc", "body", "vel", "text", "image") if any(k in r for r in rows)]
    fig = make_subplots(rows=1, cols=len(terms), subplot_titles=[("total (weighted)" if t == "loss" else t)
                                                                 for t in terms])
    for c, term in enumerate(terms, start=1):
        for split, colour in (("train", "#1f77b4"), ("val", "#d62728")):
            pts = [(r["step"], r[term]) for r in rows if r["split"] == split and term in r]
            if pts:
                x, y = zip(*pts)
                fig.add_trace(go.Scatter(x=x, y=y, name=split, mode="lines" if split == "train" else "lines+markers",
                                         line=dict(color=colour), showlegend=c == 1, legendgroup=split), row=1, col=c)
        if log_y:
            fig.update_yaxes(type="log", row=1, col=c)
        fig.update_xaxes(title_text="step", row=1, col=c)
    fig.update_layout(height=320, template="plotly_white", title=f"losses of {Path(run_dir).name}")
    return fig


# --- saving ----------------------------------------------------------------------------------------------------

def save_figure(fig, path: str | os.PathLike | None) -> list[Path]:
    """Write a matplotlib figure as `path.png` and `path.pdf` (any .png/.pdf suffix is dropped first)."""
    if path is None:
        return []
    p = Path(path)
    stem = p.with_suffix("") if p.suffix.lower() in (".png", ".pdf") else p
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for f in out:
        fig.savefig(f, dpi=150, bbox_inches="tight")
    return out


def _figure_image(fig) -> np.ndarray:
    """RGB pixels of a rendered matplotlib figure `(H, W, 3)`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# --- paper-style figures ---------------------------------------------------------------------------------------

def filmstrip_rows(motions: Sequence[Motion], titles: Sequence[str] | None = None, n: int = 6,
                   path: str | os.PathLike | None = None, suptitle: str | None = None):
    """Filmstrips of several motions stacked in rows (one row per motion, its title above it), saved as PNG + PDF.

    Example: `filmstrip_rows(text_to_motion(run, ["a person walks", "a person jumps"]), path="figures/t2m")`.
    """
    from matplotlib.figure import Figure


    motions = list(motions)
    if not motions:
        raise ValueError("filmstrip_rows needs at least one motion")
    titles = list(titles) if titles is not None else [m.texts[0] if m.texts else m.name for m in motions]
    images = [_figure_image(filmstrip(m, n=n, title=t)) for m, t in zip(motions, titles)]
    width = max(im.shape[1] for im in images)
    heights = [im.shape[0] * width / im.shape[1] for im in images]  # every row spans the full width
    scale = 8.0 / width
    title_h = 0.45 if suptitle else 0.0  # inches kept for the title; the rows fill the rest edge to edge
    total = sum(heights) * scale + title_h
    fig = Figure(figsize=(8.0, total), dpi=100)
    axes = fig.subplots(len(images), 1, squeeze=False,
                        gridspec_kw=dict(height_ratios=heights, hspace=0.02, left=0, right=1, bottom=0,
                                         top=1 - title_h / total))[:, 0]
    for ax, im in zip(axes, images):
        ax.imshow(im)
        ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle, y=1 - 0.08 / total, va="top")
    save_figure(fig, path)
    return fig


def text_to_motion_figure(loaded, prompts: Sequence[str], n: int = 6, path: str | os.PathLike | None = None):
    """Paper Fig. 1 style: each prompt's text embedding decoded as z, drawn as a filmstrip row.

    Example: `text_to_motion_figure(run, ["a person does a cartwheel"], path="figures/fig1_text_to_motion")`.
    """

    motions = text_to_motion(loaded, list(prompts))
    return filmstrip_rows(motions, [f"“{p}”" for p in prompts], n=n, path=path)


def edit_figure(loaded, base, minus: str, plus: str, scale: float = 1.0, n: int = 6,
                path: str | os.PathLike | None = None):
    """Paper Fig. 5 style: the decoded base motion above the edited one, `base − minus + plus` (scale·(plus − minus)).

    `base` is a Motion, a text or a latent. Example: `edit_figure(run, walk, "a person walks", "a person runs")`.
    """

    z_base = latents(loaded, [base])[0]
    name = base if isinstance(base, str) else (base.texts[0] if isinstance(base, Motion) and base.texts else "base")
    before = decode(loaded, z_base, WINDOW)[0]
    after = edit(loaded, z_base, minus, plus, scale=scale, n_frames=WINDOW)
    return filmstrip_rows([before, after], [f"base: {name}", f"base − “{minus}” + “{plus}”"
                                            + (f" (×{scale:g})" if scale != 1 else "")], n=n, path=path)


def interpolation_figure(loaded, a, b, steps: int = 5, spherical: bool = False, n: int = 5,
                         path: str | os.PathLike | None = None):
    """Paper Fig. 6 style: `steps` motions decoded along the latent line (or great circle) from `a` to `b`.

    Example: `interpolation_figure(run, "a person walks forward", "a person runs forward", path="figures/interp")`.
    """

    motions = interpolate(loaded, a, b, steps=steps, spherical=spherical, n_frames=WINDOW)
    ts = np.linspace(0, 1, steps)
    return filmstrip_rows(motions, [f"t = {t:.2f}" for t in ts], n=n, path=path,
                          suptitle=f"{'spherical' if spherical else 'linear'} interpolation: {_name(a)} → {_name(b)}")


def _name(o) -> str:
    if isinstance(o, str):
        return f"“{o}”"
    if isinstance(o, Motion):
        return o.texts[0] if o.texts else o.name
    return "latent"


@dataclass
class UmapPoints:
    """2-D UMAP coordinates of window latents and class text embeddings, embedded together.

    `xy (N, 2)`; `label` the class of each point; `kind` "motion" or "text"; `hover` what a point is."""
    xy: np.ndarray
    label: list[str]
    kind: list[str]
    hover: list[str]


def umap_points(loaded, windows: Sequence[Motion], classes: ClassSetup, color_key: str | None = None,
                **umap_kwargs) -> UmapPoints:
    """UMAP of the latents of `windows` together with the text embeddings of the class prompts (cosine metric).

    Windows are coloured by `color_key` (default `classes.label_key`); each class prompt is one extra point.
    Both live in the same frozen space, so a class's windows should gather around its text. Example:
    `umap_points(run, dataset_windows("deepmimic"), class_setup("deepmimic"))`.
    """
    import torch


    key = color_key or classes.label_key
    windows = list(windows)
    zm = encode(loaded, windows)
    zt = embed_texts(loaded, classes.prompts)
    xy = embed_2d(torch.cat([zm, zt]), **umap_kwargs)
    labels = [", ".join(as_list(w.labels.get(key))) or "(none)" for w in windows]
    hover = [f"{w.name} [{w.source.get('frames', ('', ''))[0]}:]" for w in windows]
    return UmapPoints(xy, labels + list(classes.names), ["motion"] * len(windows) + ["text"] * len(classes.names),
                      hover + [f"text: “{p}”" for p in classes.prompts])


def _colours(labels: Sequence[str]) -> dict[str, str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    names = sorted(set(labels))
    cmap = colormaps["tab20"] if len(names) > 10 else colormaps["tab10"]
    return {n: to_hex(cmap(i % cmap.N)) for i, n in enumerate(names)}


def umap_plotly(points: UmapPoints, title: str = "latent space (UMAP): windows ● and class texts ★"):
    """An interactive plotly scatter of `umap_points`: windows as dots, class texts as stars, one colour per class."""
    import plotly.graph_objects as go

    colours = _colours(points.label)
    fig = go.Figure()
    for lab in sorted(set(points.label)):
        for kind, symbol, size in (("motion", "circle", 7), ("text", "star", 16)):
            idx = [i for i, (l_, k) in enumerate(zip(points.label, points.kind)) if l_ == lab and k == kind]
            if idx:
                fig.add_trace(go.Scatter(x=points.xy[idx, 0], y=points.xy[idx, 1], mode="markers", name=lab,
                                         legendgroup=lab, showlegend=kind == "motion",
                                         text=[points.hover[i] for i in idx], hovertemplate="%{text}<extra></extra>",
                                         marker=dict(symbol=symbol, size=size, color=colours[lab],
                                                     line=dict(width=1, color="black") if kind == "text" else None)))
    fig.update_layout(title=title, template="plotly_white", xaxis_title="UMAP 1", yaxis_title="UMAP 2", height=520)
    return fig


def umap_figure(points: UmapPoints, path: str | os.PathLike | None = None, title: str = "latent space (UMAP)"):
    """Paper Fig. 7 style matplotlib scatter of `umap_points` (windows as dots, class texts as labelled stars)."""
    from matplotlib.figure import Figure

    colours = _colours(points.label)
    fig = Figure(figsize=(7.5, 6), dpi=100)
    ax = fig.add_subplot()
    kinds = np.array(points.kind)
    for lab in sorted(set(points.label)):
        m = np.array([l_ == lab for l_ in points.label])
        ax.scatter(*points.xy[m & (kinds == "motion")].T, s=14, color=colours[lab], alpha=0.75, label=lab)
        t = m & (kinds == "text")
        ax.scatter(*points.xy[t].T, s=180, marker="*", color=colours[lab], edgecolors="black", linewidths=0.8)
        for x, y in points.xy[t]:
            ax.annotate(lab, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title + "  (● windows, ★ class texts)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    save_figure(fig, path)
    return fig


def confusion_figure(result: dict, path: str | os.PathLike | None = None, title: str | None = None):
    """A matplotlib confusion matrix (rows: true class, columns: predicted; row-normalised) of
    `mcl.latent.evaluate.recognition`'s result, with top-1/top-5 in the title. Example: `confusion_figure(res, "figures/cm")`."""
    from matplotlib.figure import Figure

    cm = np.asarray(result["confusion"], dtype=float)
    names = list(result["classes"])
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = max(4.5, 0.38 * len(names) + 2)
    fig = Figure(figsize=(size + 1, size), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, j in zip(*np.nonzero(cm)):
        ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_title(title or f"zero-shot recognition: top-1 {result['top1']:.1f}%, top-5 {result.get('top5', float('nan')):.1f}%"
                 f" (n={result['n']})", fontsize=9)
    save_figure(fig, path)
    return fig


def confusion_plotly(result: dict):
    """The same confusion matrix as an interactive plotly heatmap (counts on hover)."""
    import plotly.graph_objects as go

    cm = np.asarray(result["confusion"], dtype=float)
    names = list(result["classes"])
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(go.Heatmap(z=norm, x=names, y=names, colorscale="Blues", zmin=0, zmax=1, customdata=cm,
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata:.0f} windows<extra></extra>"))
    fig.update_layout(title=f"top-1 {result['top1']:.1f}%, top-5 {result.get('top5', float('nan')):.1f}% (n={result['n']})",
                      xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed", height=560,
                      template="plotly_white")
    return fig
