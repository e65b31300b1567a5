"""classify (slapolicy.decide.classify, Policy.classify): the eligibility status and tier id of a ticket, the
answer-only generated function, against the closures' decision (the reference) on generated tickets of every
bundled policy, with optional facts dropped (missing facts, refusals, every tier the corpus reaches)."""
import copy
import random

import pytest
from facts import drop
from slapolicy.api import TicketError, load_policy, policy_ids
from slapolicy.decide import classify as classify_module
from slapolicy.decide.classify import classifier
from slapolicy.decide.tickets import validate_ticket
from slapolicy.tools.corpus import generate

POLICIES = policy_ids()




def _tickets(policy, n, seed):
    rng = random.Random(seed)
    corpus = generate(policy, n, seed)
    out = list(corpus[: n // 2])
    for t in corpus[n // 2:]:
        keys = sorted(set(t) | {f"customer.{k}" for k in t["customer"] if k != "segment"})
        out.append(drop(t, rng.sample(keys, rng.randint(1, len(keys)))))
    return out


def _answer(decision) -> tuple:
    return decision["eligibility"]["status"], (decision["tier"] or {}).get("id")


@pytest.mark.parametrize("policy_id", POLICIES)
def test_classify_answers_as_the_closures_decide(policy_id, monkeypatch):
    policy = load_policy(policy_id)
    fn = classifier(policy.compiled)
    left = []  # tickets the generated function handed to the reference (none: it answers every valid one)
    reference = classify_module.reference
    monkeypatch.setattr(classify_module, "reference", lambda p, t: left.append(t["id"]) or reference(p, t))
    seen = set()
    for ticket in _tickets(policy, 1000, 3):
        want = _answer(policy.evaluate(copy.deepcopy(ticket), explain=True))  # the closures
        decision = policy.evaluate(copy.deepcopy(ticket), explain=False)
        assert fn(validate_ticket(copy.deepcopy(ticket))) == want, ticket["id"]
        assert policy.classify(copy.deepcopy(ticket)) == want
        seen.add((want[0] == "not_accepted", bool(decision["missing_facts"]), want[1]))
    assert left == []
    assert {r for r, _, _ in seen} == {True, False}  # refused and accepted tickets,
    assert {m for _, m, _ in seen} == {True, False}  # with and without missing facts,
    assert len({t for _, _, t in seen}) > 2  # several tiers


def test_classify_stops_at_the_first_refusal_and_lists_nothing():
    """the generated code: no missing facts, no reasons, no lists (each refusing rule returns at once)"""
    fn = classifier(load_policy("bitrix-inc").compiled)
    body = fn.source[fn.source.index("def classify(t):"):]
    assert ".append(" not in body and "hits" not in body and " m)" not in body
    assert "return 'not_accepted', None" in body


def test_a_ticket_without_a_required_field_is_answered_by_the_reference(monkeypatch):
    policy = load_policy("bitrix-inc")
    fn = classifier(policy.compiled)
    ticket = validate_ticket(generate(policy, 1, 5)[0])
    del ticket["customer"]["segment"]
    asked = []
    monkeypatch.setattr(classify_module, "reference", lambda p, t: asked.append(t) or ("in_scope", "x"))
    assert fn(ticket) == ("in_scope", "x") and asked == [ticket]


def test_classify_validates_as_evaluate_does():
    policy = load_policy("bitrix-inc")
    ticket = generate(policy, 1, 6)[0]
    bad = dict(ticket, channel=17)
    with pytest.raises(TicketError) as classified:
        policy.classify(copy.deepcopy(bad))
    with pytest.raises(TicketError) as evaluated:
        policy.evaluate(copy.deepcopy(bad))
    assert classified.value.to_json() == evaluated.value.to_json()
    normal = validate_ticket(copy.deepcopy(ticket))
    assert policy.classify_validated(normal) == policy.classify(ticket) == _answer(policy.evaluate(ticket))


def test_classify_picks_the_edition_in_force():
    """a policy of two editions: classify answers with the edition evaluate decides with (and a forced one)"""
    from conftest import BASE_TICKET, FIXTURES

    policy = load_policy(FIXTURES / "editions" / "mini.yaml")
    assert len(policy.editions) == 2
    answers = set()
    for created in ("2024-06-03T11:00:00+03:00", "2025-12-31T11:00:00+02:00", "2026-03-10T11:00:00+02:00"):
        for topic in ("billing", "installation_work", "product_error"):
            ticket = dict(BASE_TICKET, created_at=created, topic=topic)
            assert policy.classify(dict(ticket)) == _answer(policy.evaluate(dict(ticket)))
            for edition in policy.edition_names():
                got = policy.classify(dict(ticket), edition=edition)
                assert got == _answer(policy.evaluate(dict(ticket), edition=edition))
                answers.add(got)
    assert len(answers) > 1


def test_a_large_bucket_runs_as_a_loop_and_answers_alike(tmp_path, monkeypatch):
    """45 scope rules on one topic: the topic's bucket tests them in a loop over the rules' functions
    (first_true), unknown (no problems_count) never firing"""
    from slapolicy.api import default_policies_dir
    from slapolicy.decide.fasttree import INLINE

    monkeypatch.setenv("SLAPOLICY_NO_CACHE", "1")
    n = INLINE + 5
    rules = "".join(f'  - id: many-{k}\n    when: topic == "billing" and problems_count > {3 * (n - k)}\n'
                    f'    status: {"out_of_scope" if k % 2 else "in_scope"}\n    source: "1.3"\n' for k in range(n))
    text = (default_policies_dir() / "bitrix-inc.yaml").read_text(encoding="utf-8")
    path = tmp_path / "bitrix-inc-many.yaml"
    path.write_text(text.replace("\nscope:\n", "\nscope:\n" + rules, 1), encoding="utf-8")
    policy = load_policy(str(path))
    fn = classifier(policy.compiled)
    assert "_first_true(" in fn.source
    tickets = generate(policy, 200, 9)
    for i, t in enumerate(tickets):
        t["topic"] = "billing" if i % 2 else t.get("topic", "billing")
        if i % 5:
            t["problems_count"] = (7 * i) % (3 * n + 10)
    for t in tickets:
        assert fn(validate_ticket(copy.deepcopy(t))) == _answer(policy.evaluate(copy.deepcopy(t))), t["id"]
