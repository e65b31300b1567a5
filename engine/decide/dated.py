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
        got = trees.dated[key] = _dated_only(trees.checked, expr, node, tuple(dotted.split(".")), set())
    return got


def _dated_only(checked, expr, node, parts: tuple, seen: set) -> bool:
    nodes = list(ast.walk(node))
    dated = {id(a) for n in nodes if isinstance(n, ast.Call) and n.name in ("date", "days_between")
             for a in n.args if isinstance(a, ast.Path)}
    for n in nodes:
        res = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
        if not res:
            continue
        if res[0] == "field" and tuple(res[1]) == parts and id(n) not in dated:
            return False
        if res[0] == "def" and res[1] not in seen:
            seen.add(res[1])
            d = checked.exprs.get(("definitions", res[1], "expr"))
            if d is None or not _dated_only(checked, d, d.tree, parts, seen):
                return False
    return True


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
