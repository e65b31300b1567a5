"""Editions: the edition in force at created_at decides; --edition forces one; the decision names it."""
import json

import pytest
from conftest import BASE_TICKET
from slapolicy.api import PolicyNotFound, load_policy

EDITIONS = "tests/fixtures/editions/mini.yaml"


def ticket(created_at):
    return dict(BASE_TICKET, created_at=created_at, topic="billing")


def test_edition_in_force_at_created_at(monkeypatch):
    policy = load_policy(EDITIONS)
    assert policy.edition_names() == ["2025-01-01", "2026-01-01"]
    new = policy.evaluate(ticket("2026-03-10T11:00:00+02:00"))
    assert new["policy"]["edition"] == "2026-01-01" and new["policy"]["version"] == "2"
    assert new["deadlines"]["first_response"]["due"] == "2026-03-10T13:00:00+02:00"
    old = policy.evaluate(ticket("2025-12-31T11:00:00+02:00"))
    assert old["policy"]["edition"] == "2025-01-01" and old["policy"]["version"] == "1"
    assert old["deadlines"]["first_response"]["due"] == "2025-12-31T15:00:00+02:00"


def test_edition_boundary_is_local_midnight():
    policy = load_policy(EDITIONS)
    # 2025-12-31T23:30 UTC is already 2026-01-01 in Kyiv: the new edition is in force
    d = policy.evaluate(ticket("2025-12-31T23:30:00+00:00"))
    assert d["policy"]["edition"] == "2026-01-01"


def test_ticket_older_than_every_edition_uses_the_earliest():
    d = load_policy(EDITIONS).evaluate(ticket("2024-06-03T11:00:00+03:00"))
    assert d["policy"]["edition"] == "2025-01-01" and d["policy"]["edition_chosen"] == "earliest"


def test_forced_edition():
    policy = load_policy(EDITIONS)
    d = policy.evaluate(ticket("2026-03-10T11:00:00+02:00"), edition="2025-01-01")
    assert d["policy"]["version"] == "1" and d["policy"]["edition_chosen"] == "forced"
    with pytest.raises(PolicyNotFound):
        policy.evaluate(ticket("2026-03-10T11:00:00+02:00"), edition="1999-01-01")


def test_cli_edition_option(cli):
    code, out, err = cli("evaluate", "--policy", EDITIONS, "--edition", "2025-01-01", "-",
                         input=json.dumps(ticket("2026-03-10T11:00:00+02:00")))
    assert code == 0, err
    assert json.loads(out)["deadlines"]["first_response"]["due"] == "2026-03-10T15:00:00+02:00"
    code, _, err = cli("evaluate", "--policy", EDITIONS, "--edition", "1999-01-01", "-",
                       input=json.dumps(ticket("2026-03-10T11:00:00+02:00")))
    assert code == 2 and "has no edition '1999-01-01'" in err
