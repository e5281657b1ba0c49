"""The MotionCLIP auto-encoder (Tevet et al. 2022): a transformer encoder to one latent z, a transformer decoder back.

Same maths as the official model (post-norm layers, GELU, dropout 0.1, sinusoidal positions, learned query token,
T positional queries attending to z as a one-token memory), built batch-first so PyTorch's fused attention runs, and
with the decoder's cross-attention computed the cheap way a one-token memory allows (`MemoryTokenDecoderLayer`).
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
from .training.config import ModelConfig

NUM_ROWS, NUM_FEATS = 25, 6
POSE_DIM = NUM_ROWS * NUM_FEATS  # 150


class Dropout(nn.Dropout):
    """`nn.Dropout`'s distribution (each element kept with probability 1 − p, to within 2⁻³¹, kept ones scaled by
    1/(1 − p)) with a mask that costs a quarter as much on CPU.

    torch's CPU `bernoulli_` spends ~10 ns per element, which made dropout ~14 % of a `paper` training step; here
    one 64-bit draw of the default generator serves two elements (its low 32 bits are uniform over int32, its high
    word over [0, 2³¹)), each compared with the threshold that gives probability p. Other devices use `nn.Dropout`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu":
            return super().forward(x)
        n = x.numel()
        words = torch.empty((n + 1) // 2, dtype=torch.int64).random_().view(torch.int32).view(-1, 2)
        drop_below = torch.tensor([round(self.p * 2 ** 32) - 2 ** 31, round(self.p * 2 ** 31)], dtype=torch.int32)
        scale = (words >= drop_below).view(-1)[:n].view_as(x).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * scale


def _cheap_dropouts(layer: nn.Module) -> nn.Module:
    """Swaps a transformer layer's `nn.Dropout` modules (not attention-weight dropout) for `Dropout`."""
    for name, child in layer.named_children():
        if type(child) is nn.Dropout:
            setattr(layer, name, Dropout(child.p))
    return layer


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


def _query_row(layer: nn.TransformerEncoderLayer, h: torch.Tensor) -> torch.Tensor:
    """Row 0 (the query token) of a post-norm encoder layer's output `(B, d)`, without computing the other rows.

    z only reads the query token of the last layer, so that layer's query projection, output projection and
    feed-forward for the T frame rows are dead work (about 3/4 of the layer); keys and values still use every row.
    """
    q = h[:, :1]
    x = layer.norm1(q + layer.dropout1(layer.self_attn(q, h, h, need_weights=False)[0]))
    return layer.norm2(x + layer._ff_block(x))[:, 0]


class MemoryTokenDecoderLayer(nn.TransformerDecoderLayer):
    """`nn.TransformerDecoderLayer` whose cross-attention exploits a one-token memory (z); same parameters, same maths.

    With one key, softmax gives every query an attention weight of exactly 1, so the cross-attention output is
    `out_proj(v)` with `v = W_v z + b_v` for every frame: the query/key projections, the scores and the softmax are
    dead work (their gradients are exactly zero in the standard layer too). In training, attention dropout zeroes each
    (frame, head) weight with probability p and scales the rest by 1/(1-p), as `nn.MultiheadAttention` does; we apply
    that to the per-head pieces of `out_proj(v)`, which costs (B, T, heads) × (B, heads, d) instead of two (B·T, d, d)
    matmuls. Measured ≈ 10% of a `paper` training step (bench/train_step.py).
    """

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        attn = self.multihead_attn
        if mem.shape[1] != 1 or attn_mask is not None or key_padding_mask is not None or not attn.batch_first \
                or not attn._qkv_same_embed_dim:
            return super()._mha_block(x, mem, attn_mask, key_padding_mask, is_causal)
        B, T, d = x.shape
        h = attn.num_heads
        v = F.linear(mem[:, 0], attn.in_proj_weight[2 * d:], attn.in_proj_bias[2 * d:])       # (B, d)
        # u[b, k] = out_proj's share of head k: W_o[:, head k columns] @ v[b, head k]            (B, h, d)
        u = torch.einsum("ekc,bkc->bke", attn.out_proj.weight.view(d, h, d // h), v.view(B, h, d // h))
        if self.training and attn.dropout > 0:
            keep = torch.empty(B, T, h, dtype=x.dtype, device=x.device).bernoulli_(1 - attn.dropout)
            out = torch.bmm(keep, u) / (1 - attn.dropout)                                         # (B, T, d)
        else:
            out = u.sum(1, keepdim=True).expand(B, T, d)
        return self.dropout2(out + attn.out_proj.bias)


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
            return _cheap_dropouts(nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation,
                                                              batch_first=True, norm_first=False))

        def dec_layer():
            return _cheap_dropouts(MemoryTokenDecoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, cfg.activation,
                                                           batch_first=True, norm_first=False))

        # enable_nested_tensor only helps with padding masks, which we never pass
        self.encoder = nn.TransformerEncoder(enc_layer(), cfg.n_layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer(), cfg.n_layers)
        self.head = nn.Linear(d, POSE_DIM)
        # z lives in the frozen space; when the width differs, project in and out of it
        same = cfg.latent_dim == d
        self.to_latent = nn.Identity() if same else nn.Linear(d, cfg.latent_dim)
        self.from_latent = nn.Identity() if same else nn.Linear(cfg.latent_dim, d)

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
        return self.to_latent(_query_row(self.encoder.layers[-1], h))

    def decode(self, z: torch.Tensor, n_frames: int = 60) -> torch.Tensor:
        """z `(B, latent_dim)` (an encoded motion or a text embedding) → mcl tensor `(B, 25, 6, n_frames)`."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects z of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        return self.codec.from_model(self.decode_native(z, n_frames))

    def decode_native(self, z: torch.Tensor, n_frames: int = 60) -> torch.Tensor:
        """`decode` in the model's own convention (`cfg.codec`): the decoder's raw output."""
        B = z.shape[0]
        memory = self.from_latent(z)[:, None]                                   # (B, 1, d)
        queries = self.pos(z.new_zeros(B, n_frames, self.cfg.d_model))          # (B, T, d)
        h = self.head(self.decoder(queries, memory))                            # (B, T, 150)
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

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
