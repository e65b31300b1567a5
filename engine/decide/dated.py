"""Conditions that read a timestamp only by its local date (why_not's nearest-change search).

A condition whose every read of a timestamp fact goes through date() or days_between() has one value
on all the instants of a local date in the policy's time zone; the search, which probes many instants
of few dates, then evaluates it once a date (slapolicy.decide.whynot)."""
from __future__ import annotations

from slapolicy.language import ast


def dated_only(trees, expr, node, dotted: str) -> bool:
    """Does the sub-expression (with the definitions it uses) read the timestamp fact `dotted` only through
    date() or days_between()? `trees`: whynot's per-policy trees (its checked policy and a memo)."""
    key = (expr.path, id(node), dotted)
    got = trees.dated.get(key)
    if got is None:
        got = trees.dated[key] = _dated_only(trees.checked, expr, node, tuple(dotted.split(".")))
    return got


def _dated_only(checked, expr, node, parts: tuple) -> bool:
    dated = set()  # the date() / days_between() arguments seen (a call comes before its arguments)
    for e, n in through_definitions(checked, expr, node):
        if e is None:
            return False
        if isinstance(n, ast.Call) and n.name in ("date", "days_between"):
            dated.update(id(a) for a in n.args if isinstance(a, ast.Path))
        elif isinstance(n, ast.Path):
            res = e.resolved.get(id(n))
            if res and res[0] == "field" and tuple(res[1]) == parts and id(n) not in dated:
                return False
    return True


def through_definitions(checked, expr, node):
    """(checked expression, node) of every node of the sub-expression `node` of `expr` and of the definitions
    it uses (transitively, each once), parents first within each; (None, name) for a definition the checked
    policy lacks. Shared by why_not's analyses of what a condition reads (here, slapolicy.decide.nearest,
    slapolicy.decide.whynot)."""
    stack, seen = [(expr, node)], set()
    while stack:
        e, top = stack.pop()
        for n in ast.walk(top):
            res = e.resolved.get(id(n)) if isinstance(n, ast.Path) else None
            if res and res[0] == "def" and res[1] not in seen:
                seen.add(res[1])
                d = checked.exprs.get(("definitions", res[1], "expr"))
                if d is None:
                    yield None, res[1]
                else:
                    stack.append((d, d.tree))
            yield e, n


def by_local_date(holds, tz):
    """holds(v), evaluated once per local date of v (for a condition that dated_only holds for)"""
    memo = {}

    def by_date(v):
        try:
            day = v.astimezone(tz).date()
        except (OverflowError, ValueError, OSError):
            return holds(v)
        got = memo.get(day)
        if got is None:
            got = memo[day] = holds(v)
        return got
    return by_date
