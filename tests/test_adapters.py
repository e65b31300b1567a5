"""Helpdesk adapters (issue 14): golden imports of the vendor fixtures, the mapping checker's located
diagnostics (tests/cases/mapping_check.yaml), and the importer's error records."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slapolicy.api import load_policy
from slapolicy.tools.adapters.importer import import_records
from slapolicy.tools.adapters.mapping import MappingError, check_mapping, load_mapping

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "helpdesks"
POLICY = {"zendesk": "bitrix-inc", "jsm": "procrm-b24", "bitrix": "martinsoft-b24"}
CASES = yaml.safe_load((ROOT / "tests" / "cases" / "mapping_check.yaml").read_text("utf-8"))


@pytest.mark.parametrize("vendor", sorted(POLICY))
def test_fixture_import_equals_expected(vendor):
    got = list(import_records(load_mapping(vendor), FIXTURES / vendor))
    expected = [json.loads(line) for line in (FIXTURES / vendor / "expected.jsonl").read_text("utf-8").splitlines()]
    assert len(got) == len(expected)
    for number, (g, e) in enumerate(zip(got, expected), start=1):
        assert g == e, f"expected.jsonl line {number}"


@pytest.mark.parametrize("vendor", sorted(POLICY))
def test_imported_tickets_are_decided(vendor):
    policy = load_policy(POLICY[vendor])
    from slapolicy.api import parse_timestamp

    tickets = [r for r in import_records(load_mapping(vendor), FIXTURES / vendor) if "error" not in r]
    assert tickets
    for ticket in tickets:
        decision = policy.evaluate(ticket, as_of=parse_timestamp("2026-04-01T00:00:00Z"), explain=False)
        assert decision["ticket"] == ticket["id"]


def test_cli_import_writes_lines_and_exits_2_on_error_records():
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "import", "--from", "jsm", str(FIXTURES / "jsm")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 10 and sum("error" in line for line in lines) == 2
    assert "record 9 (id SUP-110): error: unmapped-value" in proc.stderr


def _mapping_text(case):
    text = CASES["base"]
    if case.get("vendor_line"):
        text = text.replace("vendor: test", case["vendor_line"])
    return text + case.get("extra", "") + case["fields"]


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_mapping_checker(case):
    try:
        check_mapping(_mapping_text(case), "m.yaml")
        found = []
    except MappingError as exc:
        found = [f"{d.span.line}:{d.span.col} {d.code}" for d in exc.diagnostics]
    assert found == case["errors"]


@pytest.mark.parametrize("vendor", sorted(POLICY))
def test_bundled_mappings_check_clean(vendor):
    assert load_mapping(vendor).id == vendor


def _write(tmp_path, records, users=()):
    (tmp_path / "r.json").write_text(json.dumps(records), "utf-8")
    (tmp_path / "u.json").write_text(json.dumps(list(users)), "utf-8")
    return tmp_path


MAPPING = CASES["base"] + """fields:
  id: {from: id, template: "T-{value}"}
  created_at: {from: created, type: timestamp}
  channel: {from: ch, map: {w: portal, x: null}}
  customer.segment: {from: users(uid).seg, map: {c: commercial}}
  severity: {from: prio, map: {"1": 1, "2": 2, "3": 3, "4": 4}}
  customer.coupon.used: {from: used, type: int}
events:
  - {id: reply, each: "msgs[]", when: {by: agent}, emit: agent_replied, at: at}
  - {id: status, each: "msgs[]", when: {status: {exists: true}}, emit: status_changed, at: ^.created,
     set: {status: {from: status, map: {wait: waiting_on_customer}}}}
"""


@pytest.mark.parametrize("record,code,field,path", [
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 9}, "missing-value", "customer.segment",
     "users(9).seg"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "x", "uid": 1}, "unmapped-value", "channel", "r[0].ch"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "q", "uid": 1}, "unmapped-value", "channel", "r[0].ch"),
    ({"id": 1, "created": "01/03/2026", "ch": "w", "uid": 1}, "bad-value", "created_at", "r[0].created"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1, "used": "many"}, "bad-value",
     "customer.coupon.used", "r[0].used"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1, "used": -1}, "bad-value",
     "customer.coupon.used", "r[0]"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1,
      "msgs": [{"by": "agent", "at": "2026-02-28T10:00:00Z"}]}, "event-before-created", "events", "r[0].msgs[0].at"),
    ({"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1, "msgs": [{"status": "gone"}]},
     "unmapped-value", "events[status].status", "r[0].msgs[0].status"),
])
def test_error_records(tmp_path, record, code, field, path):
    mapping = check_mapping(MAPPING, "m.yaml")
    good = {"id": 2, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1}
    out = list(import_records(mapping, _write(tmp_path, [record, good], [{"id": 1, "seg": "c"}])))
    assert len(out) == 2 and out[1]["id"] == "T-2"
    assert out[0]["index"] == 0 and out[0]["source_id"] == 1
    assert (out[0]["error"]["code"], out[0]["error"]["field"], out[0]["error"]["path"]) == (code, field, path)


def test_events_sorted_with_parent_and_ties_in_rule_order(tmp_path):
    mapping = check_mapping(MAPPING, "m.yaml")
    record = {"id": 5, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1,
              "msgs": [{"by": "agent", "at": "2026-03-01T15:00:00+03:00", "status": "wait"},
                       {"by": "agent", "at": "2026-03-01T10:00:00Z"}]}
    (ticket,) = import_records(mapping, _write(tmp_path, [record], [{"id": "1", "seg": "c"}]))
    # the status event's instant is ^.created: the parent of a msgs item is the record; the tie at 10:00Z
    # goes in rule order (reply before status); the source's offsets are kept
    assert ticket["events"] == [
        {"type": "agent_replied", "at": "2026-03-01T10:00:00Z"},
        {"type": "status_changed", "at": "2026-03-01T10:00:00Z", "status": "waiting_on_customer"},
        {"type": "agent_replied", "at": "2026-03-01T15:00:00+03:00"},
    ]


def test_jsonl_records_file_gives_line_numbers(tmp_path):
    mapping = check_mapping(MAPPING, "m.yaml")
    (tmp_path / "u.json").write_text('[{"id": 1, "seg": "c"}]', "utf-8")
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": 1, "created": "2026-03-01T10:00:00Z", "ch": "w", "uid": 1}\n\n{"id": 2}\n', "utf-8")
    out = list(import_records(mapping, path))
    assert out[0]["id"] == "T-1"
    assert out[1]["line"] == 3 and out[1]["error"]["code"] == "missing-value"
