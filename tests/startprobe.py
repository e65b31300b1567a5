"""The CLI run in a child process that reports which of some modules it imported (the start-up tests:
tests/test_startup.py, tests/test_holistore.py). Use: `from startprobe import run_cli`."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import sys, runpy
watched = tuple(sys.argv[1].split(","))
sys.argv = ["slapolicy", *sys.argv[2:]]
try:
    runpy.run_module("slapolicy.cli", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(sorted(m for m in sys.modules if m in watched or m.startswith(tuple(w + "." for w in watched)))),
      file=sys.stderr)
"""


def run_cli(args, env, watched, timeout=120):
    """`slapolicy ARGS` in a child process (cwd: the checkout): the completed process, whose stderr ends with
    the watched modules (a name in `watched`, or inside a package named there) it imported, space-separated."""
    cmd = [sys.executable, "-c", _PROBE, ",".join(watched), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
