"""An interactive plotly 3D player: one or several motions side by side, synced in time, on a ground plane.

One plotly frame per motion frame (motions are resampled to the first one's fps; shorter ones hold their last pose),
play / pause buttons and a frame slider. Works in Jupyter (the returned figure displays itself) and as HTML
(`fig.write_html("motion.html")`). Plotly's z axis is up: our world (x, y up, z) is shown as (x, −z, y), a rotation,
so left and right are not mirrored.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..body.skeleton import PARENTS, joints_from_rotvec

SPACING = 1.6  # metres between motions placed side by side (along x)
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


def show(motions, titles: Sequence[str] | None = None, mode: str = "skeleton", mesh=None, height: int = 600):
    """An interactive `plotly.graph_objects.Figure` of one `Motion` or a list of them, side by side.

    `mode="skeleton"` draws the 24 joints and bones; `mode="mesh"` the body mesh (a lighter, vertex-clustered
    version of `load_body_mesh()` so the HTML stays small). Example: `show([walk, run], titles=["walk", "run"])`.
    """
    import plotly.graph_objects as go

    from ..body.mesh import load_body_mesh

    motions = list(motions) if isinstance(motions, (list, tuple)) else [motions]
    if not motions:
        raise ValueError("show needs at least one motion")
    if mode not in ("skeleton", "mesh"):
        raise ValueError(f"mode must be 'skeleton' or 'mesh', got {mode!r}")
    fps = motions[0].fps
    motions = [m.resample(fps) for m in motions]
    titles = list(titles) if titles is not None else [m.name for m in motions]
    if len(titles) != len(motions):
        raise ValueError(f"got {len(titles)} titles for {len(motions)} motions")
    length = max(m.num_frames for m in motions)

    # per motion: (T, P, 3) points in plotly coordinates, shifted side by side
    if mode == "mesh":
        body = (mesh or load_body_mesh()).simplified(MESH_CELL)
        faces = body.faces
    tracks = []
    for k, m in enumerate(motions):
        with torch.no_grad():
            pts = (body.vertices(torch.from_numpy(m.poses), torch.from_numpy(m.trans)) if mode == "mesh"
                   else joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans))).numpy()
        pts = pts - np.array([m.trans[0, 0], 0, m.trans[0, 2]], np.float32) + np.array([k * SPACING, 0, 0])
        pts = _to_plotly(pts)
        if len(pts) < length:
            pts = np.concatenate([pts, np.repeat(pts[-1:], length - len(pts), 0)])
        tracks.append(pts)
    allpts = np.concatenate([t.reshape(-1, 3) for t in tracks])
    lo, hi = allpts.min(0) - 0.3, allpts.max(0) + 0.3
    floor_z = float(allpts[:, 2].min()) if mode == "mesh" else min(0.0, float(allpts[:, 2].min()))
    lo[2] = floor_z

    def traces_at(t: int, first: bool = False) -> list:
        # float32 arrays are stored as compact binary in the HTML; frames repeat only the moving coordinates
        out = []
        for k, pts in enumerate(tracks):
            p = pts[t].astype(np.float32)
            if mode == "mesh":
                topology = dict(i=faces[:, 0].astype(np.int32), j=faces[:, 1].astype(np.int32),
                                k=faces[:, 2].astype(np.int32), color=WOOD_HEX, flatshading=False, name=titles[k],
                                lighting=dict(ambient=0.45, diffuse=0.7, specular=0.1)) if first else {}
                out.append(go.Mesh3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], **topology))
            else:
                x, y, z = _bone_lines(p)
                out.append(go.Scatter3d(x=x, y=y, z=z, mode="lines", line=dict(width=6, color=f"hsl({k * 67 % 360},60%,40%)"),
                                        name=titles[k], connectgaps=False))
        return out

    ground = go.Surface(x=[[lo[0], hi[0]], [lo[0], hi[0]]], y=[[lo[1], lo[1]], [hi[1], hi[1]]],
                        z=[[floor_z, floor_z], [floor_z, floor_z]], showscale=False, opacity=0.5,
                        colorscale=[[0, "#d8d8d8"], [1, "#d8d8d8"]], hoverinfo="skip", name="ground")
    n_tr = len(tracks)
    frames = [go.Frame(data=traces_at(t), traces=list(range(n_tr)), name=str(t)) for t in range(length)]
    fig = go.Figure(data=traces_at(0, first=True) + [ground], frames=frames)
    ms = 1000.0 / fps
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=ms, redraw=True), fromcurrent=True, transition=dict(duration=0))])
    pause = dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    slider = dict(active=0, currentvalue=dict(prefix="frame "), pad=dict(t=30),
                  steps=[dict(label=str(t), method="animate",
                              args=[[str(t)], dict(frame=dict(duration=0, redraw=True), mode="immediate")])
                         for t in range(length)])
    span = hi - lo
    annotations = [dict(x=k * SPACING, y=0, z=float(hi[2]), text=t, showarrow=False, font=dict(size=14))
                   for k, t in enumerate(titles)]
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30, b=0), showlegend=False,
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top",
                          buttons=[play, pause])],
        sliders=[slider],
        scene=dict(xaxis=dict(range=[lo[0], hi[0]], title="x"), yaxis=dict(range=[lo[1], hi[1]], title="−z"),
                   zaxis=dict(range=[lo[2], hi[2]], title="y (up)"), aspectmode="manual",
                   aspectratio=dict(x=span[0] / span.max(), y=span[1] / span.max(), z=span[2] / span.max()),
                   camera=dict(up=dict(x=0, y=0, z=1), eye=dict(x=0.6, y=-1.8, z=0.6)),
                   annotations=annotations),
    )
    return fig
