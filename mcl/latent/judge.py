"""An independent judge: a small classifier trained on REAL motions only, used to score decoded motions.

A MotionCLIP run must never grade its own decodes (re-encoding a decode with the same model rewards whatever the
decoder and encoder agree on, not a recognisable motion). The judge knows nothing of the latent model: it reads
joint positions. Recipe (`FEATURES`, version 1):

- each motion is resampled to 30 fps and cut into 60-frame windows (non-overlapping; a motion gives the mean of its
  windows' probabilities, so decodes of 60 frames give one window); shorter motions are an error;
- forward kinematics (SMPL-24), the window turned to face +z at its first frame, trajectory relative to frame 0
  (decodes carry no absolute height);
- per frame, the 23 joints relative to the pelvis and turned by that frame's own heading (the pose, whichever way the
  body faces), and their velocities;
- summarised over time: mean / std / min / max of every joint-axis of the pose, mean |velocity| and std of velocity
  per joint-axis, mean and std of every joint's speed; the pelvis velocity in the body's frame (mean / std), the
  heading's turn rate (mean, std, total turn) and the pelvis height change (std / min / max): 474 numbers;
- standardised (mean / std of the training windows), then one multinomial logistic regression per head
  (scikit-learn, `LogisticRegression`); prediction is plain numpy on the saved arrays.

Saved without pickle: `judge.safetensors` (scaler and each head's coefficients and intercepts) + `judge.json` (class
names, label keys, feature recipe, training data, held-out accuracy and confusion, a `weak` flag per head whose
held-out top-1 is below `WEAK_BELOW`). Example:

    from mcl.latent.judge import train_judge, Judge
    judge = train_judge(make_windows(load("bandai?split=train")), label_keys=("content", "style"))
    judge.evaluate(make_windows(load("bandai?split=test")))["style"]["top1"]
    judge.save("judges/bandai"); Judge.load("judges/bandai").predict(decoded)["content"]
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from ..body.rotations import rotvec_to_rotmat
from ..body.skeleton import joints_from_rotvec
from ..data.errors import DataError, SkipReport
from ..data.motion import Motion, heading, yaw_rotmat
from ..data.windows import WINDOW_FPS, WINDOW_FRAMES, windows as cut
from ..paths import pretrained_path
from . import metrics

__all__ = ["FEATURES", "WEAK_BELOW", "Judge", "features", "train_judge"]

FORMAT = "mcl-judge"
VERSION = 1
FEATURES = ("v1: 60-frame windows at 30 fps; SMPL-24 FK faced forward at frame 0, trajectory from frame 0; pelvis-"
            "relative joints turned by each frame's heading + velocities; per joint-axis mean/std/min/max (pose), "
            "mean|v|/std(v), per-joint speed mean/std; pelvis velocity in the body frame mean/std, turn rate mean/"
            "std/total, pelvis height std/min/max; standardised")
NUM_FEATURES = 474
WEAK_BELOW = 60.0  # held-out top-1 (%) under which a head is flagged weak
JSON_NAME, WEIGHTS_NAME = "judge.json", "judge.safetensors"


# --- features ------------------------------------------------------------------------------------------------------

def _window_features(poses: np.ndarray, trans: np.ndarray, fps: float = WINDOW_FPS) -> np.ndarray:
    """`(N, T, 24, 3)` axis-angle + `(N, T, 3)` pelvis positions (already faced forward) → `(N, NUM_FEATURES)`."""
    p = torch.from_numpy(np.ascontiguousarray(poses, dtype=np.float32))
    t = torch.from_numpy(np.ascontiguousarray(trans, dtype=np.float32))
    t = t - t[:, :1]
    with torch.no_grad():
        joints = joints_from_rotvec(p, t)                                   # (N, T, 24, 3)
        yaw = heading(rotvec_to_rotmat(p[:, :, 0]))                         # (N, T)
        yaw = torch.from_numpy(np.unwrap(yaw.numpy(), axis=1))
        unturn = yaw_rotmat(-yaw)                                           # (N, T, 3, 3)
        rel = joints[:, :, 1:] - joints[:, :, :1]                           # (N, T, 23, 3)
        pose = torch.einsum("ntij,ntkj->ntki", unturn, rel)                 # each frame in its own heading
        vel = torch.diff(pose, dim=1) * fps                                 # (N, T-1, 23, 3)
        speed = torch.linalg.norm(torch.diff(joints, dim=1), dim=-1) * fps  # (N, T-1, 24)
        root_v = torch.diff(joints[:, :, 0], dim=1) * fps                   # (N, T-1, 3)
        root_v = torch.einsum("ntij,ntj->nti", unturn[:, :-1], root_v)      # in the body's frame
        turn = torch.diff(yaw, dim=1) * fps                                 # (N, T-1) rad/s
        height = joints[:, :, 0, 1] - joints[:, :1, 0, 1]                   # (N, T)
    n = p.shape[0]
    flat = lambda x: x.reshape(n, -1).double()  # noqa: E731
    parts = [flat(pose.mean(1)), flat(pose.std(1)), flat(pose.amin(1)), flat(pose.amax(1)),
             flat(vel.abs().mean(1)), flat(vel.std(1)), flat(speed.mean(1)), flat(speed.std(1)),
             flat(root_v.mean(1)), flat(root_v.std(1)),
             torch.stack([turn.mean(1), turn.std(1), yaw[:, -1] - yaw[:, 0]], 1).double(),
             torch.stack([height.std(1), height.amin(1), height.amax(1)], 1).double()]
    out = torch.cat(parts, dim=1).numpy()
    assert out.shape[1] == NUM_FEATURES, out.shape
    return out


def _windows_of(m: Motion, frames: int) -> list[Motion]:
    m = m.resample(WINDOW_FPS)
    if m.num_frames < frames:
        raise ValueError(f"judge: motion {m.name!r} has {m.num_frames} frames at 30 fps, shorter than the judge's "
                         f"{frames}-frame window")
    if len(m.nan_frames()):
        raise ValueError(f"judge: motion {m.name!r} has NaN/inf values")
    return cut(m, length=frames)


def features(motions: Sequence[Motion], frames: int = WINDOW_FRAMES, progress: bool = False,
             batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Features of every 60-frame window of `motions` → `(X (W, NUM_FEATURES), owner (W,))`, `owner[i]` = index of
    the motion window i came from. Example: `X, owner = features(decoded)`."""
    ws, owner = [], []
    for i, m in enumerate(motions):
        got = _windows_of(m, frames)
        ws += got
        owner += [i] * len(got)
    if not ws:
        raise ValueError("judge: no motions to score")
    faced = [w.face_forward() for w in ws]
    out = []
    for s in tqdm(range(0, len(faced), batch), desc="judge features", unit="batch", disable=not progress or None,
                  leave=False):
        chunk = faced[s:s + batch]
        out.append(_window_features(np.stack([w.poses for w in chunk]), np.stack([w.trans for w in chunk])))
    return np.concatenate(out), np.asarray(owner)


# --- the judge -----------------------------------------------------------------------------------------------------

@dataclass
class Head:
    """One classifier: `label_key` (e.g. "style"), `classes`, `coef (C, F)`, `intercept (C,)`."""
    label_key: str
    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray


@dataclass
class Judge:
    """A trained judge: the scaler (`mean`, `scale`), one `Head` per label key, and `info` (what `judge.json` says).

    Example: `Judge.load("judges/bandai").predict(text_to_motion(run, ["a person runs"]))` → `{"content": ["run"],
    "style": [...]}`.
    """
    mean: np.ndarray
    scale: np.ndarray
    heads: dict[str, Head]
    frames: int = WINDOW_FRAMES
    info: dict = field(default_factory=dict)

    def predict_proba(self, motions: Sequence[Motion], progress: bool = False) -> dict[str, np.ndarray]:
        """`{head: (N, classes) probabilities}`, a motion's windows averaged."""
        X, owner = features(motions, self.frames, progress=progress)
        return self._proba(X, owner, len(motions))

    def _proba(self, X: np.ndarray, owner: np.ndarray, n: int) -> dict[str, np.ndarray]:
        Z = (X - self.mean) / self.scale
        out = {}
        for name, h in self.heads.items():
            logits = Z @ h.coef.T + h.intercept
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            agg = np.zeros((n, len(h.classes)))
            np.add.at(agg, owner, p)
            out[name] = agg / np.bincount(owner, minlength=n)[:, None]
        return out

    def predict(self, motions: Sequence[Motion], progress: bool = False) -> dict[str, list[str]]:
        """`{head: [predicted class per motion]}`. Example: `judge.predict(decoded)["style"]`."""
        return {name: [self.heads[name].classes[i] for i in p.argmax(1)]
                for name, p in self.predict_proba(motions, progress).items()}

    def evaluate(self, windows: Sequence[Motion], progress: bool = False) -> dict[str, dict]:
        """Top-1 (%), chance, per-class top-1 and confusion (rows = true) of each head on labelled REAL windows.

        Windows without a label of a head's classes are left out of that head (counted in `skipped`).
        """
        probs = self.predict_proba(windows, progress)
        out = {}
        for name, h in self.heads.items():
            idx = {c: i for i, c in enumerate(h.classes)}
            true = np.array([idx.get(str(w.labels.get(h.label_key)), -1) for w in windows])
            keep = true >= 0
            if not keep.any():
                raise ValueError(f"judge head {name!r}: none of {len(windows)} windows has a label under "
                                 f"{h.label_key!r} among {h.classes}")
            pred = probs[name].argmax(1)[keep]
            t = true[keep]
            per = {c: round(100.0 * float((pred[t == i] == i).mean()), 1) for i, c in enumerate(h.classes)
                   if (t == i).any()}
            out[name] = {"top1": round(100.0 * float((pred == t).mean()), 2), "n": int(keep.sum()),
                         "skipped": int((~keep).sum()), "chance": round(100.0 / len(h.classes), 2),
                         "classes": h.classes, "per_class": per,
                         "confusion": metrics.confusion_matrix(pred, t, len(h.classes)).tolist()}
        return out

    def weak(self) -> dict[str, bool]:
        """Per head: is its held-out top-1 (recorded at training) below `WEAK_BELOW`, or unmeasured?"""
        held = self.info.get("held_out") or {}
        return {name: (name not in held) or held[name]["top1"] < WEAK_BELOW for name in self.heads}

    # --- files -------------------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write `judge.safetensors` + `judge.json` into `folder` (created). No pickle."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"mean": self.mean, "scale": self.scale}
        for name, h in self.heads.items():
            arrays[f"{name}.coef"], arrays[f"{name}.intercept"] = h.coef, h.intercept
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}, str(folder / WEIGHTS_NAME))
        meta = dict(self.info, format=FORMAT, version=VERSION, features=FEATURES, num_features=NUM_FEATURES,
                    frames=self.frames, fps=WINDOW_FPS,
                    heads={n: {"label_key": h.label_key, "classes": h.classes} for n, h in self.heads.items()})
        meta["weak_heads"] = [n for n, w in self.weak().items() if w]
        (folder / JSON_NAME).write_text(json.dumps(meta, indent=1, default=str) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "Judge":
        """Read a judge written by `save` (a folder, or its `judge.json`, or the name of a shipped model: its judge);
        every problem names the file and field."""
        folder = pretrained_path(folder, "judge")
        if folder.name == JSON_NAME:
            folder = folder.parent
        jf, wf = folder / JSON_NAME, folder / WEIGHTS_NAME
        for f in (jf, wf):
            if not f.is_file():
                raise DataError(f, "missing", "pass a folder written by `mcl judge train` (judge.json + "
                                              "judge.safetensors)")
        try:
            meta = json.loads(jf.read_text())
        except ValueError as e:
            raise DataError(jf, f"not JSON ({e})", "retrain the judge with `mcl judge train`") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise DataError(jf, f"field 'format' is {meta.get('format') if isinstance(meta, dict) else None!r}, "
                                f"expected {FORMAT!r}", "not a judge file")
        if meta.get("version") != VERSION or meta.get("features") != FEATURES:
            raise DataError(jf, f"field 'version'/'features' ({meta.get('version')!r}) is not this mcl's feature "
                                f"recipe (version {VERSION})", "retrain the judge with this mcl: mcl judge train")
        try:
            arrays = load_file(str(wf))
        except (SafetensorError, OSError) as e:
            raise DataError(wf, f"unreadable ({e})", "retrain the judge with `mcl judge train`") from None
        heads = {}
        heads_meta = meta.get("heads")
        if not isinstance(heads_meta, dict) or not heads_meta:
            raise DataError(jf, "field 'heads' is missing or empty", 'expected {"content": {"label_key": ..., '
                                                                      '"classes": [...]}, ...}')
        F = NUM_FEATURES
        for key in ("mean", "scale"):
            if key not in arrays or arrays[key].shape != (F,):
                raise DataError(wf, f"tensor {key!r} is missing or not of shape ({F},)", "retrain the judge")
        if not np.all(arrays["scale"] > 0) or not all(np.isfinite(a).all() for a in arrays.values()):
            raise DataError(wf, "non-finite values or a non-positive 'scale'", "retrain the judge")
        for name, h in heads_meta.items():
            classes = h.get("classes") if isinstance(h, dict) else None
            if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
                raise DataError(jf, f"field 'heads.{name}.classes' must list ≥ 2 class names", "retrain the judge")
            C = len(classes)
            coef, icpt = arrays.get(f"{name}.coef"), arrays.get(f"{name}.intercept")
            if coef is None or icpt is None or coef.shape != (C, F) or icpt.shape != (C,):
                raise DataError(wf, f"tensors '{name}.coef' ({C}, {F}) / '{name}.intercept' ({C},) missing or of "
                                    f"another shape than heads.{name}.classes in {JSON_NAME}", "retrain the judge")
            heads[name] = Head(str(h.get("label_key", name)), classes, coef, icpt)
        info = {k: v for k, v in meta.items() if k not in ("heads", "format", "version", "features", "num_features",
                                                          "frames", "fps", "weak_heads")}
        return cls(arrays["mean"], arrays["scale"], heads, int(meta.get("frames", WINDOW_FRAMES)), info)


def train_judge(windows: Sequence[Motion], label_keys: Sequence[str] = ("content", "style"), C: float = 1.0,
                held_out: Sequence[Motion] | None = None, data: str = "", progress: bool = True,
                report: SkipReport | None = None) -> Judge:
    """Train one logistic-regression head per label key on labelled REAL windows (≥ 60 frames at 30 fps each).

    `held_out`: labelled real windows never trained on; their top-1 and confusion per head go into `judge.info`
    (and `judge.json`). A window without one of the labels is left out of that head and counted in `report`.
    `C`: inverse L2 strength. Example: `train_judge(make_windows(load("bandai?split=train")), held_out=test_ws)`.
    """
    report = report if report is not None else SkipReport()
    if not windows:
        raise ValueError("train_judge() got no windows")
    if not label_keys:
        raise ValueError("train_judge(): no label keys")
    X, owner = features(windows, progress=progress)
    mean, scale = X.mean(0), X.std(0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    Z = (X - mean) / scale
    heads = {}
    for key in tqdm(list(label_keys), desc="judge heads", disable=not progress or None, leave=False):
        labels = [w.labels.get(key) for w in windows]
        for w, lab in zip(windows, labels):
            if not isinstance(lab, str):
                report.add(w.name, f"no {key!r} label (the judge's {key} head leaves it out)")
        classes = sorted({lab for lab in labels if isinstance(lab, str)})
        if len(classes) < 2:
            raise ValueError(f"judge head {key!r}: needs ≥ 2 classes among the windows' labels[{key!r}], found "
                             f"{classes} (labels present: {sorted({k for w in windows for k in w.labels})})")
        y_win = np.array([classes.index(lab) if isinstance(lab, str) else -1 for lab in labels])
        y = y_win[owner]
        keep = y >= 0
        clf = LogisticRegression(C=C, max_iter=3000)
        clf.fit(Z[keep], y[keep])
        if list(clf.classes_) != list(range(len(classes))):
            raise ValueError(f"judge head {key!r}: classes {classes} not all present")
        coef, icpt = clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)
        if len(classes) == 2:  # sklearn keeps one row for two classes: logits [0, z] give the same probabilities
            coef, icpt = np.concatenate([np.zeros_like(coef), coef]), np.concatenate([np.zeros_like(icpt), icpt])
        heads[key] = Head(key, classes, coef, icpt)
    info = {"trained_on": data, "train_windows": int(len(X)), "C": C, "classifier": "sklearn LogisticRegression "
            "(multinomial, L2), one per head", "real_motions_only": True}
    judge = Judge(mean, scale, heads, WINDOW_FRAMES, info)
    train_acc = judge._proba(X, owner, len(windows))
    info["train_top1"] = {k: round(100.0 * float(np.mean([heads[k].classes[i] == w.labels.get(k)
                                                          for i, w in zip(p.argmax(1), windows)])), 2)
                          for k, p in train_acc.items()}
    if held_out:
        info["held_out"] = judge.evaluate(held_out, progress=progress)
        weak = [k for k, w in judge.weak().items() if w]
        if weak:
            info["warning"] = (f"weak head(s) {weak}: held-out top-1 below {WEAK_BELOW:.0f} % on real motions; "
                               "scores judged by them are only meaningful relative to that accuracy")
    else:
        info["warning"] = "no held-out measurement: the judge's accuracy on unseen real motions is unknown"
    return judge
