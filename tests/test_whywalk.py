"""why_not's generated walks (slapolicy.decide.whywalk) against the reference walk (Analysis.require with the
per-node closures): for every stage rule of the five bundled policies, both wishes, on the policies' test
tickets and on generated tickets with facts dropped, the value and the failed tree (as JSON, key order
included) are the reference's; and a condition too big for one function is walked by the reference."""
import pickle
from pathlib import Path

import orjson
import pytest
import yaml
from slapolicy.api import load_policy, policy_ids
from slapolicy.decide import whywalk
from slapolicy.decide.registration import _STAGES, register
from slapolicy.decide.tickets import validate_ticket
from slapolicy.decide.whynot import Analysis, trees
from slapolicy.language.compile import UNKNOWN
from slapolicy.tools.corpus import generate
from test_explaining import _dropped

ROOT = Path(__file__).resolve().parent.parent


def _test_tickets(policy_id):
    cases = yaml.safe_load((ROOT / "policies" / f"{policy_id}.tests.yaml").read_text("utf-8")) or []
    out = []
    for case in cases:
        try:
            out.append(validate_ticket(case["ticket"]))
        except Exception:  # (a case of a ticket the decision refuses: nothing to walk)
            continue
    return out


def _walks(policy, tickets):
    """(rule id, want, ticket id, generated (value, failed), reference (value, failed)) of every stage rule"""
    compiled = policy.compiled
    t = trees(compiled)
    for ticket in tickets:
        _, run, _ = register(compiled, ticket, True, generated=False)
        stage = {k: v for k, v in run.env.stage.items() if not k.startswith("#")}
        for attr, base in _STAGES:
            for i, rule in enumerate(getattr(compiled, attr)):
                expr = compiled.exprs.get(base + (i, "when"))
                if expr is None or rule.fn is None:
                    continue
                for want in (True, False):
                    walk = whywalk.generate(t, expr, want, _group(), "<test>")
                    assert walk is not None, rule.id
                    a = Analysis(compiled, ticket, stage)
                    got = walk(a._env(explain=False), a._values, a.leaf, a.once)
                    r = Analysis(compiled, ticket, stage)
                    ref = (r.ev(expr, expr.tree), r.require(expr, expr.tree, want, []))
                    yield rule.id, want, ticket.get("id"), got, ref


def _group():
    from slapolicy.decide.whynot import _group as group

    return group


def _json(pair):
    value, failed = pair
    return orjson.dumps(["unknown" if value is UNKNOWN else value, failed])


@pytest.mark.parametrize("policy_id", policy_ids())
def test_the_generated_walk_is_the_reference_walk(policy_id):
    policy = load_policy(policy_id)
    tickets = _test_tickets(policy_id)
    tickets += _dropped(generate(policy, 60, 3), 29) + [validate_ticket(x) for x in generate(policy, 40, 7)]
    seen = {"failed": 0, "unknown": 0, "passed": 0}
    for rule, want, tid, got, ref in _walks(policy, tickets):
        assert _json(got) == _json(ref), (rule, want, tid)
        seen["failed"] += ref[1] is not None
        seen["unknown"] += ref[0] is UNKNOWN
        seen["passed"] += ref[1] is None
    assert all(seen.values()), seen  # (the tickets reach failed, unknown and passing conditions)


def test_a_condition_too_big_is_left_to_the_reference(monkeypatch):
    policy = load_policy("bitrix-inc")
    compiled = policy.compiled
    expr = next(e for p, e in compiled.exprs.items() if p[0] == "tier_rules" and e.defs_used)
    t = trees(compiled)
    monkeypatch.setattr(whywalk, "MAX_NODES", 2)
    assert whywalk.generate(t, expr, True, _group(), "<test>") is None
    tickets = generate(policy, 30, 3)
    t.walks.clear()
    by_reference = [orjson.dumps(policy.evaluate(x)["why_not"]) for x in tickets]  # (no walk generated)
    assert None in t.walks.values()
    monkeypatch.setattr(whywalk, "MAX_NODES", 120)
    t.walks.clear()
    assert [orjson.dumps(policy.evaluate(x)["why_not"]) for x in tickets] == by_reference
    assert all(t.walks.values())


@pytest.mark.parametrize("ticket", [
    {}, {"channel": "email"}, {"customer": None}, {"customer": "x", "channel": None},
    {"customer": {"segment": "partner", "coupon": {"used": 0}}, "channel": False},
    {"customer": {"coupon": [1]}}, {"customer": {"coupon": {"used": None, "issued_at": "2026-01-01"}}},
    {"customer": {"segment": "partner", "coupon": {"used": 1.0, "issued_at": [True]}}, "channel": "email"},
])
def test_the_generated_key_holds_what_value_at_reads(ticket):
    """the key of a kept answer: the head, the values value_at reads (as themselves when each is of its field's
    classes, else as JSON after the mark SLOW), the stage values"""
    from slapolicy.decide.whytrees import _INTS, _PLAIN, _as_key
    from slapolicy.decide.whywalk import value_at as _value_at

    fields = [("channel",), ("customer", "segment"), ("customer", "coupon", "used"), ("customer",),
              ("customer", "coupon", "issued_at"), ("customer", "coupon")]
    classes = [_PLAIN, _PLAIN, _INTS, _PLAIN, _PLAIN, _PLAIN]
    for k in range(1, len(fields) + 1):
        for stages in ((), ("tier", "accepted")):
            key = whywalk.keyer(fields[:k], classes[:k], stages, _as_key)(ticket, {"tier": "vip"}, ("h",))
            values = [_value_at(ticket, parts) for parts in fields[:k]]
            tail = tuple({"tier": "vip"}.get(s) for s in stages)
            if all(v.__class__ in c for v, c in zip(values, classes)):
                assert key == (("h",), *values, *tail)
            else:
                assert key == (("h",), whywalk.SLOW, pickle.dumps(values, 5), *tail)


def test_keys_of_values_that_python_holds_equal_and_json_does_not_differ():
    """1, 1.0 and True (and 0, 0.0, False) are equal in Python and have one hash; a date and its text, a list of
    1 and one of true: no two of them share a key in a field of either kind, and each value keeps its key"""
    import datetime as dt

    from slapolicy.decide.whytrees import _INTS, _PLAIN, _as_key

    values = [1, 1.0, True, 0, 0.0, False, None, "1", "", dt.date(2026, 1, 1), "2026-01-01", [1], [True], [1.0],
              {"a": 1}, {"a": True}, 2 ** 70]
    for classes in (_INTS, _PLAIN):
        key = whywalk.keyer([("f",)], [classes], (), _as_key)
        keys = [key({"f": v}, {}, "h") for v in values]
        assert len(set(keys)) == len(values), classes
        assert keys == [key({"f": v}, {}, "h") for v in values]
        assert key({}, {}, "h") == key({"f": None}, {}, "h")  # (absent is null: unknown either way)


def test_a_leaf_never_kept_is_analysed_once_per_ticket(monkeypatch):
    """`once`, the analysis of a leaf not kept (one that reads an instant, or whose templates by local date are
    turned off: whynot.Dated): bitrix-ua's coupon_valid in two rules of one ticket: one analysis, each entry
    its own copy, equal to the analysis the reference makes"""
    policy = load_policy("bitrix-ua")
    compiled = policy.compiled
    t = trees(compiled)
    expr = compiled.exprs[("definitions", "coupon_valid", "expr")]
    leaf = expr.tree.operands[0]  # date(created_at) <= customer.license_purchased_at + 1 year
    assert t.inputs(expr, leaf) == ((("customer", "license_purchased_at"),), (), ("created_at",))  # (by its date)
    ticket = validate_ticket({"id": "W-1", "created_at": "2026-03-10T10:00:00Z", "channel": "portal",
                              "customer": {"segment": "partner", "edition": "enterprise",
                                           "license_purchased_at": "2024-01-10"},
                              "special_request": True, "topic": "installation_work"})
    a = Analysis(compiled, ticket, {})
    calls = []
    real = Analysis._leaf
    monkeypatch.setattr(Analysis, "_leaf", lambda self, *args: calls.append(args) or real(self, *args))
    value = a.ev(expr, leaf)
    via = [{"definition": "coupon_valid", "source": "2.4"}]
    head = ("leaf", expr.path, id(leaf), True, ("coupon_valid",))
    first, second = a.once(expr, leaf, True, value, via, head), a.once(expr, leaf, True, value, via, head)
    assert len(calls) == 1 and first == second and first is not second
    assert orjson.dumps(first) == orjson.dumps(Analysis(compiled, ticket, {}).leaf(expr, leaf, True, value, via))
