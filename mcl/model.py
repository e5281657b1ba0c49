"""The MotionCLIP auto-encoder (Tevet et al. 2022): a transformer encoder to one latent z, a transformer decoder back.

Same maths as the official model (post-norm layers, GELU, dropout 0.1, sinusoidal positions, learned query token,
T positional queries attending to z as a one-token memory), built batch-first so PyTorch's fused attention runs.
Three exact speed shortcuts (cheap dropout masks, the last encoder layer for z's row only, cross-attention to a
one-token memory) live in `mcl.fast_layers`, with the tests that prove them equal to the standard layers.
Two deliberate differences from the official code: one query token instead of an unused (mu, sigma) pair
(`ModelConfig.query_tokens=2` restores the pair, as imported official checkpoints need), and no padding mask (every
window has the same length, so the mask would be all ones). `ModelConfig.codec` names the tensor convention the
weights were trained with (`mcl.codec`); encode and decode convert, so callers always pass and get mcl tensors.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .codec import get_codec
from .fast_layers import Dropout, MemoryTokenDecoderLayer, cheap_dropouts, query_row
from .training.config import ModelConfig

NUM_ROWS, NUM_FEATS = 25, 6
POSE_DIM = NUM_ROWS * NUM_FEATS  # 150


class MotionCLIP(nn.Module):
    """Motion `(B, 25, 6, T)` → z `(B, latent_dim)` → motion `(B, 25, 6, T)`.

    Example:
        >>> m = MotionCLIP(ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=16)).eval()
        >>> z, x_hat = m(torch.zeros(2, 25, 6, 60))
        >>> z.shape, x_hat.shape
        (torch.Size([2, 16]), torch.Size([2, 25, 6, 60]))
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.latent_dim is None:
            raise ValueError("ModelConfig.latent_dim is None: set it to the frozen space's dim (e.g. 512 for CLIP)")
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.Linear(POSE_DIM, d)
        # the official code initialises its (mu, sigma) queries with randn too; z is read at token 0
        self.query = nn.Parameter(torch.randn(1, cfg.query_tokens, d))
        self.codec = get_codec(cfg.codec)
        self.pos = PositionalEncoding(d, cfg.dropout, cfg.max_frames)

        def enc_layer():
            return cheap_dropouts(nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation,
                                                              batch_first=True, norm_first=False))

        def dec_layer():
            return cheap_dropouts(MemoryTokenDecoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation,
                                                           batch_first=True, norm_first=False))

        # enable_nested_tensor only helps with padding masks, which we never pass
        self.encoder = nn.TransformerEncoder(enc_layer(), cfg.n_layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer(), cfg.decoder_layers or cfg.n_layers)
        self.head = nn.Linear(d, POSE_DIM)
        # z lives in the frozen space; when the width differs, project in and out of it
        same = cfg.latent_dim == d
        self.to_latent = nn.Identity() if same else nn.Linear(d, cfg.latent_dim)
        self.from_latent = nn.Identity() if same else nn.Linear(cfg.latent_dim, d)
        # z -> (scale, shift) of the decoder's time queries; zero at start: a model without it decodes identically
        self.film = nn.Linear(cfg.latent_dim, 2 * d) if cfg.film else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
        self.synth = Synthesis(d, cfg.latent_dim, cfg.synth_rank) if cfg.synth_rank else None
        self.frame_head = FrameHead(d, cfg.latent_dim, cfg.frame_head) if cfg.frame_head else None
        if cfg.whiten_z:  # set by `set_whitening`; saved with the weights
            if same:
                self.from_latent = nn.Linear(cfg.latent_dim, d)  # the whitening is folded into it at the start
                nn.init.eye_(self.from_latent.weight), nn.init.zeros_(self.from_latent.bias)
            self.register_buffer("z_mean", torch.zeros(cfg.latent_dim))
            self.register_buffer("z_whiten", torch.eye(cfg.latent_dim))

    @property
    def latent_dim(self) -> int:
        return int(self.cfg.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """`(B, 25, 6, T)` mcl tensor → z `(B, latent_dim)`: the encoder output at the (first) query token."""
        if x.ndim != 4 or x.shape[1:3] != (NUM_ROWS, NUM_FEATS):
            raise ValueError(f"encode expects a (B, 25, 6, T) tensor, got {tuple(x.shape)}")
        return self.encode_native(self.codec.to_model(x))

    def encode_native(self, x: torch.Tensor) -> torch.Tensor:
        """`encode` of a tensor already in the model's own convention (`cfg.codec`), no normalisation."""
        B, _, _, T = x.shape
        h = self.embed(x.permute(0, 3, 1, 2).reshape(B, T, POSE_DIM))  # (B, T, d)
        h = torch.cat([self.query.expand(B, -1, -1), h], dim=1)         # (B, query_tokens+T, d)
        h = self.pos(h)
        for layer in self.encoder.layers[:-1]:
            h = layer(h)
        return self.to_latent(query_row(self.encoder.layers[-1], h))

    def decode(self, z: torch.Tensor, n_frames: int = 60) -> torch.Tensor:
        """z `(B, latent_dim)` (an encoded motion or a text embedding) → mcl tensor `(B, 25, 6, n_frames)`."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        return self.codec.from_model(self.decode_native(z, n_frames))

    def decode_native(self, z: torch.Tensor, n_frames: int = 60) -> torch.Tensor:
        """`decode` in the model's own convention (`cfg.codec`): the decoder's raw output."""
        B = z.shape[0]
        if self.cfg.whiten_z:
            z = (z - self.z_mean) @ self.z_whiten
        memory = self.from_latent(z)[:, None]                                   # (B, 1, d)
        if self.film is None:
            queries = self.pos(z.new_zeros(B, n_frames, self.cfg.d_model))      # (B, T, d)
        else:  # a product of z and sin/cos(w t): a phase shift is one linear map of the positions away
            scale, shift = self.film(z)[:, None].chunk(2, dim=-1)
            queries = self.pos.dropout(self.pos.pe[:n_frames] * (1 + scale) + shift)
        h = self.head(self.decoder(queries, memory))                            # (B, T, 150)
        if self.synth is not None:
            h = h + self.synth(self.pos.pe[:n_frames], z)
        if self.frame_head is not None:
            h = h + self.frame_head(self.pos.pe[:n_frames], z)
        return h.reshape(B, n_frames, NUM_ROWS, NUM_FEATS).permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor, text_emb: torch.Tensor | None = None):
        """`(B, 25, 6, T)` → `(z (B, latent_dim), x_hat (B, 25, 6, T))`.

        With `text_emb (B, latent_dim)` also decodes each text embedding, rescaled to the norm of its window's z
        (detached), and returns `(z, x_hat, x_text (B, 25, 6, T))` — the `w_text_rc` loss term (one decoder pass).
        """
        z = self.encode(x)
        T = x.shape[-1]
        # no turn to +z here: the reconstruction loss must see a heading error (a no-op for the mcl codec)
        if text_emb is None:
            return z, self.codec.from_model(self.decode_native(z, T), turn=False)
        z_text = F.normalize(text_emb, dim=-1) * z.detach().norm(dim=-1, keepdim=True)
        both = self.codec.from_model(self.decode_native(torch.cat([z, z_text.to(z.dtype)]), T), turn=False)
        return z, both[: len(z)], both[len(z):]

    @torch.no_grad()
    def set_whitening(self, z: torch.Tensor, eps: float = 1e-3) -> None:
        """Measure the whitening of `cfg.whiten_z` on latents `z (N, latent_dim)` and fold its inverse into every
        layer that reads z in the decoder (from_latent, FiLM, the synthesis path, the frame head), so the decoder computes the same
        function as before, only in whitened coordinates. `eps`: the floor, a fraction of the largest variance."""
        if not self.cfg.whiten_z:
            raise ValueError("set_whitening needs ModelConfig.whiten_z=True")
        if len(z) <= z.shape[1]:
            raise ValueError(f"set_whitening needs more latents than dims ({z.shape[1]}), got {len(z)}")
        z = z.double()
        mean = z.mean(0)
        var, vec = torch.linalg.eigh(torch.cov((z - mean).T))
        if not var.max() > 0:
            raise ValueError(f"set_whitening: the {len(z)} latents are all the same; whiten on z of varied windows")
        var = var.clamp_min(0) + eps * var.max()
        whiten, unwhiten = vec @ torch.diag(var.rsqrt()) @ vec.T, vec @ torch.diag(var.sqrt()) @ vec.T
        # a layer A z + b becomes (A W^-1) z' + (b + A mean) with z' = (z - mean) W: same output
        old_mean, old_whiten = self.z_mean.double(), self.z_whiten.double()
        for lin in (self.from_latent, self.film, self.synth.z if self.synth is not None else None,
                    self.frame_head.z if self.frame_head is not None else None):
            if lin is None:
                continue
            a = lin.weight.double() @ old_whiten.T            # back to raw z coordinates
            b = lin.bias.double() - a @ old_mean
            lin.weight.copy_((a @ unwhiten.T).to(lin.weight.dtype))
            lin.bias.copy_((b + a @ mean).to(lin.bias.dtype))
        self.z_mean.copy_(mean.to(self.z_mean.dtype))
        self.z_whiten.copy_(whiten.to(self.z_whiten.dtype))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class Synthesis(nn.Module):
    """A low-rank bilinear path from z and the sinusoidal positions to the pose: `out (B, T, 150) = W (P pe_t * Q z)`.

    A wave at phase phi is a sin(wt) + b cos(wt) with (a, b) set by phi: linear in the positions' sines once z gives
    the coefficients. The transformer stack reaches such products only through its normalised layers; this path
    has them in one step. `W` starts at zero: a model without it decodes the same.
    """

    def __init__(self, d_model: int, latent_dim: int, rank: int):
        super().__init__()
        self.pos = nn.Linear(d_model, rank, bias=False)
        self.z = nn.Linear(latent_dim, rank)
        self.out = nn.Linear(rank, POSE_DIM)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, pe: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.pos(pe)[None] * self.z(z)[:, None])


class FrameHead(nn.Module):
    """A per-frame MLP beside the transformer: `(pe_t, z) → pose residual (B, T, 150)`, its last layer at zero.

    It reads z and the frame's position together at every frame, where the transformer reaches them only through
    one memory token and normalised layers (`bench/whitening_probe.py`: such a head learns Bandai's waves from
    whitened z in 300 steps).
    """

    def __init__(self, d_model: int, latent_dim: int, width: int):
        super().__init__()
        self.z = nn.Linear(latent_dim, width)      # z's part of the first layer (whitening folds into it)
        self.pos = nn.Linear(d_model, width, bias=False)
        self.mlp = nn.Sequential(nn.GELU(), nn.Linear(width, width), nn.GELU(), nn.Linear(width, POSE_DIM))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, pe: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.pos(pe)[None] + self.z(z)[:, None])


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table of "Attention is all you need" to `(B, T, d)` and applies dropout."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe, persistent=False)  # a function of the config, not a weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.shape[1]])
