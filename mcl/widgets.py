"""ipywidgets explorers over the latent toolkit (`mcl.latent`): text-to-motion, arithmetic, interpolation, recognition.

Each explorer is a `VBox` of controls and an output area. Changing a control calls a plain method (`generate`,
`update`, …) that recomputes and stores the result on the explorer (`.figure`, `.motions`, …) before displaying it,
so the explorers work — and are tested — without a browser:

    ex = text_to_motion_explorer(run)          # display(ex) in a notebook
    ex.prompt.value = "a person jumps"        # → ex.figure is the plotly player of the new motion
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import torch

from . import latent
from .data.motion import Motion

LAYOUT = widgets.Layout(width="520px")


def _display(output: widgets.Output, obj) -> None:
    """Show `obj` in `output` by setting its `outputs` state (no `with output:` capture: under papermill/nbclient a
    captured plotly figure stalls the cell until the execution timeout). Outside IPython there is nothing to draw."""
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return
    data, metadata = ip.display_formatter.format(obj)
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


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
    def __init__(self, controls: list, height: int = 420):
        self.output = widgets.Output()
        self.status = widgets.HTML()
        self.figure = None
        self.height = height
        super().__init__(list(controls) + [self.status, self.output])

    def _show(self, fig, message: str = "") -> None:
        self.figure = fig
        self.status.value = message
        _display(self.output, fig)


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
        from .render import show

        text = self.prompt.value.strip()
        if not text:
            self.status.value = "type a prompt"
            return self.motion
        self.motion = latent.text_to_motion(self.loaded, [text], n_frames=self.frames.value)[0]
        self._show(show(self.motion, titles=[text], height=self.height),
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
        from .render import show

        title = f"base − minus + plus (×{self.scale.value:g})"
        self.motions = latent.decode(self.loaded, torch.stack([self._z[self.base.value], self.latent()]),
                                     self.n_frames, texts=[self.base.value, title])
        self._show(show(self.motions, titles=["base", title], height=self.height),
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
        from .render import show

        title = f"t = {self.t.value:.2f}" + (" (slerp)" if self.spherical.value else "")
        self.motion = latent.decode(self.loaded, self.latent(), self.n_frames, texts=[title])[0]
        self._show(show(self.motion, titles=[title], height=self.height), title)
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
        import plotly.graph_objects as go

        i = int(self.window.value)
        self.top = self.result.top(i)
        truth = self.windows[i].labels.get(self.label_key)
        truth = [truth] if isinstance(truth, str) else list(truth or [])
        colours = ["#2ca02c" if c in truth else "#1f77b4" for c, _ in self.top]
        fig = go.Figure(go.Bar(x=[p for _, p in self.top][::-1], y=[c for c, _ in self.top][::-1], orientation="h",
                               marker_color=colours[::-1]))
        fig.update_layout(height=self.height, template="plotly_white", xaxis=dict(range=[0, 1], title="probability"),
                          title=f"true: {', '.join(truth) or '—'}   predicted: {self.top[0][0]}")
        hit = "✓" if self.top[0][0] in truth else "✗"
        self._show(fig, f"{hit} window {i}: true {', '.join(truth) or '—'}, top-1 {self.top[0][0]} "
                        f"({self.top[0][1]:.2f})")
        return self.top


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

    `prompt`: a template or one text per class (see `mcl.latent.classify`). Example:
    `ex = recognition_explorer(run, windows, CLIP_NAMES, prompt=[TEXTS[n][0] for n in CLIP_NAMES]); ex.window.value = 3`.
    """
    return RecognitionExplorer(loaded, windows, class_names, prompt, label_key)

