import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_cli(*args, input=None):
    """Run this checkout's CLI (`python cli.py`, as the contract allows): (exit code, stdout, stderr).
    Not a `slapolicy` found on PATH: that may be another checkout's."""
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, cwd=ROOT, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def cli():
    return run_cli


BASE_TICKET = {"id": "T-1", "created_at": "2026-03-10T11:00:00+02:00", "channel": "portal",
               "customer": {"segment": "commercial"}}


def stage_memos(scans) -> dict:
    """the stage memos (slapolicy.decide.stagememo.Memo) of an edition's stage functions (`scans`: its
    `_scans_shared`), by their global name"""
    from slapolicy.decide.stagememo import Memo

    return {k: v for k, v in next(iter(scans.values())).__globals__.items() if isinstance(v, Memo)}
