"""ipywidgets explorers over the latent toolkit (`mcl.latent.ops`): text-to-motion, arithmetic, interpolation,
recognition, and the UMAP map of the latents.

Each explorer is a `VBox` of controls, a status line and an output area that it owns. Changing a control calls a plain
method (`generate`, `update`, …) that recomputes, stores the result on the explorer (`.figure`, `.motions`, …) and
replaces what the output area shows; the constructor calls the same method, so what a notebook shows first and what
a callback shows later go through one code path. The status line says "decoding …" while the kernel works, and
shows the error if a control's value cannot be used. The explorers work — and are tested — without a browser:

    ex = text_to_motion_explorer(run)          # display(ex) in a notebook
    ex.prompt.value = "a person jumps"        # → ex.figure is the plotly player of the new motion
"""
from __future__ import annotations

import json
from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch

from ..data.motion import Motion
from ..latent import ops as latent
from ..render import show
from .figures import umap_plotly, umap_points

LAYOUT = widgets.Layout(width="520px")
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def plotly_bundle(fig) -> dict:
    """The display data of a plotly figure: the mimetype JupyterLab and Voilà draw with plotly.js, and a text line.

    Built by hand rather than with `IPython.display`: a plotly figure displays itself as a side effect
    (`_ipython_display_`), which inside a widget callback has no cell to go to. Example:
    `out.outputs = ({"output_type": "display_data", "data": plotly_bundle(fig), "metadata": {}},)`.
    """
    spec = json.loads(fig.to_json())  # plain JSON: widget state travels as JSON, numpy arrays do not
    spec["config"] = {"displaylogo": False, "responsive": True}
    title = fig.layout.title.text or " · ".join(a.text for a in fig.layout.annotations or ()) or "figure"
    return {PLOTLY_MIME: spec, "text/plain": f"<plotly figure: {title}>"}


def show_in(output: widgets.Output, fig) -> None:
    """Replace what `output` shows with the plotly figure `fig` (works in a cell and in a widget callback alike).

    The output's `outputs` state is set directly: no `with output:` capture, which under papermill/nbclient stalls a
    cell that displays a plotly figure until the execution timeout.
    """
    output.outputs = ({"output_type": "display_data", "data": plotly_bundle(fig), "metadata": {}},)


def _label(o) -> str:
    if isinstance(o, str):
        return f"text: {o}"
    if isinstance(o, Motion):
        return f"motion: {o.texts[0] if o.texts else o.name}"
    return "latent"


def _options(operands) -> dict[str, object]:
    """label → operand, from a mapping or a sequence of Motions / texts / latents (labels made unique)."""
    items = list(operands.items()) if isinstance(operands, Mapping) else [(_label(o), o) for o in operands]
    out: dict[str, object] = {}
    for k, v in items:
        key, i = str(k), 2
        while key in out:
            key, i = f"{k} ({i})", i + 1
        out[key] = v
    if not out:
        raise ValueError("the explorer needs at least one motion or text to choose from")
    return out


class _Explorer(widgets.VBox):
    """Controls, a status line and an output area; `_run(compute)` shows "decoding …" while `compute` works and its
    error, if any, in the status line (a callback's exception would otherwise go to the browser's log only)."""

    def __init__(self, controls: list, height: int = 420):
        self.output = widgets.Output(layout=widgets.Layout(min_height=f"{height}px"))
        self.status = widgets.HTML()
        self.figure = None
        self.height = height
        super().__init__(list(controls) + [self.status, self.output])

    def __repr__(self) -> str:  # what an executed notebook shows in place of the live controls
        return f"<{type(self).__name__}: live controls, shown when the notebook runs in JupyterLab (make lab)>"

    def _run(self, compute):
        self.status.value = "<i>⏳ decoding …</i>"
        self.add_class("mcl-busy")
        try:
            return compute()
        except Exception as e:
            self.status.value = f"<span style='color:#b00'>error: {type(e).__name__}: {e}</span>"
            raise
        finally:
            self.remove_class("mcl-busy")

    def _show(self, fig, message: str = "") -> None:
        self.figure = fig
        show_in(self.output, fig)
        self.status.value = message


class TextToMotionExplorer(_Explorer):
    """A text box → the motion decoded from its embedding, in the plotly player (`.motion`, `.figure`)."""

    def __init__(self, loaded, prompt: str = "a person jumps", n_frames: int = 60, height: int = 420):
        self.loaded = loaded
        self.prompt = widgets.Text(value=prompt, description="prompt", continuous_update=False, layout=LAYOUT)
        self.frames = widgets.IntSlider(value=n_frames, min=15, max=180, step=15, description="frames",
                                        continuous_update=False)
        self.motion: Motion | None = None
        super().__init__([self.prompt, self.frames], height)
        self.prompt.observe(lambda _: self.generate(), names="value")
        self.frames.observe(lambda _: self.generate(), names="value")
        self.generate()

    def generate(self) -> Motion:
        """Decode the current prompt and show it; returns the motion."""
        return self._run(self._generate)

    def _generate(self) -> Motion:
        text = self.prompt.value.strip()
        if not text:
            self.status.value = "type a prompt"
            return self.motion
        self.motion = latent.text_to_motion(self.loaded, [text], n_frames=self.frames.value)[0]
        self._show(show(self.motion, titles=[f"“{text}”"], height=self.height),
                   f"“{text}” → {self.frames.value} frames at 30 fps")
        return self.motion


class ArithmeticExplorer(_Explorer):
    """Choosers for base / minus / plus and a scale slider → `base + scale · (plus − minus)`, shown beside the base."""

    def __init__(self, loaded, operands, base=None, minus=None, plus=None, scale: float = 1.0, n_frames: int = 60,
                 height: int = 420):
        self.loaded = loaded
        self.operands = _options(operands)
        names = list(self.operands)
        self._z = dict(zip(names, latent.latents(loaded, list(self.operands.values()))))  # encode each once
        pick = lambda v, i: v if v in self.operands else names[min(i, len(names) - 1)]  # noqa: E731
        self.base = widgets.Dropdown(options=names, value=pick(base, 0), description="base", layout=LAYOUT)
        self.minus = widgets.Dropdown(options=names, value=pick(minus, 1), description="minus", layout=LAYOUT)
        self.plus = widgets.Dropdown(options=names, value=pick(plus, 2), description="plus", layout=LAYOUT)
        self.scale = widgets.FloatSlider(value=scale, min=-2.0, max=3.0, step=0.25, description="scale",
                                         continuous_update=False)
        self.n_frames = n_frames
        self.motions: list[Motion] = []
        super().__init__([self.base, self.minus, self.plus, self.scale], height)
        for w in (self.base, self.minus, self.plus, self.scale):
            w.observe(lambda _: self.update(), names="value")
        self.update()

    def latent(self) -> torch.Tensor:
        """The edited latent `(D,)` for the current choices."""
        z = self._z
        return latent.edit_latent(z[self.base.value], z[self.minus.value], z[self.plus.value], self.scale.value)

    def update(self) -> list[Motion]:
        """Decode the base and the edit and show them side by side; returns `[base, edited]`."""
        return self._run(self._update)

    def _update(self) -> list[Motion]:
        title = f"{self.base.value} − [{self.minus.value}] + [{self.plus.value}] × {self.scale.value:g}"
        self.motions = latent.decode(self.loaded, torch.stack([self._z[self.base.value], self.latent()]),
                                     self.n_frames, texts=[self.base.value, title])
        self._show(show(self.motions, titles=[f"base: {self.base.value}", title], height=self.height),
                   f"{self.base.value} − [{self.minus.value}] + [{self.plus.value}] × {self.scale.value:g}")
        return self.motions


class InterpolationExplorer(_Explorer):
    """A slider t ∈ [0, 1] (and linear / spherical) → the motion decoded at `(1 − t)·z_a + t·z_b`."""

    def __init__(self, loaded, a, b, t: float = 0.5, spherical: bool = False, n_frames: int = 60,
                 height: int = 420):
        self.loaded = loaded
        self.za, self.zb = latent.latents(loaded, [a, b])
        self.names = (_label(a), _label(b))
        self.t = widgets.FloatSlider(value=t, min=0.0, max=1.0, step=0.05, description="t", continuous_update=False)
        self.spherical = widgets.Checkbox(value=spherical, description="spherical (slerp)")
        self.n_frames = n_frames
        self.motion: Motion | None = None
        super().__init__([widgets.HTML(f"<b>{self.names[0]}</b> (t = 0) → <b>{self.names[1]}</b> (t = 1)"),
                          self.t, self.spherical], height)
        self.t.observe(lambda _: self.update(), names="value")
        self.spherical.observe(lambda _: self.update(), names="value")
        self.update()

    def latent(self) -> torch.Tensor:
        """The latent `(D,)` at the current t."""
        t = float(self.t.value)
        if self.spherical.value:
            return latent.slerp(self.za, self.zb, t)
        return self.za.clone() if t == 0 else self.zb.clone() if t == 1 else (1 - t) * self.za + t * self.zb

    def update(self) -> Motion:
        """Decode and show the motion at the current t; returns it."""
        return self._run(self._update)

    def _update(self) -> Motion:
        title = f"t = {self.t.value:.2f}" + (" (slerp)" if self.spherical.value else "")
        self.motion = latent.decode(self.loaded, self.latent(), self.n_frames, texts=[title])[0]
        caption = f"{self.names[0]} → {self.names[1]}: {title}"
        self._show(show(self.motion, titles=[caption], height=self.height), title)
        return self.motion


class RecognitionExplorer(_Explorer):
    """A window chooser → its top-5 classes (zero-shot, softmax(100·cos)) as a bar chart, with the window's label."""

    def __init__(self, loaded, windows: Sequence[Motion], class_names: Sequence[str],
                 prompt: str | Sequence[str] = "{}", label_key: str = "action", k: int = 5, height: int = 360):
        self.loaded = loaded
        self.windows = list(windows)
        if not self.windows:
            raise ValueError("recognition_explorer needs at least one window")
        self.label_key = label_key
        names = [f"{i}: {w.name} [{w.source.get('frames', (0,))[0]}:]" for i, w in enumerate(self.windows)]
        self.result = latent.classify(loaded, latent.encode(loaded, self.windows), class_names, prompt=prompt, k=k)
        self.window = widgets.Dropdown(options=list(zip(names, range(len(names)))), value=0, description="window",
                                       layout=LAYOUT)
        self.top: list[tuple[str, float]] = []
        super().__init__([self.window], height)
        self.window.observe(lambda _: self.update(), names="value")
        self.update()

    def update(self) -> list[tuple[str, float]]:
        """Show the current window's k best classes; returns `[(class, probability), …]`, best first."""
        return self._run(self._update)

    def _update(self) -> list[tuple[str, float]]:
        import plotly.graph_objects as go

        i = int(self.window.value)
        self.top = self.result.top(i)
        truth = self.windows[i].labels.get(self.label_key)
        truth = [truth] if isinstance(truth, str) else list(truth or [])
        colours = ["#2ca02c" if c in truth else "#1f77b4" for c, _ in self.top]
        fig = go.Figure(go.Bar(x=[p for _, p in self.top][::-1], y=[c for c, _ in self.top][::-1], orientation="h",
                               marker_color=colours[::-1]))
        fig.update_layout(height=self.height, template="plotly_white", xaxis=dict(range=[0, 1], title="probability"),
                          title=f"window {i} ({self.windows[i].name}) · true: {', '.join(truth) or '—'} · "
                                f"predicted: {self.top[0][0]}")
        hit = "✓" if self.top[0][0] in truth else "✗"
        self._show(fig, f"{hit} window {i}: true {', '.join(truth) or '—'}, top-1 {self.top[0][0]} "
                        f"({self.top[0][1]:.2f})")
        return self.top


class LatentMapExplorer(widgets.VBox):
    """The UMAP map of window latents and class texts (`mcl.lab.figures.umap_points`) as a live plotly `FigureWidget`:
    clicking a point plays that window beside the motion decoded from its nearest class text (by cosine in the
    latent space); clicking a text star plays its decoded motion beside its nearest window. `select(i)` does the
    same from code (`i` indexes `points`: the windows first, then the class texts)."""

    def __init__(self, loaded, windows: Sequence[Motion], classes, points=None, n_frames: int = 60,
                 height: int = 460, **umap_kwargs):
        import plotly.graph_objects as go


        self.loaded, self.windows, self.classes, self.n_frames, self.height = loaded, list(windows), classes, \
            n_frames, height
        if not self.windows:
            raise ValueError("latent_map_explorer needs at least one window")
        self.points = points if points is not None else umap_points(loaded, self.windows, classes, **umap_kwargs)
        if len(self.points.xy) != len(self.windows) + len(classes.prompts):
            raise ValueError(f"points has {len(self.points.xy)} rows, expected {len(self.windows)} windows + "
                             f"{len(classes.prompts)} class texts")
        zm = torch.nn.functional.normalize(latent.encode(loaded, self.windows), dim=-1)
        zt = torch.nn.functional.normalize(latent.embed_texts(loaded, classes.prompts), dim=-1)
        self.cos = (zm @ zt.T).numpy()  # (windows, texts)
        fig = umap_plotly(self.points)
        index = {(lab, kind): [i for i, (l_, k) in enumerate(zip(self.points.label, self.points.kind))
                               if l_ == lab and k == kind] for lab in set(self.points.label) for kind in ("motion", "text")}
        for tr in fig.data:  # which point of `points` each marker is, for the click handler
            kind = "text" if tr.marker.symbol == "star" else "motion"
            tr.customdata = index[(tr.name, kind)]
        fig.update_layout(height=height, margin=dict(l=40, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.15),
                          title="latent space (UMAP): click a point ● window, ★ class text")
        self.map = go.FigureWidget(fig)
        for tr in self.map.data:
            tr.on_click(self._clicked)
        self.output = widgets.Output(layout=widgets.Layout(min_height=f"{height}px", width="50%"))
        self.status = widgets.HTML("click a point of the map")
        self.figure, self.selected, self.motions = None, None, []
        box = widgets.Box([self.map], layout=widgets.Layout(width="50%"))
        super().__init__([widgets.HBox([box, self.output]), self.status])

    def __repr__(self) -> str:
        return "<LatentMapExplorer: live controls, shown when the notebook runs in JupyterLab (make lab)>"

    def _clicked(self, trace, points, _state) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def select(self, i: int) -> list[Motion]:
        """Play point `i` of the map beside its nearest counterpart (window ↔ class text); returns both motions."""

        n = len(self.windows)
        if not 0 <= i < n + len(self.classes.prompts):
            raise ValueError(f"point {i} is not on the map (0 … {n + len(self.classes.prompts) - 1})")
        self.status.value = "<i>⏳ decoding …</i>"
        if i < n:
            j = int(np.argmax(self.cos[i]))
            window = self.windows[i]
            text = self.classes.prompts[j]
            caption_w = f"window: {self.points.hover[i]} ({self.points.label[i]})"
        else:
            j = i - n
            text = self.classes.prompts[j]
            w = int(np.argmax(self.cos[:, j]))
            window = self.windows[w]
            caption_w = f"nearest window: {self.points.hover[w]} ({self.points.label[w]})"
            i = w
        decoded = latent.text_to_motion(self.loaded, [text], n_frames=self.n_frames)[0]
        caption_t = f"text: “{text}” (cos {self.cos[i, j]:.2f})"
        self.motions = [window, decoded]
        self.figure = show(self.motions, titles=[caption_w, caption_t], height=self.height, width=600)
        show_in(self.output, self.figure)
        self.selected = i
        self.status.value = f"{caption_w} beside its nearest class {caption_t}"
        return self.motions


def text_to_motion_explorer(loaded, prompt: str = "a person jumps", n_frames: int = 60) -> TextToMotionExplorer:
    """A text box and a length slider → the decoded motion in the plotly player.

    Example: `ex = text_to_motion_explorer(run); ex.prompt.value = "a person does a cartwheel"; ex.motion`.
    """
    return TextToMotionExplorer(loaded, prompt, n_frames)


def arithmetic_explorer(loaded, motions_or_texts, base=None, minus=None, plus=None,
                        scale: float = 1.0) -> ArithmeticExplorer:
    """Base / minus / plus choosers over `motions_or_texts` (a list of Motions, texts or latents, or a dict
    label → operand) and a scale slider → the edited motion beside the decoded base.

    Example: `ex = arithmetic_explorer(run, {"walk": walk, "walk (text)": "a person walks", "run": "a person runs"},
    "walk", "walk (text)", "run"); ex.scale.value = 2.0; ex.motions[1]`.
    """
    return ArithmeticExplorer(loaded, motions_or_texts, base, minus, plus, scale)


def interpolation_explorer(loaded, a, b, t: float = 0.5, spherical: bool = False) -> InterpolationExplorer:
    """A t slider between two operands (Motions, texts or latents) and a slerp switch → the decoded motion at t.

    Example: `ex = interpolation_explorer(run, "a person walks forward", "a person runs forward"); ex.t.value = 0.25`.
    """
    return InterpolationExplorer(loaded, a, b, t, spherical)


def recognition_explorer(loaded, windows: Sequence[Motion], class_names: Sequence[str],
                         prompt: str | Sequence[str] = "{}", label_key: str = "action") -> RecognitionExplorer:
    """A window chooser → the window's top-5 zero-shot classes among `class_names` (true class in green).

    `prompt`: a template or one text per class (see `mcl.latent.ops.classify`). Example:
    `ex = recognition_explorer(run, windows, CLIP_NAMES, prompt=[TEXTS[n][0] for n in CLIP_NAMES]); ex.window.value = 3`.
    """
    return RecognitionExplorer(loaded, windows, class_names, prompt, label_key)



def latent_map_explorer(loaded, windows: Sequence[Motion], classes, points=None, **umap_kwargs) -> LatentMapExplorer:
    """The UMAP map of `windows` and the class texts of `classes` (`mcl.data.classes.class_setup`); click a point to play
    that window beside its nearest class text (decoded). `points`: a precomputed `umap_points(...)`.

    Example: `ex = latent_map_explorer(run, windows, class_setup("deepmimic")); ex.select(0); ex.motions`.
    """
    return LatentMapExplorer(loaded, windows, classes, points, **umap_kwargs)
