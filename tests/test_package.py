"""The distribution (issue 11): one top-level import package, installable outside the checkout, typed.

`pip wheel . --no-deps` must give a wheel whose only top-level names are `slapolicy` (and its
dist-info); installed into a fresh virtual environment outside the checkout, `slapolicy evaluate`
decides a sample, `from slapolicy import load_policy` works, and `mypy --strict` passes on a caller
that reads the typed decision (tests/fixtures/package/caller.py).
"""
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                           "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("slapolicy-*.whl")
    return path


def test_the_wheel_has_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"slapolicy"}, sorted(tops)
    for data in ("slapolicy/py.typed", "slapolicy/cli.py", "slapolicy/grammar/policy.lark",
                 "slapolicy/policies/advantshop.yaml", "slapolicy/language/schemas/ticket.schema.json",
                 "slapolicy/service/workbench/static/workbench.css"):
        assert data in names, data
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "slapolicy = slapolicy.cli:main" in zipfile.ZipFile(wheel).read(info).decode()


def test_installed_outside_the_checkout(wheel, tmp_path):
    """A fresh venv (dependencies from the package index or pip's cache), run from a directory that is not
    the checkout: the console script decides a sample, the public API imports, mypy --strict passes."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    proc = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0 and not os.environ.get("CI"):
        pytest.skip(f"cannot install the wheel's dependencies here: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "samples" / "advantshop.json", work / "ticket.json")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    run = subprocess.run([str(env_dir / "bin" / "slapolicy"), "evaluate", "--policy", "advantshop", "ticket.json"],
                         cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert '"eligibility"' in run.stdout
    where = subprocess.run([str(py), "-c", "import slapolicy, sys; from slapolicy import load_policy; "
                            "print(slapolicy.__file__); print(sorted(m for m in sys.modules if m in ('engine', 'cli')))"],
                           cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert where.returncode == 0, where.stderr
    assert str(env_dir) in where.stdout.splitlines()[0] and where.stdout.splitlines()[1] == "[]"
    data = subprocess.run([str(py), "-c", "import sys; from slapolicy.language.resources import policies_dir; "
                           "print(policies_dir()); print('importlib.resources' in sys.modules)"],
                          cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert data.returncode == 0, data.stderr
    # the bundled policies beside the installed modules, found without importlib.resources (~8 ms a start)
    assert data.stdout.split() == [str(Path(where.stdout.splitlines()[0]).parent / "policies"), "False"]
    caller = work / "caller.py"
    shutil.copy(ROOT / "tests" / "fixtures" / "package" / "caller.py", caller)
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(py),
                           str(caller)], cwd=work, capture_output=True, text=True, timeout=300, env=env)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ran = subprocess.run([str(py), str(caller)], cwd=work, capture_output=True, text=True, timeout=120, env=env)
    assert ran.returncode == 0 and ran.stdout.startswith("in_scope partner "), ran.stdout + ran.stderr
