"""The lifecycle replay decides the tier of a ticket's facts again after each event that changes them; given the
edition's generated registration decision (slapolicy.decide.fastpath, as slapolicy.decide.evaluate hands it from
the edition's second ticket with a life on) it decides by that function the facts a validated ticket and its
events give, by the reference (registration.register) those a lifecycle rule sets. Both ways must give the same
lifecycle, key for key, on every bundled policy's test tickets with events and on generated tickets with
generated events (escalations and severity changes that re-level, pauses, replies, resolutions)."""
import datetime as dt
import random
from pathlib import Path

import orjson
import pytest
import yaml
from slapolicy import load_policy
from slapolicy.api import policy_ids
from slapolicy.decide.evaluate import fast_decider
from slapolicy.decide.lifecycle import replay
from slapolicy.decide.tickets import validate_ticket
from slapolicy.tools.corpus import generate

POLICIES = Path(__file__).resolve().parents[1] / "policies"
KINDS = ["agent_replied", "customer_replied", "status_changed", "escalated", "severity_changed", "resolved", "reopened"]


def _events(rnd, created: str) -> list:
    at = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    out = []
    for _ in range(rnd.randrange(1, 7)):
        at += dt.timedelta(minutes=rnd.randrange(1, 3000))
        kind = rnd.choice(KINDS)
        event = {"type": kind, "at": at.isoformat()}
        if kind == "status_changed":
            event["status"] = rnd.choice(["waiting_customer", "open", "in_progress", "on_hold"])
        elif kind == "escalated":
            event["to"] = rnd.choice(["development", "consulting", "engineer"])
        elif kind == "severity_changed":
            event["severity"] = rnd.randrange(1, 5)
        out.append(event)
    return out


def _tickets(policy) -> list:
    out = []
    tests = POLICIES / f"{policy.id}.tests.yaml"
    if tests.exists():
        out += [c["ticket"] for c in yaml.safe_load(tests.read_text("utf-8")) or []
                if isinstance(c, dict) and (c.get("ticket") or {}).get("events")]
    rnd = random.Random(policy.id)
    for t in generate(policy, 150, 7):
        t = orjson.loads(orjson.dumps(t, default=str))
        t["events"] = _events(rnd, t["created_at"])
        out.append(t)
    return out


@pytest.mark.parametrize("pid", policy_ids())
def test_the_replay_decides_the_same_lifecycle_by_the_generated_decision(pid):
    policy = load_policy(pid)
    compiled = policy.compiled
    fast = fast_decider(compiled)
    assert fast is not None
    as_of = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    compared = relevelled = 0
    for ticket in _tickets(policy):
        try:
            normal = validate_ticket(orjson.loads(orjson.dumps(ticket, default=str)), compiled.vocabulary)
        except Exception:  # noqa: BLE001 - a generated ticket the schema refuses: not a lifecycle to compare
            continue
        reference = replay(compiled, normal, as_of)
        by_fast = replay(compiled, normal, as_of, decide=fast)
        assert orjson.dumps(by_fast, default=str) == orjson.dumps(reference, default=str), ticket.get("id")
        compared += 1
        relevelled += len(reference["tier_history"]) > 1
    assert compared >= 100
    # (bitrix-ua's tiers read no fact an event changes: its tickets never re-level)
    assert relevelled > 0 or pid == "bitrix-ua", "no ticket changed its tier: the comparison proves little"
