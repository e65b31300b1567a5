"""`slapolicy watch --replay`: alerts from the live engine agree with `evaluate --as-of` per ticket."""
import datetime as dt
import json

from slapolicy.api import load_policy
from slapolicy.monitor.eventlog import generate, tickets_from_stream
from slapolicy.monitor.watch import Watcher

POLICY = "tests/fixtures/lifecycle.yaml"


def _collect(lines, until):
    policy = load_policy(POLICY)
    alerts, errors = [], []
    watcher = Watcher(policy, emit=alerts.append, on_error=lambda n, m: errors.append((n, m)))
    for number, line in enumerate(lines, start=1):
        watcher.feed_line(number, line, replay=True)
    watcher.advance(until)
    return watcher, alerts, errors


def test_replay_matches_evaluate_as_of(monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[1])
    records = list(generate(150, seed=7))
    lines = [json.dumps(r) for r in records]
    until = dt.datetime.fromisoformat(records[-1].get("at") or records[-1]["ticket"]["created_at"]) + dt.timedelta(days=3)
    watcher, alerts, errors = _collect(lines, until)
    assert not errors
    assert alerts, "a generated log of 150 tickets must raise some alerts"
    by_ticket = {}
    for a in alerts:
        by_ticket.setdefault(a["ticket"], []).append(a)
    policy = load_policy(POLICY)
    kinds = set()
    for tid, ticket in tickets_from_stream(records).items():
        decision = policy.evaluate(ticket, as_of=until)
        life = decision.get("lifecycle")
        expected = life["alerts"] if life else []
        assert by_ticket.get(tid, []) == expected, tid
        # every breach the snapshot reports was alerted at its due instant, and only those
        breached = sorted((b["target"], b["due"]) for b in life["breaches"]) if life else []
        alerted = sorted((a["target"], a["due"]) for a in by_ticket.get(tid, []) if a["alert"] == "breach")
        assert alerted == breached, tid
        kinds |= {a["alert"] for a in by_ticket.get(tid, [])}
    assert {"warning", "breach", "relevelled"} <= kinds
    assert not watcher.clocks or all(t not in watcher.clocks for t in [r["ticket"] for r in records if r["type"] == "resolved"])


def test_replay_is_deterministic_and_reports_bad_lines(cli):
    records = list(generate(30, seed=3))
    lines = [json.dumps(r) for r in records]
    lines.insert(5, "{broken")
    lines.insert(9, json.dumps({"ticket": "nope", "type": "agent_replied", "at": "2026-03-09T10:00:00+02:00"}))
    text = "\n".join(lines) + "\n"
    code1, out1, err1 = cli("watch", "--policy", POLICY, "--replay", "--until", "2026-04-30T00:00:00Z", "-", input=text)
    code2, out2, _ = cli("watch", "--policy", POLICY, "--replay", "--until", "2026-04-30T00:00:00Z", "-", input=text)
    assert code1 == 0 and out1 == out2 and out1
    assert ":6: json-syntax" in err1 and ":10: unknown-ticket: unknown ticket 'nope'" in err1
    assert all(json.loads(line)["alert"] in ("warning", "breach", "relevelled") for line in out1.splitlines())


def test_resolved_tickets_are_dropped():
    records = list(generate(200, seed=11, open_at_once=5))
    watcher, _, errors = _collect([json.dumps(r) for r in records], dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    assert not errors
    assert watcher.clocks == {} and watcher.dropped == 200


def test_live_mode_fires_what_is_due_and_ends_with_the_stream():
    """Without --replay the monitor follows the wall clock (slapolicy.monitor.run.follow): a ticket created
    three days ago is warned about and breached at once, and the command ends when the stream does."""
    import datetime as dt
    import subprocess
    import sys
    from pathlib import Path

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ticket = {"id": "L-1", "created_at": (now - dt.timedelta(days=3)).isoformat(), "channel": "portal",
              "customer": {"segment": "partner"}, "product_version_current": True, "topic": "product_error"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "cli.py"), "watch", "--policy", "advantshop", "-"],
                          input=json.dumps({"type": "created", "ticket": ticket}) + "\n", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [a["alert"] for a in alerts] == ["warning", "breach"] and all(a["ticket"] == "L-1" for a in alerts)
