"""A decision never depends on the explanation switch: explain on runs the closures (the reference),
explain off the generated code (one function per policy edition); both must give the same decision,
missing facts included, on generated tickets of every bundled policy, with facts dropped at random."""
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slapolicy.api import load_policy, policy_ids
from slapolicy.decide.annotate import without_explanation
from slapolicy.tools.corpus import generate

POLICIES = policy_ids()
CORPUS = {p: generate(load_policy(p), 1500, 0) for p in POLICIES}


def _same(policy, ticket, as_of=None):
    slow = policy.evaluate(copy.deepcopy(ticket), as_of=as_of, explain=True)
    fast = policy.evaluate(copy.deepcopy(ticket), as_of=as_of, explain=False)
    assert slow["explanation"] is not None and fast["explanation"] == []
    slow = without_explanation(slow)  # explanation-only keys (why_not, unknown_facts, breakdowns) aside
    assert without_explanation(fast) == slow, ticket.get("id")
    return slow


@pytest.mark.parametrize("policy_id", POLICIES)
def test_generated_tickets_decide_alike(policy_id):
    policy = load_policy(policy_id)
    decisions = [_same(policy, t) for t in CORPUS[policy_id]]
    assert len({d["tier"]["id"] if d["tier"] else None for d in decisions}) > 1  # the corpus reaches several tiers
    assert any(d["missing_facts"] for d in decisions)


def _drop(ticket, keys):
    """the ticket without the optional facts named by `keys` (top level and customer.*)"""
    out = copy.deepcopy(ticket)
    for key in keys:
        if key.startswith("customer."):
            out["customer"].pop(key.split(".", 1)[1], None)
        elif key not in ("id", "created_at", "channel", "customer"):
            out.pop(key, None)
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(POLICIES), st.integers(0, 1499), st.data())
def test_missing_facts_do_not_depend_on_the_explanation(policy_id, index, data):
    ticket = CORPUS[policy_id][index]
    keys = sorted(set(ticket) | {f"customer.{k}" for k in ticket["customer"] if k != "segment"})
    dropped = data.draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    _same(load_policy(policy_id), _drop(ticket, dropped))
