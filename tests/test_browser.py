"""The explorers in a real browser: JupyterLab driven by headless Chromium (Playwright, Debian's `chromium`).

Opens 02_text_to_motion, runs all cells, types a new prompt into the text-to-motion explorer and checks, in the page's
DOM, that the explorer's plot now carries the new prompt as its caption and no longer the old one; then adds a cell
with the interpolation explorer (as notebook 03 ends) to the same live notebook and does the same for its t slider. This is the test that sees what users see: a
widget callback whose figure never reaches the page fails here, not in tests/test_widgets.py.

Skips where Chromium or Playwright is missing (CI installs both: `.ci/run`). ~1–2 minutes.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from mcl.lab.notebooks import NOTEBOOK_DIR, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("the browser test needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright "
                                                             "(pip install -e '.[dev]'); no browser download needed")
# notebooks too: it runs notebook 02's cells in a JupyterLab kernel
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.notebooks]

TOKEN = "mcl-browser-test"
# the captions of plots in the page, one string per plot (titles and per-panel annotations)
CAPTIONS = ("[...document.querySelectorAll('.js-plotly-plot')].map(e => "
            "[...e.querySelectorAll('.gtitle, .annotation-text')].map(t => t.textContent).join(' | '))")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tiny_run, tmp_path_factory):
    """JupyterLab on 127.0.0.1 over a parameterised copy of notebook 02 (the tiny run, fast settings); its
    kernels import this checkout's `mcl`. Yields the base URL."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    params = {"fast": True, "run_dir": str(tiny_run), "data": "deepmimic", "figures_dir": str(root / "figures")}
    for name in ("02_text_to_motion.ipynb",):
        nb = load_notebook_node(str(NOTEBOOK_DIR / name))
        declared = [k for k in params if any(f"{k} = " in c.source for c in nb.cells if c.cell_type == "code")]
        nbformat.write(parameterize_notebook(nb, {k: params[k] for k in declared}), str(root / "notebooks" / name))
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               JUPYTER_CONFIG_DIR=str(root / "config"), TQDM_DISABLE="1")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"jupyter lab exited: {(root / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            raise RuntimeError(f"jupyter lab did not answer in 2 min: {(root / 'lab.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        # software WebGL: plotly's 3D player needs it and a CI machine has no GPU
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--use-angle=swiftshader",
                                                              "--enable-unsafe-swiftshader"])
        yield b
        b.close()


def _run_all(browser, lab, name: str):
    """Open notebook `name` in JupyterLab and run all its cells; returns the page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab}/lab/tree/notebooks/{name}?token={TOKEN}", timeout=120_000)
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')", timeout=120_000)
    # the kernel must be up before run-all, or the first cells are queued against nothing
    page.wait_for_function("(() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return w && w.sessionContext && w.sessionContext.session &&"
                           " w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; })()",
                           timeout=120_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return page


def _wait_for_caption(page, text: str, timeout_s: float = 180):
    page.wait_for_function(f"{CAPTIONS}.some(c => c.includes({text!r}))", timeout=timeout_s * 1000)


def _plot_index(page, text: str) -> int:
    caps = page.evaluate(CAPTIONS)
    hits = [i for i, c in enumerate(caps) if text in c]
    assert len(hits) == 1, f"expected one plot captioned {text!r}, got {hits} in {caps}"
    return hits[0]


@pytest.fixture(scope="module")
def notebook02(browser, lab):
    """02_text_to_motion open in JupyterLab, all its cells run (the explorer's first figure drawn)."""
    page = _run_all(browser, lab, "02_text_to_motion.ipynb")
    _wait_for_caption(page, "“a person does a cartwheel”")  # the explorer's first prompt (examples(...).prompts[2])
    yield page
    page.close()


def test_text_to_motion_explorer_redraws_after_a_new_prompt(notebook02):
    page, start = notebook02, "“a person does a cartwheel”"
    i = _plot_index(page, start)
    box = page.locator(".widget-text input[type=text]").last
    assert box.input_value() == "a person does a cartwheel"
    box.fill("a person waves with both hands")
    box.press("Enter")
    new = "“a person waves with both hands”"
    _wait_for_caption(page, new, timeout_s=60)
    caps = page.evaluate(CAPTIONS)
    assert new in caps[i] and start not in caps[i], caps  # the same plot, redrawn in place


def test_interpolation_explorer_redraws_after_the_t_slider_moves(notebook02):
    """The interpolation explorer (notebook 03's last cell) in a new cell of the same live notebook."""
    page = notebook02
    page.evaluate("""(() => {
        const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        nb.activeCellIndex = nb.widgets.length - 1;
        return app.commands.execute('notebook:insert-cell-below').then(() => {
            nb.activeCell.model.sharedModel.setSource(
                'from mcl.lab.widgets import interpolation_explorer\\n' +
                'interpolation_explorer(run, "a person walks forward", "a person does a cartwheel", t=0.5)');
            return app.commands.execute('notebook:run-cell');
        });
    })()""")
    caption = "text: a person walks forward → text: a person does a cartwheel: t = "
    _wait_for_caption(page, caption + "0.50", timeout_s=60)
    i = _plot_index(page, caption + "0.50")
    handle = page.locator(".widget-slider .noUi-handle").last  # the new cell's t slider: the page's last slider
    handle.focus()
    for _ in range(3):  # step 0.05: t 0.50 → 0.65
        handle.press("ArrowRight")
    _wait_for_caption(page, caption + "0.65", timeout_s=60)
    caps = page.evaluate(CAPTIONS)
    assert caps[i].endswith("t = 0.65") and "t = 0.50" not in caps[i], caps
