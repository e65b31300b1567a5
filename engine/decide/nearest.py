"""The nearest value of one number, date or timestamp fact that makes a condition come out as wanted
(why_not's changes, slapolicy.decide.whynot): the probe, which is the reference, and a direct solver
for the common comparisons, which gives the same answers without probing.

probe(kind, dotted, current, holds, base, tz): holds(v) is the condition with the fact set to v; it is
tried at exponentially growing shifts from the current value each way (1, 2, 4 .. 2^16 days for a
date, .. 2^33 s for a timestamp, .. 2^39 for a number), then the first shift that holds is bisected
down to the nearest one; the nearer side wins (the later one on a tie).

solve(...): a comparison `chain OP bound` (or `bound OP chain`), OP one of < <= > >=, where the chain
is the fact itself, date(fact), chain +/- a duration or number, days_between(chain, X) or
days_between(X, chain), and the bound and every X do not read the fact (a literal, another fact, a
definition or a stage value not reading it): the values that make it hold are then the values on one
side of a boundary, which is computed from the bound and the operator (inverting each step of the
chain with the language's own operations: date() in the policy's time zone, add_months for months,
whole days for a duration added to a date), then set on the search's grid (whole seconds, days or
units from the current value). The answer is checked with the real condition (it holds there and not
one step nearer) and, like everything else it computes, with the chain rebuilt from the same builtins
(slapolicy.language.builtins); it is also where the probe would land: within its reach, the probe's
first power-of-two shift beyond it evaluating without an error. Anything else (another shape, ==
or !=, months added to a timestamp, a failed check, an error) returns UNSOLVED and the probe runs.
"""
from __future__ import annotations

import datetime as dt
import math
import operator

from slapolicy.calendar.core import local_iso
from slapolicy.decide.dated import through_definitions
from slapolicy.language import ast
from slapolicy.language.builtins import add_months, arith, functions
from slapolicy.language.runtime import UNKNOWN

SEARCH_STEPS = {"int": (1, 40), "number": (1, 40), "date": (1, 17), "timestamp": (1, 34)}
UNSOLVED = object()
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SECOND, _DAY = dt.timedelta(seconds=1), dt.timedelta(days=1)
_PLAIN = frozenset((str, int, float, bool, type(None)))
_FUNCTIONS: dict = {}  # time zone -> the builtins (slapolicy.language.builtins.functions)


def show(value, tz):
    """A fact's value as JSON, timestamps in the policy's time zone."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        return local_iso(value, tz)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, ast.Duration):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [show(v, tz) for v in value]
    if isinstance(value, dict):
        return {k: show(v, tz) for k, v in value.items()}
    return value


def shifter(kind, current):
    if kind == "date":
        return lambda n: current + dt.timedelta(days=n)
    if kind == "timestamp":
        return lambda n: current + dt.timedelta(seconds=n)
    return lambda n: current + n


def change(kind, dotted, current, value, sign, onward, base, tz) -> dict:
    """The change entry: the fact would have to be `value` (at the latest / earliest / most / least, or
    exactly when the values beyond it do not all hold)."""
    if kind in ("date", "timestamp"):
        bound = ("at the latest" if sign < 0 else "at the earliest") if onward else "exactly"
    else:
        bound = ("at most" if sign < 0 else "at least") if onward else "exactly"
    shown = show(value, tz)  # (base["from"] is show(current, tz))
    return {**base, "to": shown, "bound": bound.replace("at the ", ""),
            "text": f"`{dotted}` is {base['from']}; it would have to be {bound} {shown}"}


def probe(kind, dotted, current, holds, base, tz):
    """The reference search (module docstring); None when no shift within reach holds."""
    shift = shifter(kind, current)
    best = None
    for sign in (1, -1):
        prev, step = 0, SEARCH_STEPS[kind][0]
        found = None
        for _ in range(SEARCH_STEPS[kind][1]):
            try:
                ok = holds(shift(sign * step))
            except (OverflowError, ValueError):
                break
            if ok:
                found = step
                break
            prev, step = step, step * 2
        if found is None:
            continue
        lo, hi = prev, found  # shift(sign*lo) fails (or is current), shift(sign*hi) holds
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if holds(shift(sign * mid)):
                hi = mid
            else:
                lo = mid
        if best is None or hi < best[1]:
            best = (sign, hi)
    if best is None:
        return None
    sign, n = best
    onward = holds(shift(sign * (n + 1))) and holds(shift(sign * (n * 2 + 10)))
    return change(kind, dotted, current, shift(sign * n), sign, onward, base, tz)


# -- the shapes (per policy, per condition and fact) ------------------------------------------------------
def shape(memo: dict, checked, expr, node, dotted: str):
    """(op, steps, bound node) with the chain on the left (`chain op bound`), or None; memoised in `memo`.
    A step: ("date",), ("add", sign, node), ("after", node) for days_between(node, chain), ("before",
    node) for days_between(chain, node)."""
    key = (expr.path, id(node), dotted)
    if key in memo:
        return memo[key]
    got = None
    if isinstance(node, ast.Compare) and node.op in _COMPARE:
        parts = tuple(dotted.split("."))
        for side, other, op in ((node.left, node.right, node.op), (node.right, node.left, _FLIP[node.op])):
            steps = _chain(checked, expr, side, parts)
            if steps is not None and _free_of(checked, expr, other, parts):
                got = (op, tuple(steps), other)
                break
    memo[key] = got
    return got


def _chain(checked, expr, n, parts):
    if isinstance(n, ast.Path):
        res = expr.resolved.get(id(n))
        return [] if res and res[0] == "field" and tuple(res[1]) == parts else None
    if isinstance(n, ast.Call) and n.name == "date" and len(n.args) == 1:
        inner = _chain(checked, expr, n.args[0], parts)
        return None if inner is None else inner + [("date",)]
    if isinstance(n, ast.Call) and n.name == "days_between" and len(n.args) == 2:
        a, b = n.args
        inner = _chain(checked, expr, b, parts)
        if inner is not None and _free_of(checked, expr, a, parts):
            return inner + [("after", a)]
        inner = _chain(checked, expr, a, parts)
        if inner is not None and _free_of(checked, expr, b, parts):
            return inner + [("before", b)]
        return None
    if isinstance(n, ast.Arith) and n.op in ("+", "-"):
        inner = _chain(checked, expr, n.left, parts)
        if inner is not None and _free_of(checked, expr, n.right, parts):
            return inner + [("add", 1 if n.op == "+" else -1, n.right)]
    return None


def _free_of(checked, expr, node, parts) -> bool:
    """Does a sub-expression (with the definitions it uses) read neither the fact nor an object holding it,
    nor a quantifier's variable (it is evaluated on its own)?"""
    for e, n in through_definitions(checked, expr, node):
        if e is None or isinstance(n, ast.Quantifier):
            return False
        res = e.resolved.get(id(n)) if isinstance(n, ast.Path) else None
        if not res:
            continue
        if res[0] == "var":
            return False
        if res[0] == "field":
            other = tuple(res[1])
            if other[:len(parts)] == parts or parts[:len(other)] == other:
                return False
    return True


# -- the direct answer ------------------------------------------------------------------------------
def solve(found_shape, value_of, want, dotted, kind, current, holds, base, tz):
    """The probe's answer for a recognised shape (module docstring), or UNSOLVED. `value_of(node)`: a
    sub-expression's value with the ticket as it is; `holds(v)`: the real condition."""
    try:
        return _solve(found_shape, value_of, want, dotted, kind, current, holds, base, tz)
    except (ArithmeticError, ValueError, TypeError):
        return UNSOLVED


def _solve(found_shape, value_of, want, dotted, kind, current, holds, base, tz):
    op, steps, bound_node = found_shape
    bound = value_of(bound_node)
    fns = _FUNCTIONS.get(tz)
    if fns is None:
        fns = _FUNCTIONS[tz] = functions(tz)
    as_date, days_between = fns["date"], fns["days_between"]
    knowns = [None if step[0] == "date" else value_of(step[-1]) for step in steps]  # each step's operand
    if bound is UNKNOWN or any(v is UNKNOWN for v in knowns):
        return None  # the comparison is unknown whatever the fact: nothing within reach holds
    forward = []  # forward[i](u) -> the chain's value after step i
    for step, x in zip(steps, knowns):
        if step[0] == "date":
            forward.append(as_date)
        elif step[0] == "add":
            forward.append(lambda u, f=arith(tz, step[1]), x=x: f(u, x))
        elif step[0] == "after":
            forward.append(lambda u, x=x: days_between(x, u))
        else:
            forward.append(lambda u, x=x: days_between(u, x))
    compare = _COMPARE[op]

    def fast(v):  # the condition with the fact set to v, from the same operations as its closure
        for f in forward:
            v = f(v)
        return bool(compare(v, bound)) == want

    values = [current]  # the chain's values at the current value: their types choose the inverses
    for f in forward:
        values.append(f(values[-1]))
    if bool(compare(values[-1], bound)) == want:  # fast(current)
        return UNSOLVED  # (the condition fails with the current value: the leaf would not be searched)
    # the values y of the chain that hold: {y >= b} (up) or {y < b}; b is where the upper part starts
    held = op if want else _NEGATE[op]
    up, b = held in (">", ">="), bound
    if _discrete(bound) and _discrete(values[-1]) and held in (">", "<="):
        b = bound + (_DAY if isinstance(bound, dt.date) else 1)
    for i in range(len(steps) - 1, -1, -1):
        step, inner = steps[i], values[i]
        if step[0] == "date":
            b = _day_start(b, tz) if isinstance(inner, dt.datetime) else b
        elif step[0] == "add":
            b = _add_inverse(b, step[1], knowns[i], inner, forward[i])
            if b is UNSOLVED:
                return UNSOLVED
        else:  # days_between: whole local days, then the day's first instant for a timestamp
            if not isinstance(b, int) or isinstance(b, bool):
                return UNSOLVED
            x = as_date(knowns[i])
            if step[0] == "after":  # days_between(x, u) >= b  <=>  date(u) >= x + b days
                b = x + dt.timedelta(days=b)
            else:  # days_between(u, x) >= b  <=>  date(u) < x - (b - 1) days
                b, up = x - dt.timedelta(days=b - 1), not up
            b = _day_start(b, tz) if isinstance(inner, dt.datetime) else b
    sign = 1 if up else -1
    shift = shifter(kind, current)
    unit = _SECOND if kind == "timestamp" else _DAY if kind == "date" else 1
    gap = (b - current) / unit if sign > 0 else (current - b) / unit
    n = max(1, math.ceil(gap) if sign > 0 else math.floor(gap))
    seen: dict = {}

    def at(k):  # fast() at the shift k towards the boundary, once each
        got = seen.get(k)
        if got is None:
            got = seen[k] = fast(shift(sign * k))
        return got

    for _ in range(3):  # onto the grid: the first holding shift, its nearer neighbour failing
        if n > 1 and at(n - 1):
            n -= 1
        elif not at(n):
            n += 1
        else:
            break
    if not at(n) or (n > 1 and at(n - 1)):
        return UNSOLVED
    reach = 1 << (SEARCH_STEPS[kind][1] - 1)
    if n > reach:  # beyond the probe's last shift: it finds nothing on either side
        return None if not holds(shift(sign * reach)) else UNSOLVED
    if not at(1 << (n - 1).bit_length()):  # the probe's first shift that holds: it must evaluate
        return UNSOLVED
    if not holds(shift(sign * n)) or (n > 1 and holds(shift(sign * (n - 1)))):
        return UNSOLVED  # the real condition disagrees: the probe decides
    onward = at(n + 1) and at(n * 2 + 10)
    return change(kind, dotted, current, shift(sign * n), sign, onward, base, tz)


def _discrete(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or \
        (isinstance(value, dt.date) and not isinstance(value, dt.datetime))


def _day_start(day, tz):
    """The first instant (UTC) of a local date in the policy's time zone (the grid check catches a zone
    whose midnight does not exist)."""
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise TypeError("a date was expected")
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.timezone.utc)


def _add_inverse(b, sign, x, inner, forward):
    """The boundary before `inner + sign * x` (or -): the least u with forward(u) >= b, from the same
    arithmetic (slapolicy.language.builtins.arith)."""
    if isinstance(x, ast.Duration):
        if isinstance(inner, dt.datetime):
            return UNSOLVED if x.months else b - sign * dt.timedelta(seconds=x.seconds)
        if not isinstance(inner, dt.date):
            return UNSOLVED
        if not x.months:
            return b - sign * dt.timedelta(days=int(x.seconds // 86400))
        u = add_months(b, -sign * x.months)  # months: non-decreasing, a few dates may share a value
        for _ in range(4):
            if forward(u - _DAY) >= b:
                u -= _DAY
            elif forward(u) < b:
                u += _DAY
            else:
                return u
        return UNSOLVED
    if isinstance(x, bool) or not isinstance(x, (int, float)) or isinstance(inner, (bool, dt.date)):
        return UNSOLVED
    return b - sign * x
