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

from slapolicy.decide.nearest import SEARCH_STEPS
from slapolicy.decide.wording import _FLIP, _NEGATE, _TIME_WORDS, _WORDS, _q
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
        sign, d = 1 if n.op == "+" else -1, n.right.value  # (with the move of an instant, of a date)
        steps.append(("add", sign, d, dt.timedelta(seconds=sign * d.seconds), dt.timedelta(days=sign * int(d.seconds // 86400))))
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
        dates.append((text, side[0], sides[side[0]].steps.index(("date",)) + 1))  # (its value's place in the chain)
    return sides, tuple(dates)


def _forward(value, steps, tz):
    """the side's value from its fact's or literal's, by the language's operations
    (slapolicy.language.builtins: date() in the policy's zone, arith)"""
    for step in steps:
        if step[0] == "date":
            if isinstance(value, dt.datetime):
                value = value.astimezone(tz).date()
        else:
            if isinstance(value, dt.datetime):
                value = value + step[3]
            elif step[2].months:
                value = add_months(value, step[1] * step[2].months)
            else:
                value = value + step[4]
    return value


def _typed(value, kind) -> bool:
    if kind == "timestamp":
        ok = isinstance(value, dt.datetime) and value.tzinfo is not None
    else:
        ok = type(value) is dt.date
    return ok and value.year in _YEARS


_ISO: dict = {}  # date -> its isoformat (few dates, each shown many times; all dropped when full)
_FIRST: dict = {}  # (zone, local date) -> its first instant (UTC), or None when its first instant is not its own
_TEXTS: dict = {}  # (zone, an instant next to the first of a day) -> its text in the zone


def _iso(day) -> str:
    got = _ISO.get(day)
    if got is None:
        if len(_ISO) >= 4096:
            _ISO.clear()
        got = _ISO[day] = day.isoformat()
    return got


def _shown(value, tz) -> str:
    """nearest.show's text of a date or an instant (the instant in the policy's zone)"""
    return value.astimezone(tz).isoformat() if isinstance(value, dt.datetime) else _iso(value)


def _first_instant(day, tz):
    key = (tz, day)
    got = _FIRST.get(key, _NONE)
    if got is _NONE:
        if len(_FIRST) >= 4096:
            _FIRST.clear()
        got = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.timezone.utc)
        got = _FIRST[key] = got if got.astimezone(tz).date() == day else None
    return got


def _chain(a, s, v, tz):
    """[v, the value after each step of side `s`] for the fact's or literal's value v, and v's text (the
    local time once per fact and analysis: `a.local`)"""
    if s.kind == "timestamp":
        got = a.local.get(s.dotted) if s.dotted else None
        if got is None:
            local = v.astimezone(tz)
            got = (local.isoformat(), local.date())
            if s.dotted:
                a.local[s.dotted] = got
        text, day = got
    else:
        text, day = _iso(v), v
    values = [v]
    for step in s.steps:
        if step[0] == "date":
            values.append(day if values[-1] is v else _forward(values[-1], (step,), tz))
        else:
            values.append(_forward(values[-1], (step,), tz))
    return values, text


def leaf(a, expr, node, want, value, via):
    """whynot's leaf entry (Analysis._leaf's dict) for a leaf of the shapes above, or None."""
    p = plan(a.t, expr, node)
    if p is None:
        return None
    sides, dates = p
    ticket, tz = a.ticket, a.tz
    shown, missing, chains = {}, [], []
    for s in sides:
        if s.dotted is None:
            v = s.value
        else:
            v = ticket
            for part in s.parts:
                v = v.get(part) if isinstance(v, dict) else None
                if v is None:
                    break
            if v is None:
                missing.append(s.dotted)
                chains.append(None)
                continue
        if not _typed(v, s.kind):
            return None
        values, text = _chain(a, s, v, tz)
        if s.dotted is not None:
            shown[s.dotted] = text
        chains.append(values)
    for text, i, at in dates:
        if chains[i] is not None:
            shown[text] = _iso(chains[i][at])
    changes = [{"fact": m, "from": None, "to": None, "text": f"{_q(m)} is unknown: giving it could change this"}
               for m in sorted(set(missing))] if missing else []
    ends = [UNKNOWN if c is None else c[-1] for c in chains]
    if not missing:
        left, right = ends
        if type(left) is not type(right) or left.year not in _YEARS or right.year not in _YEARS:
            return None
        held = node.op if want else _NEGATE[node.op]
        for i, s in enumerate(sides):
            if s.dotted is None:
                continue
            got = _nearest(s, chains[i], ends[1 - i], held if i == 0 else _FLIP[held], shown[s.dotted], tz)
            if got is _NONE:
                return None
            if got is not None:
                changes.append(got)
    t = a.t
    return {"condition": t.text(expr, node), "span": t.span(expr, node),
            "result": "unknown" if value is UNKNOWN else bool(value), "want": want,
            "clause": via[-1]["source"] if via else None, "via": [v["definition"] for v in via] if via else [],
            "facts": shown, "changes": changes,
            "requirement": _requirement(t, expr, node, want, sides, ends, tz)}


def _nearest(s, values, other, held, shown, tz):
    """The change entry for the fact of side `s` (`values`: its value and the side's after each step): the
    nearest value on the search's grid with `side(value) held other`; None beyond the search's reach; _NONE
    when not answered here."""
    up, closed, b, current = held in (">", ">="), held in (">=", "<="), other, values[0]
    if not isinstance(b, dt.datetime):  # whole days: > b is >= b + 1 day, <= b is < b + 1 day
        if up != closed:
            b, closed = b + _DAY, up
    for i in range(len(s.steps) - 1, -1, -1):
        step, inner = s.steps[i], values[i]
        if step[0] == "date":
            if isinstance(inner, dt.datetime):  # date(v) >= b  <=>  v >= the first instant of local date b
                b = _first_instant(b, tz)
                if b is None:
                    return _NONE
        elif isinstance(inner, dt.datetime):
            b = b - step[3]
        elif step[2].months:  # the earliest date u with add_months(u, m) >= b (add_months does not decrease):
            m = step[1] * step[2].months  # u = add_months(b, -m), or the day after it when that carries to
            u = add_months(b, -m)  # before b (a month end clamped: Feb 29 - 1 year + 1 year is Feb 28);
            while add_months(u, m) < b:  # the day before u always carries to before b
                u += _DAY
            b = u
        else:
            b = b - step[4]
    gap = (b - current) if up else (current - b)
    if s.kind == "timestamp":
        n = gap.days * 86400 + gap.seconds  # whole seconds (a timedelta's seconds and microseconds are >= 0)
        aligned = not gap.microseconds
        n += 0 if aligned and closed else 1
        to = current + _SECOND * (n if up else -n)
    else:
        n = gap.days + (0 if closed else 1)
        to = current + _DAY * (n if up else -n)
    if n < 1:
        return _NONE
    if n > _REACH[s.kind]:
        return None
    if s.kind == "timestamp" and aligned:  # an instant next to a boundary (one a day): its text kept
        key = (tz, to)
        text = _TEXTS.get(key)
        if text is None:
            if len(_TEXTS) >= 4096:
                _TEXTS.clear()
            text = _TEXTS[key] = _shown(to, tz)
        to = text
    else:
        to = _shown(to, tz)  # (slapolicy.decide.nearest.change's entry, the values beyond it all holding)
    bound = "earliest" if up else "latest"
    return {"fact": s.dotted, "from": shown, "to": to, "bound": bound,
            "text": f"`{s.dotted}` is {shown}; it would have to be at the {bound} {to}"}


def _requirement(t, expr, node, want, sides, ends, tz) -> str:
    """slapolicy.decide.wording.requirement's text for the comparison, from the sides' values"""
    op = node.op if want else _NEGATE[node.op]
    (left, lv), (right, rv) = (sides[0], ends[0]), (sides[1], ends[1])
    if left.dotted is None and not left.steps and not (right.dotted is None and not right.steps):
        (left, lv), (right, rv), op = (right, rv), (left, lv), _FLIP[op]
    words = _WORDS if lv is UNKNOWN else _TIME_WORDS
    if right.dotted is None and not right.steps:
        rhs = _shown(right.value, tz)
    else:
        rhs = f"{_q(t.text(expr, right.node))} ({'unknown' if rv is UNKNOWN else _shown(rv, tz)})"
    return f"{_q(t.text(expr, left.node))} is {'unknown' if lv is UNKNOWN else _shown(lv, tz)}; it must be {words[op]} {rhs}"
