"""`mcl generate`, `mcl edit`, `mcl interpolate`, `mcl eval`, `mcl judge`: the latent toolkit from the shell.

Outputs by extension: `.mp4` / `.gif` (rendered with `mcl.render.save_video`), `.npz` (arrays `poses (N, T, 24, 3)`,
`trans (N, T, 3)`, `fps`, `texts`; no pickles) or `.json` (one record per motion). Motion operands of `edit` and
`interpolate` are texts, or motions written as `npz:PATH[#i]` (a file written by these commands) or
`clip:SPEC#NAME[@START]` (the 60-frame window of the clip NAME of a data source from frame START, default 0).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch

from ..data.amass import babel_action_classes
from ..data.labels import _CONTENT_PHRASES, _a, bandai_captions
from ..data.errors import DataError, SkipReport
from ..data.sources import UNION, DataSpec, load as load_motions, parse_spec
from ..data.windows import WINDOW_FPS, make_windows
from ..quiet import no_progress_bars
from ..training.batches import fit_to_window, split_motions
from ..training import checkpoint
from ..validate import count, finite, index
from . import evaluate
from .io import FORMATS, load_npz_motions, save_motions
from .judge import WEAK_BELOW, Judge, train_judge
from .ops import calibrate, compose_parts, decode, edit, interpolate, latents, text_to_motion


def parse_operand(op: str, frames: int = 60):
    """A CLI operand → text (`str`) or `Motion`: `npz:PATH[#i]`, `clip:SPEC#NAME[@START]`, anything else is text."""

    if op.startswith("npz:"):
        body, _, idx = op[4:].partition("#")
        ms = load_npz_motions(body)
        try:
            i = int(idx or 0)
        except ValueError:
            raise DataError(body, f"motion index {idx!r} is not a whole number", "write npz:FILE#0") from None
        if not 0 <= i < len(ms):
            raise DataError(body, f"has {len(ms)} motions, index {i} is out of range")
        return ms[i]
    if op.startswith("clip:"):
        spec, sep, name = op[5:].rpartition("#")
        if not sep:
            raise ValueError(f"operand {op!r}: write clip:SPEC#NAME[@START], e.g. clip:deepmimic#walk")
        name, _, start = name.partition("@")

        clips = load_motions(spec, SkipReport(), required=True)
        found = [c for c in clips if name in (c.name, c.source.get("name"), c.labels.get("action"))]
        if not found:
            names = sorted({str(c.source.get("name", c.name)) for c in clips})
            raise DataError(spec, f"no clip named {name!r}", f"choose one of: {', '.join(names[:20])}")
        c = found[0].resample(WINDOW_FPS)
        s = int(start or 0)
        if s + frames > c.num_frames:
            raise DataError(spec, f"clip {name!r} has {c.num_frames} frames at 30 fps; a {frames}-frame window "
                                  f"from frame {s} does not fit", "pick an earlier @START")
        return c.slice(s, s + frames)
    return op


# --- commands ----------------------------------------------------------------------------------------------------

def _load_run(args):
    run = checkpoint.load(args.run, which=args.which, device=args.device)  # looked up here: tests swap the space
    limit = run.config.model.max_frames
    if getattr(args, "frames", 1) > limit:  # before any work: the positional table has max_frames rows
        raise ValueError(f"--frames {args.frames}: expected 1 … {limit} (the run's model.max_frames)")
    if getattr(args, "calibrate", None):
        print(f"latent scale ‖z‖ = {calibrate(run, load_motions(args.calibrate, SkipReport(), required=True)):.3f} "
              f"(measured on {args.calibrate}, saved in the run dir)")
    return run


def _write(motions, args) -> None:
    path = save_motions(motions, args.output)
    print(f"wrote {len(motions)} motion(s) to {path}")


def run_generate(args) -> int:
    run = _load_run(args)
    _write(text_to_motion(run, args.prompts, n_frames=args.frames), args)
    return 0


def run_edit(args) -> int:
    run = _load_run(args)
    ops = [parse_operand(x, args.frames) for x in (args.base, args.minus, args.plus)]
    out = [edit(run, *ops, scale=args.scale, n_frames=args.frames)]
    if args.with_inputs:
        out = decode(run, latents(run, ops), args.frames, texts=[f"base: {args.base}", f"minus: {args.minus}",
                                                                  f"plus: {args.plus}"]) + out
    _write(out, args)
    return 0


def run_compose(args) -> int:
    run = _load_run(args)
    ops = [parse_operand(x, args.frames) for x in (args.upper, args.lower, args.neutral)]
    _write([compose_parts(run, *ops, n_frames=args.frames)], args)
    return 0


def run_interpolate(args) -> int:
    run = _load_run(args)
    a, b = parse_operand(args.a, args.frames), parse_operand(args.b, args.frames)
    _write(interpolate(run, a, b, steps=args.steps, spherical=args.spherical, n_frames=args.frames), args)
    return 0


def _class_names(value: str | None) -> list[str] | None:
    """`--classes`: `babel60`, a comma-separated list or a file with one name per line (blank lines and # comments
    ignored)."""
    if value is None:
        return None
    if value == "babel60":
        return babel_action_classes()
    p = Path(value)
    if p.is_file():
        names = [ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    else:
        names = [x.strip() for x in value.split(",") if x.strip()]
    if not names:
        raise ValueError(f"--classes {value!r} gave no class names")
    return names


def _classes_file(path: str) -> tuple[list[str], list[list[str]]]:
    """`--classes-file`: a CSV `class,prompt[,prompt…]` (a header line starting `class` is skipped); a class
    without prompts uses `--prompt`'s template. Returns the class names and each class's prompts (maybe empty)."""
    import csv


    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = [[c.strip() for c in r] for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as e:
        raise DataError(p, f"cannot read the classes file ({e.strerror})", "check the path") from None
    rows = [r for r in rows if not r[0].startswith("#")]
    if rows and rows[0][0].lower() == "class":
        rows = rows[1:]
    if not rows:
        raise DataError(p, "no classes", "write one line per class: class,prompt[,prompt…]")
    names = [r[0] for r in rows]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup or not all(names):
        raise DataError(p, f"class names must be distinct and non-empty (repeated: {dup})",
                        "one line per class: class,prompt[,prompt…]")
    return names, [[c for c in r[1:] if c] for r in rows]


def _eval_windows(args, run, report):
    """Clips and windows of `--data`; with `--split val` only the part the run held out for validation (the
    run's own split rule, `mcl.training.batches.split_motions`), so numbers are on frames the model never trained on."""

    motions = load_motions(args.data, report, progress=not args.quiet, required=True)
    if args.limit:
        motions = motions[: args.limit]
    split = args.split
    if split == "auto":
        split = "val" if args.data == run.data_spec else "all"
    use = motions
    if split != "all":
        cfg = run.config
        train, val, desc = split_motions(motions, cfg.val_split, cfg.val_fraction, cfg.window_frames, report)
        use = val if split == "val" else train
        print(f"split {split}: {desc}")
        if not use:
            raise ValueError(f"--split {split}: the run's split rule ({desc}) leaves no clips; use --split all")
    args.split_used = split
    if args.short == "extend":  # as training does: loop a looping clip, else hold its last frame

        notes: list[str] = []
        use = [fit_to_window(m.resample(WINDOW_FPS), args.frames, notes) for m in use]
        if notes:
            print(f"extended {len(notes)} clip(s) shorter than {args.frames} frames (--short skip to leave them out)"
                  + (f": {'; '.join(notes[:3])}{'; …' if len(notes) > 3 else ''}" if not args.quiet else ""))
    ws = make_windows(use, length=args.frames, stride=args.stride, report=report)
    if not ws:
        raise ValueError(f"--data {args.data!r}: no {args.frames}-frame windows\n{report.summary()}")
    return motions, ws


def _write_items(items: list[dict], path: str) -> None:
    """One CSV row per window; columns in first-seen order (labels differ between clips)."""
    import csv

    cols = list(dict.fromkeys(k for row in items for k in row))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in items:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _table(rows: list[tuple[str, object]]) -> str:
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v:.2f}" if isinstance(v, float) else f"{k:<{w}}  {v}" for k, v in rows)


def _judged(run, ws, args) -> tuple[dict, list]:
    """`mcl eval judged`: decodes of the run scored by an independent judge (`mcl judge train`), never by the run.

    Prompts are built from the judge's own classes: "a person {verb}" per content, "{a/an} {style} person" per style,
    and the Bandai captions of every (content, style) pair; the edit is `--edit-content`/`--edit-from` windows of
    `--data` + (`--edit-to` − `--edit-from`), as words and as captions. Also the judge on the real windows and on
    their reconstructions (the ceiling for any decode), and content interpolation paths (`--interp-pairs`)."""
    if not args.judge:
        raise ValueError("mcl eval judged needs --judge DIR (a judge written by `mcl judge train`)")
    judge = Judge.load(args.judge)
    missing = [h for h in ("content", "style") if h not in judge.heads]
    if missing:
        raise ValueError(f"{args.judge}: the judge has no {missing} head(s); judged evaluation needs content and "
                         f"style heads (mcl judge train --labels content,style)")
    contents, styles = judge.heads["content"].classes, judge.heads["style"].classes
    verb = {c: _CONTENT_PHRASES.get(c, (c.replace("-", " ") + "s",))[0] for c in contents}
    held = judge.info.get("held_out") or {}
    r: dict = {"judge": str(args.judge), "judge_held_out_top1": {h: held.get(h, {}).get("top1") for h in judge.heads},
               "judge_weak_heads": [h for h, w in judge.weak().items() if w]}
    rows: list[tuple[str, object]] = [(f"judge {h} top-1 on its real held-out windows %", v if v is not None else
                                       "not measured") for h, v in r["judge_held_out_top1"].items()]
    r["reconstruction"] = evaluate.judged_reconstruction(run, judge, ws)
    for h, d in r["reconstruction"].items():
        rows += [(f"{h}: judge on --data real windows %", d["real"]), (f"{h}: judge on their reconstructions %",
                                                                        d["reconstructed"])]
    r["content_prompts"] = evaluate.judged_generation(run, judge, [f"a person {verb[c]}" for c in contents],
                                                      {"content": contents})
    r["style_prompts"] = evaluate.judged_generation(run, judge, [f"{_a(s)} person" for s in styles], {"style": styles})
    pairs = [(c, s_) for c in contents for s_ in styles]
    caps = [(c, s_, t) for c, s_ in pairs for t in bandai_captions(c, s_)[:3]]  # the last names no style
    r["caption_prompts"] = evaluate.judged_generation(run, judge, [t for _, _, t in caps],
                                                      {"content": [c for c, _, _ in caps],
                                                       "style": [s_ for _, s_, _ in caps]})
    rows += [("'a person {verb}' → judged content = prompted %", r["content_prompts"]["content"]["pct"]),
             ("'{a style} person' → judged style = prompted %", r["style_prompts"]["style"]["pct"]),
             ("captions → judged content = prompted %", r["caption_prompts"]["content"]["pct"]),
             ("captions → judged style = prompted %", r["caption_prompts"]["style"]["pct"])]
    base = [w for w in ws if w.labels.get("content") == args.edit_content and w.labels.get("style") == args.edit_from]
    if not base:
        r["edit"] = {"skipped": f"no {args.edit_content}/{args.edit_from} windows in --data"}
        rows.append(("style edit", r["edit"]["skipped"]))
    else:
        ph = _CONTENT_PHRASES.get(args.edit_content, (args.edit_content.replace("-", " ") + "s",))[0]
        r["edit"] = evaluate.judged_edit(run, judge, base, args.edit_from, args.edit_to, "style", args.edit_to,
                                         scale=args.scale)
        r["edit_captions"] = evaluate.judged_edit(run, judge, base, f"a person {ph} in {_a(args.edit_from)} way",
                                                  f"a person {ph} in {_a(args.edit_to)} way", "style", args.edit_to,
                                                  scale=args.scale)
        for k in ("edit", "edit_captions"):
            d = r[k]
            rows.append((f"{k}: {args.edit_content}/{args.edit_from} {d['edit']} judged {args.edit_to} %",
                         f"{d['before']:.1f} → {d['after']:.1f} (real windows {d['real']:.1f}, n={d['n']})"))
    if args.interp_pairs > 0 and len({w.labels.get("content") for w in ws}) > 1:
        d = r["interpolation"] = evaluate.judged_interpolation(run, judge, ws, "content", pairs=args.interp_pairs)
        rows.append((f"interpolation A → B ({d['n']} pairs, {d['steps']} steps): start = A / end = B / one switch %",
                     f"{d['start']:.1f} / {d['end']:.1f} / {d['one_switch']:.1f} (judge on the real pairs "
                     f"{d['real']:.1f})"))
    for h in r["judge_weak_heads"]:
        rows.append((f"WARNING: the judge's {h} head", f"held-out top-1 below {WEAK_BELOW:.0f} % (or unmeasured): "
                                                       f"its scores mean little"))
    return r, rows


def run_eval(args) -> int:
    if args.per_item and args.task not in ("reconstruction", "recognition"):
        raise ValueError(f"--per-item: {args.task} has no per-window results (reconstruction and recognition do)")

    with no_progress_bars(args.quiet):
        return _eval(args)


def _eval(args) -> int:
    run = _load_run(args)
    report = SkipReport()
    motions, ws = _eval_windows(args, run, report)
    items: list[dict] = []
    result: dict = {"task": args.task, "run": str(args.run), "data": args.data, "split": args.split_used,
                    "windows": len(ws)}
    if args.task == "reconstruction":
        r = evaluate.reconstruction(run, ws, progress=not args.quiet, items=items)
        result.update(r)
        rows = [(k, v) for k, v in r.items()]
        if args.lengths:
            study = evaluate.length_study(run, ws, [int(x) for x in args.lengths.split(",")])
            result["lengths"] = study
            rows += [(f"L={L} {k}", v) for L, d in study.items() for k, v in d.items() if k != "n"]
    elif args.task == "recognition":
        given: list[list[str]] = []
        if args.classes_file:
            names, given = _classes_file(args.classes_file)
        else:
            names = _class_names(args.classes) or sorted({x for w in ws
                                                          for x in evaluate.window_labels(w, args.label_key)})
        shown = names if args.raw_names else [n.replace("_", " ").replace("-", " ") for n in names]
        prompts = [(g if len(g) > 1 else g[0]) if g else args.prompt.format(n)
                   for n, g in zip(shown, given or [[]] * len(names))]
        r = evaluate.recognition(run, ws, names, label_key=args.label_key, prompt=prompts, report=report)
        items = r.pop("items")
        result.update(r)
        rows = [("top1 %", r["top1"]), ("top5 %", r["top5"]), ("windows", r["n"]), ("classes", len(r["classes"]))]
        rows += [(f"  {c}", v) for c, v in r["per_class"].items()]
    elif args.task == "judged":
        r, rows = _judged(run, ws, args)
        result.update(r)
    elif args.task == "retrieval":
        r = evaluate.retrieval(run, ws, report=report)
        result.update(r)
        rows = [(f"{p} {k}", v) for p, d in r.items() for k, v in d.items()]
    else:  # generation
        r = evaluate.text_to_motion_match(run, motions, n_frames=args.frames)
        result.update(r)
        rows = [("own clip is nearest", f"{r['hits']} / {r['n']}")]
        rows += [(f"  {t}", f"→ {r['texts'][j]}") for t, j in zip(r["texts"], r["nearest"])]
    print(_table(rows))
    if len(report):
        print(report.summary(limit=3 if args.quiet else 10))
        result["skip_report"] = report.skipped
    if args.per_item:
        _write_items([dict(row, split=args.split_used) for row in items], args.per_item)
        print(f"wrote {len(items)} rows to {args.per_item}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


# --- mcl judge ---------------------------------------------------------------------------------------------------

def _held_out_spec(data: str, held_out: str) -> str | None:
    if held_out == "none":
        return None
    if held_out != "auto":
        return held_out
    if UNION in data:  # several sources: no automatic held-out side (pass --held-out)
        return None
    spec = parse_spec(data)
    if spec.options.get("split") == "train" and spec.source == "bandai":
        return str(DataSpec(spec.source, spec.path, dict(spec.options, split="test")))
    return None


def _real_windows(spec: str, report: SkipReport, quiet: bool, stride: int | None = None):
    ws = make_windows(load_motions(spec, report, progress=not quiet, required=True), stride=stride, report=report)
    if not ws:
        raise ValueError(f"--data {spec!r}: no 60-frame windows\n{report.summary()}")
    return ws


def _print_scores(scores: dict) -> None:
    for head, d in scores.items():
        print(f"{head}: top-1 {d['top1']:.1f} % on {d['n']} real windows (chance {d['chance']:.1f} %)")
        print("  per class: " + ", ".join(f"{c} {v:.0f}" for c, v in d["per_class"].items()))
        w = max(len(c) for c in d["classes"])
        print(f"  confusion (rows true, columns judged: {', '.join(c[:6] for c in d['classes'])})")
        for c, row in zip(d["classes"], d["confusion"]):
            print(f"    {c:<{w}} " + " ".join(f"{v:4d}" for v in row))


def run_judge_train(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    if args.stride < 1:
        raise ValueError(f"--stride {args.stride}: expected ≥ 1")
    with no_progress_bars(args.quiet):
        report = SkipReport()
        ws = _real_windows(args.data, report, args.quiet, stride=args.stride)
        held_spec = _held_out_spec(args.data, args.held_out)
        held = _real_windows(held_spec, SkipReport(), args.quiet) if held_spec else None
        print(f"training the judge on {len(ws)} real windows of {args.data}"
              + (f"; held out: {len(held)} windows of {held_spec}" if held else "; no held-out data"))
        judge = train_judge(ws, labels, C=args.C, held_out=held, data=args.data, progress=not args.quiet,
                            report=report)
    judge.info["held_out_data"] = held_spec
    judge.info["stride"] = args.stride
    out = judge.save(args.out)
    if judge.info.get("held_out"):
        _print_scores(judge.info["held_out"])
    if judge.info.get("warning"):
        print(f"WARNING: {judge.info['warning']}")
    if len(report):  # one line per kind of reason ("shorter than a window (47 < 60 frames)" → one kind)
        kinds = Counter(why.split(" (")[0] for _, why in report.skipped)
        print(f"skipped {len(report)} item(s) of --data: " + "; ".join(f"{n} × {k}" for k, n in kinds.items()))
    print(f"wrote {out / 'judge.json'} and {out / 'judge.safetensors'}")
    return 0


def run_judge_eval(args) -> int:
    judge = Judge.load(args.judge)
    with no_progress_bars(args.quiet):
        ws = _real_windows(args.data, SkipReport(), args.quiet)
        scores = judge.evaluate(ws, progress=not args.quiet)
    _print_scores(scores)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"judge": args.judge, "data": args.data, **scores}, indent=1))
        print(f"wrote {args.json}")
    return 0


# --- parser ------------------------------------------------------------------------------------------------------

def _run_args(p: argparse.ArgumentParser, output: bool = True) -> None:
    p.add_argument("--run", required=True, help="run directory written by `mcl train` (e.g. runs/deepmimic-cpu)")
    p.add_argument("--which", default="latest", choices=["best", "latest"],
                   help="checkpoint to load: latest (default, the final weights) or best (lowest validation loss)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--frames", type=count, default=60, help="frames per motion at 30 fps (default 60, as trained; at "
                                                            "most the model's max_frames, 5000)")
    p.add_argument("--calibrate", metavar="SPEC", help="measure the run's latent scale (mean ‖z‖, used to decode texts) "
                                                       "on this data first; needed once for runs trained on custom "
                                                       "motions")
    if output:
        p.add_argument("-o", "--output", required=True, help=f"output file: {', '.join(FORMATS)}")


OPERAND_HELP = "a text, npz:FILE[#i] (written by these commands) or clip:SPEC#NAME[@START] (e.g. clip:deepmimic#walk)"


def register(sub) -> None:
    """Add generate / edit / compose / interpolate / eval to the `mcl` command."""
    p = sub.add_parser("generate", help="text → motion (the text embedding decoded as z)",
                       description="Decode each prompt's text embedding as a motion. Example: "
                                   "mcl generate 'a person jumps' --run runs/deepmimic-cpu -o jump.mp4")
    p.add_argument("prompts", nargs="+", help="one or more texts (quote each)")
    _run_args(p)
    p.set_defaults(func=run_generate)

    p = sub.add_parser("edit", help="latent arithmetic: base − minus + plus",
                       description="Decode z_base + scale·(z_plus − z_minus). Example (style): mcl edit --run R "
                                   "--base clip:deepmimic#walk --minus normal --plus elderly -o old_walk.mp4")
    p.add_argument("--base", required=True, help=OPERAND_HELP)
    p.add_argument("--minus", required=True, help=OPERAND_HELP)
    p.add_argument("--plus", required=True, help=OPERAND_HELP)
    p.add_argument("--scale", type=finite, default=1.0, help="strength of the edit (default 1, the paper; finite)")
    p.add_argument("--with-inputs", action="store_true", help="also write the decoded base, minus and plus")
    _run_args(p)
    p.set_defaults(func=run_edit)

    p = sub.add_parser("compose", help="upper body of one motion on the lower body of another (z_lower − z_neutral + "
                                       "z_upper)",
                       description="Body-part composition as MotionCLIP does it. Example: mcl compose --run R "
                                   "--upper 'drink from mug' --lower walk -o walk_drink.mp4")
    p.add_argument("--upper", required=True, help=OPERAND_HELP)
    p.add_argument("--lower", required=True, help=OPERAND_HELP)
    p.add_argument("--neutral", default="stand", help="the neutral motion subtracted (default: the text 'stand')")
    _run_args(p)
    p.set_defaults(func=run_compose)

    p = sub.add_parser("interpolate", help="motions along the latent path from A to B",
                       description="Decode `steps` latents from A to B (t = 0 and 1 are A and B exactly). Example: "
                                   "mcl interpolate walk run --run R --steps 5 -o walk_run.mp4")
    p.add_argument("a", help=OPERAND_HELP)
    p.add_argument("b", help=OPERAND_HELP)
    p.add_argument("--steps", type=count, default=5, help="number of motions including both ends (default 5)")
    p.add_argument("--spherical", action="store_true", help="slerp instead of the paper's linear interpolation")
    _run_args(p)
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("eval", help="reconstruction / recognition / retrieval / generation on a data set",
                       description="Evaluate a run on any data the data layer reads and print a table. Examples: "
                                   "mcl eval recognition --run R --data deepmimic; "
                                   "mcl eval recognition --run R --data bandai --label-key style --json out.json; "
                                   "mcl eval recognition --run R --data 'bvh:mocap/?labels=labels.csv' "
                                   "--classes walk,run,jump")
    p.add_argument("task", choices=["reconstruction", "recognition", "retrieval", "generation", "judged"],
                   help="reconstruction: MPJPE + joint angles; recognition: zero-shot top-1/5; retrieval: TMR R@k "
                        "+ MedR; generation: is each clip's own text decoded nearest to that clip; judged: "
                        "generations and a style edit scored by an independent judge (--judge)")
    p.add_argument("--data", required=True, help="data spec: deepmimic, bandai[:PATH], bvh:FOLDER?labels=..&rig=.., "
                                                  "asf:.., amass:ROOT?babel=DIR&split=val, synthetic")
    p.add_argument("--classes", help="class names: comma-separated, a file with one per line, or babel60 (BABEL's "
                                     "60 classes; with --data amass:ROOT?babel=DIR&split=val --label-key actions "
                                     "this is the paper's protocol). Default: the labels found under --label-key")
    p.add_argument("--label-key", default="action", help="which Motion.labels entry holds the class (default action; "
                                                          "bandai: content or style; BABEL: actions)")
    p.add_argument("--prompt", default="{}", help="prompt template for class names, e.g. 'a person {}s' (default {})")
    p.add_argument("--classes-file", metavar="CSV",
                   help="classes and their own prompts: lines 'class,prompt[,prompt…]' (several prompts are averaged, "
                        "CLIP's prompt ensembling; a class without prompts uses --prompt); replaces --classes")
    p.add_argument("--per-item", metavar="OUT.csv",
                   help="write one row per window: clip, frames, text, every label, and (recognition) the true "
                        "class, prediction, rank of the true class, top-5; (reconstruction) its errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars; short lists only")
    p.add_argument("--raw-names", action="store_true", help="use class names as they are in prompts (default: "
                                                             "'_' and '-' read as spaces, e.g. dance_a → 'dance a')")
    p.add_argument("--split", default="auto", choices=["auto", "val", "train", "all"],
                   help="val: only what the run held out (its own split rule); all: every window; auto (default): "
                        "val when --data is the run's training data, else all. generation always uses whole clips")
    p.add_argument("--short", default="extend", choices=["extend", "skip"],
                   help="clips shorter than a window: extend them as training does (loop / hold the last frame, "
                        "default) or skip them (counted in the report)")
    p.add_argument("--stride", type=int, default=None, help="window stride in frames (default: non-overlapping)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N clips (0: all)")
    p.add_argument("--lengths", default=None, help="reconstruction: also decode at these lengths, e.g. 30,60,120")
    p.add_argument("--json", help="also write the full result as JSON here")
    p.add_argument("--judge", metavar="DIR", help="judged: the judge folder written by `mcl judge train`")
    p.add_argument("--edit-content", default="walk", help="judged: content of the windows edited (default walk)")
    p.add_argument("--edit-from", default="normal", help="judged: their style, the edit's minus (default normal)")
    p.add_argument("--edit-to", default="elderly", help="judged: the edit's plus and target style (default elderly)")
    p.add_argument("--scale", type=finite, default=1.0, help="judged: strength of the edit (default 1)")
    p.add_argument("--interp-pairs", type=index, default=30,
                   help="judged: random pairs of windows of two contents interpolated (5 steps each; default 30; "
                        "0: none)")
    _run_args(p, output=False)
    p.set_defaults(func=run_eval)

    p = sub.add_parser("judge", help="an independent judge (classifier on real motions) for decoded motions",
                       description="Train or measure a judge: one logistic regression per label (e.g. content, "
                                   "style) on joint positions and velocities of REAL 60-frame windows. "
                                   "Example: mcl judge train --data 'bandai?split=train' --out judges/bandai")
    jsub = p.add_subparsers(dest="judge_command", metavar="ACTION", required=True)
    q = jsub.add_parser("train", help="train on real motions, measure on held-out real motions, save (no pickle)",
                        description="Example: mcl judge train --data 'bandai?split=train' --out judges/bandai "
                                    "(held out: 'bandai?split=test', chosen automatically for bandai?split=train)")
    q.add_argument("--data", required=True, help="data spec of REAL labelled motions, e.g. 'bandai?split=train'")
    q.add_argument("--held-out", metavar="SPEC", default="auto",
                   help="labelled real motions never trained on, to measure the judge (default auto: the same spec "
                        "with split=test when --data has split=train; 'none' to skip)")
    q.add_argument("--labels", default="content,style", help="label keys, one head each (default content,style)")
    q.add_argument("--out", required=True, help="folder for judge.json + judge.safetensors")
    q.add_argument("--stride", type=int, default=30, help="training window stride in frames (default 30; held-out "
                                                          "windows do not overlap)")
    q.add_argument("--C", type=finite, default=1.0, help="inverse L2 strength of the logistic regressions (default "
                                                          "1, chosen by 3-fold cross-validation over Bandai train "
                                                          "take ids)")
    q.add_argument("--threads", type=int, default=1, help="torch threads for the features (default 1)")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=run_judge_train)
    q = jsub.add_parser("eval", help="a judge's top-1 and confusion on labelled real motions",
                        description="Example: mcl judge eval --judge judges/bandai --data 'bandai?split=test'")
    q.add_argument("--judge", required=True, metavar="DIR", help="folder written by mcl judge train")
    q.add_argument("--data", required=True, help="data spec of labelled real motions")
    q.add_argument("--json", help="also write the result as JSON here")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=run_judge_eval)
