from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from mcl.body import joints_from_rotvec
from mcl.training.config import LossConfig
from mcl.data import synthetic_motion
from mcl.training.losses import (alignment_loss, compute_losses, cosine_alignment, infonce_alignment, joints_from_tensor,
                        reconstruction_losses, spectral_loss, window_weights)


def _x(n=2, frames=30):
    return torch.stack([synthetic_motion(frames, seed=s).to_tensor() for s in range(n)])


def test_reconstruction_terms_zero_on_identity_and_positive_otherwise():
    x = _x()
    terms = reconstruction_losses(x, x.clone())
    assert set(terms) == {"rc", "vel", "body"} and all(float(v) < 1e-10 for v in terms.values())
    noisy = reconstruction_losses(x, x + 0.1 * torch.randn_like(x))
    assert all(float(v) > 1e-4 for v in noisy.values())
    assert "body" not in reconstruction_losses(x, x, body=False)


def test_body_term_uses_forward_kinematics_of_the_motion():
    m = synthetic_motion(20, seed=4)
    j = joints_from_tensor(m.to_tensor()[None])[0]  # (T, 24, 3), translation relative to frame 0
    ref = joints_from_rotvec(torch.from_numpy(m.poses), torch.from_numpy(m.trans - m.trans[:1]))
    torch.testing.assert_close(j, ref, atol=1e-4, rtol=1e-4)


def test_velocity_term_ignores_a_constant_offset():
    x = _x()
    y = x + 0.3  # same frame-to-frame changes
    t = reconstruction_losses(x, y, body=False)
    assert float(t["vel"]) < 1e-10 and abs(float(t["rc"]) - 0.09) < 1e-5


def test_cosine_alignment_values():
    z = torch.randn(5, 8)
    assert float(cosine_alignment(z, 3 * z)) < 1e-6
    assert abs(float(cosine_alignment(z, -z)) - 2.0) < 1e-5


def test_infonce_matches_cross_entropy_with_unique_ids_and_masks_shared_texts():
    torch.manual_seed(0)
    z, e = torch.randn(6, 8), torch.randn(6, 8)
    logits = F.normalize(z, dim=-1) @ F.normalize(e, dim=-1).T / 0.1
    target = torch.arange(6)
    expected = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    torch.testing.assert_close(infonce_alignment(z, e, target, 0.1), expected)
    # windows 0 and 1 share a caption, hence an embedding: as negatives they would be unbreakable ties
    e2 = F.normalize(torch.randn(6, 8), dim=-1)
    e2[1] = e2[0]
    z2 = e2.clone()
    masked = infonce_alignment(z2, e2, torch.tensor([0, 0, 2, 3, 4, 5]), 0.01)
    unmasked = infonce_alignment(z2, e2, torch.arange(6), 0.01)
    assert float(masked) < 1e-3 and float(unmasked) > 2 / 6 * 0.69


def test_alignment_skips_rows_without_text():
    table = torch.randn(3, 8)
    z = table[[0, 2]].clone()
    idx = torch.tensor([0, -1])
    assert float(alignment_loss(z, table, idx, LossConfig())) < 1e-6
    assert alignment_loss(z, table, torch.tensor([-1, -1]), LossConfig()) is None


def test_total_is_the_weighted_sum_and_zero_weights_are_skipped():
    x = _x()
    x_hat = x + 0.05 * torch.randn_like(x)
    z, table = torch.randn(2, 8), torch.randn(4, 8)
    cfg = LossConfig(w_rc=2.0, w_body=3.0, w_vel=5.0, w_text=7.0, w_image=0.0)
    total, terms = compute_losses(z, x_hat, x, cfg, table, torch.tensor([1, 3]), table, torch.tensor([0, 1]))
    assert set(terms) == {"rc", "body", "vel", "text"}
    expected = 2 * terms["rc"] + 3 * terms["body"] + 5 * terms["vel"] + 7 * terms["text"]
    torch.testing.assert_close(total, expected)


def test_text_rc_term_decodes_texts_at_the_windows_scale_and_skips_windows_without_text():
    from mcl.training.config import LossConfig, ModelConfig
    from mcl.training.losses import compute_losses
    from mcl.model import MotionCLIP

    torch.manual_seed(0)
    model = MotionCLIP(ModelConfig(n_layers=1, d_model=32, n_heads=2, d_ff=64, latent_dim=16)).eval()
    x = torch.randn(3, 25, 6, 20)
    emb = torch.randn(3, 16)
    z, x_hat, x_text = model(x, emb)
    # the text embedding is decoded at the norm of its window's z: scaling the embedding changes nothing
    assert torch.allclose(model(x, 7 * emb)[2], x_text, atol=1e-5)
    z_t = torch.nn.functional.normalize(emb, dim=-1) * z.norm(dim=-1, keepdim=True)
    assert torch.allclose(model.decode(z_t, 20), x_text, atol=1e-5)
    cfg = LossConfig(w_text_rc=100.0, w_body=0.0)
    idx = torch.tensor([0, -1, 2])
    total, terms = compute_losses(z, x_hat, x, cfg, emb, idx, x_text=x_text)
    expected = torch.nn.functional.mse_loss(x_text[[0, 2]], x[[0, 2]])
    assert torch.allclose(terms["text_rc"], expected)
    total0, _ = compute_losses(z, x_hat, x, LossConfig(w_body=0.0), emb, idx, x_text=x_text)
    assert torch.allclose(total - total0, 100 * expected)


def test_text_rc_takes_the_closest_phase_candidate():
    x_text = torch.zeros(2, 25, 6, 10)
    x = torch.full_like(x_text, 2.0)
    far, near = torch.full_like(x, 3.0), torch.full_like(x, 0.5)
    phases = torch.stack([x, far, near], 1)
    cfg = LossConfig(w_text_rc=1.0, w_body=0.0)
    idx = torch.tensor([0, 1])
    z = torch.randn(2, 4)
    _, plain = compute_losses(z, x, x, cfg, torch.randn(2, 4), idx, x_text=x_text)
    _, closest = compute_losses(z, x, x, cfg, torch.randn(2, 4), idx, x_text=x_text, x_phases=phases)
    assert float(plain["text_rc"]) == 4.0 and float(closest["text_rc"]) == 0.25
    x_text.requires_grad_(True)  # the gradient flows to the decode, towards the chosen candidate only
    _, t = compute_losses(z, x, x, cfg, torch.randn(2, 4), idx, x_text=x_text, x_phases=phases)
    t["text_rc"].backward()
    assert torch.allclose(x_text.grad, torch.full_like(x_text, -2 * 0.5 / x_text[0].numel() / 2))


def test_spectral_term_is_blind_to_phase_and_pushes_a_held_pose_to_move():
    t = torch.arange(60.0)
    wave = 0.2 * torch.sin(2 * torch.pi * 2 * t / 30)  # 2 Hz at 30 fps, as Bandai's waves
    x = torch.zeros(2, 25, 6, 60)
    x[:, 21, 0] = wave
    shifted = torch.zeros_like(x)
    shifted[:, 21, 0] = 0.2 * torch.sin(2 * torch.pi * 2 * t / 30 + 2.0)
    held = torch.zeros_like(x).requires_grad_(True)
    cfg = LossConfig(w_rc=1.0, w_body=0.0, w_vel=0.0, w_text=0.0, w_image=0.0, w_spec=10.0)
    _, phase = compute_losses(torch.randn(2, 4), shifted, x, cfg)
    total, still = compute_losses(torch.randn(2, 4), held, x, cfg)
    assert float(phase["spec"]) < float(still["spec"]) / 1000  # the MSE, not the spectrum, sees the phase
    assert float(phase["rc"]) > float(still["rc"])              # a wave out of phase costs the MSE more than a hold
    torch.testing.assert_close(total, still["rc"] + 10 * still["spec"])
    total.backward()
    assert held.grad[:, 21, 0].abs().sum() > 0 and torch.isfinite(held.grad).all()
    # the text decodes get the same term, weighted alike
    x_text = torch.zeros_like(x)
    _, terms = compute_losses(torch.randn(2, 4), x, x, replace(cfg, w_text_rc=1.0), torch.randn(2, 4),
                              torch.tensor([0, -1]), x_text=x_text)
    torch.testing.assert_close(terms["text_spec"], spectral_loss(x_text[:1], x[:1]))


def test_balanced_windows_weigh_each_window_by_how_little_it_moves():
    x = _x(3, 20)
    x[2, :, :, :] += torch.linspace(0, 3, 20)   # the third window moves far more than the others
    x_hat = x + 0.05 * torch.randn_like(x)
    w = window_weights(x)
    assert w.mean().item() == pytest.approx(1.0) and w[2] < w[0] and w[2] < w[1]
    cfg = LossConfig(w_text=0.0, w_image=0.0, w_spec=1.0, w_text_rc=1.0, balance_windows=True)
    x_text = x + 0.1 * torch.randn_like(x)
    _, terms = compute_losses(torch.randn(3, 4), x_hat, x, cfg, torch.randn(3, 4), torch.tensor([0, 1, -1]),
                              x_text=x_text)
    per = (x_hat - x).square().flatten(1).mean(1)
    torch.testing.assert_close(terms["rc"], (per * w).mean())
    per_text = (x_text[:2] - x[:2]).square().flatten(1).mean(1)
    torch.testing.assert_close(terms["text_rc"], (per_text * w[:2]).mean())
    _, plain = compute_losses(torch.randn(3, 4), x_hat, x, replace(cfg, balance_windows=False))
    torch.testing.assert_close(plain["rc"], per.mean())
    assert set(terms) == {"rc", "vel", "body", "spec", "text_rc", "text_spec"}
    assert float(terms["body"]) != pytest.approx(float(plain["body"]))


def test_body_term_on_smpl_vertices(tmp_path):
    """With SMPL files the body term compares vertices; on the fake model vertex j < 24 rides on joint j."""
    from fake_smpl import fake_smpl
    from mcl.body import load_skeleton
    from mcl.body.mesh import load_body_mesh
    from mcl.training.losses import vertices_from_tensor

    fake_smpl(tmp_path, load_skeleton().rest.numpy())
    mesh, sk = load_body_mesh(tmp_path, quiet=True), load_skeleton(tmp_path)
    x = _x(2, 20)
    v = vertices_from_tensor(x, mesh)
    assert v.shape == (2, 20, 6890, 3)
    torch.testing.assert_close(v[:, :, :24], joints_from_tensor(x, sk), atol=1e-4, rtol=0)
    assert float(reconstruction_losses(x, x.clone(), mesh=mesh)["body"]) < 1e-10
    x_hat = (x + 0.05 * torch.randn_like(x)).requires_grad_()
    body = reconstruction_losses(x, x_hat, mesh=mesh)["body"]
    body.backward()
    assert float(body.detach()) > 1e-5 and float(x_hat.grad[:, :24].abs().sum()) > 0


def test_body_choice_auto_and_missing_smpl(tmp_path, monkeypatch):
    from mcl.training.losses import body_mesh_for_loss, resolve_body

    monkeypatch.delenv("MCL_SMPL_DIR", raising=False)
    assert resolve_body("auto") == "joints" and body_mesh_for_loss("joints") is None
    with pytest.raises(ValueError, match="MCL_SMPL_DIR.*SMPL_NEUTRAL.npz"):
        body_mesh_for_loss("vertices")
    monkeypatch.setenv("MCL_SMPL_DIR", str(tmp_path))
    assert resolve_body("auto") == "vertices" and resolve_body("joints") == "joints"
    with pytest.raises(ValueError, match="loss.body='bones'"):
        LossConfig(body="bones")
