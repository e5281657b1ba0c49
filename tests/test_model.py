import importlib.util
from pathlib import Path

import pytest
import torch

from mcl.training.config import ModelConfig, preset
from mcl.data import make_windows, synthetic_dataset
from mcl.model import MotionCLIP

TINY = dict(n_layers=2, d_model=32, n_heads=2, d_ff=64)


def _reference_module():
    path = Path(__file__).resolve().parent.parent / "bench" / "reference_motionclip.py"
    spec = importlib.util.spec_from_file_location("reference_motionclip", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shapes_and_latent_projection():
    torch.manual_seed(0)
    m = MotionCLIP(ModelConfig(**TINY, latent_dim=16)).eval()
    x = torch.randn(3, 25, 6, 60)
    z, x_hat = m(x)
    assert z.shape == (3, 16) and x_hat.shape == (3, 25, 6, 60)
    assert m.encode(x).shape == (3, 16)
    assert m.decode(z, n_frames=45).shape == (3, 25, 6, 45)
    assert isinstance(m.to_latent, torch.nn.Linear)  # d_model 32 ≠ latent 16 → projections
    same = MotionCLIP(ModelConfig(**TINY, latent_dim=32))
    assert isinstance(same.to_latent, torch.nn.Identity)


def test_bad_shapes_raise_clear_errors():
    m = MotionCLIP(ModelConfig(**TINY, latent_dim=16))
    with pytest.raises(ValueError, match=r"\(B, 25, 6, T\)"):
        m.encode(torch.zeros(2, 24, 6, 60))
    with pytest.raises(ValueError, match=r"\(B, 16\)"):
        m.decode(torch.zeros(2, 32))
    with pytest.raises(ValueError, match="latent_dim"):
        MotionCLIP(ModelConfig(**TINY))


def test_presets():
    p = preset("paper").model
    assert (p.n_layers, p.d_model, p.n_heads, p.d_ff, p.activation, p.dropout) == (8, 512, 4, 1024, "gelu", 0.1)
    assert preset("paper").lr == 1e-4 and preset("paper").batch_size == 20 and preset("paper").seed == 10
    c = preset("cpu", epochs=3, model={"n_layers": 2})
    assert c.epochs == 3 and c.model.n_layers == 2 and c.model.d_model == preset("cpu").model.d_model
    with pytest.raises(TypeError, match="unknown training option"):
        preset("cpu", epoch=3)


def test_same_function_as_the_official_layout():
    """Batch-first fused layers compute the official seq-first, masked model's function (eval and train maths)."""
    ref_mod = _reference_module()
    torch.manual_seed(1)
    ours = MotionCLIP(ModelConfig(**TINY, latent_dim=32)).eval()
    ref = ref_mod.ReferenceMotionCLIP.from_ours(ours).eval()
    x = torch.randn(4, 25, 6, 60)
    mask = torch.ones(4, 60, dtype=torch.bool)
    with torch.no_grad():
        z0, y0 = ours(x)
        z1, y1 = ref(x, mask)
    torch.testing.assert_close(z0, z1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y0, y1, atol=1e-5, rtol=1e-5)
    # training path (no dropout so the two are comparable): same loss and same gradients
    ours_t = MotionCLIP(ModelConfig(**TINY, latent_dim=32, dropout=0.0)).train()
    ref_t = ref_mod.ReferenceMotionCLIP.from_ours(ours_t).train()
    l0 = sum(t.square().mean() for t in ours_t(x))
    l1 = sum(t.square().mean() for t in ref_t(x, mask))
    l0.backward(), l1.backward()
    torch.testing.assert_close(l0, l1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_t.embed.weight.grad, ref_t.skelEmbedding.weight.grad, atol=1e-5, rtol=1e-4)


def test_tiny_model_overfits_eight_windows():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # far faster than 2 threads on a busy 2-core machine
    try:
        _overfit()
    finally:
        torch.set_num_threads(threads)


def _overfit():
    torch.manual_seed(0)
    x = torch.stack([w.to_tensor() for w in make_windows(synthetic_dataset(8, frames=60), length=60)])
    assert x.shape == (8, 25, 6, 60)
    m = MotionCLIP(ModelConfig(n_layers=2, d_model=64, n_heads=4, d_ff=128, dropout=0.0, latent_dim=64))
    opt = torch.optim.AdamW(m.parameters(), lr=2e-3)
    first = None
    for _ in range(250):
        _, x_hat = m(x)
        loss = torch.nn.functional.mse_loss(x_hat, x)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = torch.nn.functional.mse_loss(m.eval()(x)[1], x).item()
    assert final < first / 10, (first, final)


def test_one_token_cross_attention_dropout_matches_multihead_attention_semantics():
    """Train mode: each (frame, head) attention weight is 1/(1-p) or 0 — the same law as nn.MultiheadAttention's."""
    from mcl.model import MemoryTokenDecoderLayer
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
    from mcl.model import Dropout

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
