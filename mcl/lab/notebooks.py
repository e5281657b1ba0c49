"""Running the notebooks in `notebooks/` with papermill (used by `mcl.lab.demo` and the tests), and `setup()`, the first
call of every notebook.

Each notebook has a cell tagged `parameters` (papermill injects the values it is given after it); `execute` passes a
notebook only the parameters it declares, so one dict can drive them all.
Example:
    from mcl.lab.notebooks import execute_all
    results = execute_all({"fast": True, "run_dir": "runs/tiny"}, out_dir="notebooks/executed")
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
KERNEL = "python3"
TRAINING_NOTEBOOK = "01_"  # the notebook that trains; the others explore a trained model


def setup(quiet: bool = False) -> Path:
    """Make a notebook behave the same from Jupyter, papermill or nbconvert; returns the project root.

    Moves the working directory to the project root (so `runs/…` and `figures/` mean the same from `notebooks/`),
    and picks plotly renderers that work live in JupyterLab (mimetype) and in exported HTML (`notebook`, which embeds
    plotly.js once, so a static page needs no network); matplotlib figures display as PNG without pyplot.
    Example: first cell `root = mcl.lab.notebooks.setup()`.
    """
    here = Path.cwd()
    if here.name == "notebooks" and not (here / "pyproject.toml").exists() and (here.parent / "pyproject.toml").exists():
        os.chdir(here.parent)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if os.environ.get("TQDM_DISABLE"):
        _no_progress_bars()
    try:  # matplotlib Figures returned by mcl (not pyplot) display as PNG even without the inline backend
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
        if get_ipython() is not None:
            select_figure_formats(get_ipython(), {"png"}, dpi=100)
    except ImportError:
        pass
    try:
        import plotly.io as pio
        pio.renderers.default = "plotly_mimetype+notebook"
    except ImportError:  # plotly is a dependency; a notebook without it still runs its text cells
        pass
    if not quiet:  # the folder's name only: an executed notebook carries no absolute path
        print(f"working directory: the project root ({Path.cwd().name}/)")
    return Path.cwd()


def _no_progress_bars() -> None:
    """Every tqdm bar off, whatever its caller passes (papermill sets `TQDM_DISABLE`): the notebook bars of
    `tqdm.auto` ignore that variable, and in an executed notebook a bar is a stale `0%` line, not progress."""
    import tqdm.notebook
    import tqdm.std

    for cls in (tqdm.std.tqdm, tqdm.notebook.tqdm):
        if getattr(cls.__init__, "_mcl_disabled", False):
            continue
        init = cls.__init__

        def disabled(self, *args, _init=init, **kwargs):
            kwargs["disable"] = True
            _init(self, *args, **kwargs)

        disabled._mcl_disabled = True
        cls.__init__ = disabled


def notebook_paths(names: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks `notebooks/NN_*.ipynb` in order, or those whose names start with one of `names`.

    Example: `[p.name for p in notebook_paths(["00", "06"])]` → `['00_quickstart.ipynb', '06_paper_figures.ipynb']`.
    """
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if names:
        picked = [p for p in paths if any(p.stem.startswith(n) or p.name == n for n in names)]
        unknown = [n for n in names if not any(p.stem.startswith(n) or p.name == n for p in paths)]
        if unknown:
            raise ValueError(f"no notebook matches {unknown}; notebooks: {[p.stem for p in paths]}")
        return picked
    return paths


def declared_parameters(path: str | os.PathLike) -> dict:
    """The parameters (name → default as written) of a notebook's `parameters` cell."""
    import papermill

    return {k: v["default"] for k, v in papermill.inspect_notebook(str(path)).items()}


def ensure_kernel(name: str = KERNEL) -> None:
    """Register this Python as Jupyter kernel `name` inside the environment when no such kernel exists yet."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name in KernelSpecManager().find_kernel_specs():
        return
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name=name)


def _ipc_kernel_manager():
    """A kernel manager whose kernel talks over local IPC sockets (in Jupyter's runtime dir, removed with the kernel)
    rather than TCP: nothing listens on a port, and the kernel has no "running over TCP without encryption" warning
    to print into the demo's log."""
    from uuid import uuid4

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            os.makedirs(jupyter_runtime_dir(), exist_ok=True)
            return os.path.join(jupyter_runtime_dir(), f"mcl-kernel-{uuid4().hex[:12]}")

    return IPCKernelManager


@contextlib.contextmanager
def _quiet_progress():
    """Progress bars off in the kernel (it inherits this environment; `setup()` reads `TQDM_DISABLE`, huggingface
    `HF_HUB_DISABLE_PROGRESS_BARS`): in an executed notebook a bar is a stale `0%` line, not progress."""
    names = ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")
    old = {k: os.environ.get(k) for k in names}
    os.environ.update({k: "1" for k in names})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def relative_parameters(parameters: dict, cwd: str | os.PathLike = ROOT) -> dict:
    """`parameters` with every absolute path inside `cwd` made relative to it (the kernel runs in `cwd`), so the
    injected cell of an executed notebook reads `run_dir = "runs/deepmimic-fast"`, not a path of this machine.
    Example: `relative_parameters({"run_dir": f"{ROOT}/runs/x", "fast": True})` → `{"run_dir": "runs/x", "fast": True}`.
    """
    base = Path(cwd).resolve()
    out = {}
    for k, v in parameters.items():
        if isinstance(v, (str, Path)) and Path(v).is_absolute() and Path(v).resolve().is_relative_to(base):
            v = str(Path(v).resolve().relative_to(base)) or "."
        out[k] = v
    return out


def _relative_metadata(out_path: Path, cwd: Path) -> None:
    """papermill records the input and output paths it was given; make those inside `cwd` relative too."""
    import nbformat

    nb = nbformat.read(str(out_path), as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = relative_parameters({key: meta[key]}, cwd)[key]
    nbformat.write(nb, str(out_path))


@dataclass
class Executed:
    """One executed notebook: where it was written, how long it took, and its error (None when it ran through)."""
    name: str
    path: Path
    seconds: float
    error: str | None = None


def execute(path: str | os.PathLike, out_path: str | os.PathLike, parameters: dict | None = None,
            kernel_name: str = KERNEL, cwd: str | os.PathLike = ROOT, timeout: int | None = 1800,
            progress: bool = False) -> Executed:
    """Execute one notebook with papermill into `out_path`, injecting those of `parameters` it declares.

    The kernel runs in `cwd` (the project root by default). A failing cell does not raise: the executed notebook
    keeps the traceback and `Executed.error` says which cell failed. Paths inside `cwd` are injected relative to it;
    tqdm bars are off in the kernel; the kernel talks over IPC. Example:
    `execute("notebooks/00_quickstart.ipynb", "/tmp/00.ipynb", {"fast": True})`.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path, out_path = Path(path), Path(out_path)
    declared = declared_parameters(path)
    params = relative_parameters({k: v for k, v in (parameters or {}).items() if k in declared}, cwd)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    ensure_kernel(kernel_name)
    t0 = time.time()
    error = None
    try:
        with _quiet_progress():
            papermill.execute_notebook(str(path), str(out_path), parameters=params, kernel_name=kernel_name,
                                       cwd=str(cwd), execution_timeout=timeout, progress_bar=progress,
                                       log_output=False, kernel_manager_class=_ipc_kernel_manager())
    except PapermillExecutionError as e:
        error = f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    if out_path.exists():
        _relative_metadata(out_path, Path(cwd))
    return Executed(path.stem, out_path, time.time() - t0, error)


def execute_all(parameters: dict | None = None, out_dir: str | os.PathLike = NOTEBOOK_DIR / "executed",
                names: Sequence[str] | None = None, kernel_name: str = KERNEL, stop_on_error: bool = False,
                progress: bool = True, explore: dict | None = None) -> list[Executed]:
    """Execute the notebooks in order into `out_dir` (same file names), with a progress bar; returns what happened.

    `explore`: parameters that replace `parameters` in every notebook but 01, the training one (`make demo`: they
    explore the shipped model, `{"run_dir": "open"}`, while 01 fine-tunes it).
    Example: `[e.error for e in execute_all({"fast": True}, "/tmp/nb")]` → all None when every notebook ran.
    """
    from tqdm.auto import tqdm

    paths = notebook_paths(names)
    results = []
    bar = tqdm(paths, desc="notebooks", unit="nb", disable=not progress)
    for p in bar:
        bar.set_postfix_str(p.stem)
        params = parameters if not explore or p.name.startswith(TRAINING_NOTEBOOK) else {**(parameters or {}),
                                                                                         **explore}
        r = execute(p, Path(out_dir) / p.name, params, kernel_name=kernel_name)
        results.append(r)
        if r.error and stop_on_error:
            break
    return results


def error_outputs(path: str | os.PathLike) -> list[tuple[int, str]]:
    """`(cell index, "EName: value")` for every error output in an executed notebook; [] when none."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return [(i, f"{o.get('ename')}: {o.get('evalue')}") for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def clear_outputs(paths: Sequence[str | os.PathLike] | None = None) -> None:
    """Strip outputs and execution counts from notebooks (default: every numbered notebook), as they are committed."""
    import nbformat

    for p in paths or notebook_paths():
        nb = nbformat.read(str(p), as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
            c.get("metadata", {}).pop("execution", None)
            c.get("metadata", {}).pop("papermill", None)
        nb.metadata.pop("papermill", None)
        nbformat.write(nb, str(p))
