"""An interactive plotly 3D player: one or several motions side by side, synced in time, each in its own panel.

Each motion gets its own 3D scene framed on its extent (so the body fills its panel however far it travels), a ground
plane under it and its caption above it (captions are wrapped to the panel's width, so side-by-side titles never
collide). One plotly frame per motion frame (motions are resampled to the first one's fps; shorter ones hold their
last pose), play / pause buttons and a frame slider (every frame a step, a label every few frames, no tick per frame). Works in Jupyter (the returned figure
displays itself) and as HTML (`fig.write_html("motion.html")`). Plotly's z axis is up: our world (x, y up, z) is
shown as (x, −z, y), a rotation, so left and right are not mirrored.
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
import torch

from ..body.mesh import load_body_mesh
from ..body.skeleton import PARENTS, joints_from_rotvec

MARGIN = 0.25  # metres of room around a motion's extent in its panel
PX_PER_CHAR = 7.5  # caption font 14 px: roughly this many pixels per character, to wrap captions to a panel
SLIDER_LABELS = 8  # about this many labelled frames on the slider
MESH_CELL = 0.035  # vertex-clustering cell of the player's lighter mesh (≈ 5.6k faces)
WOOD_HEX = "#cca06d"


def _to_plotly(p: np.ndarray) -> np.ndarray:
    """Our (x, y up, z) → plotly (x, −z, y up)."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _bone_lines(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(24, 3)` joints → x, y, z arrays of line segments separated by NaN (plotly draws breaks at NaN)."""
    segs = [np.stack([joints[PARENTS[j]], joints[j], np.full(3, np.nan)]) for j in range(1, len(PARENTS))]
    pts = np.concatenate(segs)
    return pts[:, 0], pts[:, 1], pts[:, 2]


def _wrap(caption: str, width_px: float) -> str:
    """A caption wrapped onto lines (`<br>`) that fit `width_px`."""
    return "<br>".join(textwrap.wrap(caption, max(8, int(width_px / PX_PER_CHAR)))) or " "


def show(motions, titles: Sequence[str] | None = None, mode: str = "skeleton", mesh=None, height: int = 600,
         width: int | None = None):
    """An interactive `plotly.graph_objects.Figure` of one `Motion` or a list of them, side by side, in sync.

    `titles`: one caption per motion, shown above its panel; name the operands ("lower: walk · upper: punch").
    `mode="skeleton"` draws the 24 joints and bones; `mode="mesh"` the body mesh (a lighter, vertex-clustered
    version of `load_body_mesh()` so the HTML stays small). `width` (px) only helps wrap captions; the figure fills
    its cell. Example: `show([walk, run], titles=["walk", "run"])`.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots


    motions = list(motions) if isinstance(motions, (list, tuple)) else [motions]
    if not motions:
        raise ValueError("show needs at least one motion")
    if mode not in ("skeleton", "mesh"):
        raise ValueError(f"mode must be 'skeleton' or 'mesh', got {mode!r}")
    fps = motions[0].fps
    motions = [m.resample(fps) for m in motions]
    titles = [str(t) for t in titles] if titles is not None else [m.name for m in motions]
    if len(titles) != len(motions):
        raise ValueError(f"got {len(titles)} titles for {len(motions)} motions")
    length = max(m.num_frames for m in motions)
    n = len(motions)

    # per motion: (T, P, 3) points in plotly coordinates, its first root position at the origin of the floor
    if mode == "mesh":
        body = (mesh or load_body_mesh()).simplified(MESH_CELL)
        faces = body.faces
    tracks = []
    for m in motions:
        with torch.no_grad():
            pts = (body.vertices(torch.from_numpy(m.poses), torch.from_numpy(m.trans)) if mode == "mesh"
                   else joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans))).numpy()
        pts = _to_plotly(pts - np.array([m.trans[0, 0], 0, m.trans[0, 2]], np.float32))
        if len(pts) < length:
            pts = np.concatenate([pts, np.repeat(pts[-1:], length - len(pts), 0)])
        tracks.append(pts)

    def traces_at(t: int, first: bool = False) -> list:
        # float32 arrays are stored as compact binary in the HTML; frames repeat only the moving coordinates
        out = []
        for k, pts in enumerate(tracks):
            p = pts[t].astype(np.float32)
            if mode == "mesh":
                topology = dict(i=faces[:, 0].astype(np.int32), j=faces[:, 1].astype(np.int32),
                                k=faces[:, 2].astype(np.int32), color=WOOD_HEX, flatshading=False,
                                lighting=dict(ambient=0.45, diffuse=0.7, specular=0.1)) if first else {}
                out.append(go.Mesh3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], name=titles[k], scene=f"scene{k + 1}",
                                     **topology))
            else:
                x, y, z = _bone_lines(p)
                out.append(go.Scatter3d(x=x, y=y, z=z, mode="lines", name=titles[k], connectgaps=False,
                                        scene=f"scene{k + 1}", hoverinfo="skip",
                                        line=dict(width=7, color=f"hsl({k * 67 % 360},60%,35%)")))
        return out

    panel_px = (width or 900) / n
    fig = make_subplots(rows=1, cols=n, specs=[[{"type": "scene"}] * n], horizontal_spacing=0.01,
                        subplot_titles=[_wrap(t, panel_px) for t in titles])
    for a in fig.layout.annotations:  # the captions: above each panel, not in the 3D scene
        a.font = dict(size=14)
    scenes = {}
    grounds = []
    for k, pts in enumerate(tracks):
        flat = pts.reshape(-1, 3)
        lo, hi = np.nanmin(flat, 0), np.nanmax(flat, 0)
        floor = float(lo[2]) if mode == "mesh" else min(0.0, float(lo[2]))
        centre, half = (lo[:2] + hi[:2]) / 2, max(float((hi[:2] - lo[:2]).max()) / 2 + MARGIN, 0.6)
        x0, x1, y0, y1 = centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half
        top = float(hi[2]) + 0.15
        grounds.append(go.Surface(x=[[x0, x1], [x0, x1]], y=[[y0, y0], [y1, y1]], z=[[floor, floor], [floor, floor]],
                                  showscale=False, opacity=0.6, colorscale=[[0, "#cfcfcf"], [1, "#cfcfcf"]],
                                  hoverinfo="skip", name="ground", scene=f"scene{k + 1}"))
        axis = dict(showticklabels=False, title="", showbackground=False, gridcolor="#eeeeee", zeroline=False,
                    showspikes=False)
        span = np.array([x1 - x0, y1 - y0, top - floor])
        scenes[f"scene{k + 1}" if k else "scene"] = dict(
            xaxis=dict(axis, range=[x0, x1]), yaxis=dict(axis, range=[y0, y1]), zaxis=dict(axis, range=[floor - 0.02, top]),
            aspectmode="manual", aspectratio=dict(zip("xyz", (span / span.max()).tolist())),
            camera=dict(up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.05), eye=dict(x=0.45, y=-1.05, z=0.3)))
    for tr in traces_at(0, first=True) + grounds:
        fig.add_trace(tr)
    fig.frames = [go.Frame(data=traces_at(t), traces=list(range(n)), name=str(t)) for t in range(length)]
    ms = 1000.0 / fps
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=ms, redraw=True), fromcurrent=True, transition=dict(duration=0))])
    pause = dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    # every frame is a step (scrubbing is frame-exact), a label every few frames; no tick per frame, and no
    # "current value" line (it shows the step's label, empty between the labelled frames)
    every = max(1, int(np.ceil(length / SLIDER_LABELS / 5)) * 5)
    slider = dict(active=0, currentvalue=dict(visible=False),
                  x=0.12, len=0.88, y=0, pad=dict(t=10, b=0), font=dict(size=11),
                  ticklen=0, minorticklen=0,
                  steps=[dict(label=str(t) if t % every == 0 or t == length - 1 else "", method="animate", value=str(t),
                              args=[[str(t)], dict(frame=dict(duration=0, redraw=True), mode="immediate")])
                         for t in range(length)])
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30 + 18 * max(a.text.count("<br>") for a in fig.layout.annotations),
                                   b=10), showlegend=False, template="plotly_white",
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top",
                          pad=dict(t=10), buttons=[play, pause])],
        sliders=[slider], **scenes)
    return fig
