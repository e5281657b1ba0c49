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


def test_film_queries_start_as_the_plain_decoder_and_let_z_scale_the_positions():
    torch.manual_seed(0)
    plain = MotionCLIP(ModelConfig(**TINY, latent_dim=16)).eval()
    film = MotionCLIP(ModelConfig(**TINY, latent_dim=16, film=True)).eval()
    assert set(film.state_dict()) - set(plain.state_dict()) == {"film.weight", "film.bias"}
    film.load_state_dict({**film.state_dict(), **plain.state_dict()})
    z = torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(film.decode(z), plain.decode(z))  # zero-initialised: the same decoder
        film.film.weight.normal_()
        moved = film.decode(z)
        # the queries are positions * (1 + scale(z)) + shift(z): z = 0 leaves them alone, another z does not
        torch.testing.assert_close(film.decode(torch.zeros(1, 16)), plain.decode(torch.zeros(1, 16)))
    assert (moved - plain.decode(z)).abs().max() > 1e-2
    assert film.num_parameters() - plain.num_parameters() == 16 * 64 + 64


def test_synthesis_path_starts_at_zero_and_makes_sines_whose_phase_z_sets():
    from mcl.model import Synthesis
    torch.manual_seed(0)
    plain = MotionCLIP(ModelConfig(**TINY, latent_dim=16)).eval()
    synth = MotionCLIP(ModelConfig(**TINY, latent_dim=16, synth_rank=8, frame_head=8)).eval()
    assert {k.split(".")[0] for k in set(synth.state_dict()) - set(plain.state_dict())} == {"synth", "frame_head"}
    synth.load_state_dict({**synth.state_dict(), **plain.state_dict()})
    z = torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(synth.decode(z), plain.decode(z))
    # the path alone: z = (cos phi, sin phi) and one pair of position sines give sin(w t + phi) exactly
    s = Synthesis(d_model=4, latent_dim=2, rank=2)
    pe = synth.pos.pe[:60, :4]                              # sin(t), cos(t), sin(t/100), cos(t/100) for d = 4
    with torch.no_grad():
        s.pos.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        s.z.weight.copy_(torch.eye(2)), s.z.bias.zero_()
        s.out.weight.zero_(), s.out.weight[0].fill_(1.0)
        phi = torch.tensor([0.3, 2.0])
        out = s(pe, torch.stack([phi.cos(), phi.sin()], 1))   # (2, 60, 150)
    t = torch.arange(60.0)
    torch.testing.assert_close(out[:, :, 0], torch.sin(t[None] + phi[:, None]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("latent", [16, 32])  # with a projection into the decoder, and without one (d_model = 32)
def test_whitening_keeps_the_decoders_function_and_whitens_z(latent):
    torch.manual_seed(0)
    m = MotionCLIP(ModelConfig(**TINY, latent_dim=latent, whiten_z=True, film=True, synth_rank=4, frame_head=8)).eval()
    with torch.no_grad():
        m.film.weight.normal_(), m.synth.out.weight.normal_(), m.frame_head.mlp[-1].weight.normal_()
    z = torch.randn(400, latent) * torch.logspace(0, -4, latent)   # variances over 8 orders, as a trained z's
    before = m.decode(z[:5])
    m.set_whitening(z)
    torch.testing.assert_close(m.decode(z[:5]), before, atol=1e-5, rtol=1e-4)
    zw = (z - m.z_mean) @ m.z_whiten
    var, raw = torch.cov(zw.T).diagonal(), torch.cov(z.T).diagonal()
    above = raw >= 1e-3 * raw.max()              # the floor: directions above it get at least half a unit, those below rise
    assert var.max() < 1.01 and var[above].min() > 0.45 and (var.max() / var.min()) < (raw.max() / raw.min()) / 500
    m.set_whitening(3 * z + 1)                   # again, from whitened weights: still the same function
    torch.testing.assert_close(m.decode(z[:5]), before, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="more latents than dims"):
        m.set_whitening(z[:latent])
    with pytest.raises(ValueError, match="all the same"):
        m.set_whitening(z[:1].repeat(400, 1))
    with pytest.raises(ValueError, match="whiten_z=True"):
        MotionCLIP(ModelConfig(**TINY, latent_dim=16)).set_whitening(z[:, :16])


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
