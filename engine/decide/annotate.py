"""The explanation-only parts of a decision (explanation on): `why_not`, `unknown_facts`, each deadline's
`breakdown`, and the explanation's facts in the policy's time zone. slapolicy.decide.evaluate calls
`annotate` after registration; nothing here changes the decision's other keys (tests/test_whynot.py decides
every policy test ticket both ways and compares)."""
from __future__ import annotations

import datetime as dt

from slapolicy.calendar.breakdown import breakdown
from slapolicy.calendar.core import local_iso
from slapolicy.decide.whynot import Analysis, field_type, show, trees, walk_through_definitions, why_not
from slapolicy.language import ast

EXPLANATION_KEYS = ("explanation", "why_not", "unknown_facts")  # and deadlines.<name>.breakdown


def without_explanation(decision: dict) -> dict:
    """A copy of a decision without the explanation-only keys: what explain on and off must agree on."""
    out = {k: v for k, v in decision.items() if k not in EXPLANATION_KEYS}
    out["deadlines"] = {name: ({k: v for k, v in d.items() if k != "breakdown"} if isinstance(d, dict) else d)
                        for name, d in (decision.get("deadlines") or {}).items()}
    return out


def annotate(policy, ticket: dict, decision: dict, run, tier, with_unknown: bool = True,
             with_why_not: bool = True, shared: bool = False) -> None:
    """`with_unknown`: also `unknown_facts` (it decides the ticket again per value tried: asked for by
    `slapolicy explain`, `evaluate --unknown-facts`, HTTP `?unknown_facts=true`); `with_why_not`: the
    `why_not` block (left out on request: `evaluate --no-why-not`, HTTP `?why_not=false`); `shared`: the
    decision is only serialised (slapolicy.decide.whynot.why_not's `shared`)."""
    if policy.checked is None:  # a policy compiled without its trees: nothing to analyse
        return
    local_facts(policy, ticket, run.fired, run.env.stage)  # (registration's entries that fired with facts)
    if tier is not None:
        created = ticket["created_at"]
        instants = getattr(run, "instants", None) or {}  # (registration's: the lifecycle's run has none)
        at = getattr(run, "at", None)  # (registration's: created_at in the policy's time zone, its text)
        for d in tier.deadlines:
            entry = decision["deadlines"].get(d.name)
            if entry and d.kind != "none" and d.target is not None and (entry.get("due") or entry.get("not_before")):
                end = instants.get(d.name)
                if end is None:
                    entry["breakdown"] = breakdown(d.calendar, d.target, created, d.calendar.add(created, d.target))
                else:  # (the texts of start and end the decision has, when they are in the calendar's time zone)
                    texts = (at, entry["due"] or entry["not_before"]) \
                        if at is not None and d.calendar.timezone is policy.timezone else None
                    entry["breakdown"] = breakdown(d.calendar, d.target, created, end, (), texts)
    if with_why_not:
        decision["why_not"] = why_not(policy, ticket, decision, run.env.stage, shared,
                                     getattr(run, "tier_rule", None))
    if with_unknown:  # (imported here: a start that does not ask for them does not compile the module)
        from slapolicy.decide.unknown import unknown_facts

        decision["unknown_facts"] = unknown_facts(policy, ticket, {**decision, "explanation": run.explanation},
                                                 run.env.stage)


_TIMESTAMPS: dict = {}  # dotted fact -> is it a timestamp of the ticket vocabulary (field_type: a constant)


def _is_timestamp(dotted: str) -> bool:
    typ = field_type(dotted)
    return typ is not None and typ.kind == "timestamp"


def local_facts(policy, ticket, explanation, stage) -> None:
    """Timestamps of the matched facts in the policy's time zone, and for a rule that reads `date(x)` the
    local date it judged (e.g. "date(created_at)": "2026-03-10"). Only an entry that fired has facts (a rule
    without `when`: none); what a rule's entry needs is the edition's (`_plan`)."""
    analysis = None
    tz = policy.timezone
    by_rule = policy.__dict__.get("_date_calls")
    if by_rule is None:
        by_rule = policy.__dict__["_date_calls"] = {}
    for e in explanation:
        facts = e.get("facts")
        if not facts:
            continue
        key = (e["stage"], e["rule"])
        plan = by_rule.get(key)
        if plan is None:
            plan = by_rule[key] = _plan(policy, key)
        if plan is _NOTHING:  # (most rules: no timestamp read, no date(x))
            continue
        calls, stamps = plan
        for k in (facts if stamps is None else stamps):
            v = facts.get(k)
            if v.__class__ is str and (stamps is not None or _timestamp(k)):
                facts[k] = local_iso(dt.datetime.fromisoformat(v), tz)  # (a value of a key: no new key)
        for expr, n, text in calls:
            analysis = analysis or Analysis(policy, ticket, stage)
            v = analysis.ev(expr, n)
            if not isinstance(v, type(None)) and isinstance(v, dt.date):
                facts[text] = show(v, tz)


_NOTHING = ((), ())


def _timestamp(dotted: str) -> bool:
    timestamp = _TIMESTAMPS.get(dotted)
    if timestamp is None:
        timestamp = _TIMESTAMPS[dotted] = _is_timestamp(dotted)
    return timestamp


def _plan(policy, key) -> tuple:
    """(the date(path) calls of a rule's condition and its definitions, the timestamps among the facts its
    condition and definitions read (None: not known, each fact's type looked up)) of an explanation entry's
    (stage, rule); _NOTHING when it has neither"""
    t = trees(policy)
    calls = _date_calls(t, key)
    path = t.paths.get(key)
    if path is None:
        return calls, None
    stamps = []
    for expr, n in walk_through_definitions(t, path):
        if isinstance(n, ast.Path):
            kind, *rest = expr.resolved.get(id(n), ("",))
            if kind == "field" and _timestamp(dotted := ".".join(rest[0])) and dotted not in stamps:
                stamps.append(dotted)
    return (calls, tuple(stamps)) if calls or stamps else _NOTHING


def _date_calls(t, key) -> tuple:
    """the date(path) calls of a rule's condition and its definitions, in tree order ((): none, or no tree)"""
    path = t.paths.get(key)
    if path is None:
        return ()
    calls = t.date_calls.get(path)
    if calls is None:
        calls = t.date_calls[path] = [(expr, n, t.text(expr, n)) for expr, n in walk_through_definitions(t, path)
                                      if isinstance(n, ast.Call) and n.name == "date" and n.args
                                      and isinstance(n.args[0], ast.Path)]
    return tuple(calls)
