"""The decision log's lines (slapolicy.service.decisionlog): a record whose decision's bytes are spliced in is
byte for byte the record encoded whole, as the log wrote it before (a text file, one `dumps` per record)."""
import json
import os

import pytest
from conftest import BASE_TICKET, FIXTURES
from slapolicy.api import load_policy

pytest.importorskip("orjson")
from slapolicy.service.decisionlog import DecisionLog, encode  # noqa: E402
from slapolicy.service.http import dumps  # noqa: E402

FIXTURE = str(FIXTURES / "mini.yaml")


def written_before(request_id, route, items, at):
    """the bytes of the text-mode log: dumps(record) decoded, "\\n" written as the platform's line separator"""
    out = ""
    for position, ticket, decision in items:
        record = {"request_id": request_id, "at": at, "route": route, "item": position,
                  "policy": decision["policy"]["id"], "hash": decision["policy"].get("hash"),
                  "ticket": ticket, "decision": decision}
        out += dumps(record).decode("utf-8") + "\n"
    return out.replace("\n", os.linesep).encode("utf-8")


def logged(tmp_path, items):
    path = tmp_path / "decisions.jsonl"
    log = DecisionLog(path)
    log.write("rid-1", "/v1/policies/{id}/evaluate-batch", items)
    log.close()
    data = path.read_bytes()
    at = json.loads(data.splitlines()[0])["at"]
    return data, at


def test_spliced_records_are_the_records_encoded_whole(tmp_path):
    policy = load_policy(FIXTURE)
    tickets = [dict(BASE_TICKET, id=f"T-{i}", channel=channel) for i, channel in enumerate(["portal", "email", "chat"])]
    decisions = [policy.evaluate(t, explain=explain) for t in tickets for explain in (True, False)]
    items = []
    for i, decision in enumerate(decisions):
        encoded, exact = encode(decision)
        assert exact and encoded == dumps(decision)
        items.append((i if i % 2 else None, tickets[i // 2], decision, encoded))
    data, at = logged(tmp_path, items)
    assert data == written_before("rid-1", "/v1/policies/{id}/evaluate-batch", [i[:3] for i in items], at)
    assert [json.loads(line)["decision"] for line in data.splitlines()] == json.loads(dumps(decisions))


def test_a_record_orjson_refuses_is_encoded_whole_by_the_fallback(tmp_path):
    policy = load_policy(FIXTURE)
    decision = policy.evaluate(BASE_TICKET)
    ticket = dict(BASE_TICKET, extra=2 ** 70)  # beyond orjson's integers: json encodes the whole record
    encoded, exact = encode(decision)
    data, at = logged(tmp_path, [(None, ticket, decision, encoded if exact else None), (1, BASE_TICKET, decision)])
    assert data == written_before("rid-1", "/v1/policies/{id}/evaluate-batch",
                                  [(None, ticket, decision), (1, BASE_TICKET, decision)], at)
    assert str(2 ** 70) in data.splitlines()[0].decode()


def test_a_decision_only_the_fallback_encodes_is_not_spliced(tmp_path):
    policy = load_policy(FIXTURE)
    decision = dict(policy.evaluate(BASE_TICKET), note="\ud800")  # a lone surrogate: orjson refuses it
    encoded, exact = encode(decision)
    assert not exact and encoded == dumps(decision)
    data, at = logged(tmp_path, [(None, BASE_TICKET, decision, encoded if exact else None)])
    assert data == written_before("rid-1", "/v1/policies/{id}/evaluate-batch", [(None, BASE_TICKET, decision)], at)
