"""Lifecycle: SLA clocks over events (tests/cases/lifecycle.yaml on tests/fixtures/lifecycle.yaml)."""
import copy
import datetime as dt
from pathlib import Path

import pytest
import yaml
from slapolicy.api import TicketError, load_policy

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "lifecycle.yaml").read_text("utf-8"))
POLICY = "tests/fixtures/lifecycle.yaml"
BASE = {"id": "L-1", "channel": "portal", "customer": {"segment": "commercial"}, "topic": "billing"}


def instant(v):
    return None if v is None else dt.datetime.fromisoformat(str(v))


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_lifecycle_case(case):
    ticket = dict(copy.deepcopy(BASE), **case["ticket"])
    decision = load_policy(POLICY).evaluate(ticket, as_of=case["as_of"])
    life = decision["lifecycle"]
    expect = case["expect"]
    for name, fields in (expect.get("targets") or {}).items():
        got = life["targets"][name]
        for key, value in fields.items():
            if key in ("due", "met_at", "started", "breached_at", "not_before"):
                assert instant(got.get(key)) == instant(value), (name, key, got)
            else:
                assert got.get(key) == value, (name, key, got)
    for name, fields in (expect.get("deadlines") or {}).items():
        for key, value in fields.items():
            assert instant(decision["deadlines"][name][key]) == instant(value)
    if "tier" in expect:
        assert life["tier"] == expect["tier"]
    if "tier_history" in expect:
        assert [h["tier"] for h in life["tier_history"]] == expect["tier_history"]
    if "relevelled_at" in expect:
        last = life["tier_history"][-1]
        assert instant(last["from"]) == instant(expect["relevelled_at"])
        assert last["rule"] == expect["relevel_rule"]
        assert "critical-duty-breach" in {e["rule"] for e in decision["explanation"] if e.get("stage") == "lifecycle"}
    if "alerts" in expect:
        got = [[a["alert"], a.get("target"), a["at"]] for a in life["alerts"]]
        assert [[k, t, instant(at)] for k, t, at in got] == [[k, t, instant(at)] for k, t, at in expect["alerts"]]


def test_events_must_be_oldest_first():
    ticket = dict(BASE, created_at="2026-03-10T11:00:00+02:00", events=[
        {"type": "agent_replied", "at": "2026-03-10T12:00:00+02:00"},
        {"type": "customer_replied", "at": "2026-03-10T11:30:00+02:00"}])
    with pytest.raises(TicketError) as info:
        load_policy(POLICY).evaluate(ticket, as_of="2026-03-10T13:00:00+02:00")
    assert info.value.problems[0][0] == "events[1].at"


def test_event_needs_its_fields():
    ticket = dict(BASE, created_at="2026-03-10T11:00:00+02:00", events=[{"type": "escalated", "at": "2026-03-10T12:00:00+02:00"}])
    with pytest.raises(TicketError) as info:
        load_policy(POLICY).evaluate(ticket)
    assert "to" in info.value.problems[0][0] + info.value.problems[0][1]


def test_no_lifecycle_block_without_events_or_as_of():
    ticket = dict(BASE, created_at="2026-03-10T11:00:00+02:00")
    assert "lifecycle" not in load_policy(POLICY).evaluate(ticket)
