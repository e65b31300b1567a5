"""why_not's analysis of a comparison of dates or instants in closed form (slapolicy.decide.whynot).

A leaf `A op B`, op one of < <= > >=, each side a date or timestamp literal or one fact (a date or a
timestamp of the vocabulary) as it is or through date(), plus or minus duration literals, the two sides
reading different facts: `date(created_at) >= customer.license_purchased_at + 30 days`,
`customer.license_purchased_at + 1 year > date(created_at)`, `created_at + 90 minutes > 2026-03-20T21:00:00Z`.
Such a leaf is analysed (every ticket anew: it reads an instant) without evaluating its closure or searching:
the facts are read from the ticket, and for each fact the values that make the leaf come out as wanted
are a half-line whose end is the other side's value carried back through the fact's side, step by step
(its durations subtracted: seconds from an instant, whole days or calendar months from a date, the
earliest date a month step carries to the end; date(): the first instant of the local date in the policy's
time zone); the nearest value is then the first one of the search's grid (whole seconds or days from the
current value) inside the half-line, no change when it lies beyond the search's reach. The answer is the
one the search (slapolicy.decide.nearest.probe, the reference, which finds the end of such a half-line by
doubling and bisecting) gives: anniversaries (add_months: Feb 29 and month ends clamped), day ends in zones
with DST, the grid, the reach (tests/test_closedform.py holds the two equal over many dates, zones and
conditions). Anything else (months added to an instant, a value of another type, a year outside
1800..7000, where the search could overflow, a local date whose first instant is not its own) gives None:
the caller analyses the leaf as before.
"""
from __future__ import annotations

import datetime as dt
import functools

from slapolicy.decide.nearest import SEARCH_STEPS, change, show
from slapolicy.decide.wording import _FLIP, _NEGATE, _TIME_WORDS, _WORDS, _lit, _q
from slapolicy.language import ast
from slapolicy.language.builtins import add_months
from slapolicy.language.runtime import UNKNOWN
from slapolicy.language.types import vocabulary

_OPS = frozenset(("<", "<=", ">", ">="))
_SECOND, _DAY = dt.timedelta(seconds=1), dt.timedelta(days=1)
_REACH = {kind: 1 << (SEARCH_STEPS[kind][1] - 1) for kind in ("date", "timestamp")}  # the probe's last shift
_YEARS = range(1800, 7001)  # values whose every probed shift (and date()) stays inside datetime's range
_NONE = object()


@functools.lru_cache(maxsize=4096)
def field_type(dotted: str):
    """the vocabulary's type of a (dotted) fact, or None"""
    typ = vocabulary()
    for part in dotted.split("."):
        typ = typ.field(part) if typ is not None and typ.kind == "object" else None
    return typ


class _Side:
    """One side of the comparison: a literal (`value`) or a fact (`dotted`, `parts`, `kind`) and the
    steps applied to it in order: ("date",) or ("add", sign, Duration)."""

    __slots__ = ("dotted", "parts", "kind", "value", "steps", "date_node", "node")

    def __init__(self, node, dotted, kind, value, steps, date_node):
        self.node, self.dotted, self.kind, self.value, self.steps = node, dotted, kind, value, steps
        self.parts = tuple(dotted.split(".")) if dotted else None
        self.date_node = date_node


def _side(expr, n):
    top, steps, date_node = n, [], None
    while isinstance(n, ast.Arith) and n.op in ("+", "-") and isinstance(n.right, ast.Literal) \
            and n.right.type == "duration":
        steps.append(("add", 1 if n.op == "+" else -1, n.right.value))
        n = n.left
    if isinstance(n, ast.Call) and n.name == "date" and len(n.args) == 1:
        steps.append(("date",))
        date_node, n = n, n.args[0]
    steps.reverse()
    if isinstance(n, ast.Literal):
        if date_node is not None or n.type not in ("date", "timestamp"):
            return None
        dotted, kind, value = None, n.type, n.value
    else:
        res = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
        if not res or res[0] != "field":
            return None
        dotted = ".".join(res[1])
        typ = field_type(dotted)
        kind, value = getattr(typ, "kind", None), None
        if kind not in ("date", "timestamp"):
            return None
    dated = kind == "date" or date_node is not None
    if any(s[0] == "add" and s[2].months and not dated for s in steps):
        return None  # months added to an instant (in the policy's zone): left to the search
    return _Side(top, dotted, kind, value, tuple(steps), date_node)


def plan(t, expr, node):
    """The two sides of a leaf this module answers, memoised per node in whynot's per-policy trees `t`; else None."""
    key = id(node)
    got = t.closed.get(key, _NONE)
    if got is _NONE:
        got = t.closed[key] = _plan(t, expr, node)
    return got


def _plan(t, expr, node):
    if not isinstance(node, ast.Compare) or node.op not in _OPS:
        return None
    sides = (_side(expr, node.left), _side(expr, node.right))
    if None in sides or not any(s.dotted for s in sides):
        return None
    if sides[0].dotted and sides[1].dotted:
        a, b = sides[0].parts, sides[1].parts
        if a[:len(b)] == b or b[:len(a)] == a:
            return None
    dates = []  # the date() calls in the order whynot shows them (_Trees.statics), each with its side
    for n, text in t.statics(expr, node)[1]:
        side = [i for i, s in enumerate(sides) if s.date_node is n]
        if not side:
            return None
        dates.append((text, side[0]))
    return sides, tuple(dates)


def _forward(value, steps, tz):
    """the side's value from its fact's or literal's, by the language's operations
    (slapolicy.language.builtins: date() in the policy's zone, arith)"""
    for step in steps:
        if step[0] == "date":
            if isinstance(value, dt.datetime):
                value = value.astimezone(tz).date()
        else:
            sign, d = step[1], step[2]
            if isinstance(value, dt.datetime):
                value = value + dt.timedelta(seconds=sign * d.seconds)
            elif d.months:
                value = add_months(value, sign * d.months)
            else:
                value = value + dt.timedelta(days=sign * int(d.seconds // 86400))
    return value


def _typed(value, kind) -> bool:
    if kind == "timestamp":
        ok = isinstance(value, dt.datetime) and value.tzinfo is not None
    else:
        ok = type(value) is dt.date
    return ok and value.year in _YEARS


def leaf(a, expr, node, want, value, via):
    """whynot's leaf entry (Analysis._leaf's dict) for a leaf of the shapes above, or None."""
    p = plan(a.t, expr, node)
    if p is None:
        return None
    sides, dates = p
    ticket, tz = a.ticket, a.tz
    shown, missing, bases = {}, [], []
    for s in sides:
        if s.dotted is None:
            v = s.value
            if not _typed(v, s.kind):
                return None
        else:
            v = ticket
            for part in s.parts:
                v = v.get(part) if isinstance(v, dict) else None
                if v is None:
                    break
            if v is None:
                missing.append(s.dotted)
                bases.append(UNKNOWN)
                continue
            if not _typed(v, s.kind):
                return None
            shown[s.dotted] = show(v, tz)
        bases.append(v)
    ends = [UNKNOWN if v is UNKNOWN else _forward(v, s.steps, tz) for v, s in zip(bases, sides)]
    for text, i in dates:
        if bases[i] is not UNKNOWN:
            shown[text] = show(bases[i].astimezone(tz).date() if isinstance(bases[i], dt.datetime) else bases[i], tz)
    changes = [{"fact": m, "from": None, "to": None, "text": f"{_q(m)} is unknown: giving it could change this"}
               for m in sorted(set(missing))]
    if not missing:
        left, right = ends
        if type(left) is not type(right) or any(e.year not in _YEARS for e in ends):
            return None
        held = node.op if want else _NEGATE[node.op]
        for i, s in enumerate(sides):
            if s.dotted is None:
                continue
            got = _nearest(s, bases[i], ends[1 - i], held if i == 0 else _FLIP[held], shown[s.dotted], tz)
            if got is _NONE:
                return None
            if got is not None:
                changes.append(got)
    t = a.t
    out = {"condition": t.text(expr, node), "span": t.span(expr, node),
           "result": "unknown" if value is UNKNOWN else bool(value), "want": want,
           "clause": via[-1]["source"] if via else None, "via": [v["definition"] for v in via],
           "facts": shown, "changes": changes,
           "requirement": _requirement(t, expr, node, want, sides, ends, tz)}
    return out


def _nearest(s, current, other, held, shown, tz):
    """The change entry for the fact of side `s` (current value `current`): the nearest value on the search's
    grid with `side(value) held other`; None beyond the search's reach; _NONE when not answered here."""
    up, closed, b = held in (">", ">="), held in (">=", "<="), other
    values = [current]  # the side's values step by step: their types choose each inverse
    for step in s.steps:
        values.append(_forward(values[-1], (step,), tz))
    if not isinstance(b, dt.datetime):  # whole days: > b is >= b + 1 day, <= b is < b + 1 day
        if up != closed:
            b, closed = b + _DAY, up
    for i in range(len(s.steps) - 1, -1, -1):
        step, inner = s.steps[i], values[i]
        if step[0] == "date":
            if isinstance(inner, dt.datetime):  # date(v) >= b  <=>  v >= the first instant of local date b
                first = dt.datetime.combine(b, dt.time(), tz).astimezone(dt.timezone.utc)
                if first.astimezone(tz).date() != b:
                    return _NONE
                b = first
        elif isinstance(inner, dt.datetime):
            b = b - dt.timedelta(seconds=step[1] * step[2].seconds)
        elif step[2].months:  # the earliest date u with add_months(u, m) >= b (add_months does not decrease):
            m = step[1] * step[2].months  # add_months(b, -m) or, when that carries to a clamped month end
            u = add_months(b, -m)  # (Feb 29 + 1 year, Mar 31 - 1 month), the days after it; the day before
            while add_months(u, m) < b:  # it carries to a day before b (to b - 1 day or to the month before)
                u += _DAY
            b = u
        else:
            b = b - dt.timedelta(days=step[1] * int(step[2].seconds // 86400))
    gap = (b - current) if up else (current - b)
    if s.kind == "timestamp":
        n, rest = divmod(gap, _SECOND)
        n += 1 if rest or not closed else 0
    else:
        n = gap.days + (0 if closed else 1)
    if n < 1:
        return _NONE
    if n > _REACH[s.kind]:
        return None
    sign = 1 if up else -1
    to = current + (dt.timedelta(seconds=sign * n) if s.kind == "timestamp" else dt.timedelta(days=sign * n))
    return change(s.kind, s.dotted, current, to, sign, True, {"fact": s.dotted, "from": shown}, tz)


def _requirement(t, expr, node, want, sides, ends, tz) -> str:
    """slapolicy.decide.wording.requirement's text for the comparison, from the sides' values"""
    op = node.op if want else _NEGATE[node.op]
    (left, lv), (right, rv) = (sides[0], ends[0]), (sides[1], ends[1])
    if left.dotted is None and not left.steps and not (right.dotted is None and not right.steps):
        (left, lv), (right, rv), op = (right, rv), (left, lv), _FLIP[op]
    words = _WORDS if lv is UNKNOWN else _TIME_WORDS
    if right.dotted is None and not right.steps:
        rhs = _lit(right.value, tz)
    else:
        rhs = f"{_q(t.text(expr, right.node))} ({'unknown' if rv is UNKNOWN else _lit(rv, tz)})"
    return f"{_q(t.text(expr, left.node))} is {'unknown' if lv is UNKNOWN else _lit(lv, tz)}; it must be {words[op]} {rhs}"
