"""The MotionCLIP auto-encoder built the way the official code builds it, for benchmarks and equivalence tests.

Seq-first `nn.TransformerEncoder`/`nn.TransformerDecoder`, post-norm, padding masks passed on every call, the output
zeroed where the mask is off — as `src/models/architectures/transformer.py` of GuyTevet/MotionCLIP (written here
from its description, one query token as in `mcl.model`). Same parameters as `mcl.model.MotionCLIP`, so
`ReferenceMotionCLIP.from_ours(model)` computes the same function with the official layout.
"""
from __future__ import annotations


import torch
import torch.nn as nn

from mcl.training.config import ModelConfig
from mcl.model import POSE_DIM, MotionCLIP, PositionalEncoding


class SeqFirstPositionalEncoding(PositionalEncoding):
    """The same sinusoidal table as `mcl.model.PositionalEncoding`, added to seq-first `(T, B, d)` input."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__(d_model, dropout, max_len)
        self.dropout = nn.Dropout(dropout)  # torch's own, as the official code

    def forward(self, x):  # (T, B, d)
        return self.dropout(x + self.pe[: x.shape[0], None])


class ReferenceMotionCLIP(nn.Module):
    """`forward(x (B, 25, 6, T), mask (B, T) bool) -> (z, x_hat)` with the official seq-first layout."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.cfg = cfg
        self.skelEmbedding = nn.Linear(POSE_DIM, d)
        self.muQuery = nn.Parameter(torch.randn(1, d))
        self.sequence_pos_encoder = SeqFirstPositionalEncoding(d, cfg.dropout)
        enc = nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation)
        # the official default enable_nested_tensor=True is inert for seq-first layers (torch warns); say so
        self.seqTransEncoder = nn.TransformerEncoder(enc, cfg.n_layers, enable_nested_tensor=False)
        dec = nn.TransformerDecoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation)
        self.seqTransDecoder = nn.TransformerDecoder(dec, cfg.n_layers)
        self.finallayer = nn.Linear(d, POSE_DIM)

    @classmethod
    def from_ours(cls, model: MotionCLIP) -> "ReferenceMotionCLIP":
        """The same weights in the official layout (requires latent_dim == d_model, as in the paper)."""
        if model.cfg.latent_dim != model.cfg.d_model:
            raise ValueError("the reference has no latent projections: use latent_dim == d_model")
        ref = cls(model.cfg)
        rename = {"embed": "skelEmbedding", "encoder": "seqTransEncoder", "decoder": "seqTransDecoder",
                  "head": "finallayer"}
        sd = {}
        for k, v in model.state_dict().items():
            head, _, rest = k.partition(".")
            if k == "query":
                sd["muQuery"] = v.reshape(1, -1)
            else:
                sd[f"{rename[head]}.{rest}"] = v
        ref.load_state_dict(sd)
        return ref

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        bs, njoints, nfeats, nframes = x.shape
        h = self.skelEmbedding(x.permute(3, 0, 1, 2).reshape(nframes, bs, njoints * nfeats))
        xseq = torch.cat((self.muQuery[[0] * bs][None], h), dim=0)
        xseq = self.sequence_pos_encoder(xseq)
        maskseq = torch.cat((torch.ones(bs, 1, dtype=torch.bool, device=x.device), mask), dim=1)
        z = self.seqTransEncoder(xseq, src_key_padding_mask=~maskseq)[0]
        tq = self.sequence_pos_encoder(torch.zeros(nframes, bs, z.shape[1], device=x.device))
        out = self.seqTransDecoder(tgt=tq, memory=z[None], tgt_key_padding_mask=~mask)
        out = self.finallayer(out).reshape(nframes, bs, njoints, nfeats)
        out[~mask.T] = 0
        return z, out.permute(1, 2, 3, 0)


def random_smpl_mesh(folder) -> "SmplMesh":
    """An SMPL-format model with SMPL's exact array shapes (6890 vertices, 10 betas, 207 pose correctives, 24 joints,
    13776 faces) and seeded random values, loaded through the same smplx path as real SMPL files. SMPL itself is
    licensed and absent here; the cost of its forward/backward depends only on these shapes."""
    from pathlib import Path

    import numpy as np

    from mcl.body import PARENTS
    from mcl.body.mesh import SmplMesh

    rng = np.random.default_rng(0)
    V = 6890
    weights = rng.random((V, 24)).astype(np.float32) ** 8
    reg = rng.random((24, V)).astype(np.float32)
    np.savez(Path(folder) / "SMPL_NEUTRAL.npz", v_template=rng.normal(0, 0.3, (V, 3)).astype(np.float32),
             shapedirs=rng.normal(0, 0.01, (V, 3, 10)).astype(np.float32),
             posedirs=rng.normal(0, 0.01, (V, 3, 207)).astype(np.float32),
             J_regressor=reg / reg.sum(1, keepdims=True), weights=weights / weights.sum(1, keepdims=True),
             kintree_table=np.stack([np.array([4294967295] + list(PARENTS[1:]), np.int64), np.arange(24)]),
             f=rng.integers(0, V, (13776, 3)).astype(np.int64))
    return SmplMesh(folder)


def official_vertices(smpl_model, x: torch.Tensor) -> torch.Tensor:
    """The official `Rotation2xyz` with its defaults (rot6d, `jointstype="vertices"`, `vertstrans=False`):
    `(B, 25, 6, T)` → `(B, 6890, 3, T)` SMPL vertices through an smplx SMPL layer (rotation matrices in, zero betas)."""
    from mcl.body.rotations import rot6d_to_rotmat

    rot = rot6d_to_rotmat(x[:, :-1].permute(0, 3, 1, 2))            # (B, T, 24, 3, 3), translation row dropped
    B, T = rot.shape[:2]
    rot = rot.reshape(B * T, 24, 3, 3)
    out = smpl_model(global_orient=rot[:, :1], body_pose=rot[:, 1:], pose2rot=False,
                     betas=rot.new_zeros(B * T, smpl_model.num_betas))
    return out.vertices.reshape(B, T, -1, 3).permute(0, 2, 3, 1)


if __name__ == "__main__":  # `make bench` runs every bench/*.py: check the equivalence on a small model
    torch.manual_seed(0)
    ours = MotionCLIP(ModelConfig(n_layers=2, d_model=64, n_heads=4, d_ff=128, latent_dim=64)).eval()
    ref = ReferenceMotionCLIP.from_ours(ours).eval()
    x = torch.randn(4, 25, 6, 60)
    with torch.no_grad():
        (z0, y0), (z1, y1) = ours(x), ref(x, torch.ones(4, 60, dtype=torch.bool))
    print(f"reference vs mcl.model (eval): max |Δz| {float((z0 - z1).abs().max()):.2e}, "
          f"max |Δx̂| {float((y0 - y1).abs().max()):.2e}")
