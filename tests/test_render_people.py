"""Renders for people: the plotly player, mp4/gif export and filmstrips."""
import imageio.v2 as imageio
import numpy as np
import pytest

from mcl.data import synthetic_motion
from mcl.render import filmstrip, save_video, show


def test_show_has_one_frame_per_motion_frame():
    a, b = synthetic_motion(12, seed=0), synthetic_motion(8, seed=1)
    fig = show([a, b], titles=["a", "b"])
    assert len(fig.frames) == 12  # the longer motion; the shorter holds its last pose
    assert len(fig.layout.sliders[0].steps) == 12
    assert [t.name for t in fig.data[:2]] == ["a", "b"]
    # frame k shows pose k: the first motion's lines move between frames
    x0 = np.asarray(fig.frames[0].data[0].x, float)
    x5 = np.asarray(fig.frames[5].data[0].x, float)
    assert not np.allclose(x0, x5, equal_nan=True)
    assert np.allclose(np.asarray(fig.frames[7].data[1].x, float), np.asarray(fig.frames[11].data[1].x, float),
                       equal_nan=True)
    html = fig.to_html(include_plotlyjs=False)
    assert '"type":"scatter3d"' in html.replace(" ", "") and html.count('"name":"11"') >= 1


def test_show_mesh_mode_and_bad_mode():
    fig = show(synthetic_motion(3, seed=2), mode="mesh")
    assert len(fig.frames) == 3 and fig.data[0].type == "mesh3d"
    assert len(fig.data[0].i) > 1000
    with pytest.raises(ValueError, match="skeleton"):
        show(synthetic_motion(3), mode="points")


@pytest.mark.parametrize("ext", [".mp4", ".gif"])
def test_save_video_decodes(tmp_path, ext):
    a, b = synthetic_motion(9, seed=3), synthetic_motion(6, seed=4)
    path = save_video([a, b], tmp_path / f"clip{ext}", fps=30, titles=["a", "b"], progress=False)
    reader = imageio.get_reader(path)
    frames = [f for f in reader]
    assert len(frames) == 9
    assert frames[0].shape[:2] == (320, 640)  # two 320 × 320 panels side by side
    # something is drawn (the floor and a body), not a blank frame
    assert frames[4].std() > 10


def test_save_video_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        save_video(synthetic_motion(3), tmp_path / "clip.avi", progress=False)


def test_filmstrip_writes_png_and_pdf(tmp_path):
    m = synthetic_motion(30, seed=5)
    fig = filmstrip(m, n=5, path=tmp_path / "strip.png")
    assert (tmp_path / "strip.png").stat().st_size > 5000
    assert (tmp_path / "strip.pdf").read_bytes()[:4] == b"%PDF"
    img = imageio.imread(tmp_path / "strip.png")
    assert img.shape[1] > img.shape[0]  # a strip: wider than tall
    assert len(fig.axes[0].texts) == 5  # one time label per pose


def test_cli_render_help_and_gif(tmp_path, capsys):
    from mcl.cli import entry, main

    with pytest.raises(SystemExit) as e:
        main(["render", "--help"])
    assert e.value.code == 0 and "--out" in capsys.readouterr().out
    out = tmp_path / "s.gif"
    assert main(["render", "synthetic?n=2&frames=6", "--clips", "1", "--out", str(out)]) == 0
    assert len(imageio.mimread(out)) == 6
    with pytest.raises(ValueError, match="no clip named"):
        main(["render", "synthetic?n=1&frames=6", "--clips", "nope", "--out", str(out)])
    # the console script turns it into one line and exit code 2 (nothing was done)
    assert entry(["render", "synthetic?n=1&frames=6", "--clips", "nope", "--out", str(out)]) == 2
    assert "mcl: error: --clips: no clip named 'nope'" in capsys.readouterr().err
