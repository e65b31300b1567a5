"""Unknown facts ranked by consequence: which missing fact could change eligibility, the tier, billing, a
delay reason or only a notice, and to what.

For each missing fact the ticket is decided again (registration, explanation off) with the fact set to each
value of a small domain (`values`): bool both ways; an enum the values the policy names and one other; a number the literals the policy
compares it with, +-1, and 0; a string those literals, a blank and a word; a date or timestamp the
request's date moved by every duration of the policy, +-1 day; a list empty or with one item per literal
item field. What differs from the decision is the consequence:
  eligibility  > tier > billing > delay_reason > notice
A fact that matters only together with another unknown fact of the same rule (as in
`reproducible == false and site_access_provided == false`) is also tried in pairs with it (`together_with`
names them); a fact no value tried moves is ranked by the stage of the rules that read it (`static: true`).
Each effect says what changes and `when` (the values tried that change it). The decision's `missing_facts`
list is unchanged.
"""
from __future__ import annotations

import datetime as dt

from slapolicy.decide.whynot import field_type, patched, show, trees, walk_through_definitions
from slapolicy.language import ast
from slapolicy.language.runtime import UNKNOWN, Env

RANK = ("eligibility", "tier", "billing", "delay_reason", "notice")
_STAGE_RANK = {"acceptance": "eligibility", "scope": "eligibility", "tier_rules": "tier", "billing": "billing",
               "delay_reasons": "delay_reason", "notices": "notice"}
_MISSING = object()
_STAGE_VALUES = ("accepted", "eligibility", "tier")


def _literals(checked) -> tuple[dict, set, dict]:
    """(dotted field -> literals it meets, durations, list field -> {item field: literals})."""
    lits: dict = {}
    durations: set = set()
    items: dict = {}
    for expr in checked.exprs.values():
        qvars = {}
        for node in ast.walk(expr.tree):
            if isinstance(node, ast.Quantifier) and isinstance(node.source, ast.Path):
                res = expr.resolved.get(id(node.source))
                if res and res[0] == "field":
                    qvars[node.var] = ".".join(res[1])
            if isinstance(node, ast.Literal) and node.type == "duration":
                durations.add(node.value)
            pairs = []
            if isinstance(node, ast.Compare):
                pairs = [(node.left, [node.right]), (node.right, [node.left])]
            elif isinstance(node, ast.Membership) and isinstance(node.container, ast.ListExpr):
                pairs = [(node.item, list(node.container.items))]
            for side, others in pairs:
                values = [o.value for o in others if isinstance(o, ast.Literal)]
                if isinstance(side, ast.Call) and side.name == "lower" and side.args:
                    side = side.args[0]
                res = expr.resolved.get(id(side)) if isinstance(side, ast.Path) else None
                if values and res and res[0] == "field":
                    lits.setdefault(".".join(res[1]), set()).update(map(_hashable, values))
                elif values and res and res[0] == "var" and res[1] in qvars and res[2]:
                    items.setdefault(qvars[res[1]], {}).setdefault(".".join(res[2]), set()).update(map(_hashable, values))
    return lits, durations, items


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def values(policy, dotted: str, ticket: dict) -> list:
    """The values tried for one fact (see the module docstring)."""
    cache = policy.__dict__.setdefault("_unknown_literals", [])
    if not cache:
        cache.append(_literals(policy.checked))
    lits, durations, items = cache[0]
    typ = field_type(dotted)
    if typ is None:
        return []
    mine = lits.get(dotted, set())
    if typ.values is not None:  # the values the policy names, and one value standing for every other
        named = sorted(v for v in typ.values if v in mine)
        return named + sorted(v for v in typ.values if v not in mine)[:1]
    if typ.kind == "bool":
        return [True, False]
    if typ.kind in ("int", "number"):
        out = {0}
        for v in mine:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.update((v - 1, v, v + 1))
        return sorted(v for v in out if v >= 0)
    if typ.kind == "string":
        return sorted(str(v) for v in mine if isinstance(v, str)) + ["", "x"]
    created = ticket["created_at"]
    if typ.kind in ("date", "timestamp"):
        base = created.astimezone(policy.timezone).date() if typ.kind == "date" else created
        out = [base]
        for d in sorted(durations, key=lambda d: (d.months, d.seconds, d.text)):  # a set: its order is the hash's
            from slapolicy.language.builtins import add_months

            for sign in (1, -1):
                moved = add_months(base, sign * d.months) if d.months else base + sign * dt.timedelta(seconds=d.seconds) \
                    if typ.kind == "timestamp" else base + sign * dt.timedelta(days=int(d.seconds // 86400))
                out += [moved - dt.timedelta(days=1), moved, moved + dt.timedelta(days=1)]
        return list(dict.fromkeys(out))
    if typ.kind == "list":
        out = [[]]
        for field, vals in sorted(items.get(dotted, {}).items()):
            out += [[{field: v}] for v in sorted(vals, key=str)]
        return out
    return []


def _outcome(decision: dict) -> dict:
    billing = decision.get("billing") or {}
    return {"eligibility": decision["eligibility"]["status"],
            "tier": (decision.get("tier") or {}).get("id"),
            "billing": billing.get("rate_multiplier"),
            "delay_reason": frozenset(d["code"] for d in decision["delay_reasons"]),
            "notice": frozenset(n["rule"] for n in decision["notices"])}


def _effects(base: dict, other: dict) -> list:
    out = []
    for key in RANK:
        a, b = base[key], other[key]
        if a == b:
            continue
        if isinstance(a, frozenset):
            for x in sorted(b - a):
                out.append((key, f"{key.replace('_', ' ')} {x} could be added"))
            for x in sorted(a - b):
                out.append((key, f"{key.replace('_', ' ')} {x} could be withdrawn"))
        else:
            what = "rate multiplier" if key == "billing" else key
            out.append((key, f"{what} could become {b}"))
    return out


def _rule_reads(policy) -> tuple:
    """Two maps from (stage, rule id), by one walk over each condition through its definitions: the dotted
    paths it tests with exists() (rules without any left out), and the dotted ticket fields it names (a
    value given to a fact can change only the rules naming it, a field inside it or an object holding it)."""
    got = policy.__dict__.get("_unknown_rule_reads")
    if got is not None:
        return got
    t = trees(policy)
    exists, fields = {}, {}
    for key, path in t.paths.items():
        tested, named = set(), set()
        for expr, n in walk_through_definitions(t, path):
            if isinstance(n, ast.Call) and n.name == "exists" and n.args:
                r = expr.resolved.get(id(n.args[0]))
                if r and r[0] == "field":
                    tested.add(".".join(r[1]))
            res = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
            if res and res[0] == "field":
                named.add(".".join(res[1]))
        if tested:
            exists[key] = tested
        fields[key] = named
    got = policy.__dict__["_unknown_rule_reads"] = (exists, fields)
    return got


def _readers(policy, fact: str) -> frozenset:
    cache = policy.__dict__.setdefault("_unknown_readers", {})
    got = cache.get(fact)
    if got is None:
        got = cache[fact] = frozenset(
            k for k, paths in _rule_reads(policy)[1].items()
            if any(p == fact or fact.startswith(p + ".") or p.startswith(fact + ".") for p in paths))
    return got


def _fired(policy, rule, t, s) -> bool:
    """As registration's test without explanation: the generated function (the closure if there is none)."""
    fast = rule.fast
    if fast is not None:
        v = fast(t, s)
    elif rule.fn is not None:
        env = Env(t, policy, False)
        env.stage = s
        v = rule.fn(env)
    else:
        return True
    return v is not UNKNOWN and bool(v)


def _stage_readers(policy) -> frozenset:
    """The rules whose condition names a stage value (accepted, eligibility, tier)."""
    got = policy.__dict__.get("_unknown_stage_readers")
    if got is None:
        t = trees(policy)
        out = set()
        for key, path in t.paths.items():
            expr = t.checked.exprs.get(path)
            if expr is not None and any(r[0] == "stage" for r in expr.resolved.values()):
                out.add(key)
        got = policy.__dict__["_unknown_stage_readers"] = frozenset(out)
    return got


def _simulate(policy, t, fired) -> dict:
    """_outcome(register(policy, t, explain=False)[0]), stages 1-8 as slapolicy.decide.registration decides
    them, without the decision's other parts (deadlines, texts, assumptions); `fired(rule, s)` tests a rule."""
    s: dict = {}
    refusals = [r for r in policy.acceptance if fired(r, s)]
    accepted = not refusals
    s["accepted"] = accepted
    status = "not_accepted"
    if accepted:
        status = None
        for rule in policy.scope:
            if fired(rule, s):
                status = rule.status
                break
    s["eligibility"] = status
    tier = None
    if accepted:
        for rule in policy.tier_rules:
            if fired(rule, s):
                tier = policy.tiers[rule.tier].id
                break
    s["tier"] = tier
    codes = frozenset(r.output["code"] for r in policy.delay_reasons if fired(r, s)) if accepted else frozenset()
    notices = frozenset(r.output["rule"] for r in policy.notices if fired(r, s))
    billing = None
    if policy.billing_minimum is not None or policy.billing_rates:
        billing = max([r.multiplier for r in policy.billing_rates if accepted and fired(r, s)], default=1)
    return {"eligibility": status, "tier": tier, "billing": billing, "delay_reason": codes, "notice": notices}


def _reference_outcome(policy, ticket, stage, base):
    """The straightforward consequence of a changed ticket: decide it again (registration, explanation off)."""
    from slapolicy.decide.registration import register

    def outcome(t, facts):
        return _outcome(register(policy, t, explain=False)[0])
    return outcome


def _fast_outcome(policy, ticket, stage, base):
    """The same outcome, cheaply: when no rule that names a changed fact fires otherwise than with the ticket
    as it is (stage values as decided), nothing else can move, and the outcome is the decision's; else the
    stages are decided again from the generated functions (`_simulate`)."""
    memo: dict = {}
    decided = {k: stage[k] for k in _STAGE_VALUES if k in stage}
    base_stage = dict(decided)  # the generated code memoises definitions in the stage dict: one per ticket

    def outcome(t, facts):
        keys = set()
        for f in facts:
            keys |= _readers(policy, f)
        s = dict(decided)
        try:
            for key in keys:
                rule = by_key.get(key)
                if rule is None:
                    continue
                was = memo.get(key)
                if was is None:
                    was = memo[key] = _fired(policy, rule, ticket, base_stage)
                if _fired(policy, rule, t, s) != was:
                    break
            else:
                return base
        except Exception:  # noqa: BLE001 - decided in full below, where an error counts as registration's
            pass
        # decide again: a rule that names no changed fact, and no stage value or none that moved, keeps its value
        s = {}

        def fired(rule, now):
            key = (rule.stage, rule.id)
            if key in keys or key in stage_readers and any(now[k] != decided.get(k, _MISSING) for k in now):
                return _fired(policy, rule, t, s | now)
            was = memo.get(key)
            if was is None:
                was = memo[key] = _fired(policy, rule, ticket, base_stage)
            return was
        return _simulate(policy, t, fired)

    by_key = _rules_by_key(policy)
    stage_readers = _stage_readers(policy)
    return outcome


def _rules_by_key(policy) -> dict:
    got = policy.__dict__.get("_unknown_rules_by_key")
    if got is None:
        got = policy.__dict__["_unknown_rules_by_key"] = {
            (r.stage, r.id): r for group in (policy.acceptance, policy.scope, policy.tier_rules, policy.delay_reasons,
                                             policy.notices, policy.billing_rates) for r in group}
    return got


def unknown_facts(policy, ticket: dict, decision: dict, stage: dict | None = None) -> list:
    """[{fact, could_change, effects: [{change, text, when}], rules: [...]}] ordered by consequence."""
    return _unknown_facts(policy, ticket, decision, stage, _fast_outcome if stage is not None else _reference_outcome)


def unknown_facts_reference(policy, ticket: dict, decision: dict, stage: dict | None = None) -> list:
    """unknown_facts deciding every value tried again in full (registration): the reference the fast one is
    held equal to (tests/test_whynot.py), never used by the engine."""
    return _unknown_facts(policy, ticket, decision, stage, _reference_outcome)


def _unknown_facts(policy, ticket, decision, stage, outcome_of) -> list:
    base = _outcome(decision)
    decide = outcome_of(policy, ticket, stage, base)
    needs: dict = {}  # fact -> [(stage, rule id, other missing facts)]
    for e in decision.get("explanation") or []:
        if e.get("result") == "unknown":
            for m in e.get("missing") or ():
                needs.setdefault(m, []).append((e["stage"], e["rule"], [x for x in e["missing"] if x != m]))
    tz = policy.timezone

    rules_by_key = _rules_by_key(policy)
    exists_readers = _rule_reads(policy)[0]
    accepted = decision["eligibility"]["status"] != "not_accepted"
    fired_now = {("delay_reasons", d["rule"]) for d in decision["delay_reasons"]} | \
        {("notices", n["rule"]) for n in decision["notices"]}

    affected_cache: dict = {}

    def affected(fact):
        if fact not in affected_cache:
            affected_cache[fact] = _affected(fact)
        return affected_cache[fact]

    def _affected(fact):
        """The rules a value of `fact` may flip: those unknown for want of it, and those that test exists() of it
        (every other rule's value is settled whatever the fact is: three-valued logic is monotone)."""
        keys = {(s_, r) for s_, r, _ in needs.get(fact, ())}
        keys |= {k for k, paths in exists_readers.items()
                 if any(fact == p or fact.startswith(p + ".") for p in paths)}
        return keys

    plans: dict = {}
    codes = {d["code"] for d in decision["delay_reasons"]}
    fast = outcome_of is _fast_outcome
    decided = {k: stage[k] for k in _STAGE_VALUES if k in stage} if fast else None

    def plan(facts):
        """None (decide again) or the delay-reason / notice rules to test, when only those can move."""
        keys = set().union(*(affected(f) for f in facts))
        if stage is not None and keys and all(k[0] in ("delay_reasons", "notices") for k in keys):
            return [(key, rules_by_key.get(key)) for key in sorted(keys)]
        return None

    def try_values(assign, seen):
        t = ticket
        for fact, v in assign:
            t = patched(t, fact, v)
        facts = tuple(f for f, _ in assign)
        rules = plans[facts] if facts in plans else plans.setdefault(facts, plan(facts))
        if rules is not None:
            # only delay reasons or notices can move, and no rule reads those: test just these rules
            if fast:
                s = dict(decided)
            else:
                env = Env(t, policy, False)
                env.stage = dict(stage)
            when = None
            for key, rule in rules:
                if rule is None or rule.fn is None or key[0] == "delay_reasons" and not accepted:
                    continue
                if fast:
                    fired = _fired(policy, rule, t, s)
                else:
                    got = rule.fn(env)
                    fired = got is not UNKNOWN and bool(got)
                if fired == (key in fired_now):
                    continue
                if when is None:
                    when = ", ".join(f"{f} = {_text(show(v, tz))}" for f, v in assign)
                if key[0] == "delay_reasons":
                    if fired and rule.code in codes:
                        continue
                    change, text = "delay_reason", f"delay reason {rule.code} could be " + ("added" if fired else "withdrawn")
                else:
                    change, text = "notice", f"notice {rule.id} could be " + ("added" if fired else "withdrawn")
                seen.setdefault(text, {"change": change, "text": text, "when": []})["when"].append(when)
            return
        try:
            other = decide(t, [f for f, _ in assign])
        except Exception:  # noqa: BLE001 - a value the rules cannot take (a type the domain got wrong)
            return
        if other is base:
            return
        effects = _effects(base, other)
        if effects:
            when = ", ".join(f"{f} = {_text(show(v, tz))}" for f, v in assign)
            for key, text in effects:
                seen.setdefault(text, {"change": key, "text": text, "when": []})["when"].append(when)

    out = []
    for fact in decision.get("missing_facts") or ():
        seen: dict = {}
        mine = values(policy, fact, ticket)
        for v in mine:
            try_values([(fact, v)], seen)
        stages = [s for s, _, _ in needs.get(fact, ())]
        static = sorted({_STAGE_RANK.get(s, "notice") for s in stages}, key=RANK.index)
        together = sorted({x for _, _, others in needs.get(fact, ()) for x in others})

        def best(seen=seen):
            return min((RANK.index(x["change"]) for x in seen.values()), default=len(RANK))

        if static and best() > RANK.index(static[0]):  # matters together with another unknown fact
            for partner in together[:3]:
                theirs = values(policy, partner, ticket)
                if len(mine) * len(theirs) <= 120:
                    for v in mine:
                        for w in theirs:
                            try_values([(fact, v), (partner, w)], seen)
        effects = sorted(seen.values(), key=lambda x: (RANK.index(x["change"]), x["text"]))
        rules = sorted(dict.fromkeys(r for _, r, _ in needs.get(fact, ())))
        entry = {"fact": fact, "could_change": effects[0]["change"] if effects else (static[0] if static else None),
                 "rules": rules, "effects": [{**x, "when": x["when"][:4]} for x in effects]}
        if together:
            entry["together_with"] = together
        if not effects:
            entry["static"] = True
        out.append(entry)
    order = {k: i for i, k in enumerate(RANK)}
    out.sort(key=lambda e: (order.get(e["could_change"], len(RANK)), bool(e.get("static")), e["fact"]))
    return out


def _text(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def unknown_text(entries: list) -> list:
    lines = []
    if entries:
        lines.append("Unknown facts, by consequence:")
    for e in entries:
        what = e["could_change"] or "nothing found"
        if e["effects"]:
            detail = "; ".join(f"{x['text']} (with {x['when'][0]})" for x in e["effects"][:3])
        else:
            detail = "only together with " + ", ".join(e["together_with"]) if e.get("together_with") else \
                "no single value changes the decision"
        rules = f" [rules {', '.join(e['rules'])}]" if e["rules"] else ""
        lines.append(f"  - {e['fact']}: could change the {what.replace('_', ' ')}: {detail}{rules}")
    return lines
