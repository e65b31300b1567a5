"""A decision never depends on the explanation switch: explain on runs the closures (the reference),
explain off the generated code (one function per policy edition); both must give the same decision,
missing facts included, on generated tickets of every bundled policy, with facts dropped at random."""
import copy
import datetime as dt

import pytest
from facts import drop
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




@settings(max_examples=300, deadline=None)
@given(st.sampled_from(POLICIES), st.integers(0, 1499), st.data())
def test_missing_facts_do_not_depend_on_the_explanation(policy_id, index, data):
    ticket = CORPUS[policy_id][index]
    keys = sorted(set(ticket) | {f"customer.{k}" for k in ticket["customer"] if k != "segment"})
    dropped = data.draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    _same(load_policy(policy_id), drop(ticket, dropped))


# -- the decision tree on many rules: guards dropped where the tree knows them, missing facts' buckets,
#    identical tests made once, numeric tests in the leaves, buckets compiled lazily (> 300 rules) -----------

def _synthetic_policy(tmp_path, n):
    from slapolicy.language.schema import schema_json

    props = schema_json("ticket")["properties"]
    topics, channels = props["topic"]["enum"], props["channel"]["enum"]
    segments = props["customer"]["properties"]["segment"]["enum"]
    rules = []
    for k in range(n):
        t, s, c = topics[k % len(topics)], segments[(k // len(topics)) % len(segments)], channels[(k // 7) % len(channels)]
        if k % 7 == 3:
            when = f'topic in ["{t}", "{topics[(k + 1) % len(topics)]}"] and channel != "email"'
        elif k % 11 == 5:
            when = f'customer.segment not in ["demo"] and topic == "{t}" and problems_count <= 3'
        elif k % 17 == 8:  # no guard on the topic: the same test as the others' once the topic is known
            when = f'customer.segment == "{s}" and channel == "{c}" and problems_count > 40'
        elif k % 13 == 6:
            when = f'topic == "{t}" and sender_authorized == true'
        else:
            when = f'topic == "{t}" and customer.segment == "{s}" and channel == "{c}" and problems_count > 40'
        status = "out_of_scope" if k % 2 else "in_scope"
        rules.append(f'  - id: synthetic-{k}\n    when: {when}\n    status: {status}\n    source: "1.3"\n')
    from slapolicy.api import default_policies_dir

    text = (default_policies_dir() / "bitrix-inc.yaml").read_text(encoding="utf-8")
    path = tmp_path / f"bitrix-inc-{n}.yaml"
    path.write_text(text.replace("\nscope:\n", "\nscope:\n" + "".join(rules), 1), encoding="utf-8")
    return load_policy(str(path))


@pytest.mark.parametrize("n", [40, 350])
def test_many_rules_decide_alike(tmp_path, monkeypatch, n):
    monkeypatch.setenv("SLAPOLICY_NO_CACHE", "1")
    policy = _synthetic_policy(tmp_path, n)
    tickets = generate(policy, 240, 7)
    for i, t in enumerate(tickets):
        t["problems_count"] = [0, 3, 40, 41, 100][i % 5]
        if i % 3 == 0:
            t.pop("topic", None)
        if i % 7 == 0:
            t.pop("problems_count", None)
        if i % 4 == 0:
            t.pop("sender_authorized", None)
    decisions = [_same(policy, t) for t in tickets]
    reasons = {d["eligibility"]["reasons"][0]["rule"] for d in decisions if d["eligibility"]["status"] != "not_accepted"}
    assert any(r.startswith("synthetic-") for r in reasons) and any(not r.startswith("synthetic-") for r in reasons)
    assert any("topic" in d["missing_facts"] for d in decisions)
    assert any("problems_count" in d["missing_facts"] for d in decisions)
    from slapolicy.decide.classify import classifier  # the answer-only function on the same trees
    from slapolicy.decide.tickets import validate_ticket

    classify = classifier(policy.compiled)
    assert [classify(validate_ticket(copy.deepcopy(t))) for t in tickets] == \
        [(d["eligibility"]["status"], (d["tier"] or {}).get("id")) for d in decisions]


def test_a_ticket_without_a_required_field_goes_to_the_reference():
    from slapolicy.decide.evaluate import fast_decider
    from slapolicy.decide.tickets import validate_ticket

    policy = load_policy("bitrix-inc")
    ticket = validate_ticket(copy.deepcopy(CORPUS["bitrix-inc"][0]))
    decide = fast_decider(policy.compiled)
    assert decide(ticket) is not None
    del ticket["customer"]["segment"]
    assert decide(ticket) is None  # the generated code reads required fields by subscript


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dates(), st.datetimes(timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=3))]))),
       st.sampled_from(["UTC", "Europe/Moscow", "Europe/Kyiv"]), st.sampled_from([1, -1]),
       st.builds(lambda months, days, hours: (months, days * 86400 + hours * 3600),
                 st.integers(0, 30), st.integers(0, 400), st.integers(0, 48)))
def test_specialised_arithmetic_and_date_agree_with_the_builtins(value, zone, sign, duration):
    """the fast path's `+ <duration literal>` and date() (inline.shift, the inlined date()) against
    builtins.arith and builtins.functions"""
    import zoneinfo

    from slapolicy.language import ast
    from slapolicy.language.builtins import arith, functions
    from slapolicy.language.inline import shift

    tz = zoneinfo.ZoneInfo(zone)
    months, seconds = duration
    d = ast.Duration(months=months, seconds=0.0 if months else float(seconds))
    try:
        want = arith(tz, sign)(value, d)
    except (OverflowError, ValueError):
        return
    assert shift(tz, sign, d)(value) == want
    as_date = functions(tz)["date"]
    utc = dt.timezone.utc
    inline = ((value.date() if value.tzinfo is utc else value.astimezone(tz).date()) if zone == "UTC" else
              value.astimezone(tz).date()) if isinstance(value, dt.datetime) else value
    assert inline == as_date(value)


FORM_FIELDS = ("contact_person", "phone", "email", "environment", "business_impact", "description")
FORM_STATES = (None, "", " \t ", "Ivan", " x ")  # None: the field is absent


def test_form_rules_read_once_decide_alike():
    """martinsoft-b24's `(exists(form) and not exists(form.X)) or blank(form.X)` rules, whose generated code
    reads `form` and each form.X once into a local for the whole stage and inlines blank(): every state of
    each field (absent, empty, spaces, text), no form at all, an empty form, severity absent; the fast path
    decides each ticket itself (no hand-over to the reference) and like the closures, missing facts included"""
    from slapolicy.decide.evaluate import fast_decider
    from slapolicy.decide.tickets import validate_ticket

    policy = load_policy("martinsoft-b24")
    decide = fast_decider(policy.compiled)
    seen = set()
    for k, base in enumerate(CORPUS["martinsoft-b24"][:300]):
        ticket = copy.deepcopy(base)
        if k % 10 == 0:
            ticket.pop("form", None)
        else:
            states = [FORM_STATES[(k // 5 ** j + j) % len(FORM_STATES)] for j in range(len(FORM_FIELDS))]
            ticket["form"] = {f: v for f, v in zip(FORM_FIELDS, states) if v is not None} if k % 10 != 1 else {}
        if k % 3 == 0:
            ticket.pop("severity", None)
        assert decide(validate_ticket(copy.deepcopy(ticket))) is not None, ticket["id"]
        d = _same(policy, ticket)
        seen.add((d["eligibility"]["status"], bool(d["missing_facts"])))
        seen.update(r["rule"] for r in d["eligibility"]["reasons"])
    assert {"form-no-phone", "form-no-description", "form-no-severity"} <= seen
    assert any(isinstance(x, tuple) and x[0] != "not_accepted" for x in seen)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_the_generated_function_decides_every_valid_ticket_itself(policy_id):
    """the generated function hands a ticket to the reference (returns None) only when it lacks a required
    field or a date-time: a KeyError or AttributeError of a defect in the generated code would otherwise
    send valid tickets to the closures unnoticed (right, but slow)"""
    from slapolicy.decide.evaluate import fast_decider
    from slapolicy.decide.tickets import validate_ticket

    policy = load_policy(policy_id)
    decide = fast_decider(policy.compiled)
    left = [t["id"] for t in CORPUS[policy_id] if decide(validate_ticket(copy.deepcopy(t))) is None]
    assert left == []


def test_the_generated_function_is_built_from_the_second_decision_or_by_prepare(tmp_path):
    """one unexplained decision is made by the reference (a one-ticket evaluate does not build the generated
    function); the second builds it; Policy.prepare() builds it for every edition beforehand (a parent before
    forking workers); the decisions are the same either way"""
    from slapolicy.api import resolve_policy_path

    text = resolve_policy_path("bitrix-inc").read_text("utf-8")
    fresh = []
    for name in ("one", "two"):  # policies of their own: load_policy keeps one Policy a file
        (tmp_path / name).mkdir()
        (tmp_path / name / "bitrix-inc.yaml").write_text(text, "utf-8")
        fresh.append(tmp_path / name / "bitrix-inc.yaml")
    tickets = CORPUS["bitrix-inc"][:3]
    policy = load_policy(fresh[0])
    built = lambda p: [("_fast" in c.__dict__) for _, c in p.editions]  # noqa: E731
    first = policy.evaluate(copy.deepcopy(tickets[0]), explain=False)
    assert not any(built(policy))
    rest = [policy.evaluate(copy.deepcopy(t), explain=False) for t in tickets[1:]]
    assert built(policy)[-1]
    prepared = load_policy(fresh[1])
    assert not any(built(prepared))
    prepared.prepare()
    assert all(built(prepared))
    assert [prepared.evaluate(copy.deepcopy(t), explain=False) for t in tickets] == [first] + rest


def _reference_eligibility_tier(compiled, ticket):
    """stages 1-3 by the closures (the reference, as slapolicy.decide.registration.register runs them):
    (refusing acceptance rule ids, chosen scope rule id or None, tier rule id or None, missing facts)"""
    from slapolicy.language.compile import UNKNOWN, Env

    env = Env(ticket, compiled, False)

    def test(rule):
        if rule.fn is None:
            return True
        mark = len(env.missing)
        value = rule.fn(env)
        if value is UNKNOWN:
            return False
        del env.missing[mark:]
        return bool(value)
    refusals = [r.id for r in compiled.acceptance if test(r)]
    env.stage["accepted"] = not refusals
    if refusals:
        return refusals, None, None, set(env.missing)
    chosen = next((r for r in compiled.scope if test(r)), None)
    if chosen is None:
        return refusals, None, None, set(env.missing)
    env.stage["eligibility"] = chosen.status
    tier = next((r.id for r in compiled.tier_rules if test(r)), None)
    return refusals, chosen.id, tier, set(env.missing)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_the_fused_eligibility_and_tier_function_decides_like_the_closures(policy_id):
    """the one generated function for acceptance, scope and tier (decide.eligibility_tier, which the generated
    decision starts with): the same refusals, scope rule, tier rule and missing facts as the closures, on
    generated tickets and on the same tickets with optional facts dropped"""
    import random

    from slapolicy.decide.evaluate import fast_decider
    from slapolicy.decide.tickets import validate_ticket

    compiled = load_policy(policy_id).compiled
    head = fast_decider(compiled).eligibility_tier
    rng = random.Random(policy_id)
    tickets = list(CORPUS[policy_id][:600])
    for t in CORPUS[policy_id][600:1200]:
        keys = sorted(set(t) | {f"customer.{k}" for k in t["customer"] if k != "segment"})
        tickets.append(drop(t, rng.sample(keys, rng.randint(1, len(keys)))))
    seen = set()
    for ticket in tickets:
        t = validate_ticket(copy.deepcopy(ticket))
        hits, i, j, m = head(t)
        got = ([compiled.acceptance[k].id for k in hits], compiled.scope[i].id if i >= 0 and not hits else None,
               compiled.tier_rules[j].id if j >= 0 and not hits else None, set(m))
        want = _reference_eligibility_tier(compiled, validate_ticket(copy.deepcopy(ticket)))
        assert got == want, ticket.get("id")
        seen.add((bool(hits), bool(m)))
    assert {h for h, _ in seen} == {True, False} and {mm for _, mm in seen} == {True, False}  # refused and accepted,
    # with and without missing facts


# -- the branch on an optional fact (slapolicy.decide.fastsplit): conditions of tests/cases/fast_split.yaml ---

def _split_policies(tmp_path) -> dict:
    """{stage: a copy of martinsoft-b24 with the cases' rules of that stage first in it}"""
    import json
    import pathlib

    import yaml
    from slapolicy.api import default_policies_dir

    cases = yaml.safe_load((pathlib.Path(__file__).parent / "cases" / "fast_split.yaml").read_text("utf-8"))
    text = (default_policies_dir() / "martinsoft-b24.yaml").read_text(encoding="utf-8")
    out = {}
    for stage, extra in (("acceptance", '    message: "case {k}"\n    source: "6"\n'),
                         ("tier_rules", '    tier: serious\n    source: "3.6"\n')):
        rules = "".join(f'  - id: split-{k}\n    when: {json.dumps(c["when"])}\n' + extra.format(k=k)
                        for k, c in enumerate(cases[stage]["rules"]))
        path = tmp_path / f"split-{stage}.yaml"
        path.write_text(text.replace(f"\n{stage}:\n", f"\n{stage}:\n" + rules, 1), encoding="utf-8")
        out[stage] = (load_policy(str(path)), cases[stage])
    return out


def _split_tickets(n=360):
    import random

    states = (None, "", " \t\n", "Ivan", "x@y.ru", "help")  # None: the field is absent
    out = []
    for k, base in enumerate(CORPUS["martinsoft-b24"][:n]):
        ticket = copy.deepcopy(base)
        ticket.pop("form", None)
        if k % 6 == 1:
            ticket["form"] = {}
        elif k % 6 > 1:  # every field filled in one ticket of four (an accepted request reaches the tier rules)
            rng = random.Random(k)
            form = {f: rng.choice(states) for f in FORM_FIELDS} if k % 4 else {f: "Ivan" for f in FORM_FIELDS}
            ticket["form"] = {f: v for f, v in form.items() if v is not None}
        ticket.pop("severity", None)
        if k % 5:
            ticket["severity"] = k % 5
        if k % 7 == 0:
            ticket.pop("sender_authorized", None)
        out.append(ticket)
    return out


def test_a_branch_on_an_optional_fact_folds_and_decides_like_the_closures(tmp_path, monkeypatch):
    """rules of a stage that read the optional object `form` (acceptance) or the field `severity` (tier rules):
    the generated code reads it once and branches on its presence; the fold of each condition when it is missing
    is the hand-worked one of the cases; the fast path decides each ticket (form absent, empty, each field absent,
    empty, blank or text; severity absent or 1-4) itself and like the closures, the fused function too"""
    import re

    from slapolicy.decide.evaluate import fast_decider
    from slapolicy.decide.fastsplit import Fold
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.language import ast

    monkeypatch.setenv("SLAPOLICY_NO_CACHE", "1")
    tickets = _split_tickets()
    for stage, (policy, cases) in _split_policies(tmp_path).items():
        compiled = policy.compiled
        for k, case in enumerate(cases["rules"]):
            expr = compiled.exprs[(stage, k, "when")]
            kind, value = Fold(expr, {(cases["missing"],)}, {}, lambda n: not isinstance(n, ast.Literal))(expr.tree)
            want = case["absent"]
            got = value if kind == "v" else {"unknown": list(value)} if kind == "u" else "test"
            assert got == want, (stage, case["when"])
        decide = fast_decider(compiled)
        assert re.search(rf"(_p\d+) = t\.get\('{cases['missing']}', U\)\n\s+if \1 is U", decide.source), stage
        fired = set()
        for ticket in tickets:
            t = validate_ticket(copy.deepcopy(ticket))
            assert decide(t) is not None, ticket["id"]
            d = _same(policy, ticket)
            hits, i, j, m = decide.eligibility_tier(validate_ticket(copy.deepcopy(ticket)))
            got = ([compiled.acceptance[k].id for k in hits], compiled.scope[i].id if i >= 0 and not hits else None,
                   compiled.tier_rules[j].id if j >= 0 and not hits else None, set(m))
            assert got == _reference_eligibility_tier(compiled, t), ticket["id"]
            fired.update(r["rule"] for r in d["eligibility"]["reasons"])
            fired.update(got[2:3])
        cases_fired = {f"split-{k}" for k in range(len(cases["rules"]))} & fired
        if stage == "acceptance":  # every case refuses some ticket
            assert cases_fired == {f"split-{k}" for k in range(len(cases["rules"]))}
        else:  # (split-1 is never reached: martinsoft refuses a form without severity)
            assert cases_fired == {"split-0", "split-2", "split-3", "split-4"}
