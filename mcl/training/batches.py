"""From motions to training batches: validation split, chunks, per-epoch random windows, cached embedding tables.

The paper cuts each clip into non-overlapping 100-frame chunks and, every epoch, takes a random 60-frame window of
each chunk; the text of a window is its caption (BABEL: the distinct labels overlapping the window joined by
" and "). Texts are encoded once into a table (the space's disk cache makes reruns free) and batches carry indices
into it, so training never encodes a text per step. The image table holds one rendered frame per chunk (the paper),
only when the space has images and `mcl.render` is available.

Everything random about an epoch (order, window starts, caption choice) is drawn from `default_rng([seed, epoch])`,
so the data order is a pure function of (seed, epoch): resuming, or sharding across ranks, replays it exactly.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.errors import SkipReport
from ..data.motion import Motion, face_forward_tensor, mirror_motion  # noqa: F401 (mirror_motion: old home)
from ..data.windows import windows as cut_windows
from ..render.frames import training_frames


# --- validation split ------------------------------------------------------------------------------------------
def _hash01(name: str) -> float:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_motions(motions: list[Motion], how: str = "auto", fraction: float = 0.2, window: int = 60,
                  report: SkipReport | None = None) -> tuple[list[Motion], list[Motion], str]:
    """Deterministic train/validation split → `(train, val, description)`.

    `clip`: whole clips whose name hashes below `fraction` are held out (large corpora such as AMASS).
    `time`: the last `fraction` of every clip (at least one window) is held out; clips too short to give a window
    to each side stay whole in train (noted in `report`).
    `mirror`: train on every clip, validate on their left–right mirror images — unseen performances of every action.
    The right choice for DeepMimic: one clip per action (a clip split would remove actions) and most clips are
    shorter than two windows (a time split would leave almost nothing to validate on).
    `auto`: `clip` with ≥ 50 clips, else `mirror`. `none`: no validation.
    Example: `train, val, how = split_motions(motions, "time", 0.2)`.
    """
    if how == "auto":
        how = "clip" if len(motions) >= 50 else "mirror"
    if how == "none" or fraction <= 0:
        return list(motions), [], "none"
    if how == "mirror":
        return list(motions), [mirror_motion(m) for m in motions], \
            f"mirror: validation on the left-right mirror images of all {len(motions)} clips"
    train, val = [], []
    if how == "clip":
        for m in motions:
            (val if _hash01(m.name) < fraction else train).append(m)
        if not val and len(train) > 1:  # always validate on something
            val.append(train.pop(min(range(len(train)), key=lambda i: _hash01(train[i].name))))
        return train, val, f"clip: {len(val)} of {len(motions)} clips held out by name hash"
    if how != "time":
        raise ValueError(f"val_split={how!r}: expected 'auto', 'time', 'clip', 'mirror' or 'none'")
    for m in motions:
        n_val = max(window, int(round(fraction * m.num_frames)))
        if m.num_frames - n_val < window:
            if report is not None:
                report.add(m.name, f"too short to hold out a {window}-frame validation span; kept whole in train")
            train.append(m)
            continue
        cut = m.num_frames - n_val
        train.append(m.slice(0, cut))
        val.append(m.slice(cut, m.num_frames))
    return train, val, f"time: last {fraction:.0%} (≥ {window} frames) of {len(val)} of {len(motions)} clips held out"


# --- short clips and mirrored copies ----------------------------------------------------------------------------
def fit_to_window(m: Motion, length: int, notes: list[str] | None = None) -> Motion:
    """A clip of at least `length` frames: looping clips (`source["loop"] == "wrap"`) are repeated cycle after cycle
    (the root keeps advancing by one cycle's horizontal displacement); others hold their last frame. Longer clips
    are returned unchanged. Every extension is appended to `notes`. Example: DeepMimic's 39-frame walk → 3 cycles.
    """
    n = m.num_frames
    if n >= length:
        return m
    if m.source.get("loop") == "wrap" and n >= 3:
        cycle = n - 1  # the last key frame repeats the first
        step = m.trans[-1] - m.trans[0]
        step[1] = 0.0  # vertical drift is not carried from cycle to cycle
        reps = -(-(length - 1) // cycle)
        poses = np.concatenate([m.poses[:cycle]] * reps + [m.poses[:1]])
        trans = np.concatenate([m.trans[:cycle] + k * step for k in range(reps)] + [m.trans[:1] + reps * step])
        how = f"looped {reps}× ({n} → {len(poses)} frames)"
    else:
        pad = length - n
        poses = np.concatenate([m.poses, np.repeat(m.poses[-1:], pad, 0)])
        trans = np.concatenate([m.trans, np.repeat(m.trans[-1:], pad, 0)])
        how = f"held the last frame for {pad} frames ({n} → {length})"
    if notes is not None:
        notes.append(f"{m.name}: {how}")
    return m.replace(poses=poses, trans=trans, source=dict(m.source, extended=how))


# --- window captions -------------------------------------------------------------------------------------------
def _window_captions(chunk: Motion, start: int, length: int) -> list[str]:
    """The caption(s) of frames [start, start+length) of `chunk`, as `mcl.data.windows` would set them."""
    if chunk.segments:
        t0, t1 = start / chunk.fps, (start + length) / chunk.fps
        texts: list[str] = []
        for s in sorted(chunk.segments, key=lambda s: s.start):
            if s.end > t0 and s.start < t1 and min(s.end, t1) - max(s.start, t0) > 0 and s.text \
                    and s.text not in texts:
                texts.append(s.text)
        if texts:
            return [" and ".join(texts)]
    return [t for t in chunk.texts if t and t.strip()]


# --- the window set --------------------------------------------------------------------------------------------
@dataclass
class Batch:
    """One batch: `x (B, 25, 6, T)`, `text_idx (B,)` and `image_idx (B,)` into the embedding tables (−1: none).

    `x_phases (B, K, 25, 6, T)`, when asked for (`WindowSet.batch(..., phase_stride=N)`): for each window, itself and
    the other windows of its chunk that start every N frames and share its caption (repeats pad the rows to K), the
    targets of the closest-of `text_rc` term (`LossConfig.text_rc_stride`)."""
    x: torch.Tensor
    text_idx: torch.Tensor
    image_idx: torch.Tensor
    x_phases: torch.Tensor | None = None

    def to(self, device) -> "Batch":
        phases = None if self.x_phases is None else self.x_phases.to(device, non_blocking=True)
        return Batch(self.x.to(device, non_blocking=True), self.text_idx.to(device), self.image_idx.to(device), phases)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class EpochPlan:
    """The data order of one epoch: chunk `order (N,)`, window `starts (N,)`, chosen `text_idx (N,)`."""
    order: np.ndarray
    starts: np.ndarray
    text_idx: np.ndarray


class WindowSet:
    """Chunks of motion from which fixed-length windows are drawn.

    `chunks[i]` is a `(25, 6, L_i)` tensor (L_i ≥ window); `captions[i][s]` the caption ids for a window starting at
    frame s (one list when the caption does not depend on s); `image_idx[i]` the chunk's row of the image table.
    Example: `ws = WindowSet.build(motions, texts, window=60, chunk=100)`; `ws.batch(ws.plan(10, 0), range(20))`.
    """

    def __init__(self, chunks: list[torch.Tensor], captions: list[list[list[int]]], names: list[str],
                 window: int, motions: list[Motion] | None = None):
        self.chunks, self.captions, self.names, self.window = chunks, captions, names, window
        self.motions = motions or []  # chunk records (for rendering image frames)
        self.image_idx = torch.full((len(chunks),), -1, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.chunks)

    @classmethod
    def build(cls, motions: list[Motion], text_ids: dict[str, int], window: int = 60, chunk: int = 100,
              fixed: bool = False, report: SkipReport | None = None, desc: str = "chunks",
              notes: list[str] | None = None) -> "WindowSet":
        """Cut `motions` (already at the training fps) into chunks; `text_ids` grows with every new caption.

        `fixed=True` (and validation) uses non-overlapping `window`-frame windows, i.e. chunk = window.
        A clip shorter than a chunk but at least a window long becomes one chunk of its own length; a clip shorter
        than a window is extended first (`fit_to_window`: looped when it loops, else its last frame held).
        """
        report = report if report is not None else SkipReport()
        length = window if fixed else chunk
        pieces: list[Motion] = []
        for m in motions:
            m = fit_to_window(m, window, notes)
            if not fixed and window <= m.num_frames < chunk:
                pieces.append(m)
            else:
                pieces += cut_windows(m, length, report=report)
        chunks, captions, names = [], [], []
        for c in tqdm(pieces, desc=desc, leave=False, disable=len(pieces) < 500):
            chunks.append(c.to_tensor())
            n_starts = c.num_frames - window + 1
            varies = bool(c.segments) and n_starts > 1
            per_start = [_window_captions(c, s, window) for s in (range(n_starts) if varies else [0])]
            captions.append([[text_ids.setdefault(t, len(text_ids)) for t in caps] for caps in per_start])
            names.append(c.name)
        return cls(chunks, captions, names, window, pieces)

    def plan(self, seed: int, epoch: int, random_windows: bool = True) -> EpochPlan:
        """The epoch's order, window starts and caption choice, drawn from `default_rng([seed, epoch])`."""
        rng = np.random.default_rng([seed, epoch])
        n = len(self)
        order = rng.permutation(n)
        lengths = np.array([c.shape[-1] for c in self.chunks])
        starts = (rng.integers(0, lengths - self.window + 1) if random_windows else np.zeros(n, np.int64))
        pick = rng.random(n)  # caption choice, one uniform number per chunk
        text_idx = np.full(n, -1, np.int64)
        for i in range(n):
            caps = self.captions[i][starts[i] if len(self.captions[i]) > 1 else 0]
            if caps:
                text_idx[i] = caps[int(pick[i] * len(caps))]
        return EpochPlan(order, starts.astype(np.int64), text_idx)

    def fixed_plan(self) -> EpochPlan:
        """Every chunk in order, window at its start, first caption: for validation."""
        n = len(self)
        text_idx = np.array([(c[0][0] if c[0] else -1) for c in self.captions], np.int64)
        return EpochPlan(np.arange(n), np.zeros(n, np.int64), text_idx)

    def batch(self, plan: EpochPlan, positions, phase_stride: int = 0) -> Batch:
        """The windows at `positions` of `plan`, translation relative to each window's first frame, heading to +z.

        `phase_stride > 0` also gives `x_phases`: each window with its chunk's windows starting every `phase_stride`
        frames whose caption is the window's (see `Batch`), normalised the same way.
        """
        pos = np.asarray(list(positions), np.int64)
        idx = plan.order[pos]
        starts = [int(plan.starts[i]) for i in idx]
        phases = None
        if phase_stride > 0:
            alts = [[s] + self._phase_starts(int(i), s, phase_stride) for i, s in zip(idx, starts)]
            k = max(len(a) for a in alts)
            alts = [a + [a[0]] * (k - len(a)) for a in alts]  # a repeat of the window itself never changes the min
            flat = self._windows([(int(i), s) for i, a in zip(idx, alts) for s in a])
            phases = flat.reshape(len(idx), k, *flat.shape[1:])
            x = phases[:, 0]  # each row starts with the window itself: not cut and turned twice
        else:
            x = self._windows([(int(i), s) for i, s in zip(idx, starts)])
        return Batch(x, torch.from_numpy(plan.text_idx[idx]), self.image_idx[torch.from_numpy(idx)], phases)

    def _phase_starts(self, i: int, start: int, stride: int) -> list[int]:
        """The other window starts of chunk `i`, every `stride` frames, whose captions are those at `start`."""
        caps = self.captions[i]
        last = self.chunks[i].shape[-1] - self.window
        return [s for s in range(0, last + 1, stride)
                if s != start and (len(caps) == 1 or caps[s] == caps[start])]

    def _windows(self, items: list[tuple[int, int]]) -> torch.Tensor:
        """`(N, 25, 6, T)`: window (chunk, start) of each item, translation from its first frame, facing +z."""
        xs = []
        for i, s in items:
            x = self.chunks[i][..., s:s + self.window].clone()
            x[24, :3] -= x[24, :3, :1].clone()
            xs.append(x)
        # every window faces +z at its first frame: a caption cannot say which way the body faces
        return face_forward_tensor(torch.stack(xs))


# --- embedding tables ------------------------------------------------------------------------------------------
def embed_texts(space, texts: list[str], batch_size: int = 256, progress: bool = True) -> torch.Tensor:
    """`(N, D)` float32 embeddings of `texts`, encoded once in batches (the space's disk cache makes reruns free).

    Example: `table = embed_texts(CachedSpace(get_space("minilm")), ["walk", "run"])`.
    """
    if not texts:
        return torch.zeros(0, int(space.dim))
    out = []
    for i in tqdm(range(0, len(texts), batch_size), desc="encoding texts", leave=False,
                  disable=not progress or len(texts) <= batch_size):
        out.append(torch.as_tensor(space.encode_text(texts[i:i + batch_size])).float().cpu())
    return torch.cat(out)


def embed_images(space, images: np.ndarray, batch_size: int = 64, progress: bool = True) -> torch.Tensor:
    """`(N, D)` embeddings of uint8 images `(N, H, W, 3)`. Example: `embed_images(space, training_frames(ws))`."""
    out = []
    for i in tqdm(range(0, len(images), batch_size), desc="encoding images", leave=False, disable=not progress):
        out.append(torch.as_tensor(space.encode_image(images[i:i + batch_size])).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, int(space.dim))


def attach_images(sets: list[WindowSet], space, cache_dir=None, progress: bool = True) -> tuple[torch.Tensor | None, str]:
    """Render one frame per chunk of every set, embed them, set each set's `image_idx`. → `(table, message)`.

    Returns `(None, why)` when the space has no image encoder.
    Example: `table, msg = attach_images([train_set, val_set], space)`.
    """
    if not getattr(space, "has_images", False):
        return None, f"image loss disabled: space {getattr(space, 'name', space)!r} has no image encoder"
    tables, offset = [], 0
    for ws in sets:
        if not len(ws):
            continue
        frames = training_frames(ws.motions, frame="middle", cache_dir=cache_dir, progress=progress)
        tables.append(embed_images(space, frames, progress=progress))
        ws.image_idx = torch.arange(offset, offset + len(ws))
        offset += len(ws)
    return (torch.cat(tables) if tables else None), f"image loss on: {offset} rendered frames"
