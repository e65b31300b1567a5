"""`why_not` on request: an explained decision without its why_not block (Python `why_not=False`, CLI
`evaluate --no-why-not`, HTTP `?why_not=false`) is the explained decision with that one key left out;
everything else (explanation, breakdowns, unknown_facts, missing facts, assumptions) is the same."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from slapolicy import load_policy
from slapolicy.cli import main
from slapolicy.tools.testing import load_cases

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = sorted((ROOT / "policies").glob("*.tests.yaml"))


def _tickets(path):
    return [(case["ticket"], case.get("as_of")) for case, _ in load_cases(path)
            if not (case.get("expect") or {}).get("error")]


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name.split(".")[0] for p in TEST_FILES])
def test_an_explained_decision_without_why_not_lacks_that_key_only(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    policy = load_policy(path.name.split(".")[0])
    with_block = 0
    for ticket, as_of in _tickets(path):
        lights = []
        for unknown in (False, True):
            full = policy.evaluate(ticket, as_of=as_of, unknown_facts=unknown)
            light = policy.evaluate(ticket, as_of=as_of, unknown_facts=unknown, why_not=False)
            assert "why_not" in full and "why_not" not in light, ticket.get("id")
            with_block += bool(full.pop("why_not"))
            assert light == full, ticket.get("id")
            assert light["explanation"], ticket.get("id")  # (still explained)
            lights.append(light)
        # explanation off: why_not=False changes nothing
        assert policy.evaluate(ticket, as_of=as_of, explain=False, why_not=False) == \
            policy.evaluate(ticket, as_of=as_of, explain=False)
        assert policy.evaluate_json(json.dumps(ticket), as_of=as_of, why_not=False) == lights[0]
    assert with_block, "no test ticket of this policy has a why_not entry: the comparison proves little"


def _ticket_with_why_not():
    path = ROOT / "policies" / "bitrix-ua.tests.yaml"
    policy = load_policy("bitrix-ua")
    for ticket, as_of in _tickets(path):
        if as_of is None and policy.evaluate(ticket)["why_not"]:
            return ticket
    raise AssertionError("no bitrix-ua test ticket with a why_not entry")


def test_cli_no_why_not_one_ticket_and_json_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ticket = _ticket_with_why_not()
    runner = CliRunner()
    full = runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", "-"], input=json.dumps(ticket))
    light = runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", "--no-why-not", "-"], input=json.dumps(ticket))
    assert full.exit_code == 0 and light.exit_code == 0, (full.output, light.output)
    full, light = json.loads(full.output), json.loads(light.output)
    assert full.pop("why_not") and "why_not" not in light
    assert light == full
    lines = tmp_path / "t.jsonl"
    lines.write_text(json.dumps(ticket) + "\n{not json\n" + json.dumps(ticket) + "\n", "utf-8")
    for workers in ("1", "2"):
        got = runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", "--jsonl", "--no-why-not", "--workers",
                                   workers, str(lines)])
        assert got.exit_code == 2, got.output  # (the bad line: an error record, the others decided)
        records = [json.loads(x) for x in got.stdout.splitlines()]
        assert [("error" in r) for r in records] == [False, True, False]
        assert records[0] == light and records[2] == light


def test_http_why_not_false_on_evaluate_and_batch_and_a_bad_value():
    from slapolicy.service.app import create_app

    sys.path.insert(0, str(Path(__file__).parent))
    from live import LiveServer

    ticket = _ticket_with_why_not()
    server = LiveServer(create_app(reload_interval=0))
    try:
        def post(route, body, query="", kind="application/json"):
            request = urllib.request.Request(f"{server.url}/v1/policies/bitrix-ua/{route}{query}", data=body,
                                             headers={"Content-Type": kind}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        one = json.dumps(ticket).encode()
        status, full = post("evaluate", one)
        assert status == 200
        full = json.loads(full)
        assert full.pop("why_not")
        for query in ("?why_not=false", "?why_not=FALSE&unknown_facts=false", "?explain=true&why_not=0"):
            status, light = post("evaluate", one, query)
            assert status == 200, light
            assert json.loads(light) == full, query
        status, batch = post("evaluate-batch", json.dumps([ticket, ticket]).encode(), "?why_not=false")
        assert status == 200 and json.loads(batch) == [full, full]
        status, lines = post("evaluate-batch", one + b"\n" + one + b"\n", "?why_not=false", "application/x-ndjson")
        assert status == 200 and [json.loads(x) for x in lines.splitlines()] == [full, full]
        status, error = post("evaluate", one, "?why_not=perhaps")
        error = json.loads(error)["error"]
        assert status == 422 and error["code"] == "invalid-parameter" and "why_not" in json.dumps(error)
        with urllib.request.urlopen(f"{server.url}/openapi.json", timeout=30) as answer:
            spec = json.loads(answer.read())
        params = [p["name"] for p in spec["paths"]["/v1/policies/{id}/evaluate"]["post"]["parameters"]]
        assert "why_not" in params
    finally:
        server.stop()
