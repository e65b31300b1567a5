"""The package's shape (docs/architecture.md): no import cycles, arrows pointing down only, no module
over MAX_LINES, one top-level name, and tests that import `slapolicy` only.

Every import counts, at module level or inside a function (a lazy import is still a dependency);
only `if TYPE_CHECKING:` blocks are left out (they never run).
"""
import ast
import re
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
MAX_LINES = 600

# lower layers never import higher ones; within one layer a sub-package imports only itself
RANK = {"cachedir": -1, "calendar": 0, "language": 1, "decide": 2, "api": 3, "monitor": 4, "tools": 4, "backends": 5,
        "service": 6, "commands": 7, "cli": 8}


def module_name(path: Path) -> str:
    rel = path.relative_to(ENGINE).with_suffix("")
    parts = ["slapolicy", *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict:
    return {module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _type_checking(node) -> bool:
    test = node.test
    return isinstance(node, ast.If) and (getattr(test, "id", None) == "TYPE_CHECKING"
                                         or getattr(test, "attr", None) == "TYPE_CHECKING")


def imports(path: Path, known: dict) -> set:
    """The slapolicy modules `path` imports (resolved to modules, not to the names inside them)."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _type_checking(node)
            for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("slapolicy"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("slapolicy"):
            if node.module == "slapolicy" and [a.name for a in node.names] == ["__version__"]:
                continue  # the version string is data, not a dependency on the public face
            for a in node.names:  # `from slapolicy.language import ast` imports the module language.ast
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write the absolute slapolicy.<stage> path")
    return {m for m in out if m in known}


def graph() -> dict:
    known = modules()
    return {name: imports(path, known) for name, path in known.items() if name != "slapolicy"}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "slapolicy"


def test_no_import_cycles():
    g = graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def strong(v):  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                strong(w)
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
            if len(comp) > 1 or v in g.get(v, ()):
                cycles.append(sorted(comp))

    for v in list(g):
        if v not in index:
            strong(v)
    assert not cycles, f"import cycles: {cycles}"


def test_arrows_point_down():
    bad = []
    for src, targets in graph().items():
        for dst in targets:
            a, b = layer(src), layer(dst)
            if b == "slapolicy":
                bad.append(f"{src} -> {dst} (the package root is the public face, not a dependency)")
            elif a != b and RANK[b] >= RANK[a]:
                bad.append(f"{src} ({a}) -> {dst} ({b})")
    assert not bad, "imports against the layers:\n" + "\n".join(sorted(bad))


@pytest.mark.parametrize("name", sorted(n for n in modules()))
def test_module_size(name):
    path = modules()[name]
    if path.is_symlink():  # engine/cli.py is the top-level cli.py
        path = path.resolve()
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES}): split it by concern"


def test_every_package_is_in_the_wheel():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"])
    found = {module_name(p.parent / "__init__.py") for p in ENGINE.rglob("__init__.py")}
    assert found - declared == set(), "packages missing from pyproject.toml's [tool.setuptools] packages"
    assert all(p == "slapolicy" or p.startswith("slapolicy.") for p in declared)


def test_tests_and_benchmarks_import_slapolicy_only():
    pattern = re.compile(r"^\s*(from|import)\s+(engine|cli)\b", re.M)
    bad = [str(p.relative_to(ROOT)) for d in ("tests", "bench") for p in (ROOT / d).rglob("*.py")
           if pattern.search(p.read_text("utf-8"))]
    assert not bad, f"import engine/cli instead of slapolicy: {bad}"
