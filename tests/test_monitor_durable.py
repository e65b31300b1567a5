"""The durable monitor (issue 13) on real stores, SQLite and PostgreSQL: the same alerts as the in-memory
monitor and as `evaluate --as-of`, idempotent re-feeds, per-ticket order, poison lines, late catch-up,
pinned policy editions and --recalculate."""
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from pg import pg_server, pg_url, url  # noqa: F401  (fixtures)
from slapolicy.api import load_policy
from slapolicy.monitor.durable import Monitor, alert_key
from slapolicy.monitor.eventlog import generate, tickets_from_stream
from slapolicy.monitor.store import open_store
from slapolicy.monitor.watch import Watcher

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "tests/fixtures/lifecycle.yaml"
UTC = dt.timezone.utc
UNTIL = dt.datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def store(url):
    s = open_store(url)
    yield s
    s.close()


def monitor(store, policy, **kw):
    errors = []
    m = Monitor(store, lambda pid: policy if pid == policy.id else None, default_policy=policy.id,
                on_error=lambda n, msg: errors.append((n, msg)), **kw)
    return m, errors


def feed(m, lines):
    for number, line in enumerate(lines, start=1):
        m.feed_line(number, line)


def outbox(store):
    return {a.id: a.payload for a in store.pending_alerts(100_000, now=dt.datetime(9999, 1, 1, tzinfo=UTC))}


def in_memory(policy, lines, until):
    alerts = []
    w = Watcher(policy, emit=alerts.append)
    for number, line in enumerate(lines, start=1):
        w.feed_line(number, line, replay=True)
    w.advance(until)
    return {alert_key(a): a for a in alerts}


def test_same_alerts_as_the_in_memory_monitor_and_evaluate(store):
    policy = load_policy(str(POLICY))
    records = list(generate(120, seed=7))
    lines = [json.dumps(r) for r in records]
    m, errors = monitor(store, policy, replay=True)
    feed(m, lines)
    m.advance(UNTIL)
    assert not errors
    got = outbox(store)
    expected = in_memory(policy, lines, UNTIL)
    assert got.keys() == expected.keys() and got == expected
    assert {a["alert"] for a in got.values()} == {"warning", "breach", "relevelled"}
    # the stored clocks answer as evaluate --as-of does, for every ticket, at the end and in the past
    middle = dt.datetime.fromisoformat(records[len(records) // 2].get("at") or "2026-03-10T00:00:00+00:00")
    for tid, ticket in list(tickets_from_stream(records).items())[:40]:
        for as_of in (UNTIL, middle):
            want = policy.evaluate(ticket, as_of=as_of).get("lifecycle")
            snap = m.snapshot(tid, as_of)
            if dt.datetime.fromisoformat(ticket["created_at"]) > as_of:
                continue
            assert snap["lifecycle"] == json.loads(json.dumps(want, default=str)), (tid, as_of)


def test_feeding_the_stream_again_applies_nothing(store):
    policy = load_policy(str(POLICY))
    lines = [json.dumps(r) for r in generate(40, seed=3)]
    m, _ = monitor(store, policy, replay=True)
    feed(m, lines)
    before = (store.stats(), outbox(store))
    m2, errors = monitor(store, policy, replay=True)
    assert m2.start() == 0
    feed(m2, lines)
    assert not errors and (store.stats(), outbox(store)) == before
    assert m2.counts["duplicates"] == len(lines) and m2.counts["applied"] == 0


def created(tid, at, **extra):
    return json.dumps({"type": "created", "ticket": {"id": tid, "created_at": at, "channel": "portal",
                                                     "customer": {"segment": "commercial"}, "topic": "billing", **extra}})


def event(tid, kind, at, **extra):
    return json.dumps({"ticket": tid, "type": kind, "at": at, **extra})


def test_order_is_per_ticket(store):
    policy = load_policy(str(POLICY))
    m, errors = monitor(store, policy, replay=True)
    feed(m, [created("A", "2026-03-10T09:00:00Z"), created("B", "2026-03-10T09:00:00Z"),
             event("B", "agent_replied", "2026-03-10T09:20:00Z"),
             event("A", "agent_replied", "2026-03-10T09:10:00Z"),  # older than B's event: applied
             event("A", "customer_replied", "2026-03-10T09:05:00Z")])  # older than A's own: refused
    assert [(n, msg.split(":")[0]) for n, msg in errors] == [(5, "out-of-order")]
    assert "older than ticket 'A'" in errors[0][1]
    snap = m.snapshot("A", dt.datetime(2026, 3, 10, 12, tzinfo=UTC))["lifecycle"]
    assert snap["targets"]["first_response"]["status"] == "met"
    assert snap["targets"]["first_response"]["met_at"].startswith("2026-03-10T")


def test_poison_lines_are_error_records_and_the_stream_goes_on(store):
    policy = load_policy(str(POLICY))
    m, errors = monitor(store, policy, replay=True)
    feed(m, [created("A", "2026-03-10T09:00:00Z"),
             "{broken",
             "[" * 5000 + "]" * 5000,
             '{"type": "agent_replied", "ticket": "A", "at": "2026-03-10T09:01:00Z", "n": ' + "9" * 5000 + "}",
             '{"type": "x", "deep": ' + "[" * 200 + "]" * 200 + "}",
             "x" * (2 << 20),
             event("nope", "agent_replied", "2026-03-10T09:10:00Z"),
             created("Z", "2026-03-10T09:00:00Z", note="a\u0000b"),
             event("A", "agent_replied", "2026-03-10T09:10:00Z")])
    codes = [(n, msg.split(":")[0]) for n, msg in errors]
    assert codes == [(2, "json-syntax"), (3, "input-too-deep"), (4, "input-number-too-large"), (5, "input-too-deep"),
                     (6, "line-too-long"), (7, "unknown-ticket"), (8, "invalid-event")]
    assert m.counts["applied"] == 2
    assert m.snapshot("A", dt.datetime(2026, 3, 10, 12, tzinfo=UTC))["lifecycle"]["targets"]["first_response"]["status"] == "met"


def test_live_restart_catches_up_late(store):
    policy = load_policy(str(POLICY))
    t0 = dt.datetime(2026, 3, 10, 9, tzinfo=UTC)
    now = [t0]
    m, _ = monitor(store, policy, replay=False, wall_clock=lambda: now[0])
    feed(m, [created("A", t0.isoformat())])
    m.advance(now[0])
    assert outbox(store) == {}
    # the monitor is down for two days; the restart fires what passed, marked late
    now[0] = t0 + dt.timedelta(days=2)
    m2, _ = monitor(store, policy, replay=False, wall_clock=lambda: now[0])
    assert m2.start() > 0
    alerts = list(outbox(store).values())
    assert alerts and all(a["late"] is True for a in alerts)
    assert {a["alert"] for a in alerts} >= {"breach"}
    assert m2.start() == 0  # nothing twice


def test_pinned_edition_and_recalculate(store, tmp_path):
    policy_file = tmp_path / "lifecycle.yaml"
    shutil.copy(POLICY, policy_file)
    old = load_policy(str(policy_file))
    m, errors = monitor(store, old, replay=True)
    feed(m, [created("A", "2026-03-10T09:00:00Z")])
    at = dt.datetime(2026, 3, 10, 9, 1, tzinfo=UTC)
    due_before = m.snapshot("A", at)["lifecycle"]["targets"]["first_response"]["due"]
    # the policy file changes (a longer first response); the running clock keeps its edition
    text = policy_file.read_text()
    changed = _lengthen_first_response(text)
    policy_file.write_text(changed)
    new = load_policy(str(policy_file))
    assert new.content_hash != old.content_hash
    m2, errors = monitor(store, new, replay=True)
    feed(m2, [created("B", "2026-03-10T09:00:00Z"), event("A", "customer_replied", "2026-03-10T09:01:00Z")])
    assert not errors
    assert m2.snapshot("A", at)["lifecycle"]["targets"]["first_response"]["due"] == due_before
    assert m2.snapshot("A", at)["edition"] == old.content_hash
    assert m2.snapshot("B", at)["edition"] == new.content_hash
    assert m2.snapshot("B", at)["lifecycle"]["targets"]["first_response"]["due"] != due_before
    # the old text is gone from disk, yet a fresh monitor restores A from the text kept in the store
    m3, errors = monitor(store, new, replay=True)
    m3._editions.clear()
    assert m3.snapshot("A", at)["lifecycle"]["targets"]["first_response"]["due"] == due_before
    report = m3.recalculate(UNTIL)
    assert report["recalculated"] == 1 and report["unchanged"] == 1 and not report["errors"]
    snap = m3.snapshot("A", at)
    assert snap["edition"] == new.content_hash
    assert snap["lifecycle"] == m3.snapshot("B", at)["lifecycle"] | {"alerts": snap["lifecycle"]["alerts"]}
    recalculated = [a for a in outbox(store).values() if a.get("recalculated")]
    assert recalculated and all(a["ticket"] == "A" for a in recalculated)
    assert m3.recalculate(UNTIL)["recalculated"] == 0  # nothing left to move


def _lengthen_first_response(text):
    import re

    new, n = re.subn(r"(first_response: \{within: )(\d+)", lambda mo: mo.group(1) + str(int(mo.group(2)) * 3), text)
    assert n >= 1, "the fixture's first_response targets were not found"
    return new
