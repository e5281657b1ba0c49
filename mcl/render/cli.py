"""`mcl render`: motions of a data spec to a video (.mp4/.gif), a filmstrip (.png/.pdf) or a 3D player (.html)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..data.sources import load
from . import filmstrip, save_video, show


def register(subparsers) -> None:
    """Add `mcl render SPEC --out FILE` to the `mcl` command."""
    p = subparsers.add_parser(
        "render", help="render motions to mp4/gif, a filmstrip png/pdf or an interactive html player",
        description="Render motions of a data spec. The output type follows --out: .mp4/.gif → video (motions side "
                    "by side), .png/.pdf → filmstrip of key poses (one file per motion when several), .html → "
                    "plotly player.",
        epilog="Examples: mcl render deepmimic --clips walk,cartwheel --out walk.mp4 ; "
               "mcl render deepmimic --clips cartwheel --out figures/cartwheel.png --n 8",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="a data spec, e.g. deepmimic, deepmimic?clips=walk, bvh:FOLDER (see `mcl data list`)")
    p.add_argument("--out", required=True, help="output file: .mp4, .gif, .png, .pdf or .html")
    p.add_argument("--clips", default=None,
                   help="comma-separated clip names (or indices) to render (default: the first clip)")
    p.add_argument("--fps", type=float, default=30.0, help="video frame rate (default: %(default)s)")
    p.add_argument("--n", type=int, default=8, help="poses per filmstrip (default: %(default)s)")
    p.add_argument("--mode", choices=("skeleton", "mesh"), default="skeleton", help="html player: what to draw")
    p.set_defaults(func=run_render)


def _select(motions: list, clips: str | None) -> list:
    if not motions:
        raise ValueError("the data spec gave no motions")
    if not clips:
        return motions[:1]
    out = []
    for c in clips.split(","):
        c = c.strip()
        if c.isdigit():
            out.append(motions[int(c)])
            continue
        hits = [m for m in motions if c in (m.name, m.labels.get("action"), Path(str(m.name)).stem)]
        if not hits:
            names = ", ".join(sorted({str(m.labels.get("action", m.name)) for m in motions})[:20])
            raise ValueError(f"--clips: no clip named {c!r}; available: {names}")
        out.append(hits[0])
    return out


def run_render(args) -> int:
    motions = _select(load(args.spec), args.clips)
    titles = [str(m.labels.get("action", m.name)) for m in motions]
    out = Path(args.out)
    ext = out.suffix.lower()
    if ext in (".mp4", ".gif"):
        save_video(motions, out, fps=args.fps, titles=titles)
        print(f"wrote {out}")
    elif ext in (".png", ".pdf"):
        for m, t in zip(motions, titles):
            stem = out.with_suffix("") if len(motions) == 1 else out.with_name(f"{out.stem}_{t}")
            filmstrip(m, n=args.n, path=stem)
            print(f"wrote {stem}.png and {stem}.pdf")
    elif ext == ".html":
        out.parent.mkdir(parents=True, exist_ok=True)
        show(motions, titles=titles, mode=args.mode).write_html(out)
        print(f"wrote {out}")
    else:
        raise ValueError(f"--out must end in .mp4, .gif, .png, .pdf or .html, got {out.name!r}")
    return 0
