"""The README and docs/ as a newcomer reads them (issue #16): the README stays short, every link lands, every `make`
target exists and every `mcl …` command line shown parses. Fast: nothing is run or trained; the only import from mcl
is `mcl.cli.build_parser` (module paths move, the command line does not)."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MODEL_CARD = ROOT / "MODEL_CARD.md"  # the shipped model's card: its commands are checked like the docs'
PAGES = [README, MODEL_CARD] + DOCS
README_MAX_BYTES = 12_288  # issue #16: "wc -c README.md ≤ 12,288"

# Inline `mcl …` spans in the README that are not command lines, each with the reason it is not parsed.
NOT_COMMANDS = {
    "mcl generate / edit / compose / interpolate / eval": "a list of sub-commands, not one command line",
}

# Command lines that cannot be parsed as written, each with its reason (none today: keep it that way if you can).
UNPARSABLE = {}

FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
SHELL_LANGS = {"bash", "sh", "shell", "console", ""}


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(text)]


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, inline-code ticks and punctuation dropped, spaces → hyphens."""
    s = heading.strip().lower()
    s = "".join(ch for ch in s if ch.isalnum() or ch in " -_")
    return s.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", FENCE.sub("", _text(page)), re.M):
        base = _slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def _links(page: Path) -> list[str]:
    return re.findall(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _prose(_text(page)))


# --- size ----------------------------------------------------------------------------------------------------------
def test_readme_fits_in_12_kib():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/ (limit {README_MAX_BYTES})"


def test_docs_exist_and_the_readme_links_each():
    assert DOCS, "docs/*.md missing"
    linked = {(README.parent / link.split("#", 1)[0]).resolve() for link in _links(README)}
    missing = [d.name for d in DOCS if d.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


# --- links ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    bad = []
    for link in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto: — not checked offline
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            bad.append(f"{link}: {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} missing")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            bad.append(f"{link}: no heading with anchor #{anchor} in {target.name}")
    assert not bad, f"{page.name}: " + "; ".join(bad)


# --- make targets --------------------------------------------------------------------------------------------------
def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {t for m in re.finditer(r"^([A-Za-z][\w.-]*(?:[ \t]+[A-Za-z][\w.-]*)*)[ \t]*:(?!=)", text, re.M)
            for t in m.group(1).split()}


def _make_calls(text: str) -> set[str]:
    """`make X` named in code blocks (a line starting with make) or in inline code spans."""
    lines = [line for lang, body in _blocks(text) if lang in SHELL_LANGS for line in body.splitlines()]
    lines += _inline_code(text)
    return {m.group(1) for line in lines for m in [re.match(r"^\s*make[ \t]+([A-Za-z][\w.-]*)", line)] if m}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_make_targets_exist(page):
    known = _make_targets()
    assert {"demo", "test", "test-all"} <= known
    unknown = sorted(_make_calls(_text(page)) - known)
    assert not unknown, f"{page.name} names make targets the Makefile lacks: {unknown}"


def test_readme_shows_the_two_commands():
    calls = _make_calls(_text(README))
    assert {"demo", "test", "test-all", "lab", "explore"} <= calls


# --- mcl command lines ---------------------------------------------------------------------------------------------
def _strip_comment(line: str) -> str:
    """The line without a shell comment (`#` at a word start, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _shell_lines(body: str) -> list[str]:
    """Logical lines of a shell block: continuations joined, comments removed, blank lines dropped."""
    out, cur = [], ""
    for raw in body.splitlines():
        line = _strip_comment(raw).rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def _mcl_argv(line: str) -> list[str] | None:
    """The `mcl` arguments of a command line (`mcl …`, `torchrun … -m mcl.cli …`, `python -m mcl.cli …`,
    `python -m mcl.lab.demo …` = `mcl demo …`), or None when the line runs something else."""
    tokens = shlex.split(line)
    while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):  # VAR=value prefixes
        tokens.pop(0)
    for stop in ("&&", "||", ";", "|"):
        if stop in tokens:
            tokens = tokens[:tokens.index(stop)]
    if not tokens:
        return None
    if tokens[0] == "mcl":
        return tokens[1:]
    if "-m" in tokens[:-1] and tokens[0] in ("python", "python3", "torchrun") or tokens[0].endswith("/python"):
        i = tokens.index("-m") if "-m" in tokens else -1
        if i >= 0 and i + 1 < len(tokens):
            module = tokens[i + 1]
            if module == "mcl.cli":
                return tokens[i + 2:]
            if module in ("mcl.lab.demo", "mcl.demo"):
                return ["demo"] + tokens[i + 2:]
    return None


def _command_lines(page: Path) -> list[str]:
    text = _text(page)
    lines = [line for lang, body in _blocks(text) if lang in SHELL_LANGS for line in _shell_lines(body)]
    if page == README:
        lines += [s for s in _inline_code(text) if re.match(r"^(mcl|python -m mcl)\b[ ]", s)]
    return [line for line in lines if _mcl_argv(line) is not None and line not in NOT_COMMANDS]


def _parse(argv: list[str]) -> str | None:
    """None when `mcl ARGV` parses to a runnable command (or is a --help), else argparse's complaint."""
    from mcl.cli import build_parser

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv)
    except SystemExit as e:
        if e.code == 0 and ("--help" in argv or "-h" in argv):
            return None
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {e.code}"
    return None if getattr(args, "func", None) else "no sub-command"


def test_command_lines_are_found():
    """The extraction works: the README's and the docs' known commands are seen."""
    readme = _command_lines(README)
    assert any(c.startswith("mcl generate") for c in readme) and any(c.startswith("mcl train") for c in readme)
    every = [c for p in DOCS for c in _command_lines(p)]
    for expected in ("mcl import-official", "mcl eval recognition", "mcl data info", "mcl render", "torchrun",
                     "python -m mcl.lab.demo"):
        assert any(c.startswith(expected) for c in every), expected


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_mcl_command_lines_parse(page):
    bad = []
    for line in _command_lines(page):
        if line in UNPARSABLE:
            continue
        assert "$" not in line, f"{line!r}: a shell variable; resolve it or list the line in UNPARSABLE with a reason"
        problem = _parse(_mcl_argv(line))
        if problem:
            bad.append(f"{line}\n    → {problem}")
    assert not bad, f"{page.name}:\n" + "\n".join(bad)
