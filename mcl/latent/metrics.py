"""Evaluation metrics: text↔motion retrieval (TMR's protocols), recognition top-k, MPJPE and joint-angle error.

Everything here works on plain arrays (numpy or torch) so it can be tested on constructed cases; `mcl.latent.evaluate`
feeds it model outputs.

Retrieval follows TMR (Petrovich et al., ICCV 2023, `src/model/metrics.py`): ranks are 0-based positions of the
ground truth in each sorted row, ties are broken by averaging the tied positions, R@k = % of queries whose rank < k,
MedR = median rank + 1. Protocols: "all" (one similarity matrix over the whole test set) and "batches of 32"
(shuffle with seed 0, cut into full batches of 32, average the metrics). Duplicate texts are handled like TMR's
threshold protocol: every motion whose text equals the query's text (or, with `threshold`, whose text embedding is
close enough) counts as a correct answer, the best-ranked of them is the ground truth, and the other correct answers
never count against it (see `gt_ranks`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

RECALL_KS = (1, 2, 3, 5, 10)


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cosine_matrix(a, b) -> np.ndarray:
    """`(N, D)`, `(M, D)` → `(N, M)` cosine similarities. Example: `cosine_matrix(np.eye(3), np.eye(3))` = identity."""
    return _normalize(_np(a)) @ _normalize(_np(b)).T


def gt_ranks(sims, positives=None) -> np.ndarray:
    """0-based rank of the ground truth for each query (row) of a square similarity matrix `(N, N)`.

    The ground truth of row i is column i, or, when `positives` `(N, N)` bool is given, the best-scoring column among
    `positives[i]` (duplicate / near-duplicate texts). The rank counts the other columns that score higher, plus
    half of those that tie (TMR's tie averaging), so ranks may be x.5. Positive columns never count against a query:
    identical texts have identical scores, and TMR's plain averaging would rank k tied copies of the right text at
    (k−1)/2 instead of 0. Without duplicates this is exactly TMR's rank. Example: `gt_ranks(np.eye(3))` → `[0, 0, 0]`.
    """
    s = _np(sims)
    n, m = s.shape
    if n != m:
        raise ValueError(f"retrieval needs a square similarity matrix (query i ↔ item i), got {s.shape}")
    pos = np.eye(n, dtype=bool)  # an item always matches itself
    if positives is not None:
        pos |= np.asarray(positives, dtype=bool)
    gt = np.where(pos, s, -np.inf).max(axis=1)
    other = ~pos
    better = ((s > gt[:, None]) & other).sum(axis=1)
    tied = ((s == gt[:, None]) & other).sum(axis=1)
    return better + tied / 2.0


def ranks_to_metrics(ranks, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """`{"R01": %, "R02": %, …, "MedR": median rank + 1}` from 0-based ranks (TMR's `cols2metrics`)."""
    r = np.asarray(ranks, dtype=np.float64)
    out = {f"R{k:02d}": 100.0 * float(np.mean(r < k)) for k in ks}
    out["MedR"] = float(np.median(r) + 1)
    return out


def text_positives(texts: Sequence[str] | None = None, text_emb=None, threshold: float | None = None):
    """`(N, N)` bool: which items share a query's text. Exact string matches always; with `text_emb` and
    `threshold` also pairs whose rescaled cosine `(1 + cos) / 2` exceeds `threshold` (TMR's threshold protocol).
    Returns None when nothing is given (plain diagonal ground truth)."""
    pos = None
    if texts is not None:
        t = np.asarray([str(x) for x in texts], dtype=object)
        pos = t[:, None] == t[None, :]
    if text_emb is not None and threshold is not None:
        close = cosine_matrix(text_emb, text_emb) > 2 * threshold - 1
        pos = close if pos is None else (pos | close)
    return pos


def contrastive_metrics(sims, texts: Sequence[str] | None = None, text_emb=None,
                        threshold: float | None = None) -> dict[str, float]:
    """Text→motion and motion→text R@1/2/3/5/10 (%) and MedR from `sims` `(N, N)`, rows = texts, cols = motions.

    Keys: `t2m/R01 … t2m/MedR`, `m2t/R01 … m2t/MedR`, `n`. `texts` marks duplicate texts (see module doc).
    Example: `contrastive_metrics(np.eye(4))["t2m/R01"] == 100.0`.
    """
    s = _np(sims)
    pos = text_positives(texts, text_emb, threshold)
    out: dict[str, float] = {}
    for name, mat in (("t2m", s), ("m2t", s.T)):
        for key, v in ranks_to_metrics(gt_ranks(mat, pos)).items():
            out[f"{name}/{key}"] = v
    out["n"] = float(len(s))
    return out


def retrieval_metrics(text_z, motion_z, texts: Sequence[str] | None = None, protocol: str = "all",
                      batch_size: int = 32, seed: int = 0, text_emb=None,
                      threshold: float | None = None) -> dict[str, float]:
    """Retrieval between paired text latents `(N, D)` and motion latents `(N, D)` (pair i = text i ↔ motion i).

    `protocol="all"`: one cosine matrix over the whole set. `protocol="batches"`: TMR's "guo" protocol — shuffle
    indices with `np.random.seed(seed)`, keep the `N // batch_size` full batches, average each metric.
    Example: `retrieval_metrics(z, z)["t2m/R01"] == 100.0` for distinct rows z.
    """
    tz, mz = _np(text_z), _np(motion_z)
    if tz.shape != mz.shape:
        raise ValueError(f"text latents {tz.shape} and motion latents {mz.shape} must pair up row by row")
    if protocol == "all":
        return contrastive_metrics(cosine_matrix(tz, mz), texts, text_emb, threshold)
    if protocol != "batches":
        raise ValueError(f"unknown retrieval protocol {protocol!r}: use 'all' or 'batches'")
    n = len(tz)
    if n < batch_size:
        raise ValueError(f"the 'batches' protocol needs at least {batch_size} pairs, got {n}: use protocol='all'")
    idx = np.arange(n)
    rng = np.random.RandomState(seed)  # TMR: np.random.seed(0); np.random.shuffle
    rng.shuffle(idx)
    runs = []
    for b in range(n // batch_size):
        sel = idx[b * batch_size:(b + 1) * batch_size]
        t = None if texts is None else [texts[i] for i in sel]
        e = None if text_emb is None else _np(text_emb)[sel]
        runs.append(contrastive_metrics(cosine_matrix(tz[sel], mz[sel]), t, e, threshold))
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0] if k != "n"}
    out["n"] = float(batch_size)
    out["batches"] = float(len(runs))
    return out


# --- recognition -------------------------------------------------------------------------------------------------

def topk_accuracy(scores, labels: Sequence, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Top-k accuracy (%) of `scores` `(N, C)`; `labels[i]` is one class index or a collection of them (a hit when
    any of them is among the k best, the BABEL-60 rule). Items with no label are an error, not skipped silently.
    Example: `topk_accuracy(np.eye(3), [0, 1, 2])` → `{"top1": 100.0, "top5": 100.0}`.
    """
    s = _np(scores)
    if len(labels) != len(s):
        raise ValueError(f"{len(s)} score rows but {len(labels)} labels")
    order = np.argsort(-s, axis=1, kind="stable")
    sets = [{int(x) for x in lab} if isinstance(lab, (set, frozenset, list, tuple, np.ndarray)) else {int(lab)}
            for lab in labels]
    if any(not x for x in sets):
        raise ValueError("every item needs at least one label: filter unlabelled items first and report them")
    out = {}
    for k in ks:
        out[f"top{k}"] = 100.0 * float(np.mean([bool(sets[i] & set(order[i, :k].tolist())) for i in range(len(s))]))
    return out


def confusion_matrix(pred: Sequence[int], true: Sequence[int], num_classes: int) -> np.ndarray:
    """`(C, C)` counts, rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, int), np.asarray(pred, int)), 1)
    return cm


# --- reconstruction ----------------------------------------------------------------------------------------------

def mpjpe(pred, target, root_relative: bool = True, root: int = 0) -> float:
    """Mean per-joint position error in millimetres between joint positions `(..., J, 3)` in metres.

    `root_relative=True` subtracts joint `root` (the pelvis) from every frame first, so only the pose counts;
    False compares global positions (pose + trajectory). Example: `mpjpe(x, x + [0.01, 0, 0], False)` → 10.0.
    """
    p, t = _np(pred), _np(target)
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and target {t.shape} joint positions must have the same shape")
    if root_relative:
        p = p - p[..., root:root + 1, :]
        t = t - t[..., root:root + 1, :]
    return 1000.0 * float(np.linalg.norm(p - t, axis=-1).mean())


def joint_angle_error(pred_rotmats, target_rotmats) -> float:
    """Mean geodesic angle in degrees between local joint rotations `(..., J, 3, 3)` (roma's geodesic distance).

    Example: identity vs a 90° rotation about any axis → 90.0.
    """
    import roma

    p = torch.as_tensor(pred_rotmats, dtype=torch.float64)
    t = torch.as_tensor(target_rotmats, dtype=torch.float64)
    return float(torch.rad2deg(roma.rotmat_geodesic_distance(p, t)).mean())


def acceleration(joints, fps: float = 30.0) -> float:
    """Mean joint acceleration magnitude (m/s²) of positions `(T, J, 3)`: a smoothness measure (jitter raises it)."""
    j = _np(joints)
    if len(j) < 3:
        return float("nan")
    acc = (j[2:] - 2 * j[1:-1] + j[:-2]) * fps ** 2
    return float(np.linalg.norm(acc, axis=-1).mean())
