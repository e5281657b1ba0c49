"""MotionCLIP's loss terms, each returned separately so every one can be logged.

    total = w_rc·MSE(x̂, x) + w_body·MSE(body(x̂), body(x)) + w_vel·MSE(Δx̂, Δx) + w_text·align(z, text) + w_image·align(z, image)

`x` is the `(B, 25, 6, T)` pose tensor (24 rot6d rows + the translation row). As in the official code the velocity
term is taken over the whole tensor (rot6d and translation). The body term uses SMPL-24 joint positions from forward
kinematics, or, with `LossConfig.body="vertices"` and SMPL model files (`MCL_SMPL_DIR`), SMPL's 6890 vertices as in
the paper and the official code (`jointstype="vertices"`). Alignment is the paper's 1 − cos, or a
symmetric InfoNCE in which windows that share the same text (or image) index are masked out of each other's
negatives (their embeddings are identical, so they could never be told apart).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..body.mesh import SmplMesh, load_body_mesh
from ..body.rotations import rot6d_to_rotmat
from ..body.skeleton import NUM_JOINTS, Skeleton, forward_kinematics, load_skeleton, smpl_dir
from .config import LossConfig


def joints_from_tensor(x: torch.Tensor, skeleton: Skeleton | None = None) -> torch.Tensor:
    """`(B, 25, 6, T)` pose tensor → `(B, T, 24, 3)` joint positions (translation relative to frame 0).

    Differentiable; any 6 numbers are mapped to a rotation by Gram–Schmidt first.
    Example: `joints_from_tensor(motion.to_tensor()[None])[0, 0, 0]` is the pelvis at the origin.
    """
    f = x.permute(0, 3, 1, 2)                                   # (B, T, 25, 6)
    rotmats = rot6d_to_rotmat(f[:, :, :NUM_JOINTS])             # (B, T, 24, 3, 3)
    return forward_kinematics(rotmats, f[:, :, NUM_JOINTS, :3], skeleton)


def vertices_from_tensor(x: torch.Tensor, mesh) -> torch.Tensor:
    """`(B, 25, 6, T)` pose tensor → `(B, T, V, 3)` SMPL vertices (`mesh`: a `mcl.body.mesh.SmplMesh`), with the
    same translation as `joints_from_tensor`. Differentiable. Example: `vertices_from_tensor(x, load_body_mesh())`.
    """
    f = x.permute(0, 3, 1, 2)
    return mesh.vertices_from_rotmats(rot6d_to_rotmat(f[:, :, :NUM_JOINTS]), f[:, :, NUM_JOINTS, :3])


def body_mesh_for_loss(body: str):
    """The SMPL mesh the body term needs (`body="vertices"`), else None. Raises with what to do when SMPL is absent.

    >>> body_mesh_for_loss("joints") is None
    True
    """
    if body != "vertices":
        return None
    mesh = load_body_mesh(quiet=True)
    if not isinstance(mesh, SmplMesh):
        raise ValueError("loss.body='vertices' needs SMPL model files: set MCL_SMPL_DIR to the folder with "
                         "SMPL_NEUTRAL.npz (see mcl/body/smpl.py), or use loss.body='joints'")
    return mesh


def resolve_body(body: str) -> str:
    """`"auto"` → `"vertices"` when SMPL model files are configured (`MCL_SMPL_DIR`), else `"joints"`."""
    if body != "auto":
        return body
    return "vertices" if smpl_dir() is not None else "joints"


def window_weights(x: torch.Tensor) -> torch.Tensor:
    """`(B, 25, 6, T)` → `(B,)` weights of mean 1: 1 / (the window's pose variance over time + the batch's median).

    Squared errors grow with how much a window moves, so a run's trajectory and legs outweigh a wave's forearm by
    ~10× in the plain mean, and the optimiser serves the runs. These weights even that out, bounded: a still window
    weighs at most (largest variance + median) / median times a moving one.
    >>> x = torch.zeros(3, 25, 6, 10); x[1] += torch.arange(10.0); x[2] += 3 * torch.arange(10.0)
    >>> [round(float(w), 2) for w in window_weights(x)]
    [1.88, 0.94, 0.19]
    """
    v = x.detach().var(-1).mean((1, 2))
    w = 1 / (v + v.median() + 1e-8)
    return w / w.mean()


def _mse(a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error, each row (window) weighted by `weights (B,)` when given."""
    if weights is None:
        return F.mse_loss(a, b)
    return ((a - b).square().flatten(1).mean(1) * weights).mean()


def reconstruction_losses(x: torch.Tensor, x_hat: torch.Tensor, skeleton: Skeleton | None = None,
                          body: bool = True, x_joints: torch.Tensor | None = None, mesh=None,
                          weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """`rc`, `body` and `vel` MSE terms between `x` and `x_hat` `(B, 25, 6, T)` (unweighted; `weights (B,)` weigh
    the windows, see `window_weights`).

    The body term compares SMPL vertices when `mesh` (an `SmplMesh`) is given, else SMPL-24 joints from forward
    kinematics; `x_joints` may carry precomputed target joints `(B, T, 24, 3)`.
    >>> x = torch.randn(2, 25, 6, 60)
    >>> {k: float(v) for k, v in reconstruction_losses(x, x).items()}
    {'rc': 0.0, 'vel': 0.0, 'body': 0.0}
    """
    out = {"rc": _mse(x_hat, x, weights),
           "vel": _mse(x_hat[..., 1:] - x_hat[..., :-1], x[..., 1:] - x[..., :-1], weights)}
    if body and mesh is not None:
        with torch.no_grad():
            target = vertices_from_tensor(x, mesh)
        out["body"] = _mse(vertices_from_tensor(x_hat, mesh), target, weights)
    elif body:
        sk = skeleton or load_skeleton()
        if x_joints is None:
            with torch.no_grad():
                x_joints = joints_from_tensor(x, sk)
        out["body"] = _mse(joints_from_tensor(x_hat, sk), x_joints, weights)
    return out


def spectrum(x: torch.Tensor) -> torch.Tensor:
    """Magnitude of each feature's Fourier transform over time, `(..., T)` → `(..., T // 2 + 1)`, the mean removed
    and per frame (a sine of amplitude a shows a/2 at its frequency whatever its phase)."""
    f = torch.fft.rfft(x - x.mean(-1, keepdim=True), dim=-1)
    return (f.real.square() + f.imag.square() + 1e-12).sqrt() / x.shape[-1]


def spectral_loss(x_hat: torch.Tensor, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """L1 between the `spectrum`s of `x_hat` and `x` `(B, 25, 6, T)`: a wave of the right frequency and size costs
    nothing whatever its phase, a held pose costs the wave's whole spectrum.
    >>> t = torch.arange(60.0) * 2 * torch.pi * 4 / 60  # four cycles in the window
    >>> wave, late = torch.sin(t).expand(1, 25, 6, 60), torch.sin(t + 1.5).expand(1, 25, 6, 60)
    >>> round(float(spectral_loss(late, wave)), 6), round(float(spectral_loss(0 * wave, wave)), 4)
    (0.0, 0.0161)
    """
    per = (spectrum(x_hat) - spectrum(x)).abs().flatten(1).mean(1)
    return (per if weights is None else per * weights).mean()


def cosine_alignment(z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Mean of 1 − cos(z_i, e_i) over the rows, `z (B, D)`, `e (B, D)`. The paper's text/image term."""
    return (1 - F.cosine_similarity(z, e, dim=-1, eps=1e-6)).mean()


def infonce_alignment(z: torch.Tensor, e: torch.Tensor, ids: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE between motions `z (B, D)` and embeddings `e (B, D)` (row i's positive is column i).

    `ids (B,)` says which rows carry the same text/image. Those share one embedding, so as negatives they would be
    exact ties that no model can separate (a floor of log k on the loss); they are masked out of each other's
    denominators instead. With unique ids this is standard CLIP-style InfoNCE.
    Example: `infonce_alignment(z, e, torch.arange(len(z)))`.
    """
    logits = F.normalize(z, dim=-1) @ F.normalize(e, dim=-1).T / temperature   # (B, B)
    same = ids[:, None] == ids[None, :]
    twins = same & ~torch.eye(len(ids), dtype=torch.bool, device=ids.device)
    logits = logits.masked_fill(twins, float("-inf"))
    target = torch.arange(len(ids), device=ids.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def alignment_loss(z: torch.Tensor, table: torch.Tensor, idx: torch.Tensor, cfg: LossConfig) -> torch.Tensor | None:
    """Alignment of `z (B, D)` with rows `idx (B,)` of an embedding `table (N, D)`; rows with idx < 0 are left out.

    Returns None when no row of the batch has an embedding.
    """
    keep = idx >= 0
    if not bool(keep.any()):
        return None
    z, idx = z[keep], idx[keep]
    e = table[idx]
    if cfg.alignment == "cosine":
        return cosine_alignment(z, e)
    return infonce_alignment(z, e, idx, cfg.temperature)


def text_rc_closest(x_text: torch.Tensor, candidates: torch.Tensor, weights: torch.Tensor | None = None
                    ) -> torch.Tensor:
    """Mean over rows of the MSE between `x_text (B, 25, 6, T)` and the closest of its `candidates (B, K, 25, 6, T)`.

    A winner-takes-all target: the decode of a text that names a periodic motion may settle on one phase instead of
    the mean of all phases. With K = 1 it is the plain MSE.
    >>> x = torch.zeros(2, 25, 6, 4); c = torch.stack([torch.ones_like(x), torch.zeros_like(x)], 1)
    >>> float(text_rc_closest(x, c)), float(text_rc_closest(x, c[:, :1]))
    (0.0, 1.0)
    """
    per = ((x_text[:, None] - candidates) ** 2).flatten(2).mean(-1).min(dim=1).values   # (B,)
    return (per if weights is None else per * weights).mean()


def total_loss(terms: dict[str, torch.Tensor], cfg: LossConfig) -> torch.Tensor:
    """Weighted sum of the terms present (`rc`, `body`, `vel`, `text`, `image`, `text_rc`, `spec`, `text_spec`).

    >>> round(float(total_loss({"rc": torch.tensor(0.1), "text": torch.tensor(0.5)}, LossConfig())), 4)  # 100·.1 + .5
    10.5
    """
    weights = {"rc": cfg.w_rc, "body": cfg.w_body, "vel": cfg.w_vel, "text": cfg.w_text, "image": cfg.w_image,
               "text_rc": cfg.w_text_rc, "spec": cfg.w_spec, "text_spec": cfg.w_spec}
    return sum(weights[k] * v for k, v in terms.items() if weights.get(k, 0.0))


def compute_losses(z: torch.Tensor, x_hat: torch.Tensor, x: torch.Tensor, cfg: LossConfig,
                   text_table: torch.Tensor | None = None, text_idx: torch.Tensor | None = None,
                   image_table: torch.Tensor | None = None, image_idx: torch.Tensor | None = None,
                   skeleton: Skeleton | None = None, x_text: torch.Tensor | None = None, mesh=None,
                   x_phases: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """All loss terms of one batch and their weighted total.

    `x_text (B, 25, 6, T)`: the windows decoded from their text embeddings (`MotionCLIP.forward(x, text_emb)`),
    giving the `text_rc` term (MSE to `x` over the windows that have a text); with `x_phases (B, K, 25, 6, T)` (see
    `batches.Batch`) the MSE to the closest of each window's K candidates instead (`text_rc_closest`). `mesh`: the
    SMPL mesh when the body term is on vertices (`body_mesh_for_loss`).

    Shapes: `z (B, D)`, `x_hat, x (B, 25, 6, T)`, tables `(N, D)`, index vectors `(B,)` (−1: no embedding).
    Terms with weight 0 or without a table are not computed. Returns `(total, {name: unweighted term})`.
    Example: `total, terms = compute_losses(z, x_hat, x, LossConfig(), texts, batch.text_idx)`.
    """
    weights = window_weights(x) if cfg.balance_windows else None
    terms = reconstruction_losses(x, x_hat, skeleton, body=cfg.w_body != 0, mesh=mesh, weights=weights)
    if cfg.w_spec:
        terms["spec"] = spectral_loss(x_hat, x, weights)
    if cfg.w_text and text_table is not None and text_idx is not None:
        t = alignment_loss(z, text_table, text_idx, cfg)
        if t is not None:
            terms["text"] = t
    if x_text is not None and text_idx is not None and bool((text_idx >= 0).any()):
        has = text_idx >= 0
        w = None if weights is None else weights[has]
        terms["text_rc"] = (text_rc_closest(x_text[has], x_phases[has], w) if x_phases is not None
                            else _mse(x_text[has], x[has], w))
        if cfg.w_spec:
            terms["text_spec"] = spectral_loss(x_text[has], x[has], w)
    if cfg.w_image and image_table is not None and image_idx is not None:
        t = alignment_loss(z, image_table, image_idx, cfg)
        if t is not None:
            terms["image"] = t
    return total_loss(terms, cfg), terms
