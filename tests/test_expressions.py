"""Semantics of the expression language, table-driven from tests/cases/expressions.yaml."""
import copy
from pathlib import Path

import pytest
import yaml
from conftest import BASE_TICKET, FIXTURES
from slapolicy.api import _compile_text
from slapolicy.decide.evaluate import evaluate
from slapolicy.decide.tickets import validate_ticket

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "expressions.yaml").read_text("utf-8"))
MINI = (FIXTURES / "mini.yaml").read_text("utf-8")


def policy_with(expr: str):
    """The mini policy with one acceptance rule `probe` whose condition is `expr`."""
    quoted = expr.replace("\\", "\\\\").replace('"', '\\"')
    text = MINI.replace("acceptance:\n", f'acceptance:\n  - id: probe\n    when: "{quoted}"\n    message: probe\n    source: "t"\n', 1)
    return _compile_text(text, "probe.yaml")


def merged(ticket):
    out = copy.deepcopy(BASE_TICKET)
    for k, v in ticket.items():
        out[k] = v
    return out


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['expr']}" for i, c in enumerate(CASES)])
def test_expression(case):
    policy = policy_with(case["expr"])
    decision = evaluate(policy, validate_ticket(merged(case["ticket"])))
    entries = [e for e in decision["explanation"] if e.get("rule") == "probe"]
    result = entries[0]["result"] if entries else "not_fired"
    want = {True: "fired", False: "not_fired", "unknown": "unknown"}[case["want"]]
    assert result == want
    if "missing" in case:
        missing = entries[0].get("missing", []) if entries else []
        assert sorted(missing) == sorted(case["missing"])


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['expr']}" for i, c in enumerate(CASES)])
def test_generated_code_agrees_with_closures(case):
    """The generated functions (slapolicy.language.codegen: plain and tracking) and the closures (slapolicy.language.compile)
    give the same value, and the tracking one lists the same missing facts."""
    from slapolicy.language.compile import UNKNOWN, Env

    policy = policy_with(case["expr"])
    ticket = validate_ticket(merged(case["ticket"]))
    rule = next(r for r in policy.acceptance if r.id == "probe")
    env = Env(ticket, policy)
    slow = rule.fn(env)
    missing = []
    for value in (rule.fast(ticket, {}), rule.track(ticket, {}, missing)):
        assert (value is UNKNOWN and slow is UNKNOWN) or value == slow
    assert sorted(set(missing)) == sorted(set(env.missing))
