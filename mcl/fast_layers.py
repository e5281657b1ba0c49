"""Exact CPU-speed shortcuts of the MotionCLIP model: the same functions as the standard layers, computed cheaper.

Each one is equal in law or in value to the torch layer it replaces (tests/test_fast_layers.py proves it):
- `Dropout`: `nn.Dropout`'s distribution with a mask a quarter the cost on CPU;
- `query_row`: the last encoder layer computed for the one row z reads (the query token);
- `MemoryTokenDecoderLayer`: cross-attention to a one-token memory without the dead query/key/softmax work.
Measured share of a `paper` training step: dropout ≈ 14 %, cross-attention ≈ 10 % (bench/train_step.py).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


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


def cheap_dropouts(layer: nn.Module) -> nn.Module:
    """Swaps a transformer layer's `nn.Dropout` modules (not attention-weight dropout) for `Dropout`."""
    for name, child in layer.named_children():
        if type(child) is nn.Dropout:
            setattr(layer, name, Dropout(child.p))
    return layer


def query_row(layer: nn.TransformerEncoderLayer, h: torch.Tensor) -> torch.Tensor:
    """Row 0 (the query token) of a post-norm encoder layer's output `(B, d)`, without computing the other rows.

    z only reads the query token of the last layer, so that layer's query projection, output projection and
    feed-forward for the T frame rows are dead work (about 3/4 of the layer); keys and values still use every row.
    """
    if layer.norm_first:
        raise ValueError("query_row computes a post-norm layer (norm_first=False), as MotionCLIP's are")
    q = h[:, :1]
    x = layer.norm1(q + layer.dropout1(layer.self_attn(q, h, h, need_weights=False)[0]))
    ff = layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))
    return layer.norm2(x + layer.dropout2(ff))[:, 0]


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
