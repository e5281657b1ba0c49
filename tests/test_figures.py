"""mcl.lab.figures helpers on synthetic data and a tiny random model (the notebooks test the rest end to end)."""
import json

import numpy as np
import pytest

from latent_fakes import tiny_loaded
from mcl.lab import figures as F
from mcl.data.synthetic import synthetic_motion


def _labelled(n=6, frames=60):
    ms = []
    for i in range(n):
        m = synthetic_motion(frames, seed=i)
        m.labels["action"] = ["walk", "run", "jump"][i % 3]
        ms.append(m)
    return ms


def test_class_setup_known_sets_and_labels():
    dm = F.class_setup("deepmimic?clips=walk")
    assert len(dm.names) == 15 and dm.label_key == "action" and dm.prompts[0] == "a person walks forward"
    st = F.class_setup("bandai", by="style")
    assert st.label_key == "style" and "an elderly person" in st.prompts
    other = F.class_setup("bvh:/x", motions=_labelled())
    assert other.names == ["jump", "run", "walk"]
    with pytest.raises(ValueError, match="no known class list"):
        F.class_setup("bvh:/x")


def test_dataset_windows_fits_short_clips_and_counts_skips():
    ms = _labelled(3, frames=45) + _labelled(1, frames=130)
    assert len(F.dataset_windows(ms)) == 3 + 2  # short clips held to 60 frames, the long one cut twice
    from mcl.data.errors import SkipReport
    report = SkipReport()
    assert len(F.dataset_windows(ms, fit=False, report=report)) == 2 and len(report) == 3
    with pytest.raises(ValueError, match="needs the loaded run"):
        F.dataset_windows(ms, split="val")


def test_first_window_per_label():
    ws = _labelled(6)
    first = F.first_window_per_label(ws, "action")
    assert list(first) == ["walk", "run", "jump"] and first["run"] is ws[1]


def test_loss_curves_reads_metrics(tmp_path):
    rows = [{"split": "train", "epoch": 0, "step": s, "loss": 10.0 / s, "rc": 1.0 / s, "text": 0.9} for s in (1, 2)]
    rows.append({"split": "val", "epoch": 0, "step": 2, "loss": 6.0, "rc": 0.5, "text": 0.8})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    fig = F.loss_curves(tmp_path)
    assert [a.text for a in fig.layout.annotations] == ["total (weighted)", "rc", "text"]
    assert list(fig.data[0].y) == [10.0, 5.0] and list(fig.data[1].y) == [6.0]
    with pytest.raises(FileNotFoundError, match="no metrics"):
        F.loss_curves(tmp_path / "nothing")


CLASSES = F.ClassSetup("action", ["walk", "run", "jump"], ["a person walks", "a person runs", "a person jumps"])


@pytest.mark.slow  # umap-learn compiles with numba on first use (~25 s on 2 cores)
def test_umap_figure_writes_png_and_pdf(tmp_path):
    run = tiny_loaded(dim=16)
    pts = F.umap_points(run, _labelled(6), CLASSES, n_neighbors=3)
    assert pts.xy.shape == (9, 2) and pts.kind.count("text") == 3
    F.umap_figure(pts, path=tmp_path / "umap")
    for ext in (".png", ".pdf"):
        assert (tmp_path / f"umap{ext}").stat().st_size > 1000


def test_confusion_figure_writes_png_and_pdf_and_the_figures_table(tmp_path):
    res = {"confusion": np.eye(3).tolist(), "classes": CLASSES.names, "top1": 100.0, "top5": 100.0, "n": 3}
    F.confusion_figure(res, path=tmp_path / "cm.png")
    for ext in (".png", ".pdf"):
        assert (tmp_path / f"cm{ext}").stat().st_size > 1000
    table = F.figures_table(tmp_path)
    assert "fig_umap (not written)" in table and table.count("\n") == len(F.PAPER_FIGURES) + 1
