"""The latent toolkit on a tiny random MotionCLIP and a hash-seeded text space (no weights, no data files)."""
import numpy as np
import pytest
import torch

from latent_fakes import tiny_loaded
from mcl.latent import ops as latent
from mcl.body.skeleton import load_skeleton
from mcl.data.synthetic import synthetic_motion


@pytest.fixture(scope="module")
def run():
    return tiny_loaded(dim=16)


def test_encode_shapes_order_and_mixed_lengths(run):
    ms = [synthetic_motion(60, seed=0), synthetic_motion(90, seed=1), synthetic_motion(60, seed=2)]
    z = latent.encode(run, ms)
    assert z.shape == (3, 16)
    # order is kept although the 60-frame clips are batched together
    np.testing.assert_allclose(z[1], latent.encode(run, [ms[1]])[0], atol=1e-5)
    np.testing.assert_allclose(z[2], latent.encode(run, [ms[2]])[0], atol=1e-5)


def test_encode_resamples_to_30fps(run):
    m = synthetic_motion(120, fps=60, seed=3)
    np.testing.assert_allclose(latent.encode(run, [m]), latent.encode(run, [m.resample(30)]), atol=1e-5)


def test_decode_stands_on_floor_at_30fps_any_length(run):
    z = torch.randn(2, 16)
    floor = load_skeleton().floor_below_pelvis
    for n in (30, 60, 120):
        ms = latent.decode(run, z, n_frames=n)
        assert len(ms) == 2 and ms[0].num_frames == n and ms[0].fps == 30
        np.testing.assert_allclose(ms[0].trans[0], [0.0, floor, 0.0], atol=1e-6)
        assert np.isfinite(ms[1].poses).all()


def test_text_to_motion_decodes_text_embedding(run):
    (m,) = latent.text_to_motion(run, "a person jumps", n_frames=45)
    direct = latent.decode(run, latent.text_latents(run, ["a person jumps"]), n_frames=45)[0]
    assert m.texts == ["a person jumps"] and m.num_frames == 45
    np.testing.assert_allclose(m.poses, direct.poses, atol=1e-6)


def test_text_latents_keep_direction_and_take_the_latent_norm(run):
    from mcl.data.synthetic import synthetic_dataset
    from mcl.data.windows import make_windows

    raw = run.space.encode_text(["a person waves", "a person sits"])
    np.testing.assert_allclose(latent.text_latents(run, ["a person waves", "a person sits"], text_norm="raw"), raw)
    t = latent.text_latents(run, ["a person waves", "a person sits"])
    # the norm is the mean ‖z‖ of the run's training data (here `synthetic`), the direction the text's
    want = float(latent.encode(run, make_windows(synthetic_dataset(16, frames=240))).norm(dim=1).mean())
    np.testing.assert_allclose(t.norm(dim=1), [want, want], rtol=1e-4)
    np.testing.assert_allclose(torch.nn.functional.cosine_similarity(t, raw), [1.0, 1.0], atol=1e-6)
    (m_raw,) = latent.text_to_motion(run, "a person waves", text_norm="raw")
    np.testing.assert_allclose(m_raw.to_tensor(), latent.decode(run, raw[:1])[0].to_tensor(), atol=1e-5)
    with pytest.raises(ValueError, match="text_norm"):
        latent.text_latents(run, ["x"], text_norm="unit")


def test_latent_norm_of_custom_data_needs_calibration():
    from latent_fakes import FakeLoaded

    run = tiny_loaded(dim=16)
    custom = FakeLoaded(run.model, run.space, data_spec="custom (3 motions)")
    with pytest.raises(ValueError, match="calibrate"):
        latent.text_latents(custom, ["walk"])
    norm = latent.calibrate(custom, [synthetic_motion(120, seed=s) for s in range(3)])
    assert latent.latent_norm(custom) == norm
    assert float(latent.text_latents(custom, ["walk"]).norm()) == pytest.approx(norm, rel=1e-5)


def test_latents_accepts_motions_texts_vectors(run):
    m = synthetic_motion(60, seed=4)
    v = torch.randn(16)
    z = latent.latents(run, ["walk", m, v])
    np.testing.assert_allclose(z[0], latent.text_latents(run, ["walk"])[0])
    np.testing.assert_allclose(z[1], latent.encode(run, [m])[0], atol=1e-6)
    np.testing.assert_allclose(z[2], v)
    with pytest.raises(TypeError, match="operand 0"):
        latent.latents(run, [3.5])


def test_edit_with_minus_equal_plus_returns_base(run):
    base = synthetic_motion(60, seed=5)
    for minus_plus in ("normal", synthetic_motion(60, seed=6)):
        out = latent.edit(run, base, minus_plus, minus_plus)
        ref = latent.decode(run, latent.encode(run, [base]))[0]
        # with Motions as minus/plus, edit encodes base in a batch of 3 and ref in a batch of 1: CPU kernels round by
        # batch size (1.4e-5 rad on one of 4320 values on the 2-core AVX-512 Xeon): equal up to float error, not 1e-5
        np.testing.assert_allclose(out.poses, ref.poses, atol=1e-4)
        np.testing.assert_allclose(out.trans, ref.trans, atol=1e-4)


def test_edit_is_latent_arithmetic(run):
    zb, zm, zp = latent.text_latents(run, ["walk", "normal", "elderly"])
    out = latent.edit(run, "walk", "normal", "elderly", scale=0.5)
    ref = latent.decode(run, zb + 0.5 * (zp - zm))[0]
    np.testing.assert_allclose(out.poses, ref.poses, atol=1e-5)
    assert "elderly" in out.texts[0]


def test_compose_parts_is_lower_minus_neutral_plus_upper(run):
    zu, zl, zn = latent.text_latents(run, ["drink from mug", "walk", "stand"])
    out = latent.compose_parts(run, upper="drink from mug", lower="walk")
    np.testing.assert_allclose(out.poses, latent.decode(run, zl - zn + zu)[0].poses, atol=1e-5)


@pytest.mark.parametrize("spherical", [False, True])
def test_interpolation_endpoints_decode_to_endpoints(run, spherical):
    a, b = synthetic_motion(60, seed=7), "a person waves"
    ms = latent.interpolate(run, a, b, steps=5, spherical=spherical)
    assert len(ms) == 5
    za, zb = latent.encode(run, [a])[0], latent.text_latents(run, [b])[0]
    zs = latent.interpolate_latents(za, zb, steps=5, spherical=spherical)
    torch.testing.assert_close(zs[0], za, rtol=0, atol=0)  # exactly the endpoint latents
    torch.testing.assert_close(zs[-1], zb, rtol=0, atol=0)
    da = latent.decode(run, za)[0]
    db = latent.text_to_motion(run, [b])[0]
    # same latent, decoded in a batch of 5 vs alone: equal up to float reduction order
    np.testing.assert_allclose(ms[0].to_tensor(), da.to_tensor(), atol=1e-4)
    np.testing.assert_allclose(ms[-1].to_tensor(), db.to_tensor(), atol=1e-4)


def test_interpolation_midpoint_linear_and_slerp():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    lin = latent.interpolate_latents(a, b, steps=3)
    np.testing.assert_allclose(lin[1], [0.5, 1.0])
    sph = latent.interpolate_latents(a, b, steps=3, spherical=True)
    np.testing.assert_allclose(sph[1], np.array([1.0, 1.0]) / np.sqrt(2) * 1.5, atol=1e-6)  # 45°, mean norm
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate_latents(a, b, steps=1)


def test_classify_on_class_name_embeddings_returns_the_class(run):
    names = ["walk", "run", "jump", "kick", "dance", "crawl"]
    z = run.space.encode_text([f"a person {n}s" for n in names])
    res = latent.classify(run, z, names, prompt="a person {}s", k=3)
    assert res.predicted == names
    assert res.probs.shape == (6, 6) and res.topk.shape == (6, 3)
    torch.testing.assert_close(res.probs.sum(1), torch.ones(6))
    assert res.top(2)[0][0] == "jump" and res.top(2)[0][1] > 0.99  # softmax(100·cos) is sharp
    with pytest.raises(ValueError, match="distinct"):
        latent.classify(run, z, ["walk", "walk"])


def test_reconstruct_starts_where_input_starts(run):
    m = synthetic_motion(60, seed=8)
    (r,) = latent.reconstruct(run, [m])
    assert r.num_frames == 60
    np.testing.assert_allclose(r.trans[0], m.trans[0], atol=1e-6)


@pytest.mark.slow  # umap-learn compiles with numba on first use (~25 s on 2 cores)
def test_latent_map_colours_by_label_and_hovers_text():
    from mcl.lab.umap_map import latent_map

    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(size=(15, 16)) + 6 * np.eye(16)[i] for i in range(3)])
    labels = ["walk"] * 15 + ["run"] * 15 + ["jump"] * 15
    fig = latent_map(z, labels, [f"text {i}" for i in range(45)], n_neighbors=10)
    assert sorted(t.name for t in fig.data) == ["jump", "run", "walk"]
    walk = next(t for t in fig.data if t.name == "walk")
    assert len(walk.x) == 15 and walk.text[0] == "text 0"
    # well-separated clusters stay separated in 2-D: each point's nearest neighbour has its label
    xy = np.concatenate([np.stack([t.x, t.y], 1) for t in fig.data])
    lab = np.concatenate([[t.name] * len(t.x) for t in fig.data])
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
    assert (lab[d.argmin(1)] == lab).mean() > 0.95
    with pytest.raises(ValueError, match="labels"):
        latent_map(z, labels[:3])


def test_evaluations_on_tiny_model(run):
    from mcl.latent import evaluate
    from mcl.data.synthetic import synthetic_dataset
    from mcl.data.windows import make_windows

    ws = make_windows(synthetic_dataset(4, frames=120))  # 8 windows, labels swing/sway/bob/twist
    rec = evaluate.reconstruction(run, ws, progress=False)
    assert rec["n"] == 8 and rec["mpjpe_mm"] > 0 and rec["mpjpe_global_mm"] >= 0 and 0 < rec["angle_deg"] < 180
    same = evaluate.motion_errors(ws[0], ws[0])
    assert same["mpjpe_mm"] == pytest.approx(0, abs=1e-6) and same["angle_deg"] == pytest.approx(0, abs=1e-2)
    study = evaluate.length_study(run, ws[:2], lengths=(30, 90), progress=False)
    assert set(study) == {30, 90} and "tail_motion_ratio" in study[90] and "tail_motion_ratio" not in study[30]
    rec = evaluate.recognition(run, ws, label_key="action")
    assert rec["classes"] == ["bob", "sway", "swing", "twist"] and rec["n"] == 8
    assert sum(map(sum, rec["confusion"])) == 8
    ret = evaluate.retrieval(run, ws)
    assert ret["info"]["distinct_texts"] == 4 and "skipped" in ret["batches"]
    score = evaluate.edit_score(run, ws[:3], "normal", "elderly", ["normal", "elderly"], "elderly")
    assert score["n"] == 3 and 0 <= score["after"] <= 100
    match = evaluate.text_to_motion_match(run, synthetic_dataset(3, frames=90), n_frames=60)
    assert match["n"] == 3 and np.array(match["dist_mm"]).shape == (3, 3)


def test_phase_probe_reads_the_phase_from_a_z_that_carries_it(run):
    from mcl.latent.evaluate import phase_probe

    class FirstFrames(torch.nn.Module):  # z = the poses of frames 0-7: the phase, nothing else
        def encode(self, x):
            return x[:, :, :, :8].flatten(1)

    def windows(hz, starts):  # 60-frame windows of one long swing, cut at every phase
        long = _waving(hz, frames=200)
        return [long.slice(s, s + 60) for s in starts]

    train, test = windows(1.5, range(0, 120, 3)), windows(1.5, range(1, 120, 7))
    assert phase_probe(FirstFrames(), train, test)["r2_test"] > 0.95
    blind = phase_probe(tiny_loaded(dim=2, seed=1), train, test)  # a 2-d random encoder cannot say it
    assert blind["n_test"] == len(test) and blind["r2_test"] < 0.9
    assert blind["r2_decoded"] < 0  # an untrained decoder's waves are worse than the mean offset


def _waving(hz: float, amplitude: float = 0.6, frames: int = 60, fps: float = 30.0):
    """A body standing still but for the right elbow swinging at `hz` (SMPL-24 joint 19)."""
    from mcl.data.motion import Motion
    t = np.arange(frames) / fps
    poses = np.zeros((frames, 24, 3), np.float32)
    poses[:, 19, 1] = amplitude * np.sin(2 * np.pi * hz * t)
    return Motion(poses=poses, trans=np.zeros((frames, 3), np.float32), fps=fps, labels={"content": f"{hz}"})


def test_limb_speeds_see_a_wave_and_periodic_detail_compares_decodes(run):
    from mcl.latent.evaluate import limb_speeds, periodic_detail
    held, slow, fast = _waving(0.0), _waving(1.0), _waving(2.0)
    s = limb_speeds([held, slow, fast])
    assert s["wrists"][0] == 0 and s["ankles"].max() < 1e-6     # nothing moves but the right forearm
    assert 0 < s["wrists"][1] and 1.8 < s["wrists"][2] / s["wrists"][1] < 2.1  # twice the rate, twice the speed
    r = periodic_detail(run, [slow, fast, fast], {"1.0": "a slow wave", "2.0": "a fast wave", "9": "no such class"})
    assert list(r) == ["1.0", "2.0"] and r["2.0"]["n"] == 2
    rec = limb_speeds(latent.reconstruct(run, [fast]))["wrists"][0]
    assert abs(r["2.0"]["wrists"]["reconstructed"] - rec) < 1e-5
    assert abs(r["2.0"]["wrists"]["reconstructed/real"] - rec / s["wrists"][2]) < 1e-5
    gen = limb_speeds(latent.text_to_motion(run, ["a fast wave"]))["wrists"][0]
    assert abs(r["2.0"]["wrists"]["text"] - gen) < 1e-5
