"""Image-loss frames: the rasteriser, the camera, framing, symmetry, determinism and the disk cache."""
import numpy as np
import pytest

from mcl.data import Motion
from mcl.render import TRAINING_CAMERA, Camera, render_frames, training_frames
from mcl.render.raster import rasterize


def _mask(img):
    return (img < 245).any(-1)


def test_rasterize_culls_back_faces_and_keeps_the_nearest():
    tri = np.array([[10, 10, 2.0], [10, 50, 2.0], [50, 10, 2.0],  # front-facing (clockwise on screen), far
                    [5, 5, 1.0], [5, 40, 1.0], [40, 5, 1.0]], np.float32)  # front-facing, nearer, overlapping
    colors = np.array([[1, 0, 0]] * 3 + [[0, 0, 1]] * 3, np.float32)
    img = rasterize(tri[None], np.array([[0, 1, 2], [3, 4, 5]]), colors[None], 64, 64)[0]
    assert tuple(img[12, 12]) == (0, 0, 255)  # the near (blue) triangle wins where they overlap
    assert tuple(img[25, 25]) == (255, 0, 0)  # only the far one covers this pixel (row 25, column 25)
    assert tuple(img[60, 60]) == (255, 255, 255)  # background
    back = rasterize(tri[None], np.array([[0, 2, 1]]), colors[None], 64, 64)[0]
    assert (back == 255).all()  # the same triangle wound the other way is culled


def test_camera_looks_at_target():
    cam = Camera()
    p = cam.project(np.array([[[1.0, 2.0, 3.0]]], np.float32), np.array([[1.0, 2.0, 3.0]], np.float32))[0, 0]
    assert np.allclose(p[:2], [cam.width / 2, cam.height / 2], atol=1e-3) and np.isclose(p[2], cam.distance)
    # frontal camera: the body's left (+x) appears on the image's right, up is up
    f = Camera.frontal().project(np.array([[[0.5, 0.5, 0.0]]], np.float32), np.zeros((1, 3), np.float32))[0, 0]
    assert f[0] > 112 and f[1] < 112


def test_tpose_is_nonempty_centred_and_framed():
    img = render_frames(np.zeros((1, 24, 3), np.float32))[0]
    assert img.shape == (224, 224, 3) and img.dtype == np.uint8
    assert (img[0] == 255).all() and (img[:, 0] == 255).all()  # white background at the border
    m = _mask(img)
    assert 0.05 < m.mean() < 0.5
    rows, cols = np.nonzero(m)
    assert rows.max() - rows.min() > 0.6 * 224  # a standing figure fills most of the height
    assert rows.min() > 5 and rows.max() < 219  # … and fits
    assert abs(cols.mean() - 112) < 15  # centred on the pelvis


def test_tpose_front_view_is_left_right_symmetric():
    img = render_frames(np.zeros((1, 24, 3), np.float32), camera=Camera.frontal())[0]
    m = _mask(img)
    mirror = m[:, ::-1]
    iou = (m & mirror).sum() / (m | mirror).sum()
    assert iou > 0.9


def test_left_arm_raised_shows_on_the_image_right():
    pose = np.zeros((1, 24, 3), np.float32)
    pose[0, 16] = [0, 0, 1.4]  # left shoulder: rotate the +x arm up about +z
    m = _mask(render_frames(pose, camera=Camera.frontal())[0])
    top = m[:60]  # above the shoulders (row ≈ 73); the head spans columns ≈ 103–121
    assert top[:, 122:].sum() > 50 and top[:, :102].sum() == 0


def test_root_translation_is_removed_and_rendering_is_deterministic():
    rng = np.random.default_rng(0)
    poses = (rng.normal(size=(3, 24, 3)) * 0.3).astype(np.float32)
    a, b = render_frames(poses), render_frames(poses)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    ms = [Motion(poses[:1].repeat(4, 0), np.full((4, 3), t, np.float32), fps=30) for t in (0.0, 5.0)]
    f0, f1 = training_frames(ms, cache_dir=False, progress=False)
    assert np.array_equal(f0, f1) and np.array_equal(f0, a[0])


def test_training_frames_cache_and_frame_choice(tmp_path):
    rng = np.random.default_rng(1)
    windows = [Motion((rng.normal(size=(10, 24, 3)) * 0.3).astype(np.float32), np.zeros((10, 3)), fps=30)
               for _ in range(3)]
    first = training_frames(windows, cache_dir=tmp_path, progress=False)
    assert first.shape == (3, 224, 224, 3) and first.dtype == np.uint8
    assert training_frames.last_stats == {"hits": 0, "rendered": 3}
    assert len(list(tmp_path.rglob("*.png"))) == 3
    again = training_frames(windows, cache_dir=tmp_path, progress=False)
    assert training_frames.last_stats == {"hits": 3, "rendered": 0}
    assert np.array_equal(first, again)
    # "middle" is frame 5 of 10; other choices render other poses
    assert np.array_equal(first[0], render_frames(windows[0].poses[5:6])[0])
    last = training_frames(windows[:1], frame="last", cache_dir=tmp_path, progress=False)
    assert np.array_equal(last[0], render_frames(windows[0].poses[9:10])[0])
    assert np.array_equal(training_frames(windows[:1], frame=-1, cache_dir=tmp_path, progress=False), last)
    with pytest.raises(ValueError, match="outside"):
        training_frames(windows[:1], frame=10, cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="middle"):
        training_frames(windows[:1], frame="centre", cache_dir=tmp_path, progress=False)
    # a different camera is a different cache entry, never a stale hit
    training_frames(windows[:1], cache_dir=tmp_path, progress=False, camera=Camera(yaw=-30))
    assert training_frames.last_stats == {"hits": 0, "rendered": 1}


def test_training_camera_is_documented_default():
    assert (TRAINING_CAMERA.yaw, TRAINING_CAMERA.elevation, TRAINING_CAMERA.width) == (30.0, 10.0, 224)
