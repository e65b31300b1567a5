"""slapolicy.cachedir: the bytecode of slapolicy's own modules kept in the user cache directory when Python
writes none (PYTHONDONTWRITEBYTECODE=1), so an editable checkout does not compile ~270 KB at every start.

Child processes, so that each starts with its own import state: a PYTHONPYCACHEPREFIX of the test's own
(empty for slapolicy) stands for a checkout without `__pycache__`.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys
import slapolicy
from slapolicy import cachedir
compiled = []
original = cachedir.CachedLoader.source_to_code
def counting(self, data, path, *a, **k):
    compiled.append(path)
    return original(self, data, path, *a, **k)
cachedir.CachedLoader.source_to_code = counting
from slapolicy.api import load_policy
decision = load_policy("bitrix-inc").evaluate(json.load(open(sys.argv[1])))
loaders = {n: type(m.__spec__.loader).__name__ for n, m in sys.modules.items()
           if n.startswith("slapolicy.") and n != "slapolicy.cachedir" and getattr(m, "__spec__", None) is not None}
print(json.dumps({"finder": cachedir.BytecodeFinder in sys.meta_path, "compiled": compiled, "loaders": loaders,
                  "decision": decision, "file": sys.modules["slapolicy.api"].__file__}, default=str))
"""


def run(tmp_path, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("SLAPOLICY_NO_CACHE", "SLAPOLICY_NO_BYTECODE")}
    env.update(PYTHONDONTWRITEBYTECODE="1", SLAPOLICY_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPYCACHEPREFIX=str(tmp_path / "prefix"))
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "samples" / "bitrix-inc.json")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def kept_files(tmp_path):
    return sorted((tmp_path / "cache" / "bytecode").rglob("*.pyc"))


def test_first_start_keeps_the_bytecode_and_the_second_compiles_nothing(tmp_path):
    first = run(tmp_path)
    assert first["finder"]
    assert len(first["compiled"]) >= 10  # every slapolicy module this start imports, from source
    assert set(first["loaders"].values()) == {"CachedLoader"}
    kept = kept_files(tmp_path)
    assert len(kept) == len(first["compiled"])
    tag = sys.implementation.cache_tag
    api = Path(first["file"]).resolve()
    assert (tmp_path / "cache" / "bytecode" / tag / (str(api).lstrip(os.sep) + ".pyc")) in kept
    second = run(tmp_path)
    assert second["compiled"] == []
    assert second["decision"] == first["decision"]
    plain = run(tmp_path, SLAPOLICY_NO_BYTECODE="1")
    assert plain["decision"] == first["decision"]


@pytest.mark.parametrize("change", [{"SLAPOLICY_NO_BYTECODE": "1"}, {"SLAPOLICY_NO_CACHE": "1"},
                                    {"PYTHONDONTWRITEBYTECODE": None}])
def test_off_when_python_writes_bytecode_or_the_cache_is_off(tmp_path, change):
    got = run(tmp_path, **change)
    assert not got["finder"]
    assert "CachedLoader" not in got["loaders"].values()
    assert kept_files(tmp_path) == []


def test_an_unsafe_cache_directory_is_not_used(tmp_path):
    (tmp_path / "cache").mkdir(mode=0o777)
    os.chmod(tmp_path / "cache", 0o777)  # writable by others: another user could plant bytecode
    got = run(tmp_path)
    assert not got["finder"]
    assert kept_files(tmp_path) == []


LOADER = r"""
import os, sys
from slapolicy.cachedir import CachedLoader
CachedLoader.root = sys.argv[2]
path = sys.argv[1]
loader = CachedLoader("slapolicy.probe_module", path)
code = loader.get_code("slapolicy.probe_module")
space = {}
exec(code, space)
print(space["VALUE"], code.co_filename == path)
"""


def load_probe(tmp_path, source: str, mtime_ns: int):
    module = tmp_path / "probe_module.py"
    module.write_text(source, "utf-8")
    os.utime(module, ns=(mtime_ns, mtime_ns))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(tmp_path / "prefix")}
    out = subprocess.run([sys.executable, "-c", LOADER, str(module), str(tmp_path / "kept")], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.parametrize("edit", ["same size", "other size"])
def test_an_edited_source_is_compiled_again(tmp_path, edit):
    assert load_probe(tmp_path, "VALUE = 'one'\n", 1_700_000_000_000_000_000) == ["one", "True"]
    kept = list((tmp_path / "kept").rglob("*.pyc"))
    assert len(kept) == 1
    # a checkout's edit: new text, and a modification time one nanosecond later (or the same size)
    text = "VALUE = 'two'\n" if edit == "same size" else "VALUE = 'three'\n"
    assert load_probe(tmp_path, text, 1_700_000_000_000_000_001)[0] == text.split("'")[1]
    assert list((tmp_path / "kept").rglob("*.pyc")) == kept


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_a_damaged_kept_file_is_compiled_again(tmp_path, damage):
    load_probe(tmp_path, "VALUE = 'one'\n", 1_700_000_000_000_000_000)
    kept = next((tmp_path / "kept").rglob("*.pyc"))
    data = kept.read_bytes()
    kept.write_bytes(data[:16] + b"\x00garbage" if damage is None else damage)
    assert load_probe(tmp_path, "VALUE = 'one'\n", 1_700_000_000_000_000_000) == ["one", "True"]
    assert kept.read_bytes() == data


def test_python_s_own_bytecode_is_read_when_it_is_there(tmp_path):
    """a wheel install (pip compiled at install) or a checkout once run without PYTHONDONTWRITEBYTECODE:
    the standard bytecode is current, so nothing is compiled and nothing kept"""
    filled = run(tmp_path, PYTHONDONTWRITEBYTECODE=None)
    assert not filled["finder"]
    assert list((tmp_path / "prefix").rglob("api.*.pyc"))
    got = run(tmp_path)
    assert got["finder"] and got["compiled"] == [] and kept_files(tmp_path) == []
    assert got["decision"] == filled["decision"]


def test_a_start_that_writes_bytecode_prunes_what_no_source_has(tmp_path):
    root = tmp_path / "cache" / "bytecode" / sys.implementation.cache_tag
    here = tmp_path / "checkout" / "module.py"  # a source that is there
    here.parent.mkdir()
    here.write_text("x = 1\n")
    gone = tmp_path / "deleted-checkout" / "engine" / "api.py"  # one whose checkout was deleted
    kept_here, kept_gone = (root / (str(p).lstrip(os.sep) + ".pyc") for p in (here, gone))
    dead_writer = root / "x" / "api.py.pyc.123.tmp"
    live_writer = root / "x" / "api.py.pyc.456.tmp"
    for f in (kept_here, kept_gone, dead_writer, live_writer):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"\0" * 16)
    two_hours_ago = os.stat(live_writer).st_mtime - 7200
    os.utime(dead_writer, (two_hours_ago, two_hours_ago))
    first = run(tmp_path)
    assert first["compiled"]  # (it wrote bytecode: it pruned)
    assert kept_here.exists() and live_writer.exists()
    assert not kept_gone.exists() and not dead_writer.exists()
    assert not kept_gone.parent.exists()  # (folders left empty: removed)
    assert len(kept_files(tmp_path)) == len(first["compiled"]) + 1  # this start's, and the one still wanted


def test_a_start_that_writes_nothing_looks_at_nothing(tmp_path):
    run(tmp_path)
    orphan = tmp_path / "cache" / "bytecode" / sys.implementation.cache_tag / "no" / "such" / "source.py.pyc"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"\0" * 16)
    assert run(tmp_path)["compiled"] == []
    assert orphan.exists()
