"""slapolicy report (issue 14): the counts agree with `evaluate --as-of` ticket by ticket on a generated corpus
of 5,000 tickets with events; the formats (json, csv, text, html, fact table) carry the same numbers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slapolicy.api import load_policy
from slapolicy.monitor.eventlog import EVENT_WEIGHTS
from slapolicy.tools.corpus import generate

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, str(ROOT / "cli.py")]


def with_events(tickets, seed):
    """Each ticket gets 0-7 events (the watch generator's mix) at growing offsets after created_at."""
    rng = random.Random(seed)
    types, weights = zip(*EVENT_WEIGHTS)
    for ticket in tickets:
        at = dt.datetime.fromisoformat(ticket["created_at"])
        events = []
        for _ in range(rng.randint(0, 7)):
            at += dt.timedelta(minutes=rng.choice([3, 20, 45, 90, 240, 600, 1500, 3000, 7000]))
            kind = rng.choices(types, weights)[0]
            event = {"type": kind, "at": at.isoformat()}
            if kind == "status_changed":
                event["status"] = rng.choice(["waiting_on_customer", "open", "on_hold"])
            elif kind == "escalated":
                event["to"] = rng.choice(["development", "consulting", "engineer"])
            elif kind == "severity_changed":
                event["severity"] = rng.randint(1, 4)
            events.append(event)
            if kind == "resolved":
                break
        if events:
            ticket["events"] = events
    return tickets


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    policy = load_policy("advantshop")  # first response, next responses and resolution; business hours
    tickets = with_events(generate(policy, 5000, seed=14), seed=14)
    latest = max(dt.datetime.fromisoformat(t["created_at"]) for t in tickets)
    as_of = (latest + dt.timedelta(days=2)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path_factory.mktemp("report") / "tickets.jsonl"
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tickets), "utf-8")
    return path, as_of, policy


def test_report_agrees_with_evaluate_on_every_ticket(corpus):
    path, as_of, policy = corpus
    rep = subprocess.run(CLI + ["report", "--policy", "advantshop", "--as-of", as_of, "--format", "json",
                                "--facts", str(path.with_suffix(".csv")), str(path)],
                         capture_output=True, text=True)
    assert rep.returncode == 0, rep.stderr
    ev = subprocess.run(CLI + ["evaluate", "--policy", "advantshop", "--as-of", as_of, "--jsonl", "--no-explain",
                               str(path)], capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr[:2000]
    decisions = [json.loads(line) for line in ev.stdout.splitlines()]
    assert len(decisions) == 5000
    tz = ZoneInfo(str(policy.compiled.timezone))
    created = {t["id"]: t["created_at"] for t in map(json.loads, path.read_text("utf-8").splitlines())}
    expected = Counter()
    breached = set()
    for d in decisions:
        life = d.get("lifecycle") or {}
        local = dt.datetime.fromisoformat(created[d["ticket"]]).astimezone(tz)
        for target, entry in (life.get("targets") or {}).items():
            key = (f"{local.year}-{local.month:02d}", life["tier"], target)
            expected[key + ("tickets",)] += 1
            status = entry["status"]
            expected[key + ({"running": "open", "paused": "open"}.get(status, status),)] += 1
            if status == "breached":
                breached.add((d["ticket"], target))
    result = json.loads(rep.stdout)
    assert result["tickets"] == 5000 and result["invalid"] == []
    got = Counter()
    for row in result["rows"]:
        key = (row["period"], row["tier"], row["target"])
        for name in ("tickets", "met", "breached", "open", "stopped"):
            if row[name]:
                got[key + (name,)] = row[name]
    assert got == expected
    # the corpus exercises every outcome, several tiers and periods
    outcomes = Counter(k[3] for k in expected.elements())
    assert all(outcomes[o] > 50 for o in ("met", "breached", "open")), outcomes
    assert len({k[1] for k in expected}) >= 3 and len({k[0] for k in expected}) >= 6
    assert {(b["ticket"], b["target"]) for b in result["breaches"]} == breached
    # eligibility: every not-in-scope ticket counted once per reason
    not_in_scope = Counter()
    for d in decisions:
        if d["eligibility"]["status"] != "in_scope":
            for r in d["eligibility"]["reasons"]:
                not_in_scope[(d["eligibility"]["status"], r["rule"])] += 1
    assert {(e["status"], e["rule"]): e["tickets"] for e in result["eligibility"]} == dict(not_in_scope)
    # the fact table: one row per ticket and target, plus one per ticket without targets
    with open(path.with_suffix(".csv"), encoding="utf-8") as stream:
        facts = list(csv.DictReader(stream))
    assert sum(1 for f in facts if f["target"]) == sum(v for k, v in expected.items() if k[3] == "tickets")
    assert {f["ticket"] for f in facts} == set(created)
    assert {(f["ticket"], f["target"]) for f in facts if f["outcome"] == "breached"} == breached


def test_percentiles_and_time_over_target(tmp_path):
    # bitrix-inc: commercial tier, 24 hours on business days (Mon-Fri around the clock, UTC)
    base = {"channel": "portal", "customer": {"segment": "commercial", "license_active": True},
            "topic": "product_error", "sender_authorized": True}
    tickets = []
    for i, hours in enumerate([1, 2, 3, 4, 30]):  # Monday 2026-03-02 09:00Z; 30h: breached by 6h
        at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
        tickets.append({**base, "id": f"T-{i}", "created_at": at.isoformat(),
                        "events": [{"type": "agent_replied", "at": (at + dt.timedelta(hours=hours)).isoformat()}]})
    tickets.append({**base, "id": "T-open", "created_at": "2026-03-06T12:00:00+00:00"})  # Friday: due Monday 12:00
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tickets) + '{"index": 9, "error": {}}\n', "utf-8")
    out = subprocess.run(CLI + ["report", "--policy", "bitrix-inc", "--as-of", "2026-03-09T10:00:00Z", "--format",
                                "json", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (row,) = [r for r in json.loads(out.stdout)["rows"] if r["target"] == "first_response"]
    assert (row["tickets"], row["met"], row["breached"], row["open"]) == (6, 4, 1, 1)
    assert row["met_share"] == 0.8
    assert row["p50_seconds"] == 3 * 3600 and row["p90_seconds"] == round((4 + 0.6 * 26) * 3600)
    assert row["over_p50_seconds"] == 6 * 3600
    (breach,) = json.loads(out.stdout)["breaches"]
    assert breach["ticket"] == "T-4" and breach["clause"].startswith("2.5")
    csv_out = subprocess.run(CLI + ["report", "--policy", "bitrix-inc", "--as-of", "2026-03-09T10:00:00Z", "--format",
                                    "csv", str(path)], capture_output=True, text=True)
    (csv_row,) = [r for r in csv.DictReader(io.StringIO(csv_out.stdout)) if r["target"] == "first_response"]
    assert (csv_row["met"], csv_row["breached"], csv_row["open"]) == ("4", "1", "1")
    text = subprocess.run(CLI + ["report", "--policy", "bitrix-inc", "--as-of", "2026-03-09T10:00:00Z", str(path)],
                          capture_output=True, text=True).stdout
    assert "T-4  first_response" in text and "Breaches: 1" in text


def test_weeks_in_policy_time_zone(tmp_path):
    # martinsoft-b24 is Moscow time: Sunday 22:30 UTC is Monday 01:30 in Moscow, the next ISO week
    t = {"id": "W-1", "created_at": "2026-03-15T22:30:00Z", "channel": "email",
         "customer": {"segment": "commercial", "license_active": True}, "sender_authorized": True, "severity": 3,
         "topic": "product_error"}
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps(t) + "\n", "utf-8")
    out = subprocess.run(CLI + ["report", "--policy", "martinsoft-b24", "--as-of", "2026-03-20T00:00:00Z", "--by",
                                "week", "--format", "json", str(path)], capture_output=True, text=True)
    rows = json.loads(out.stdout)["rows"]
    assert rows and {r["period"] for r in rows} == {"2026-W12"}


def test_bad_lines_are_reported_and_the_rest_counted(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "X", "created_at": "2026-03-02T09:00:00Z", "channel": "fax", "customer": {}}\n{oops\n'
                    '{"id": "Y", "created_at": "2026-03-02T09:00:00Z", "channel": "portal", '
                    '"customer": {"segment": "commercial"}, "topic": "billing"}\n', "utf-8")
    out = subprocess.run(CLI + ["report", "--policy", "bitrix-inc", "--as-of", "2026-03-09T10:00:00Z", "--format",
                                "json", str(path)], capture_output=True, text=True)
    assert out.returncode == 2
    result = json.loads(out.stdout)
    assert result["tickets"] == 1 and [i["line"] for i in result["invalid"]] == [1, 2]
    assert f"{path}:1: error: invalid-ticket" in out.stderr


def test_parquet_facts(tmp_path, corpus):
    pq = pytest.importorskip("pyarrow.parquet")
    path, as_of, _ = corpus
    small = tmp_path / "small.jsonl"
    small.write_text("".join(path.read_text("utf-8").splitlines(True)[:200]), "utf-8")
    out = subprocess.run(CLI + ["report", "--policy", "advantshop", "--as-of", as_of, "--format", "json",
                                "--facts", str(tmp_path / "f.parquet"), str(small)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    table = pq.read_table(tmp_path / "f.parquet")
    rows = json.loads(out.stdout)["rows"]
    assert table.num_rows >= sum(r["tickets"] for r in rows)
    assert table.column("outcome").to_pylist().count("breached") == sum(r["breached"] for r in rows)


def test_progress_bar_on_request(tmp_path, corpus):
    path, as_of, _ = corpus
    small = tmp_path / "p.jsonl"
    small.write_text("".join(path.read_text("utf-8").splitlines(True)[:50]), "utf-8")
    out = subprocess.run(CLI + ["report", "--policy", "advantshop", "--as-of", as_of, "--progress", str(small)],
                         capture_output=True, text=True)
    assert "deciding" in out.stderr and "50/50" in out.stderr
    quiet = subprocess.run(CLI + ["report", "--policy", "advantshop", "--as-of", as_of, str(small)],
                           capture_output=True, text=True)
    assert "deciding" not in quiet.stderr


def test_html_report_has_charts_and_breach_links(corpus):
    pytest.importorskip("matplotlib")
    from slapolicy.tools.report.charts import render_charts
    from slapolicy.tools.report.cli import make_report
    from slapolicy.tools.report.formats import render_html

    path, as_of, policy = corpus
    from slapolicy.api import parse_timestamp

    lines = path.read_text("utf-8").splitlines(True)[:300]
    report = make_report(policy, lines, parse_timestamp(as_of))
    charts = render_charts(report, policy.compiled.timezone)
    assert set(charts) == {"attainment", "weekday_hour", "first_response"}
    assert all(svg.startswith("<svg") and "<path" in svg for svg in charts.values())
    page = render_html(report, charts, ticket_link=lambda t: f"/timeline?ticket={t}")
    first = report.breaches()[0]["ticket"]
    assert f'<a href="/timeline?ticket={first}">{first}</a>' in page
