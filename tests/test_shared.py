"""Decisions for a caller that only serialises them (`shared=True`: the HTTP service, JSON Lines, the Spark
workers): why_not entries kept from an earlier ticket are orjson.Fragment objects instead of copies, and
the unexplained decision's constant fragments are shared. The bytes orjson makes must be those of the
plain decision, `plain` must give the plain decision back, and the standard library's fallback (for what
orjson refuses) must still write the whole decision."""
from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

import orjson
import pytest

from slapolicy import load_policy
from slapolicy.decide import jsonio
from slapolicy.decide.shared import Entries, plain
from slapolicy.tools.testing import load_cases

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = sorted((ROOT / "policies").glob("*.tests.yaml"))
OPTIONS = ({}, {"unknown_facts": True}, {"why_not": False}, {"explain": False}, {"as_of": "2026-06-01T09:00:00Z"})


def _tickets(path):
    return [(case["ticket"], case.get("as_of")) for case, _ in load_cases(path)
            if not (case.get("expect") or {}).get("error")]


def _fragments(decision, key="why_not") -> int:
    entries = decision.get(key)
    return sum(isinstance(e, orjson.Fragment) for e in entries) if isinstance(entries, Entries) else 0


def _now_masked(data: bytes) -> bytes:  # (a ticket with events and no as_of is decided at "now")
    return re.sub(rb'"as_of":"[^"]+"', b'"as_of":"now"', data)


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name.split(".")[0] for p in TEST_FILES])
def test_a_shared_decision_serialises_to_the_plain_decisions_bytes(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    policy = load_policy(path.name.split(".")[0])
    tickets = _tickets(path)
    kept = assumed = 0
    for round_ in range(2):  # the second round meets the why_not entries the first one kept
        for ticket, as_of in tickets:
            body = json.dumps(ticket)
            for options in OPTIONS:
                options = {"as_of": as_of, **options}
                mine = policy.evaluate(ticket, **options)
                shared = policy.evaluate_json(body, **options, shared=True)
                assert _now_masked(orjson.dumps(shared)) == _now_masked(orjson.dumps(mine)), (ticket.get("id"), options)
                if options.get("explain", True):  # (an explained decision's assumptions: their kept JSON)
                    assumed += _fragments(shared, "assumptions")
                    assert _fragments(shared, "assumptions") == len(mine["assumptions"]) or options.get("as_of") \
                        or ticket.get("events"), (ticket.get("id"), options)  # (a life's are listed anew)
                if options.get("explain", True) and options.get("why_not", True):
                    kept += _fragments(shared)
                    thawed = plain(shared)
                    assert not _fragments(thawed) and not _fragments(thawed, "assumptions")
                    assert _now_masked(orjson.dumps(thawed)) == _now_masked(orjson.dumps(mine))
    assert kept, "no why_not entry was handed out kept: the comparison did not reach the shared path"
    assert assumed, "no assumption was handed out as kept JSON"


def test_what_orjson_refuses_still_goes_through_the_standard_library_with_fragments_in(monkeypatch):
    from slapolicy.service.http import dumps as http_dumps

    monkeypatch.chdir(ROOT)
    policy = load_policy("bitrix-ua")
    path = ROOT / "policies" / "bitrix-ua.tests.yaml"
    for ticket, as_of in _tickets(path):  # one whose why_not has an entry kept from its first decision
        policy.evaluate(ticket, shared=True)
        shared = policy.evaluate(ticket, shared=True)
        if as_of is None and not ticket.get("events") and _fragments(shared):
            break
    else:
        raise AssertionError("no bitrix-ua test ticket has a kept why_not entry")
    expected = policy.evaluate(ticket)
    shared["ticket"] = expected["ticket"] = 2 ** 70  # an integer beyond 64 bits: orjson refuses it
    with pytest.raises(TypeError):
        orjson.dumps(shared)
    assert json.loads(http_dumps(shared)) == expected  # (the HTTP service's encoder and the decision log's)
    assert json.loads(jsonio.dumps(shared)) == expected  # (the CLI's and the Spark worker's)
    assert json.loads(jsonio.dumps_bytes(shared)) == expected  # (JSON Lines records)
    assert plain({"decision": shared, "list": [shared]}) == {"decision": expected, "list": [expected]}


def test_repeated_http_requests_and_json_lines_give_the_plain_decision(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from slapolicy.cli import main
    from slapolicy.service.app import create_app

    sys.path.insert(0, str(Path(__file__).parent))
    from live import LiveServer

    monkeypatch.chdir(ROOT)
    policy = load_policy("bitrix-inc")
    tickets = [t for t, as_of in _tickets(ROOT / "policies" / "bitrix-inc.tests.yaml")
               if as_of is None and not t.get("events")][:12]
    expected = [orjson.dumps(policy.evaluate(t)) for t in tickets]
    server = LiveServer(create_app(reload_interval=0))
    try:
        for _ in range(3):  # (the second and third requests of a ticket get its kept entries)
            for ticket, want in zip(tickets, expected):
                request = urllib.request.Request(f"{server.url}/v1/policies/bitrix-inc/evaluate",
                                                 data=json.dumps(ticket).encode(),
                                                 headers={"Content-Type": "application/json"}, method="POST")
                with urllib.request.urlopen(request, timeout=30) as answer:
                    assert answer.status == 200 and answer.read() == want, ticket.get("id")
    finally:
        server.stop()
    lines = tmp_path / "t.jsonl"
    lines.write_text("".join(json.dumps(t) + "\n" for t in tickets * 2), "utf-8")
    got = CliRunner().invoke(main, ["evaluate", "--policy", "bitrix-inc", "--jsonl", "--workers", "1", str(lines)])
    assert got.exit_code == 0, got.output
    assert got.stdout_bytes.splitlines() == expected * 2
