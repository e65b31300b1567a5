"""The explained decision's generated code against the closures (the reference): each rule's explaining twin
(slapolicy.language.explaining) computes what its closure computes and leaves behind (value, missing facts, facts
read in order, memoised definitions), and an explained decision with the twins and the stages' scans
(slapolicy.decide.explainscan) is the one the closures alone make, explanation included. Table-driven over the
expression table, all five bundled policies and the synthetic many-rule policy, with facts dropped."""
import copy
import random
from pathlib import Path

import pytest
import yaml
from conftest import BASE_TICKET, FIXTURES, stage_memos
from facts import drop
from slapolicy.api import _compile_text, load_policy, policy_ids
from slapolicy.decide.registration import _STAGES, register
from slapolicy.decide.shared import plain
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.compile import UNKNOWN, Env
from slapolicy.language.explaining import twins
from slapolicy.tools.corpus import generate

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "expressions.yaml").read_text("utf-8"))
MINI = (FIXTURES / "mini.yaml").read_text("utf-8")
POLICIES = policy_ids()


def _state(value, env_or_lists):
    missing, read, defs = env_or_lists
    return ("U" if value is UNKNOWN else value, list(missing), list(read),
            {k: ("U" if v is UNKNOWN else v, list(m)) for k, (v, m) in defs.items()})


def _agree(compiled, tickets, stage_of=None):
    """every rule expression of every stage, in the order a decision tests them, by the closures on one Env and
    by the twins on one (missing, read, defs), compared after each rule; returns how many were unknown / read
    facts (that the tickets reach the cases that matter)"""
    lazy = twins(compiled.checked, compiled.timezone, "<test>")
    seen = {"unknown": 0, "read": 0, "memo_hit": 0}
    for ticket in tickets:
        env = Env(ticket, compiled, True)
        env.stage.update(stage_of(ticket) if stage_of else {})
        m, r, d = [], [], {}
        for attr, base in _STAGES:
            for i, rule in enumerate(getattr(compiled, attr)):
                path = base + (i, "when")
                if rule.fn is None:
                    continue
                known = len(env.defs)
                want = _state(rule.fn(env), (env.missing, env.read, env.defs))
                got = _state(lazy.get(path)(ticket, env.stage, m, r, d), (m, r, d))
                assert got == want, (rule.id, ticket.get("id"))
                seen["unknown"] += want[0] == "U"
                seen["read"] += bool(want[2])
                seen["memo_hit"] += bool(known and compiled.exprs[path].defs_used & set(env.defs))
    return seen


def _dropped(tickets, seed):
    rnd = random.Random(seed)
    out = []
    for t in tickets:
        keys = sorted(set(t) | {f"customer.{k}" for k in t["customer"] if k != "segment"})
        out.append(validate_ticket(drop(t, rnd.sample(keys, rnd.randint(0, len(keys))))))
    return out


def _stage(compiled):
    def stage_of(ticket):
        decision, run, _ = register(compiled, ticket, True, generated=False)
        return {k: v for k, v in run.env.stage.items() if not k.startswith("#")}
    return stage_of


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['expr']}" for i, c in enumerate(CASES)])
def test_the_twin_of_each_expression_agrees_with_its_closure(case):
    quoted = case["expr"].replace("\\", "\\\\").replace('"', '\\"')
    text = MINI.replace("acceptance:\n", f'acceptance:\n  - id: probe\n    when: "{quoted}"\n    message: probe\n    source: "t"\n', 1)
    compiled = _compile_text(text, "probe.yaml")
    ticket = copy.deepcopy(BASE_TICKET)
    ticket.update(case["ticket"])
    _agree(compiled, [validate_ticket(ticket)], _stage(compiled))


@pytest.mark.parametrize("policy_id", POLICIES)
def test_the_twins_of_a_policy_agree_with_its_closures(policy_id):
    compiled = load_policy(policy_id).compiled
    tickets = _dropped(generate(load_policy(policy_id), 300, 3), 5)
    seen = _agree(compiled, tickets, _stage(compiled))
    assert seen["unknown"] and seen["read"]  # the tickets reach unknown rules and facts read


_KEPT = ("_pretested", "_scans", "_scans_shared", "_explained")


def _explained(compiled, tickets, generated, shared=False):
    """explained registrations by the closures alone (generated false) or with the twins and scans, and the
    scans the edition had (`shared`: registrations of decisions only serialised, through the stages' memos)"""
    saved = {k: compiled.__dict__.pop(k) for k in _KEPT if k in compiled.__dict__}
    try:
        if generated:
            register(compiled, copy.deepcopy(tickets[0]), True)  # (the first explained decision generates nothing)
        else:
            compiled.__dict__["_pretested"] = {}  # (no rule pretested: every rule by its closure)
        out = []
        for ticket in tickets:
            decision, run, _ = register(compiled, copy.deepcopy(ticket), True, shared=shared)
            if shared:  # (its kept parts as JSON: read back, slapolicy.decide.shared.plain)
                decision, explanation = plain(decision), plain(run.explanation)
            else:
                explanation = run.explanation
            out.append((decision, explanation, sorted(run.env.missing), list(run.env.read)))
        return out, compiled.__dict__.get("_scans_shared" if shared else "_scans")
    finally:
        for k in _KEPT:
            compiled.__dict__.pop(k, None)
        compiled.__dict__.update(saved)


def _decisions_agree(compiled, tickets, shared=False):
    got, scans = _explained(compiled, tickets, True, shared)
    want, _ = _explained(compiled, tickets, False)
    for ticket, a, b in zip(tickets, got, want):
        assert a[:3] == b[:3], ticket.get("id")  # (env.read: false rules passed over read nothing)
    if shared:  # (and as the stage functions without memos leave it: the facts read too)
        owned, _ = _explained(compiled, tickets, True)
        for ticket, a, b in zip(tickets, got, owned):
            assert a == b, ticket.get("id")
    assert any(e["result"] == "unknown" for _, explanation, *_ in want for e in explanation)
    return scans


@pytest.mark.parametrize("policy_id", POLICIES)
def test_an_explained_decision_with_generated_code_is_the_closures_one(policy_id):
    compiled = load_policy(policy_id).compiled
    tickets = _dropped(generate(load_policy(policy_id), 150, 11), 13)
    scans = _decisions_agree(compiled, tickets)
    assert scans and "scope" in scans  # (the scans did run)


def test_many_rules_explained_alike(tmp_path, monkeypatch):
    """the synthetic many-rule policy (tests/test_fast_path.py): 40 scope rules (scanned) and 350 (more than
    explainscan.MAX_RULES: tested one by one), with facts dropped"""
    from test_fast_path import _synthetic_policy

    monkeypatch.setenv("SLAPOLICY_NO_CACHE", "1")
    for n in (40, 350):
        policy = _synthetic_policy(tmp_path, n)
        raw = generate(policy, 120, 7)
        for i, t in enumerate(raw):
            t["problems_count"] = [0, 3, 40, 41, 100][i % 5]
        tickets = _dropped(raw, n)
        compiled = policy.compiled
        _agree(compiled, tickets[:40], _stage(compiled))
        scans = _decisions_agree(compiled, tickets)
        assert ("scope" in scans) == (n <= 300)


def test_without_the_checked_trees_the_closures_explain():
    """an edition without its checked trees has no twins and no stage functions: its rules by their closures
    (after the pretest), the same explained registration"""
    compiled = load_policy("advantshop").compiled
    tickets = _dropped(generate(load_policy("advantshop"), 40, 17), 19)
    want, _ = _explained(compiled, tickets, False)
    checked = compiled.checked
    compiled.checked = None
    try:
        got, scans = _explained(compiled, tickets, True)
    finally:
        compiled.checked = checked
    assert scans == {} and [g[:3] for g in got] == [w[:3] for w in want]


@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_condition_of_one_field_is_unknown_exactly_when_that_field_is_missing(policy_id):
    """explainscan.one_field names the field of a condition that reads one field once (no definition, no
    quantifier): the stage functions then list an unknown rule's missing facts as that field without running its
    twin. Its closure, on tickets with facts dropped: unknown only when the field is missing (exists(x) is never
    unknown), its missing facts then that field alone, nothing read, no definition memoised"""
    from slapolicy.decide.explainscan import one_field

    named, unknown = set(), 0
    for rule, label, ticket, env in _unknown_runs(policy_id, one_field, named):
        assert _dotted(ticket, label) is None, (rule.id, label, ticket.get("id"))
        assert env.missing == [label] and env.read == [] and not env.defs, (rule.id, ticket.get("id"))
        unknown += 1
    assert named and unknown  # (the shortcut has rules to take and tickets that reach it)


def _unknown_runs(policy_id, pick, named=None):
    """(rule, pick(its condition), ticket, the closure's environment) of every stage rule that `pick` names
    something of (added to `named`), run on generated tickets with facts dropped, where the closure is unknown"""
    compiled = load_policy(policy_id).compiled
    tickets = _dropped(generate(load_policy(policy_id), 80, 5), 17)
    stage_of = _stage(compiled)
    for attr, base in _STAGES:
        for i, rule in enumerate(getattr(compiled, attr)):
            expr = compiled.exprs.get(base + (i, "when"))
            picked = pick(expr) if expr is not None and rule.fn is not None else None
            if picked is None:
                continue
            if named is not None:
                named.add(rule.id)
            for ticket in tickets:
                env = Env(ticket, compiled, True)
                env.stage.update(stage_of(ticket))
                if rule.fn(env) is UNKNOWN:
                    yield rule, picked, ticket, env


def _dotted(ticket, label):
    value = ticket
    for part in label.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("policy_id", POLICIES)
def test_an_and_or_of_one_field_operands_lists_its_missing_fields(policy_id):
    """explainscan.some_fields names the fields of an and / or whose operands each read one top-level field once:
    the stage functions then list an unknown rule's missing facts as those of its fields that are missing,
    without running its twin. Its closure, on tickets with facts dropped: when unknown, its missing facts are
    those fields (as many times as operands read them), nothing read, no definition memoised"""
    from slapolicy.decide.explainscan import some_fields

    unknown = 0
    for rule, labels, ticket, env in _unknown_runs(policy_id, some_fields):
        assert sorted(env.missing) == sorted(x for x in labels if ticket.get(x) is None), (rule.id, ticket.get("id"))
        assert not env.defs, rule.id
        unknown += 1
    if policy_id in ("bitrix-inc", "bitrix-ua"):
        assert unknown  # (the shortcut has rules to take and tickets that reach it)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_stage_dispatched_on_a_field_explains_as_the_closures(policy_id):
    """a stage whose rules test one field first (explainscan._dispatch: scope on `topic`) runs, for the field's
    value, the function without the rules false for it: tickets with each value its rules name, another text
    and none (facts dropped as above) are explained as the closures explain them"""
    from slapolicy.decide.explainscan import _dispatch

    compiled = load_policy(policy_id).compiled
    found = [(attr, d) for attr, base in _STAGES if (d := _dispatch(compiled, getattr(compiled, attr), base))]
    if not found:
        pytest.skip(f"{policy_id}: no stage dispatches on a field")
    raw = generate(load_policy(policy_id), 60, 29)
    tickets = []
    for attr, (field, table, _) in found:
        for i, value in enumerate([*table, "no-such-value", None]):
            t = copy.deepcopy(raw[i % len(raw)])
            if value is None:
                t.pop(field, None)
            else:
                t[field] = value
            try:
                tickets.append(validate_ticket(t))
            except Exception:  # noqa: BLE001 - a value the vocabulary refuses: not a ticket
                continue
    tickets += _dropped(raw, 31)
    scans = _decisions_agree(compiled, tickets)
    assert all(attr in scans for attr, _ in found)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_rule_whose_fields_are_all_missing_explains_as_the_closures(policy_id):
    """a rule whose condition reads fields but no definition (explainscan.absent_form; none of the fields one a
    validated ticket always has) has one outcome on every ticket that lacks all of them, per stage values: the
    stage functions take it from the twin's run on an empty ticket (kept per rule and stage values) instead of
    testing the rule. Tickets without the fields of each such rule, and with facts dropped, are explained as the
    closures explain them, and the kept outcomes were used"""
    from slapolicy.decide.explainscan import _required, absent_form

    compiled = load_policy(policy_id).compiled
    raw = generate(load_policy(policy_id), 40, 37)
    tickets = []
    for attr, base in _STAGES:
        for i, rule in enumerate(getattr(compiled, attr)):
            expr = compiled.exprs.get(base + (i, "when"))
            form = absent_form(expr, _required()) if expr is not None and rule.fn is not None else None
            if form is None:
                continue
            for k, t in enumerate(raw[:6]):
                t = drop(copy.deepcopy(t), [".".join(path) for path in form[2]])
                if k % 2:  # (a ticket that lacks the fields as values of null)
                    for path in form[2]:
                        if len(path) == 1:
                            t[path[0]] = None
                try:
                    tickets.append(validate_ticket(t))
                except Exception:  # noqa: BLE001 - a null the vocabulary refuses: not a ticket
                    continue
    if not tickets:
        pytest.skip(f"{policy_id}: no rule of fields that may all be missing")
    tickets += _dropped(raw, 41)
    scans = _decisions_agree(compiled, tickets)
    kept = {k: v for k, v in next(iter(scans.values())).__globals__.items() if k.startswith("_A") and isinstance(v, dict)}
    assert kept and any(kept.values())  # (the stage functions took the kept outcomes)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_shared_decision_through_the_stages_memos_explains_as_the_closures(policy_id, monkeypatch):
    """a decision only serialised (shared) runs each run of rules that read no definition, date, timestamp or list
    through a memo (slapolicy.decide.stagememo): tickets seen again replay the outcome kept. Repeated tickets,
    facts dropped, are explained as the closures explain them, and as the stage functions without memos leave
    missing facts and facts read; the memos hit"""
    from slapolicy.decide import stagememo

    monkeypatch.setattr(stagememo, "HIT_SHARE", 0)  # (no memo stops: each one is tested)
    compiled = load_policy(policy_id).compiled
    tickets = _dropped(generate(load_policy(policy_id), 30, 43), 47)
    scans = _decisions_agree(compiled, tickets * 2 + tickets[::-1], shared=True)
    memos = stage_memos(scans)
    if policy_id != "martinsoft-b24":
        assert memos and all(m.hits for m in memos.values()) and all(len(m) for m in memos.values())


def _with_edition(compiled):
    """the edition's stage functions made anew for a test (restored after it)"""
    saved = {k: compiled.__dict__.pop(k) for k in _KEPT if k in compiled.__dict__}
    return saved


def test_a_memo_key_tells_1_from_1_0_and_true():
    """1, 1.0 and True are equal dict keys but different JSON: a memo's key holds the class of an int or number
    field's value, so that a ticket whose severity is 1.0 (or true, past validation) is not given the facts kept
    for 1; each is registered as without memos (its JSON the same)"""
    import orjson

    compiled = load_policy("bitrix-inc").compiled
    base = validate_ticket({**copy.deepcopy(BASE_TICKET), "severity": 1})
    saved = _with_edition(compiled)
    try:
        register(compiled, copy.deepcopy(base), True)
        register(compiled, copy.deepcopy(base), True)
        memos = stage_memos(compiled.__dict__["_scans_shared"])
        sizes = {k: len(m) for k, m in memos.items()}
        for value in (1, 1.0, True, 1, 1.0, True):
            t = {**copy.deepcopy(base), "severity": value}
            shared = register(compiled, copy.deepcopy(t), True, shared=True)[1]
            owned = register(compiled, copy.deepcopy(t), True)[1]
            assert orjson.dumps(shared.explanation) == orjson.dumps(owned.explanation), value
            assert shared.env.read == owned.env.read and [v.__class__ for _, v in shared.env.read] == \
                [v.__class__ for _, v in owned.env.read]
        grown = [k for k, m in memos.items() if len(m) - sizes[k] == 3]
        assert grown and all(memos[k].hits >= 3 for k in grown)  # (three keys, each found again)
    finally:
        for k in _KEPT:
            compiled.__dict__.pop(k, None)
        compiled.__dict__.update(saved)


def test_a_full_memo_is_cleared_and_a_missing_one_stops_then_tries_again(monkeypatch):
    """a memo holds at most CAP outcomes (cleared when full); one that misses more than HIT_SHARE allows over
    MIN_LOOKUPS lookups stops (its run's rules tested without a lookup), and tries again after PROBE explained
    decisions, where repeated tickets make it go on; the decisions all as without memos"""
    import orjson
    from slapolicy.decide import stagememo

    monkeypatch.setattr(stagememo, "CAP", 3)
    monkeypatch.setattr(stagememo, "MIN_LOOKUPS", 8)
    monkeypatch.setattr(stagememo, "PROBE_LOOKUPS", 4)
    monkeypatch.setattr(stagememo, "PROBE", 5)
    compiled = load_policy("bitrix-inc").compiled
    fresh = [validate_ticket(t) for t in generate(load_policy("bitrix-inc"), 40, 53)]
    saved = _with_edition(compiled)
    try:
        register(compiled, copy.deepcopy(fresh[0]), True)
        register(compiled, copy.deepcopy(fresh[0]), True)
        memos = stage_memos(compiled.__dict__["_scans_shared"])
        memo = memos["_M_delay_reasons_0"]  # (twelve facts read: tickets made apart seldom share them)
        stopped = []
        for t in fresh:
            shared = register(compiled, copy.deepcopy(t), True, shared=True)
            owned = register(compiled, copy.deepcopy(t), True)
            assert orjson.dumps(shared[0]) == orjson.dumps(owned[0])
            assert orjson.dumps(shared[1].explanation) == orjson.dumps(owned[1].explanation)
            assert all(len(m) <= 3 for m in memos.values())
            stopped.append(memo.off)
        assert any(stopped) and memo.period > 5  # (it stopped, and a probe failed)
        for _ in range(40):  # (one ticket again and again: the probe finds it)
            shared = register(compiled, copy.deepcopy(fresh[1]), True, shared=True)
            owned = register(compiled, copy.deepcopy(fresh[1]), True)
            assert orjson.dumps(shared[1].explanation) == orjson.dumps(owned[1].explanation)
        assert not memo.off and memo.hits
    finally:
        for k in _KEPT:
            compiled.__dict__.pop(k, None)
        compiled.__dict__.update(saved)
