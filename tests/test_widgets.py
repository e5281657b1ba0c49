"""The ipywidgets explorers without a browser: set a control's value, check the explorer recomputed its result.

Uses a tiny random MotionCLIP and a hash-seeded text space (tests/latent_fakes.py): nothing semantic is checked,
only that each control drives the right latent computation and the figure follows.
"""
import json

import numpy as np
import pytest
import torch

from latent_fakes import tiny_loaded
from mcl.latent import ops as latent
from mcl.lab import widgets
from mcl.data.synthetic import synthetic_motion


@pytest.fixture(scope="module")
def run():
    return tiny_loaded(dim=16)


def _bones(fig) -> np.ndarray:
    """The joint coordinates of the first motion's first frame in a plotly player figure."""
    tr = fig.data[0]
    return np.array([tr.x, tr.y, tr.z], dtype=float)


def _shown(ex) -> dict:
    """The plotly figure spec the explorer's output area holds (what the browser draws)."""
    (out,) = ex.output.outputs
    assert out["output_type"] == "display_data"
    return out["data"][widgets.PLOTLY_MIME]


def test_text_to_motion_explorer_follows_prompt_and_length(run):
    ex = widgets.text_to_motion_explorer(run, prompt="a person jumps")
    assert isinstance(ex, widgets.widgets.VBox)
    np.testing.assert_allclose(ex.motion.poses, latent.text_to_motion(run, "a person jumps")[0].poses, atol=1e-6)
    before = _bones(ex.figure)
    assert "a person jumps" in _shown(ex)["layout"]["annotations"][0]["text"]
    ex.prompt.value = "a person does a cartwheel"
    # the output area now holds the new figure (the explorer replaced it; a browser redraws from this state)
    assert "a person does a cartwheel" in _shown(ex)["layout"]["annotations"][0]["text"]
    assert ex.motion.texts == ["a person does a cartwheel"]
    np.testing.assert_allclose(ex.motion.poses, latent.text_to_motion(run, "a person does a cartwheel")[0].poses,
                               atol=1e-6)
    assert not np.allclose(_bones(ex.figure), before, equal_nan=True)
    ex.frames.value = 90
    assert ex.motion.num_frames == 90 and len(ex.figure.frames) == 90
    ex.prompt.value = "   "  # empty prompt: keeps the last motion and says what to do
    assert ex.motion.num_frames == 90 and "prompt" in ex.status.value


def test_arithmetic_explorer_computes_base_minus_plus(run):
    walk = synthetic_motion(60, seed=1)
    ops = {"walk": walk, "normal": "a person walks", "old": "an old person walks", "run": "a person runs"}
    ex = widgets.arithmetic_explorer(run, ops, base="walk", minus="normal", plus="old")
    z = latent.latents(run, [walk, "a person walks", "an old person walks"])
    torch.testing.assert_close(ex.latent(), z[0] - z[1] + z[2], atol=1e-5, rtol=1e-5)
    assert len(ex.motions) == 2 and len(ex.figure.data) == 4  # two bodies + their grounds
    edited = ex.motions[1].poses.copy()
    ex.scale.value = 2.0
    torch.testing.assert_close(ex.latent(), z[0] + 2 * (z[2] - z[1]), atol=1e-5, rtol=1e-5)
    assert not np.allclose(ex.motions[1].poses, edited)
    ex.plus.value = "normal"  # minus == plus: the edit is the base itself
    np.testing.assert_allclose(ex.motions[1].poses, ex.motions[0].poses, atol=1e-5)
    ex.base.value = "run"
    torch.testing.assert_close(ex.latent(), latent.latents(run, ["a person runs"])[0], atol=1e-5, rtol=1e-5)


def test_arithmetic_explorer_labels_a_list_and_rejects_empty(run):
    ex = widgets.arithmetic_explorer(run, ["a person walks", "a person walks", synthetic_motion(60, seed=2)])
    assert list(ex.base.options)[:2] == ["text: a person walks", "text: a person walks (2)"]
    with pytest.raises(ValueError, match="at least one"):
        widgets.arithmetic_explorer(run, [])


def test_interpolation_explorer_endpoints_and_slerp(run):
    ex = widgets.interpolation_explorer(run, "a person walks", "a person runs", t=0.0)
    za, zb = latent.latents(run, ["a person walks", "a person runs"])
    np.testing.assert_allclose(ex.motion.poses, latent.decode(run, za)[0].poses, atol=1e-6)
    ex.t.value = 1.0
    np.testing.assert_allclose(ex.motion.poses, latent.decode(run, zb)[0].poses, atol=1e-6)
    ex.t.value = 0.5
    linear = ex.latent().clone()
    torch.testing.assert_close(linear, 0.5 * (za + zb))
    ex.spherical.value = True
    torch.testing.assert_close(ex.latent(), latent.slerp(za, zb, 0.5))
    assert not torch.allclose(ex.latent(), linear)  # unit-norm hash vectors: the slerp midpoint is longer
    assert "slerp" in ex.status.value


def test_recognition_explorer_ranks_classes_per_window(run):
    ws = [synthetic_motion(60, seed=i) for i in range(3)]
    for w, lab in zip(ws, ["walk", "run", "jump"]):
        w.labels["action"] = lab
    names = ["walk", "run", "jump", "kick", "roll", "spin"]
    ex = widgets.recognition_explorer(run, ws, names)
    expected = latent.classify(run, ws, names, k=5)
    for i in range(3):
        ex.window.value = i
        assert ex.top == expected.top(i)
        assert len(ex.top) == 5
        assert list(ex.figure.data[0].y)[::-1] == [c for c, _ in expected.top(i)]
        assert f"true: {ws[i].labels['action']}" in ex.figure.layout.title.text
    with pytest.raises(ValueError, match="at least one window"):
        widgets.recognition_explorer(run, [], names)


def test_every_explorer_replaces_its_output_on_a_change(run):
    ex = widgets.interpolation_explorer(run, "a person walks", "a person runs", t=0.0)
    before = json.dumps(_shown(ex), ensure_ascii=False)
    ex.t.value = 0.5
    assert json.dumps(_shown(ex), ensure_ascii=False) != before and "t = 0.50" in json.dumps(_shown(ex), ensure_ascii=False)
    ex = widgets.arithmetic_explorer(run, ["a person walks", "a person runs", "a person jumps"])
    before = json.dumps(_shown(ex), ensure_ascii=False)
    ex.scale.value = 2.0
    assert json.dumps(_shown(ex), ensure_ascii=False) != before and "× 2" in json.dumps(_shown(ex), ensure_ascii=False)
    ws = [synthetic_motion(60, seed=i) for i in range(2)]
    ex = widgets.recognition_explorer(run, ws, ["walk", "run", "jump"])
    ex.window.value = 1
    assert _shown(ex)["layout"]["title"]["text"].startswith("window 1")


def test_explorer_shows_an_error_in_its_status_line(run, monkeypatch):
    ex = widgets.text_to_motion_explorer(run)
    monkeypatch.setattr(latent, "text_to_motion", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        ex.prompt.value = "a person waves"
    assert "RuntimeError: boom" in ex.status.value


def test_latent_map_explorer_plays_a_point_beside_its_nearest_text(run):
    from mcl.lab.figures import ClassSetup, UmapPoints

    ws = [synthetic_motion(60, seed=i) for i in range(4)]
    for w, lab in zip(ws, ["walk", "run", "walk", "run"]):
        w.labels["action"] = lab
    classes = ClassSetup("action", ["walk", "run"], ["a person walks", "a person runs"])
    points = UmapPoints(np.random.default_rng(0).normal(size=(6, 2)), [w.labels["action"] for w in ws] + ["walk", "run"],
                        ["motion"] * 4 + ["text"] * 2, [f"w{i}" for i in range(4)] + ["t0", "t1"])
    ex = widgets.latent_map_explorer(run, ws, classes, points=points)
    cos = torch.nn.functional.normalize(latent.encode(run, ws), dim=-1) @ torch.nn.functional.normalize(
        latent.embed_texts(run, classes.prompts), dim=-1).T
    # every marker knows which point it is: the click handler gets the trace and the index within it
    assert sorted(i for tr in ex.map.data for i in tr.customdata) == list(range(6))
    window, decoded = ex.select(2)
    j = int(cos[2].argmax())
    assert window is ws[2]
    np.testing.assert_allclose(decoded.poses, latent.text_to_motion(run, classes.prompts[j])[0].poses, atol=1e-6)
    assert classes.prompts[j] in json.dumps(_shown(ex), ensure_ascii=False)
    window, _ = ex.select(5)  # a text star: its nearest window
    assert window is ws[int(cos[:, 1].argmax())]
    trace = next(tr for tr in ex.map.data if 3 in tr.customdata)
    ex._clicked(trace, type("P", (), {"point_inds": [list(trace.customdata).index(3)]})(), None)
    assert ex.selected == 3
    with pytest.raises(ValueError, match="not on the map"):
        ex.select(6)


def test_mcl_explore_help_and_missing_run(tmp_path):
    import subprocess
    import sys

    from mcl.lab import explore

    out = subprocess.run([sys.executable, "-m", "mcl.cli", "explore", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "--port" in out.stdout and "Voilà" in out.stdout
    with pytest.raises(FileNotFoundError, match="no trained run there"):
        explore.pick_run(str(tmp_path / "nothing"))
    assert explore.NOTEBOOK.exists()
    cmd = explore.voila_command(9999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9999" in cmd and "--no-browser" in cmd
