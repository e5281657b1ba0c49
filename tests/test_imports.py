"""mcl's own modules import each other at the top of the file, one way only: no import circle, no hidden deferral.

A function-level import of an mcl module is how circles hide (it works until someone moves it up), so it is refused;
functions may still import heavy optional third-party packages (CLIP, smplx, umap, plotly, voila) where they are used.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

MCL = Path(__file__).resolve().parents[1] / "mcl"


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for p in sorted(MCL.rglob("*.py")):
        parts = list(p.relative_to(MCL.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    return out


def _target(node: ast.ImportFrom, package: str) -> str:
    """The absolute module an ImportFrom names (`from ..data import x` inside mcl.training → mcl.data)."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(tree: ast.Module, name: str, is_pkg: bool, mods) -> set[str]:
    """mcl modules that importing `name` imports (its own parent packages excluded: they are already importing)."""
    package = name if is_pkg else name.rsplit(".", 1)[0]
    found = set()
    for n in tree.body:
        if isinstance(n, ast.ImportFrom):
            t = _target(n, package)
            found |= {t} | {f"{t}.{a.name}" for a in n.names}
        elif isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
    out = set()
    for t in found:
        parts = t.split(".")
        for i in range(1, len(parts) + 1):
            m = ".".join(parts[:i])
            if m in mods and m != name and not name.startswith(m + "."):
                out.add(m)
    return out


def _graph():
    mods = _modules()
    return {m: _imports(ast.parse(p.read_text()), m, pkg, mods) for m, (p, pkg) in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a circle of imports."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_among_mcl_modules():
    graph = _graph()
    assert len(graph) > 60, "the module scan found too few modules"
    assert graph["mcl.training.loop"] >= {"mcl.model", "mcl.training.config"}, "the scan misses relative imports"
    circles = _cycles(graph)
    assert not circles, "import circles: " + "; ".join(
        " ".join(f"{m} → {sorted(graph[m] & set(c))}" for m in c) for c in circles)


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_mcl_modules_are_imported_at_the_top():
    """No `from .x import y` / `import mcl.x` inside a function, class or `if`/`try` block."""
    hidden = []
    for name, (path, is_pkg) in _modules().items():
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        package = name if is_pkg else name.rsplit(".", 1)[0]
        for n in ast.walk(tree):
            if id(n) in top:
                continue
            if isinstance(n, ast.ImportFrom) and _target(n, package).startswith("mcl"):
                hidden.append(f"{path.relative_to(MCL.parent)}:{n.lineno}")
            elif isinstance(n, ast.Import) and any(a.name == "mcl" or a.name.startswith("mcl.") for a in n.names):
                hidden.append(f"{path.relative_to(MCL.parent)}:{n.lineno}")
    assert not hidden, f"move these imports of mcl modules to the top of their file: {hidden}"


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(_modules())
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    r = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
