"""Metrics on constructed cases with known answers (retrieval ranks, recognition top-k, MPJPE, angles)."""
import numpy as np
import pytest
import torch

from mcl.latent import metrics


def test_identity_similarity_is_perfect_retrieval():
    m = metrics.contrastive_metrics(np.eye(12))
    for d in ("t2m", "m2t"):
        assert m[f"{d}/R01"] == 100.0 and m[f"{d}/R10"] == 100.0
        assert m[f"{d}/MedR"] == 1.0


def test_known_permutation_gives_known_ranks():
    # Row i ranks the columns in the order perm_i; the ground truth (column i) sits at position r_i.
    n = 6
    want = np.array([0, 3, 1, 5, 2, 4])
    sims = np.zeros((n, n))
    rng = np.random.default_rng(0)
    for i in range(n):
        others = [j for j in rng.permutation(n) if j != i]
        order = others[:want[i]] + [i] + others[want[i]:]
        sims[i, order] = np.linspace(1.0, 0.0, n)  # first in `order` scores highest
    np.testing.assert_array_equal(metrics.gt_ranks(sims), want)
    m = metrics.ranks_to_metrics(want)
    assert m["R01"] == pytest.approx(100 / 6) and m["R02"] == pytest.approx(200 / 6)
    assert m["R03"] == pytest.approx(300 / 6) and m["R05"] == pytest.approx(500 / 6) and m["R10"] == 100.0
    assert m["MedR"] == np.median(want) + 1  # 2.5 + 1


def test_reversed_order_is_worst_rank():
    n = 5
    sims = -np.eye(n)  # the ground truth is the lowest of each row
    assert metrics.gt_ranks(sims).tolist() == [n - 1] * n
    assert metrics.contrastive_metrics(sims)["t2m/MedR"] == n


def test_ties_are_averaged_like_tmr():
    sims = np.ones((4, 4))  # everything tied: positions 0..3, average 1.5
    assert metrics.gt_ranks(sims).tolist() == [1.5] * 4


def test_duplicate_texts_count_as_matches():
    # Texts 0 and 1 are the same sentence; text 0's motion (col 0) scores below col 1 → still a hit with `texts`.
    sims = np.array([[0.5, 0.9, 0.1], [0.9, 0.5, 0.1], [0.0, 0.0, 1.0]])
    plain = metrics.contrastive_metrics(sims)
    dup = metrics.contrastive_metrics(sims, texts=["walk", "walk", "jump"])
    assert plain["t2m/R01"] == pytest.approx(100 / 3)
    assert dup["t2m/R01"] == 100.0 and dup["m2t/R01"] == 100.0


def test_identical_duplicate_texts_are_not_ties_against_the_query():
    # motion→text: texts 0 and 1 are the same sentence, so their columns score identically for every motion
    sims_m2t = np.array([[0.9, 0.9, 0.1], [0.9, 0.9, 0.1], [0.2, 0.2, 0.8]])
    texts = ["walk", "walk", "jump"]
    assert metrics.gt_ranks(sims_m2t, metrics.text_positives(texts)).tolist() == [0, 0, 0]
    # a tie with a non-matching item still costs half a place, as in TMR
    assert metrics.gt_ranks(np.array([[0.5, 0.5], [0.1, 0.9]])).tolist() == [0.5, 0]


def test_threshold_protocol_uses_text_embeddings():
    sims = np.array([[0.5, 0.9], [0.9, 0.5]])
    emb = np.array([[1.0, 0.0], [0.999, 0.045]])  # nearly identical texts
    assert metrics.contrastive_metrics(sims, text_emb=emb, threshold=0.95)["t2m/R01"] == 100.0
    assert metrics.contrastive_metrics(sims, text_emb=emb, threshold=0.9999)["t2m/R01"] == 0.0


def test_batches_protocol_averages_full_batches():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(70, 16))
    m = metrics.retrieval_metrics(z, z, protocol="batches", batch_size=32)
    assert m["batches"] == 2 and m["t2m/R01"] == 100.0
    noisy = metrics.retrieval_metrics(z, rng.normal(size=(70, 16)), protocol="batches")
    assert noisy["t2m/R01"] < 50
    with pytest.raises(ValueError, match="at least 32"):
        metrics.retrieval_metrics(z[:10], z[:10], protocol="batches")


def test_topk_accuracy_multi_label():
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3]])
    assert metrics.topk_accuracy(scores, [0, 1, 1], ks=(1, 2)) == {"top1": pytest.approx(200 / 3),
                                                                   "top2": 100.0}
    # a window counts when any of its labels is among the k
    assert metrics.topk_accuracy(scores, [{2, 0}, {1, 2}, {0}], ks=(1,))["top1"] == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="at least one label"):
        metrics.topk_accuracy(scores, [0, [], 1])


def test_mpjpe_known_offsets():
    x = np.random.default_rng(0).normal(size=(10, 24, 3))
    assert metrics.mpjpe(x, x + [0.01, 0, 0], root_relative=False) == pytest.approx(10.0)
    assert metrics.mpjpe(x, x + [0.01, 0, 0], root_relative=True) == pytest.approx(0.0, abs=1e-9)
    y = x.copy()
    y[:, 5] += [0, 0.024, 0]  # one joint of 24 off by 24 mm → mean 1 mm
    assert metrics.mpjpe(x, y) == pytest.approx(1.0)


def test_joint_angle_error_degrees():
    import roma

    eye = torch.eye(3).expand(2, 24, 3, 3)
    rot = roma.rotvec_to_rotmat(torch.tensor([0.0, np.pi / 2, 0.0])).expand(2, 24, 3, 3)
    assert metrics.joint_angle_error(eye, eye) == pytest.approx(0.0, abs=1e-6)
    assert metrics.joint_angle_error(eye, rot) == pytest.approx(90.0, abs=1e-4)


def test_acceleration_of_uniform_motion_is_zero():
    t = np.arange(10)[:, None, None] * np.ones((1, 2, 3))
    assert metrics.acceleration(t) == pytest.approx(0.0)
    assert metrics.acceleration(t ** 2 / 900.0, fps=30) == pytest.approx(np.sqrt(3) * 2)
