"""The durable Host, and an independent three-valued evaluator for derived values (written from the language's documentation, not from slapolicy.language.compile)."""
from __future__ import annotations

import calendar as _calendar
import datetime as dt

try:
    import durable.engine as _durable
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the durable backend needs the durable-rules package: "
                      f"pip install 'slapolicy[durable]' ({exc})") from exc

from slapolicy.language import ast

BACKEND = "durable-rules"
STAGES = (("acceptance", "acceptance"), ("scope", "scope"), ("tier_rules", "tier_rules"),
          ("delay_reasons", "delay_reasons"), ("notices", "notices"), ("billing", "billing_rates"))
_NONE = "__none__"  # a stage value that is None (no tier, no scope rule fired): a value, not unknown
_UTC = dt.timezone.utc


class DurableBackendError(Exception):
    """The durable backend cannot decide: the policy file changed, or durable-rules failed."""


class _Host(_durable.Host):
    """A durable-rules Host without the background dispatch / timer loop (`Host._run` starts two
    threading.Timer chains that poll every ruleset; this backend uses no timers and no queues)."""

    def _run(self):
        pass


# -- the independent three-valued evaluator for derived values ------------------------------------

class _Untranslatable(Exception):
    pass


class _Missing:
    __slots__ = ()

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def _add_months(value, months):
    total = value.year * 12 + value.month - 1 + months
    year, month = total // 12, total % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, _calendar.monthrange(year, month)[1]))


class _Evaluator:
    """Kleene evaluation of an expression tree: MISSING for unknown, `false and x` / `true or x`
    decide, exists() is never unknown."""

    _CMP = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}

    def __init__(self, resolved, defs, calendars, tz):
        self.resolved = resolved  # id(Path node) -> resolution (all expressions of the policy)
        self.defs = defs  # definition name -> tree
        self.calendars = calendars
        self.tz = tz

    def value(self, node, t, s, v):
        return getattr(self, "e_" + type(node).__name__)(node, t, s, v)

    def e_Literal(self, node, t, s, v):
        return node.value

    def e_Path(self, node, t, s, v):
        kind, *rest = self.resolved[id(node)]
        if kind == "field":
            value, parts = t, rest[0]
        elif kind == "var":
            value, parts = v[rest[0]], rest[1]
        elif kind == "def":
            return self.value(self.defs[rest[0]], t, s, v)
        else:
            return s[rest[0]]
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return MISSING
        return value

    def e_ListExpr(self, node, t, s, v):
        out = [self.value(i, t, s, v) for i in node.items]
        return MISSING if any(x is MISSING for x in out) else out

    def e_Not(self, node, t, s, v):
        x = self.value(node.operand, t, s, v)
        return x if x is MISSING else not x

    def e_BoolOp(self, node, t, s, v):
        decisive = node.op == "or"
        unknown = False
        for operand in node.operands:
            x = self.value(operand, t, s, v)
            if x is MISSING:
                unknown = True
            elif x is decisive:
                return decisive
        return MISSING if unknown else not decisive

    def e_Compare(self, node, t, s, v):
        a, b = self.value(node.left, t, s, v), self.value(node.right, t, s, v)
        return MISSING if a is MISSING or b is MISSING else self._CMP[node.op](a, b)

    def e_Membership(self, node, t, s, v):
        a, c = self.value(node.item, t, s, v), self.value(node.container, t, s, v)
        return MISSING if a is MISSING or c is MISSING else (a in c) != node.negated

    def e_Arith(self, node, t, s, v):
        a, b = self.value(node.left, t, s, v), self.value(node.right, t, s, v)
        if a is MISSING or b is MISSING:
            return MISSING
        sign = 1 if node.op == "+" else -1
        if isinstance(b, ast.Duration):
            if isinstance(a, dt.datetime):
                if b.months:  # calendar months, in the policy's time zone
                    return _add_months(a.astimezone(self.tz), sign * b.months).astimezone(_UTC)
                return a + dt.timedelta(seconds=sign * b.seconds)
            if b.months:
                return _add_months(a, sign * b.months)
            return a + dt.timedelta(days=sign * int(b.seconds // 86400))
        return a + b if sign > 0 else a - b

    def _date(self, x):
        return x.astimezone(self.tz).date() if isinstance(x, dt.datetime) else x

    def e_Call(self, node, t, s, v):
        if node.name == "exists":
            return self.value(node.args[0], t, s, v) is not MISSING
        if node.name == "is_open":
            when = self.value(node.args[0], t, s, v)
            return MISSING if when is MISSING else self.calendars[node.args[1].value].is_open(when)
        args = [self.value(a, t, s, v) for a in node.args]
        if any(a is MISSING for a in args):
            return MISSING
        if node.name == "date":
            return self._date(args[0])
        if node.name == "days_between":
            return (self._date(args[1]) - self._date(args[0])).days
        if node.name == "hours_between":
            return (args[1] - args[0]).total_seconds() / 3600.0
        if node.name == "lower":
            return args[0].lower()
        if node.name == "blank":
            return args[0].strip() == ""
        if node.name == "len":
            return len(args[0])
        raise DurableBackendError(f"function '{node.name}' is not known to the durable backend")

    def e_Quantifier(self, node, t, s, v):
        items = self.value(node.source, t, s, v)
        if items is MISSING:
            return MISSING
        want = node.kind == "any"
        unknown = False
        inner = dict(v)
        for item in items:
            inner[node.var] = item
            x = self.value(node.cond, t, s, inner)
            if x is want:
                return want
            if x is MISSING:
                unknown = True
        return MISSING if unknown else not want


def _to_json(value):
    """A ticket value as durable sees it: instants as epoch seconds, dates as day ordinals, None dropped."""
    if isinstance(value, dict):
        return {k: _to_json(x) for k, x in value.items() if x is not None}
    if isinstance(value, (list, tuple)):
        return [_to_json(x) for x in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, ast.Duration):
        raise _Untranslatable("a duration is not a durable value")
    return value
