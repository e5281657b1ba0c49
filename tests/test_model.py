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


@pytest.mark.slow  # 250 training steps: ~7 s (the fast tier trains a few steps in tests/test_train.py)
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
