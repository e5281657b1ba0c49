"""Bandai-Namco ds-2 benchmark: train the CPU preset, then retrieval, content/style recognition and a style edit.

    python bench/bandai_eval.py                    # train 700 steps + evaluate (see timing below)
    python bench/bandai_eval.py --eval-only        # evaluate the existing runs/bandai-cpu
    python bench/bandai_eval.py --eval-only --judge judges/bandai   # + the edit and generations judged independently
    python bench/bandai_eval.py --eval-only --out open --judge open --test-takes 1000   # the shipped model (MODEL_CARD)

Needs `../shared/data/bandai-namco-ds2.tar.xz` (or `MCL_BANDAI`); without it the bench says so and exits 0.

Protocol. Takes are split by their take id (the `_{id}` of `dataset-2_{content}_{style}_{id}`) with the library's
published held-out split (`mcl/data/bandai_split.json`, `mcl.data.bandai.split_of`: 20 of the 104 ids, chosen by a
sha256 rule; a test id is a test take in every (content, style) pair), so no take is on both sides. To keep training
short on 2 CPU cores the training set is SUBSAMPLED: the first `--train-takes` training ids of each of the 70 pairs
(560 clips by default), and training stops after `--max-steps` optimizer steps (700 ≈ 18 epochs of 775 chunks);
evaluation uses up to `--test-takes` test ids per pair. Timing (2026-12-03, `--threads 1`, another training on the
other core): 1.0 s a step, 11.7 min of training, 12.3 min in all. Test windows are non-overlapping 60-frame windows
at 30 fps (clips shorter than 60 frames are skipped and counted). Metrics:
  - retrieval: text ↔ motion with each window's first caption, TMR's "all" and "batches of 32" protocols
    (windows that share a caption count as correct answers for each other);
  - recognition: zero-shot top-1/top-5 over the 10 contents and over the 7 styles;
  - style edit: test windows of walk/normal, z + ("elderly" − "normal"), decoded, re-encoded and classified among
    the 7 styles; the score is the % classified "elderly" (before the edit: the same for the unedited decode).
    This is the run grading its own decodes; with `--judge DIR` the decodes are also classified by an independent
    judge trained on real train takes (`mcl judge train`, docs/latent.md), with text → motion for the content and
    style prompts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def subset_folder(root: Path, ids_per_pair: dict[tuple[str, str], list[str]], dest: Path) -> Path:
    """A folder laid out like the dataset (`data/`, `cfg/`) holding symlinks to the chosen takes only."""
    (dest / "data").mkdir(parents=True, exist_ok=True)
    if not (dest / "cfg").exists():
        os.symlink(root / "cfg", dest / "cfg")
    for (content, style), ids in ids_per_pair.items():
        for i in ids:
            for ext in (".bvh", ".json"):
                src = root / "data" / f"dataset-2_{content}_{style}_{i}{ext}"
                if src.exists() and not (dest / "data" / src.name).exists():
                    os.symlink(src, dest / "data" / src.name)
    return dest


def split_takes(root: Path, train_takes: int, test_takes: int):
    """`{(content, style): [ids]}` for train and test: the library's published split of take ids
    (`mcl.data.bandai.split_of`), then the first n of each side."""
    from mcl.data.bandai import split_of

    pairs: dict[tuple[str, str], list[str]] = {}
    for f in sorted((root / "data").glob("*.bvh")):
        parts = f.stem.split("_")
        if len(parts) == 4:
            pairs.setdefault((parts[1], parts[2]), []).append(parts[3])
    train, test = {}, {}
    for pair, ids in pairs.items():
        te = [i for i in ids if split_of(i) == "test"]
        tr = [i for i in ids if split_of(i) == "train"]
        train[pair], test[pair] = tr[:train_takes], te[:test_takes]
    return train, test


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "runs" / "bandai-cpu"), help="run dir (default runs/bandai-cpu)")
    ap.add_argument("--space", default="minilm", help="frozen space (default minilm: offline)")
    ap.add_argument("--train-takes", type=int, default=8, help="training takes per (content, style) pair (default 8)")
    ap.add_argument("--test-takes", type=int, default=4, help="test takes per pair (default 4)")
    ap.add_argument("--max-steps", type=int, default=700, help="optimizer steps (default 700; 0.4 s each on 2 free "
                                                                "cores)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for training (default 1: far faster "
                    "than torch's default on a busy 2-core machine; 0: torch's default)")
    ap.add_argument("--eval-only", action="store_true", help="evaluate the existing run in --out")
    ap.add_argument("--json", default=None, help="write results here (default OUT/bench_bandai.json)")
    ap.add_argument("--judge", default=None, metavar="DIR",
                    help="also score the style edit and text → motion with this independent judge (`mcl judge "
                         "train --data 'bandai?split=train' --out DIR`) instead of the run grading its own decodes")
    args = ap.parse_args(argv)

    from mcl.data.bandai import CONTENTS, STYLES, _data_root, default_bandai_path, extract_bandai, load_bandai

    archive = default_bandai_path()
    if archive is None or not archive.exists():
        print("SKIP bench/bandai_eval.py: Bandai-Namco ds-2 not found (put bandai-namco-ds2.tar.xz in "
              "../shared/data/ or set MCL_BANDAI)")
        return 0

    import numpy as np

    from mcl.latent import evaluate

    from mcl.latent import ops as latent
    from mcl.training.checkpoint import load
    from mcl.training.config import preset
    from mcl.data.errors import SkipReport
    from mcl.data.labels import _CONTENT_PHRASES, _a
    from mcl.data.windows import make_windows
    from mcl.training.loop import train

    root = _data_root(extract_bandai(archive) if archive.is_file() else archive)
    train_ids, test_ids = split_takes(root, args.train_takes, args.test_takes)
    overlap = {i for v in train_ids.values() for i in v} & {i for v in test_ids.values() for i in v}
    assert not overlap, f"take ids on both sides: {sorted(overlap)}"
    report = SkipReport()
    tmp = Path(tempfile.mkdtemp(prefix="bandai-bench-"))
    t0 = time.time()
    result: dict = {"protocol": {k: getattr(args, k) for k in ("train_takes", "test_takes", "max_steps", "space")}}
    result["protocol"]["split"] = "mcl/data/bandai_split.json (test take ids held out in every pair)"
    train_clips = load_bandai(subset_folder(root, train_ids, tmp / "train"), report=SkipReport())
    print(f"train: {len(train_clips)} clips from {len(train_ids)} (content, style) pairs")
    if not args.eval_only:
        t1 = time.time()
        # the cpu preset's model, losses and lr schedule (cosine over the max_steps), but the paper's batch of 20
        # and random windows: with 775 chunks there is data enough for the paper's sampling
        train(preset("cpu"), motions=train_clips, space=args.space, out=args.out, val_split="none",
              epochs=10_000, max_steps=args.max_steps, threads=args.threads, batch_size=20, fixed_windows=False,
              overwrite=True)  # a rerun of the bench replaces its run (set aside until the new checkpoint)
        result["train_minutes"] = round((time.time() - t1) / 60, 1)
    result["train_clips"] = len(train_clips)
    run = load(args.out, which="latest")
    # texts are decoded / added at the scale of encoded motions (mcl.latent.ops.text_latents); measure it on train data
    result["latent_norm"] = latent.calibrate(run, train_clips)
    test_clips = load_bandai(subset_folder(root, test_ids, tmp / "test"), report=report)
    ws = make_windows(test_clips, report=report)
    print(f"test: {len(test_clips)} clips → {len(ws)} windows")
    result.update(test_clips=len(test_clips), test_windows=len(ws), run=str(args.out), step=run.step)

    result["retrieval"] = evaluate.retrieval(run, ws, report=report)
    content_prompts = [f"a person {_CONTENT_PHRASES[c][0]}" for c in CONTENTS]
    style_prompts = [f"{_a(s)} person" for s in STYLES]
    result["recognition_content"] = evaluate.recognition(run, ws, CONTENTS, "content", content_prompts)
    result["recognition_style"] = evaluate.recognition(run, ws, STYLES, "style", style_prompts)
    walk_normal = [w for w in ws if w.labels["content"] == "walk" and w.labels["style"] == "normal"]
    result["style_edit"] = evaluate.edit_score(run, walk_normal, "normal", "elderly", STYLES, "elderly",
                                               prompt=style_prompts)
    result["style_edit_captions"] = evaluate.edit_score(run, walk_normal, "a person walks in a normal way",
                                                        "a person walks in an elderly way", STYLES, "elderly",
                                                        prompt=style_prompts)
    if args.judge:
        from mcl.latent.judge import Judge

        judge = Judge.load(args.judge)
        result["judge"] = {"dir": args.judge, "held_out_top1": {h: d["top1"] for h, d in
                                                                 (judge.info.get("held_out") or {}).items()}}
        result["judged_style_edit"] = evaluate.judged_edit(run, judge, walk_normal, "normal", "elderly", "style",
                                                           "elderly")
        result["judged_style_edit_captions"] = evaluate.judged_edit(
            run, judge, walk_normal, "a person walks in a normal way", "a person walks in an elderly way", "style",
            "elderly")
        result["judged_content_prompts"] = evaluate.judged_generation(run, judge, content_prompts,
                                                                      {"content": list(CONTENTS)})
        result["judged_style_prompts"] = evaluate.judged_generation(run, judge, style_prompts, {"style": list(STYLES)})
    result["skipped"] = len(report)
    result["minutes_total"] = round((time.time() - t0) / 60, 1)

    r = result["retrieval"]
    print(f"\nBandai-Namco ds-2, run {args.out} (step {run.step}), {len(ws)} test windows")
    for p in ("all", "batches"):
        d = r[p]
        if "skipped" in d:
            print(f"retrieval {p}: skipped ({d['skipped']})")
            continue
        print(f"retrieval {p:8s} t2m R@1 {d['t2m/R01']:.1f} R@5 {d['t2m/R05']:.1f} R@10 {d['t2m/R10']:.1f} "
              f"MedR {d['t2m/MedR']:.1f} | m2t R@1 {d['m2t/R01']:.1f} R@5 {d['m2t/R05']:.1f} "
              f"R@10 {d['m2t/R10']:.1f} MedR {d['m2t/MedR']:.1f}")
    for k in ("content", "style"):
        d = result[f"recognition_{k}"]
        print(f"recognition {k:8s} top-1 {d['top1']:.1f}%  top-5 {d['top5']:.1f}%  ({d['n']} windows, "
              f"{len(d['classes'])} classes, chance top-1 {100 / len(d['classes']):.1f}%)")
    for k in ("style_edit", "style_edit_captions"):
        d = result[k]
        print(f"{k:20s} walk/normal {d['edit']}: classified elderly {d['before']:.1f}% → {d['after']:.1f}% "
              f"(latent itself {d['after_latent']:.1f}%, {d['n']} windows)")
    if args.judge:
        for k in ("judged_style_edit", "judged_style_edit_captions"):
            d = result[k]
            print(f"{k:27s} judged elderly {d['before']:.1f}% → {d['after']:.1f}% (real windows {d['real']:.1f}%, "
                  f"{d['n']} windows; judge style top-1 on held-out takes "
                  f"{result['judge']['held_out_top1'].get('style')}%)")
        print(f"judged text → motion: content = prompted {result['judged_content_prompts']['content']['pct']:.1f}%, "
              f"style = prompted {result['judged_style_prompts']['style']['pct']:.1f}%")
    if len(report):
        print(report.summary(limit=3))
    # beside the run; a shipped model's name (`--out open`) is no folder to write in: runs/bench-NAME/ instead
    into = Path(args.out) if Path(args.out).is_dir() else ROOT / "runs" / f"bench-{Path(args.out).name}"
    out = Path(args.json or into / "bench_bandai.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
