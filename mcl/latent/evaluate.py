"""Dataset-level evaluations of a trained MotionCLIP: reconstruction, zero-shot recognition, retrieval, generation.

Each takes a loaded run (`mcl.training.checkpoint.load`) and a list of windows (`Motion`s, e.g. `make_windows(load(spec))`)
and returns a flat dict of numbers (JSON-ready) plus, where items were left out, the reasons in `skipped`.

- `reconstruction`: MPJPE (mm, after forward kinematics; root-relative and global) and geodesic joint-angle error
  (degrees) of encode → decode; `length_study` decodes other lengths than the trained one.
- `recognition`: softmax(100·cos) against class-name embeddings, top-1/top-5. A window is a hit when any of its
  labels is among the k best (the BABEL-60 rule). `babel60` runs the paper's protocol on AMASS + BABEL val.
- `retrieval`: text↔motion R@1/2/3/5/10 and MedR with TMR's "all" and "batches of 32" protocols.
- `text_to_motion_match`: does generating from a clip's own text land closer to that clip than to the others?
- `judged_generation`, `judged_edit`, `judged_reconstruction`: decoded motions scored by an independent judge
  (`mcl.latent.judge`, trained on real motions only), never by the model that decoded them.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

from ..body.rotations import rotvec_to_rotmat
from ..body.skeleton import joints_from_rotvec
from ..data.amass import babel_action_classes
from ..data.errors import SkipReport
from ..data.motion import Motion
from ..data.sources import load
from ..data.windows import WINDOW_FPS, make_windows, windows as cut
from ..training.batches import fit_to_window
from . import metrics, ops as latent
from .judge import Judge


def _joints(m: Motion) -> np.ndarray:
    """`(T, 24, 3)` joint positions, the motion turned to face +z at its first frame (as the model sees it) and its
    trajectory relative to the first frame."""
    m = m.face_forward()
    poses = torch.from_numpy(m.poses)
    trans = torch.from_numpy(m.trans - m.trans[:1])
    return joints_from_rotvec(poses, trans).numpy()


def motion_errors(pred: Motion, target: Motion, frames: int | None = None) -> dict[str, float]:
    """Errors of `pred` against `target` over their first `frames` frames (default: the shorter length).

    `mpjpe_mm`: root-relative MPJPE; `mpjpe_global_mm`: with both trajectories starting at the same point;
    `angle_deg`: mean geodesic angle of the 24 local joint rotations. Example: `motion_errors(m, m)["mpjpe_mm"] == 0`.
    """
    n = frames or min(pred.num_frames, target.num_frames)
    p, t = pred.slice(0, n), target.slice(0, n)
    jp, jt = _joints(p), _joints(t)
    return {
        "mpjpe_mm": metrics.mpjpe(jp, jt, root_relative=True),
        "mpjpe_global_mm": metrics.mpjpe(jp, jt, root_relative=False),
        "angle_deg": metrics.joint_angle_error(rotvec_to_rotmat(torch.from_numpy(p.poses)),
                                               rotvec_to_rotmat(torch.from_numpy(t.poses))),
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def reconstruction(loaded, windows: Sequence[Motion], progress: bool = True,
                   items: list | None = None) -> dict[str, float]:
    """Mean reconstruction errors of encode → decode over `windows` (held-out ones for an honest number).

    Returns `mpjpe_mm`, `mpjpe_global_mm`, `angle_deg`, `accel` / `accel_target` (mean joint acceleration, m/s²,
    a smoothness check) and `n`; `items`, when a list, receives one row per window (see `item_row`).
    Example: `reconstruction(run, val_windows)["mpjpe_mm"]`.
    """
    from tqdm.auto import tqdm

    windows = [w.resample(WINDOW_FPS) for w in windows]
    if not windows:
        raise ValueError("reconstruction() got no windows")
    rec = latent.reconstruct(loaded, windows)
    rows = []
    for r, w in tqdm(list(zip(rec, windows)), desc="reconstruction", disable=not progress):
        e = motion_errors(r, w)
        e["accel"] = metrics.acceleration(_joints(r), WINDOW_FPS)
        e["accel_target"] = metrics.acceleration(_joints(w), WINDOW_FPS)
        rows.append(e)
        if items is not None:
            items.append(dict(item_row(w), **e))
    return dict(_mean(rows), n=len(rows))


def item_row(w: Motion) -> dict:
    """What identifies a window in a per-item table: its clip, frames, first text and every label (`label:KEY`)."""
    frames = w.source.get("frames", (0, w.num_frames))
    row = {"clip": w.name, "start": frames[0], "stop": frames[1], "text": w.texts[0] if w.texts else ""}
    for k, v in w.labels.items():
        row[f"label:{k}"] = v if isinstance(v, (str, int, float)) else "|".join(map(str, v))
    return row


def length_study(loaded, windows: Sequence[Motion], lengths: Sequence[int] = (30, 60, 120),
                 progress: bool = True) -> dict[int, dict[str, float]]:
    """Decode each window's latent at several lengths and compare with the original window.

    For each length L: errors over the first `min(L, T)` frames against the original, the mean joint acceleration
    of the whole decode (`accel`), and for L > T also that of the frames past T (`accel_tail`) and how far the pelvis
    moves there relative to the first T frames (`tail_motion_ratio`: mean joint speed after T / before T; near 0 means
    the decode freezes). Example: `length_study(run, val_windows)[120]["mpjpe_mm"]`.
    """
    from tqdm.auto import tqdm

    windows = [w.resample(WINDOW_FPS) for w in windows]
    z = latent.encode(loaded, windows)
    out: dict[int, dict[str, float]] = {}
    for L in tqdm(list(lengths), desc="lengths", disable=not progress):
        dec = latent.decode(loaded, z, n_frames=int(L))
        rows = []
        for d, w in zip(dec, windows):
            e = motion_errors(d, w)
            j = _joints(d)
            e["accel"] = metrics.acceleration(j, WINDOW_FPS)
            T = w.num_frames
            if L > T + 2:
                speed = np.linalg.norm(np.diff(j, axis=0), axis=-1).mean(axis=1) * WINDOW_FPS  # (L-1,)
                e["accel_tail"] = metrics.acceleration(j[T:], WINDOW_FPS)
                e["tail_motion_ratio"] = float(speed[T:].mean() / max(speed[:T - 1].mean(), 1e-9))
            rows.append(e)
        out[int(L)] = dict(_mean(rows), n=len(rows))
    return out


# --- recognition -------------------------------------------------------------------------------------------------

def window_labels(w: Motion, label_key: str) -> list[str]:
    """The labels of a window under `label_key` as a list (a str label becomes one item; BABEL `actions` a list)."""
    v = w.labels.get(label_key)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def recognition(loaded, windows: Sequence[Motion], class_names: Sequence[str] | None = None,
                label_key: str = "action", prompt: str | Sequence = "{}", ks: Sequence[int] = (1, 5),
                report: SkipReport | None = None) -> dict:
    """Zero-shot recognition over a labelled set: each window against `prompt.format(name)` for every class.

    `class_names` defaults to the distinct labels under `label_key` (sorted); `prompt` is a template or one text per
    class (see `latent.class_prompts`). Windows with no label among the classes
    are skipped and listed in `report`. Returns `top1`, `top5` (%), `n`, `classes`, `per_class` top-1 (%) and the
    `confusion` matrix (rows = true first label) and `items`: per window its labels, the prediction, the rank of
    its best true class (1 = top-1) and the top-5. Example: `recognition(run, ws, label_key="content")["top1"]`.
    """
    report = report if report is not None else SkipReport()
    if class_names is None:
        class_names = sorted({lab for w in windows for lab in window_labels(w, label_key)})
    names = [str(n) for n in class_names]
    if not names:
        raise ValueError(f"no class names: the windows carry no labels under {label_key!r} "
                         f"(try --label-key with one of: {sorted({k for w in windows for k in w.labels})})")
    index = {n: i for i, n in enumerate(names)}
    keep, labels = [], []
    for w in windows:
        labs = [index[x] for x in window_labels(w, label_key) if x in index]
        if not labs:
            report.add(w.name, f"no label under {label_key!r} among the {len(names)} classes")
            continue
        keep.append(w)
        labels.append(labs)
    if not keep:
        raise ValueError(f"none of {len(windows)} windows has a label under {label_key!r} among the classes "
                         f"{names[:8]}…")
    res = latent.classify(loaded, keep, names, prompt=prompt, k=max(ks))
    probs = res.probs.numpy()
    out: dict = metrics.topk_accuracy(probs, labels, ks)
    pred = probs.argmax(1)
    true = np.array([lab[0] for lab in labels])
    per_class = {}
    for c, n in enumerate(names):
        sel = [i for i, lab in enumerate(labels) if c in lab]
        if sel:
            per_class[n] = 100.0 * float(np.mean([pred[i] in labels[i] for i in sel]))
    order = np.argsort(-probs, axis=1)
    items = []
    for i, w in enumerate(keep):
        rank = 1 + min(int(np.where(order[i] == c)[0][0]) for c in labels[i])
        items.append(dict(item_row(w), true="|".join(names[c] for c in labels[i]), predicted=names[pred[i]],
                          rank=rank, p_predicted=float(probs[i, pred[i]]),
                          top5="|".join(names[c] for c in order[i][:5])))
    out.update(n=len(keep), skipped=len(report), classes=names, per_class=per_class, items=items,
               prompts=latent.class_prompts(names, prompt),
               confusion=metrics.confusion_matrix(pred, true, len(names)).tolist())
    return out


def babel60(loaded, amass_root: str, babel_dir: str, split: str = "val", ks: Sequence[int] = (1, 5)) -> dict:
    """The paper's BABEL-60 recognition: AMASS windows of BABEL's `split`, 60 classes = indices 0–59 of BABEL's
    `action_label_2_idx.json`, a window is a top-k hit when any of its action labels is among the k best.

    Needs AMASS and BABEL on disk (`mcl.data.amass`). Example: `babel60(run, "~/amass", "~/babel_v1.0_release")`.
    """

    report = SkipReport()
    motions = load(f"amass:{amass_root}?babel={babel_dir}&split={split}")
    ws = make_windows(motions, report=report)
    out = recognition(loaded, ws, babel_action_classes(), label_key="actions", ks=ks, report=report)
    out["protocol"] = f"BABEL-60 {split}"
    return out


# --- retrieval ---------------------------------------------------------------------------------------------------

def retrieval(loaded, windows: Sequence[Motion], protocols: Sequence[str] = ("all", "batches"),
              batch_size: int = 32, report: SkipReport | None = None) -> dict[str, dict[str, float]]:
    """Text↔motion retrieval with each window's first text; windows without text are skipped and reported.

    The text side is the frozen space's embedding of the text (MotionCLIP has no text encoder of its own); windows
    that share a text count as correct answers for each other (see `mcl.latent.metrics`). "batches" is skipped (and said so)
    when there are fewer than `batch_size` windows. Example: `retrieval(run, val_windows)["all"]["t2m/R01"]`.
    """
    report = report if report is not None else SkipReport()
    keep = []
    for w in windows:
        if w.texts:
            keep.append(w)
        else:
            report.add(w.name, "no text to retrieve with")
    if not keep:
        raise ValueError(f"none of {len(windows)} windows has a text: retrieval needs captioned windows")
    texts = [w.texts[0] for w in keep]
    zm = latent.encode(loaded, keep)
    zt = latent.embed_texts(loaded, texts)
    out: dict[str, dict[str, float]] = {}
    for p in protocols:
        if p == "batches" and len(keep) < batch_size:
            out[p] = {"skipped": f"only {len(keep)} windows, fewer than a batch of {batch_size}"}
            continue
        out[p] = metrics.retrieval_metrics(zt, zm, texts, protocol=p, batch_size=batch_size)
    out["info"] = {"n": len(keep), "distinct_texts": len(set(texts)), "skipped": len(report)}
    return out


# --- text-to-motion ----------------------------------------------------------------------------------------------

def text_to_motion_match(loaded, clips: Sequence[Motion], texts: Sequence[str] | None = None,
                         n_frames: int = 60) -> dict:
    """Generate from each clip's own text and check which clip the result is closest to.

    Distance to a clip = the smallest root-relative MPJPE between the generated motion and any `n_frames` window of
    the clip (stride 10); clips shorter than `n_frames` are first extended as training does (`fit_to_window`: looped
    when they loop, else the last frame held), so every comparison covers the same number of frames. `hits` counts clips whose own generation is closest to them. Returns `hits`, `n`,
    `nearest` (clip index per generation) and the distance matrix `dist_mm` (generation × clip).
    Example: `text_to_motion_match(run, load("deepmimic"))["hits"]`.
    """

    clips = [fit_to_window(c.resample(WINDOW_FPS), n_frames) for c in clips]
    texts = list(texts) if texts is not None else [c.texts[0] if c.texts else c.name for c in clips]
    gen = latent.text_to_motion(loaded, texts, n_frames=n_frames)
    gen_j = np.stack([_joints(g) for g in gen])  # (G, n, 24, 3)
    gen_j = gen_j - gen_j[:, :, :1]
    dist = np.zeros((len(gen), len(clips)))
    for c, clip in enumerate(clips):
        ws = cut(clip, length=n_frames, stride=10)
        wj = np.stack([_joints(w) for w in ws])  # (W, n, 24, 3)
        wj = wj - wj[:, :, :1]
        d = np.linalg.norm(gen_j[:, None] - wj[None], axis=-1).mean(axis=(2, 3)) * 1000  # (G, W)
        dist[:, c] = d.min(axis=1)
    nearest = dist.argmin(axis=1)
    return {"hits": int((nearest == np.arange(len(clips))).sum()), "n": len(clips), "texts": texts,
            "nearest": nearest.tolist(), "dist_mm": dist.round(1).tolist()}


def edit_score(loaded, windows: Sequence[Motion], minus: str, plus: str, class_names: Sequence[str], target: str,
               prompt: str | Sequence[str] = "{}", scale: float = 1.0) -> dict:
    """How often an edit `window + scale · (plus − minus)` is recognised as `target` among `class_names`.

    Each edited latent is decoded to a motion and that motion re-encoded before classification, so the score is
    about the motion produced, not the latent. The same is done without the edit (`before`) as the baseline.
    Returns `after` / `before` (% classified as `target`), `after_latent` (classifying the edited latent itself)
    and `n`. Example (Bandai): `edit_score(run, walk_normal, "normal", "elderly", STYLES, "elderly")`.
    """
    names = [str(c) for c in class_names]
    if target not in names:
        raise ValueError(f"target {target!r} is not one of the classes {names}")
    if not windows:
        raise ValueError("edit_score() got no windows")
    t = names.index(target)
    z = latent.encode(loaded, windows)
    zm, zp = latent.text_latents(loaded, [minus, plus])
    z_edit = latent.edit_latent(z, zm, zp, scale)
    n = windows[0].num_frames

    def pct(z_items) -> float:
        res = latent.classify(loaded, z_items, names, prompt=prompt, k=1)
        return 100.0 * float((res.topk[:, 0] == t).float().mean())

    def redecoded(z_items) -> torch.Tensor:
        return latent.encode(loaded, latent.decode(loaded, z_items, n_frames=n))

    return {"after": pct(redecoded(z_edit)), "before": pct(redecoded(z)), "after_latent": pct(z_edit),
            "n": len(windows), "edit": f"+ {scale}·('{plus}' − '{minus}')", "target": target}


def label_counts(windows: Sequence[Motion], label_key: str) -> dict[str, int]:
    """How many windows carry each label under `label_key` (for a quick look at a labelled set)."""
    return dict(Counter(lab for w in windows for lab in window_labels(w, label_key)).most_common())


# --- judged by an independent classifier -----------------------------------------------------------------------------

def _pct(hits) -> float:
    return round(100.0 * float(np.mean(hits)), 2) if len(hits) else float("nan")


def judged_generation(loaded, judge: Judge, prompts: Sequence[str], expected: dict[str, Sequence[str]],
                      n_frames: int = 60) -> dict:
    """Text → motion for each prompt, the decode classified by `judge`; per head the % judged as `expected[head][i]`.

    Returns `{head: {"pct", "n", "judged": {class: count}}, "items": [per prompt: prompt, expected_*, judged_*]}`.
    Example: `judged_generation(run, judge, ["a person runs"], {"content": ["run"]})["content"]["pct"]`.
    """
    prompts = list(prompts)
    for head, exp in expected.items():
        if head not in judge.heads:
            raise ValueError(f"the judge has no head {head!r} (it has {sorted(judge.heads)})")
        if len(exp) != len(prompts):
            raise ValueError(f"expected[{head!r}] has {len(exp)} labels for {len(prompts)} prompts")
    pred = judge.predict(latent.text_to_motion(loaded, prompts, n_frames=n_frames))
    out: dict = {}
    for head, exp in expected.items():
        out[head] = {"pct": _pct([p == e for p, e in zip(pred[head], exp)]), "n": len(prompts),
                     "judged": dict(Counter(pred[head]).most_common())}
    out["items"] = [dict({"prompt": t}, **{f"expected_{h}": expected[h][i] for h in expected},
                         **{f"judged_{h}": pred[h][i] for h in pred}) for i, t in enumerate(prompts)]
    return out


def judged_edit(loaded, judge: Judge, windows: Sequence[Motion], minus: str, plus: str, head: str, target: str,
                scale: float = 1.0) -> dict:
    """The edit `z + scale · (plus − minus)` of each window, decoded and classified by `judge`'s `head`.

    Returns `after` (% of edited decodes judged `target`), `before` (the unedited decodes), `real` (the real windows
    themselves), the judged class counts after the edit and `n`. Example (Bandai): `judged_edit(run, judge,
    walk_normal, "normal", "elderly", "style", "elderly")`.
    """
    if head not in judge.heads:
        raise ValueError(f"the judge has no head {head!r} (it has {sorted(judge.heads)})")
    if target not in judge.heads[head].classes:
        raise ValueError(f"target {target!r} is not one of the judge's {head} classes {judge.heads[head].classes}")
    if not windows:
        raise ValueError("judged_edit() got no windows")
    windows = [w.resample(WINDOW_FPS) for w in windows]
    n = windows[0].num_frames
    z = latent.encode(loaded, windows)
    zm, zp = latent.text_latents(loaded, [minus, plus])
    after = judge.predict(latent.decode(loaded, latent.edit_latent(z, zm, zp, scale), n_frames=n))[head]
    before = judge.predict(latent.decode(loaded, z, n_frames=n))[head]
    real = judge.predict(windows)[head]
    return {"after": _pct([p == target for p in after]), "before": _pct([p == target for p in before]),
            "real": _pct([p == target for p in real]), "n": len(windows), "head": head, "target": target,
            "edit": f"+ {scale}·('{plus}' − '{minus}')", "judged_after": dict(Counter(after).most_common())}


LIMBS = {"wrists": (20, 21), "ankles": (7, 8)}  # SMPL-24 joints whose speed shows a wave or a step


def limb_speeds(motions: Sequence[Motion]) -> dict[str, np.ndarray]:
    """Per motion, the mean speed (m/s) of each `LIMBS` group relative to the pelvis: how much a hand waves or a
    foot steps, whatever the phase. Example: `limb_speeds([w])["wrists"][0]`."""
    out: dict[str, list[float]] = {k: [] for k in LIMBS}
    for m in motions:
        j = _joints(m)
        rel = j - j[:, :1]                                # (T, 24, 3) relative to the pelvis
        v = np.linalg.norm(np.diff(rel, axis=0), axis=-1) * m.fps     # (T-1, 24)
        for k, idx in LIMBS.items():
            out[k].append(float(v[:, list(idx)].mean()))
    return {k: np.array(v) for k, v in out.items()}


def periodic_detail(loaded, windows: Sequence[Motion], prompts: dict[str, str], label_key: str = "content") -> dict:
    """How much motion survives decoding, per class: mean `limb_speeds` of the real windows, of their reconstructions
    and of the text decode of `prompts[class]`, with the ratios decoded / real.

    A decoder that smooths a 2 Hz wave into a held hand keeps the pose (a small MPJPE) but loses the speed; a judge
    then calls the wave a raise. Example: `periodic_detail(run, ws, {"walk": "a person walks"})`.
    """
    windows = [w.resample(WINDOW_FPS) for w in windows]
    real, rec = limb_speeds(windows), limb_speeds(latent.reconstruct(loaded, windows))
    classes = [c for c in prompts if any(w.labels.get(label_key) == c for w in windows)]
    if not classes:
        raise ValueError(f"periodic_detail: no window has a {label_key!r} label among {sorted(prompts)}")
    gen = limb_speeds(latent.text_to_motion(loaded, [prompts[c] for c in classes]))
    out = {}
    for i, c in enumerate(classes):
        sel = [k for k, w in enumerate(windows) if w.labels.get(label_key) == c]
        row = {"n": len(sel), "prompt": prompts[c]}
        for limb in LIMBS:
            r = float(real[limb][sel].mean())
            row[limb] = {"real": r, "reconstructed": float(rec[limb][sel].mean()), "text": float(gen[limb][i]),
                         "reconstructed/real": float(rec[limb][sel].mean()) / r if r else float("nan"),
                         "text/real": float(gen[limb][i]) / r if r else float("nan")}
        out[c] = row
    return out


def phase_probe(loaded, train: Sequence[Motion], test: Sequence[Motion], joint: int = 21,
                frames: tuple[int, ...] = (0, 10)) -> dict:
    """Does z say where a periodic motion is in its cycle? A ridge regression fitted on `train`'s z predicts where
    `joint` (SMPL-24; default the right wrist) is at `frames`, relative to the pelvis and to its own mean over the
    window; `r2_test` is its R² on `test`. Near 1: the phase is in z; near 0: the encoder drops it. `r2_decoded`: the
    same offsets read off the model's own reconstructions of `test` (no fit): far below `r2_test`, the decoder loses
    what z holds. Pass overlapping windows of the same class, e.g. every 7 frames of held-out waves."""
    def offsets(ws):
        y = []
        for w in ws:
            j = _joints(w.resample(WINDOW_FPS))
            rel = j[:, joint] - j[:, 0]
            y.append(np.concatenate([rel[f] - rel.mean(0) for f in frames]))
        return np.asarray(y)

    zt, zs = latent.encode(loaded, train).numpy(), latent.encode(loaded, test).numpy()
    yt, ys = offsets(train), offsets(test)
    fit = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(zt, yt)
    decoded = offsets(latent.reconstruct(loaded, test)) if hasattr(getattr(loaded, "model", loaded), "decode") else None
    return {"n_train": len(zt), "n_test": len(zs), "r2_test": float(fit.score(zs, ys)),
            "r2_train": float(fit.score(zt, yt)), "joint": joint, "frames": list(frames),
            "r2_decoded": None if decoded is None else float(r2_score(ys, decoded))}


def judged_reconstruction(loaded, judge: Judge, windows: Sequence[Motion]) -> dict:
    """Per judge head: top-1 (%) of the judge on the REAL windows and on their encode → decode reconstructions.

    The reconstruction number is the ceiling a decode can reach with this judge; the real one is the judge's own
    accuracy on this data. Windows without a label of a head are left out of that head.
    """
    if not windows:
        raise ValueError("judged_reconstruction() got no windows")
    windows = [w.resample(WINDOW_FPS) for w in windows]
    real = judge.predict(windows)
    rec = judge.predict(latent.reconstruct(loaded, windows))
    out = {}
    for head, h in judge.heads.items():
        sel = [i for i, w in enumerate(windows) if w.labels.get(h.label_key) in h.classes]
        true = [windows[i].labels[h.label_key] for i in sel]
        out[head] = {"real": _pct([real[head][i] == t for i, t in zip(sel, true)]),
                     "reconstructed": _pct([rec[head][i] == t for i, t in zip(sel, true)]), "n": len(sel)}
    return out


def judged_interpolation(loaded, judge: Judge, windows: Sequence[Motion], head: str = "content", pairs: int = 20,
                         steps: int = 5, spherical: bool = False, seed: int = 0) -> dict:
    """Latent paths between real windows of two different `head` classes, every step decoded and classified by `judge`.

    For each of `pairs` random pairs (A, B) with different labels (seeded), `steps` latents from z_A to z_B are
    decoded (`mcl.latent.ops.interpolate_latents`). Scores (%): `start` (t = 0 judged A's class), `end` (t = 1 judged
    B's class), `both`, `one_switch` (the judged classes along the path are A…A then B…B: a path that changes class once,
    in order) and `real` (the judge right on both real windows: its own ceiling here). The paper shows interpolation
    only as figures; this makes it a number a decoder cannot grade itself on.
    Example (Bandai): `judged_interpolation(run, judge, test_windows, "content", pairs=50)["one_switch"]`.
    """
    if head not in judge.heads:
        raise ValueError(f"the judge has no head {head!r} (it has {sorted(judge.heads)})")
    if steps < 2:
        raise ValueError(f"steps must be ≥ 2 (both endpoints), got {steps}")
    key, classes = judge.heads[head].label_key, judge.heads[head].classes
    windows = [w.resample(WINDOW_FPS) for w in windows if w.labels.get(key) in classes]
    labels = [w.labels[key] for w in windows]
    if len(set(labels)) < 2:
        raise ValueError(f"judged_interpolation() needs windows of at least two {key!r} classes the judge knows "
                         f"({classes}); got {sorted(set(labels))}")
    rng = np.random.default_rng(seed)
    chosen = []
    for _ in range(pairs):
        a = int(rng.integers(len(windows)))
        others = [i for i, lab in enumerate(labels) if lab != labels[a]]
        chosen.append((a, others[int(rng.integers(len(others)))]))
    n = windows[0].num_frames
    used = sorted({i for p in chosen for i in p})
    z = dict(zip(used, latent.encode(loaded, [windows[i] for i in used])))
    path = torch.cat([latent.interpolate_latents(z[a], z[b], steps, spherical) for a, b in chosen])
    judged = judge.predict(latent.decode(loaded, path, n_frames=n))[head]
    real = judge.predict([windows[i] for i in used])[head]
    real_ok = {i: real[k] == labels[i] for k, i in enumerate(used)}
    items = []
    for p, (a, b) in enumerate(chosen):
        seq = judged[p * steps:(p + 1) * steps]
        first_b = next((k for k, c in enumerate(seq) if c != labels[a]), steps)
        items.append({"a": labels[a], "b": labels[b], "judged": seq, "start": seq[0] == labels[a],
                      "end": seq[-1] == labels[b],
                      "one_switch": 0 < first_b < steps and all(c == labels[b] for c in seq[first_b:]),
                      "real": real_ok[a] and real_ok[b]})
    return {k: _pct([it[k] for it in items]) for k in ("start", "end", "one_switch", "real")} | {
        "both": _pct([it["start"] and it["end"] for it in items]), "n": len(chosen), "steps": steps, "head": head,
        "items": items}
