"""`mcl data`: which data sources this machine has (`mcl data list`) and what a data spec holds (`mcl data info`)."""
from __future__ import annotations

import argparse
from collections import Counter

from ..quiet import no_progress_bars
from ..render.check import check_image
from .errors import DataError, SkipReport
from .sources import _usages, list_sources, load, parse_spec
from .windows import WINDOW_FPS, WINDOW_FRAMES, make_windows


def register(subparsers) -> None:
    """Add `mcl data list` and `mcl data info SPEC` to the `mcl` command."""
    p = subparsers.add_parser("data", help="list data sources, describe a data spec",
                              description="Data sources and data specs (SOURCE[:PATH][?KEY=VALUE&...]).")
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])

    ls = sub.add_parser("list", help="each source: available here or not, and why",
                        description="List the registered data sources, whether each can be loaded on this machine "
                                    "and why (or why not), with its spec syntax.")
    ls.set_defaults(func=run_list)

    info = sub.add_parser("info", help="clips, windows, duration, labels and skipped items of a data spec",
                          description="Load a data spec and summarise it: clips, total duration, frame rates, "
                                      f"{WINDOW_FRAMES}-frame windows at {WINDOW_FPS:g} fps, label counts and the "
                                      "skip report.",
                          epilog=f"Specs: {_usages()}", formatter_class=argparse.RawDescriptionHelpFormatter)
    info.add_argument("spec", help="a data spec, e.g. deepmimic, bandai?limit=50, amass:ROOT?babel=DIR&split=val")
    info.add_argument("--length", type=int, default=WINDOW_FRAMES,
                      help="window length in frames (default: %(default)s)")
    info.add_argument("--fps", type=float, default=WINDOW_FPS, help="window frame rate (default: %(default)s)")
    info.add_argument("--stride", type=int, default=None, help="window stride in frames (default: the length)")
    info.add_argument("--top", type=int, default=10, help="label values to show per label (default: %(default)s)")
    info.add_argument("-q", "--quiet", "--no-progress", dest="no_progress", action="store_true",
                      help="no progress bars; short lists only")
    info.set_defaults(func=run_info)

    check = sub.add_parser("check", help="render frame 0 of a few clips to a PNG: do the bodies stand?",
                           description="Load a data spec and draw the first frame of a few clips side by side on "
                                       "the floor (y = 0), with head, pelvis and lowest-joint heights, the up axis "
                                       "found and any retargeting warning, so a wrong rig map or up axis shows at "
                                       "once. Example: mcl data check 'bvh:mocap/?rig=mcl-rig-map.json' "
                                       "--out check.png",
                           epilog=f"Specs: {_usages()}", formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("spec", help="a data spec, e.g. bvh:FOLDER?rig=MAP.json, asf:FOLDER, bandai?limit=6")
    check.add_argument("--out", default="data-check.png", help="PNG to write (default: %(default)s)")
    check.add_argument("--n", type=int, default=6, help="clips to draw (default: %(default)s)")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    check.set_defaults(func=run_check)


def run_check(args) -> int:
    spec = parse_spec(args.spec)
    report = SkipReport()
    with no_progress_bars(args.quiet):
        motions = load(spec, report=report, progress=not args.quiet)
    if not motions:
        raise ValueError(f"data spec '{spec}' gave no motions" + (f"\n{report.summary(limit=3)}" if len(report) else ""))
    stats = check_image(motions, args.out, n=args.n, title=str(spec))
    for s, m in zip(stats, motions):
        up = m.source.get("up_axis")
        print(f"{'ok ' if s['standing'] else 'BAD'} {s['clip']}: head {s['head_m']:.2f} m, pelvis {s['pelvis_m']:.2f} m, "
              f"feet {s['feet_m']:.2f} m, lowest joint {s['lowest_m']:+.3f} m (clip: {s['clip_lowest_m']:+.3f} m)"
              + (f", file up axis {up} (from the {m.source.get('up_from')})" if up else ""))
        for w in s["warnings"]:
            print(f"    warning: {w}")
    bad = sum(not s["standing"] for s in stats)
    print(f"{len(stats) - bad} of {len(stats)} clips stand on the floor; wrote {args.out}"
          + (f"; skipped {len(report)} file(s):\n{report.summary(limit=3)}" if len(report) else ""))
    return 0 if not bad else 1


def run_list(args) -> int:
    sources = list_sources()
    width = max(len(s.name) for s in sources)
    for s in sources:
        print(f"{s.name:<{width}}  {'available' if s.available else 'not available':<13}  {s.why}")
        print(f"{'':<{width}}  {s.description}")
    return 0


def _count_labels(motions) -> dict[str, Counter]:
    """label key → Counter of values (list values count each element)."""
    counts: dict[str, Counter] = {}
    for m in motions:
        for key, value in m.labels.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            c = counts.setdefault(key, Counter())
            c.update(str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool))
    return {k: c for k, c in counts.items() if c}


def run_info(args) -> int:
    spec = parse_spec(args.spec)  # bad specs and paths: one `mcl: error:` line (mcl.cli.entry)
    load_report = SkipReport()
    with no_progress_bars(args.no_progress):
        motions = load(spec, report=load_report, progress=not args.no_progress)
    if not motions:
        raise DataError(f"data spec '{spec}'", "no clips could be read" + (f"\n{load_report.summary()}"
                                                                            if len(load_report) else ""),
                        "check the folder holds files of that format (see `mcl data list`)")
    window_report = SkipReport()
    ws = make_windows(motions, length=args.length, stride=args.stride, fps=args.fps, report=window_report)

    total = sum(m.duration for m in motions)
    print(f"spec: {spec}")
    print(f"clips: {len(motions)}")
    print(f"total duration: {total:.1f} s ({total / 60:.1f} min)")
    if motions:
        fps = Counter(f"{m.fps:g}" for m in motions)
        print("native fps: " + ", ".join(f"{f} ({n} clips)" for f, n in fps.most_common()))
    print(f"windows: {len(ws)} of {args.length} frames at {args.fps:g} fps"
          + (f", stride {args.stride}" if args.stride else ""))
    with_text = sum(bool(m.texts) for m in motions)
    print(f"clips with texts: {with_text} of {len(motions)}")
    for key, c in _count_labels(motions).items():
        if len(c) > 20 and max(c.values()) == 1:  # an id: one value per clip
            print(f"label '{key}': {len(c)} distinct values, one per clip")
            continue
        shown = ", ".join(f"{v} ({n})" for v, n in c.most_common(args.top))
        more = f", … {len(c) - args.top} more" if len(c) > args.top else ""
        print(f"label '{key}': {len(c)} values: {shown}{more}")
    texts = Counter(w.texts[0] for w in ws if w.texts)
    if texts:
        print(f"window texts: {len(texts)} distinct; most common: "
              + "; ".join(f"'{t}' ({n})" for t, n in texts.most_common(min(args.top, 5))))
    for title, rep in (("loading", load_report), ("windowing", window_report)):
        print(f"skipped while {title}: {len(rep)}" + (f"\n{rep.summary()}" if len(rep) else ""))
    return 0
