"""The exact speed shortcuts of mcl.fast_layers equal the standard torch layers they replace (in value or in law)."""
import pytest
import torch

from mcl.fast_layers import Dropout, MemoryTokenDecoderLayer, cheap_dropouts, query_row


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_query_row_is_row_zero_of_the_standard_encoder_layer(activation):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, activation=activation, batch_first=True).eval()
    h = torch.randn(3, 11, 16)
    torch.testing.assert_close(query_row(layer, h), layer(h)[:, 0], atol=1e-6, rtol=1e-5)
    # and its gradients reach every row of h (keys and values still read all frames)
    h.requires_grad_(True)
    (query_row(layer, h) * torch.randn(3, 16)).sum().backward()  # not .sum(): a LayerNorm output sums to a constant
    assert bool((h.grad.abs().sum(-1) > 0).all())
    pre_norm = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=True)
    with pytest.raises(ValueError, match="post-norm"):
        query_row(pre_norm, h)


def test_memory_token_decoder_layer_equals_the_standard_layer_in_eval():
    torch.manual_seed(0)
    fast = MemoryTokenDecoderLayer(16, 4, 32, dropout=0.1, batch_first=True).eval()
    std = torch.nn.TransformerDecoderLayer(16, 4, 32, dropout=0.1, batch_first=True).eval()
    std.load_state_dict(fast.state_dict())
    x, mem = torch.randn(2, 9, 16), torch.randn(2, 1, 16)
    torch.testing.assert_close(fast(x, mem), std(x, mem), atol=1e-5, rtol=1e-5)
    # a memory of several tokens takes the standard path
    mem3 = torch.randn(2, 3, 16)
    torch.testing.assert_close(fast(x, mem3), std(x, mem3), atol=1e-6, rtol=1e-6)


def test_cheap_dropouts_swaps_only_plain_dropouts():
    layer = cheap_dropouts(torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.2, batch_first=True))
    assert all(type(getattr(layer, n)) is Dropout and getattr(layer, n).p == 0.2
               for n in ("dropout", "dropout1", "dropout2"))
    assert layer.self_attn.dropout == 0.2  # attention-weight dropout stays torch's


def test_one_token_cross_attention_dropout_matches_multihead_attention_semantics():
    """Train mode: each (frame, head) attention weight is 1/(1-p) or 0 — the same law as nn.MultiheadAttention's."""
    torch.manual_seed(0)
    layer = MemoryTokenDecoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    layer.dropout2.p = 0.0  # isolate the attention dropout
    x, mem = torch.randn(3, 40, 8), torch.randn(3, 1, 8)
    layer.eval()
    full = layer._mha_block(x, mem, None, None)
    std = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    std.load_state_dict(layer.multihead_attn.state_dict())
    torch.testing.assert_close(full, std(x, mem, mem, need_weights=False)[0], atol=1e-6, rtol=1e-5)
    # per-head pieces of out_proj(v): the train output is a 2× sum of a subset of them
    attn, d = layer.multihead_attn, 8
    v = torch.nn.functional.linear(mem[:, 0], attn.in_proj_weight[2 * d:], attn.in_proj_bias[2 * d:])
    pieces = [torch.nn.functional.linear(v * (torch.arange(8) // 4 == k), attn.out_proj.weight) for k in (0, 1)]
    combos = torch.stack([0 * pieces[0], 2 * pieces[0], 2 * pieces[1], 2 * (pieces[0] + pieces[1])], 1)  # (B,4,d)
    layer.train()
    with torch.no_grad():
        outs = torch.stack([layer._mha_block(x, mem, None, None) - attn.out_proj.bias for _ in range(200)])
        full, pieces = full.detach(), [p.detach() for p in pieces]
        combos = combos.detach()
    dist = (outs[:, :, :, None, :] - combos[None, :, None]).abs().amax(-1)  # (draws, B, T, 4)
    assert float(dist.amin(-1).max()) < 1e-5
    torch.testing.assert_close(outs.mean(0), (full - attn.out_proj.bias), atol=0.15, rtol=0.1)


def test_cheap_dropout_has_nn_dropouts_distribution():
    torch.manual_seed(0)
    d = Dropout(0.1).train()
    x = torch.ones(1001, 999, requires_grad=True)  # odd size: the last 64-bit draw is half used
    y = d(x)
    dropped = float((y == 0).float().mean())
    assert abs(dropped - 0.1) < 5 * (0.1 * 0.9 / x.numel()) ** 0.5
    assert torch.allclose(y[y != 0], torch.tensor(1 / 0.9))
    # both halves of each 64-bit draw drop at rate p (low word: signed int32, high word: 31 bits)
    pairs = (y == 0).flatten()[: x.numel() // 2 * 2].view(-1, 2).float().mean(0)
    assert torch.allclose(pairs, torch.tensor([0.1, 0.1]), atol=0.003)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() / 0.9)
    assert torch.equal(d.eval()(x), x) and torch.equal(Dropout(0.0).train()(x), x)
    torch.manual_seed(1)
    a = d.train()(x)
    torch.manual_seed(1)
    assert torch.equal(a, d(x))  # the default generator: seeded runs repeat exactly
