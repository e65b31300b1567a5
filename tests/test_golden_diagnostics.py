"""Golden files: the exact diagnostics (file:line:col, code, message, caret) for broken policies and
broken tickets. Regenerate after a deliberate change with UPDATE_GOLDEN=1 and review the diff."""
import os
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from slapolicy.api import check_file

GOLDEN = Path(__file__).parent / "golden"
POLICIES = sorted((GOLDEN / "policies").glob("*.yaml"))
TICKETS = sorted((GOLDEN / "tickets").glob("*.json"))


def compare(actual: str, golden: Path):
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual, "utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run with UPDATE_GOLDEN=1 and review it"
    assert actual == golden.read_text("utf-8")


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_broken_policy(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = check_file(path.relative_to(ROOT))
    assert result.errors, "a broken policy must produce at least one error"
    text = "\n".join(d.format(result.text) for d in result.diagnostics if d.severity == "error") + "\n"
    compare(text, path.with_suffix(".out"))


@pytest.mark.parametrize("path", TICKETS, ids=[p.stem for p in TICKETS])
def test_broken_ticket(path):
    code, out, err = run_cli("evaluate", "--policy", "tests/fixtures/mini.yaml", str(path.relative_to(ROOT)))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    compare(err, path.with_suffix(".out"))


def test_at_least_ten_policies_and_five_tickets():
    assert len(POLICIES) >= 10 and len(TICKETS) >= 5
