"""The monitor's store behind the HTTP service (issue 13): POST /v1/events, GET /v1/tickets/{id}/clocks,
GET /v1/at-risk and the workbench's at-risk page, on a real uvicorn, with SQLite and PostgreSQL; the same
store written by `slapolicy watch --store` and read by the server."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys

import pytest
from pg import pg_server, pg_url, url  # noqa: F401  (fixtures)
from slapolicy.monitor.eventlog import tickets_from_stream

pytest.importorskip("uvicorn")
from conftest import FIXTURES, ROOT  # noqa: E402
from live import LiveServer  # noqa: E402
from slapolicy.api import load_policy  # noqa: E402
from slapolicy.monitor.eventlog import generate  # noqa: E402
from slapolicy.service.app import create_app  # noqa: E402
from test_server import NDJSON, call  # noqa: E402

UTC = dt.timezone.utc
AS_OF = "2026-06-01T00:00:00Z"


@pytest.fixture
def served(tmp_path):
    directory = tmp_path / "policies"
    directory.mkdir()
    shutil.copy(FIXTURES / "lifecycle.yaml", directory / "lifecycle.yaml")
    return directory


def start(directory, url=None):
    live = LiveServer(create_app(directory, reload_interval=0, monitor_store=url))
    live.call = lambda method, path, body=None, headers=None: call(live.port, method, path, body, headers)
    return live


def test_events_in_clocks_out_as_evaluate_says(url, served):
    records = list(generate(25, seed=5))
    body = "".join(json.dumps(r) + "\n" for r in records)
    live = start(served, url)
    try:
        r = live.call("POST", "/v1/events?policy=lifecycle", body, NDJSON)
        assert r.status == 200 and r.headers["x-items-failed"] == "0", r
        out = r.lines()
        assert [o["line"] for o in out] == list(range(1, len(records) + 1))
        assert {o["status"] for o in out} == {"applied"}
        again = live.call("POST", "/v1/events?policy=lifecycle", body, NDJSON).lines()
        assert {o["status"] for o in again} == {"duplicate"}  # idempotent by content
        policy = load_policy(str(served / "lifecycle.yaml"))
        for tid, ticket in list(tickets_from_stream(records).items())[:10]:
            got = live.call("GET", f"/v1/tickets/{tid}/clocks?as_of={AS_OF}")
            assert got.status == 200, got
            want = json.loads(json.dumps(policy.evaluate(ticket, as_of=AS_OF)["lifecycle"], default=str))
            assert got.json()["lifecycle"] == want, tid
            assert got.json()["edition"] == policy.content_hash
        assert live.call("GET", "/v1/tickets/nope/clocks").json()["error"]["code"] == "unknown-ticket"
    finally:
        live.stop()


def test_one_event_and_its_errors(url, served):
    live = start(served, url)
    created = {"type": "created", "policy": "lifecycle",
               "ticket": {"id": "A", "created_at": "2026-03-10T09:00:00Z", "channel": "portal",
                          "customer": {"segment": "commercial"}, "topic": "billing"}}
    json_type = {"Content-Type": "application/json"}
    try:
        r = live.call("POST", "/v1/events", created, json_type)
        assert r.status == 200 and r.json()["status"] == "applied", r
        reply = {"ticket": "A", "type": "agent_replied", "at": "2026-03-10T09:30:00Z", "event_id": "e-1"}
        assert live.call("POST", "/v1/events", reply, json_type).json()["status"] == "applied"
        assert live.call("POST", "/v1/events", dict(reply, at="2026-03-10T09:40:00Z"), json_type).json()["status"] \
            == "duplicate"  # the same event_id
        older = {"ticket": "A", "type": "customer_replied", "at": "2026-03-10T09:10:00Z"}
        cases = [
            (live.call("POST", "/v1/events", older, json_type), 422, "out-of-order"),
            (live.call("POST", "/v1/events", {"ticket": "B", "type": "resolved", "at": "2026-03-10T09:10:00Z"},
                       json_type), 422, "unknown-ticket"),
            (live.call("POST", "/v1/events", "{broken", json_type), 400, "json-syntax"),
            (live.call("POST", "/v1/events", "[" * 5000 + "]" * 5000, json_type), 400, "input-too-deep"),
            (live.call("POST", "/v1/events", reply, {"Content-Type": "text/plain"}), 415, "unsupported-media-type"),
            (live.call("POST", "/v1/events", dict(created, policy="nope"), json_type), 422, "unknown-policy"),
        ]
        for response, status, code in cases:
            assert (response.status, response.json()["error"]["code"]) == (status, code), response
        lines = live.call("POST", "/v1/events", "{broken\n" + json.dumps(dict(reply, event_id="e-2")) + "\n", NDJSON)
        assert [("error" in o, o["line"]) for o in lines.lines()] == [(True, 1), (False, 2)]
        assert lines.headers["x-items-failed"] == "1"
        snap = live.call("GET", "/v1/tickets/A/clocks?as_of=2026-03-10T12:00:00Z").json()
        assert snap["lifecycle"]["targets"]["first_response"]["status"] == "met"
        assert live.call("GET", "/v1/tickets/A/clocks?as_of=yesterday").status == 422
    finally:
        live.stop()


def test_at_risk_list_and_page(url, served):
    now = dt.datetime.now(UTC).replace(microsecond=0)
    live = start(served, url)
    try:
        for tid, minutes in (("near", 25), ("later", 5)):  # critical tier: 30 minutes from created_at
            ticket = {"id": tid, "created_at": (now - dt.timedelta(minutes=30 - minutes)).isoformat(),
                      "channel": "portal", "customer": {"segment": "commercial"}, "topic": "billing",
                      "severity": 1, "critical_terms_accepted": True}
            r = live.call("POST", "/v1/events?policy=lifecycle", {"type": "created", "ticket": ticket},
                          {"Content-Type": "application/json"})
            assert r.status == 200, r
        body = live.call("GET", "/v1/at-risk?within=2h").json()
        assert [(c["ticket"], c["target"]) for c in body["clocks"]] == [("later", "first_response"),
                                                                        ("near", "first_response")]
        assert 0 < body["clocks"][0]["remaining_seconds"] <= 5 * 60
        assert [c["ticket"] for c in live.call("GET", "/v1/at-risk?within=10m").json()["clocks"]] == ["later"]
        assert live.call("GET", "/v1/at-risk?within=soon").json()["error"]["code"] == "invalid-parameter"
        page = live.call("GET", "/workbench/at-risk?within=2h")
        assert page.status == 200 and b"later" in page.body and b"near" in page.body
        assert b'href="/workbench/at-risk"' in live.call("GET", "/").body  # linked from the nav
        spec = live.call("GET", "/openapi.json").json()["paths"]
        assert {"/v1/events", "/v1/tickets/{id}/clocks", "/v1/at-risk"} <= set(spec)
    finally:
        live.stop()


def test_without_a_store_the_routes_say_so(served):
    live = start(served)
    try:
        r = live.call("GET", "/v1/at-risk")
        assert (r.status, r.json()["error"]["code"]) == (404, "monitor-disabled")
        assert live.call("GET", "/workbench/at-risk").status == 200
    finally:
        live.stop()


def test_the_store_written_by_watch_is_read_by_the_server(url, served, tmp_path):
    records = list(generate(20, seed=9))
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = subprocess.run([sys.executable, "-m", "slapolicy.cli", "watch", "--policy", str(served / "lifecycle.yaml"),
                           "--store", url, "--replay", str(stream)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    live = start(served, url)
    try:
        policy = load_policy(str(served / "lifecycle.yaml"))
        tid, ticket = next(iter(tickets_from_stream(records).items()))
        got = live.call("GET", f"/v1/tickets/{tid}/clocks?as_of={AS_OF}").json()
        assert got["lifecycle"] == json.loads(json.dumps(policy.evaluate(ticket, as_of=AS_OF)["lifecycle"], default=str))
        r = live.call("POST", "/v1/events", "".join(json.dumps(r) + "\n" for r in records), NDJSON)
        assert {o["status"] for o in r.lines()} == {"duplicate"}  # what watch applied is not applied again
    finally:
        live.stop()
