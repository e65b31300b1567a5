"""why_not's words: the requirement of a failed condition (`requirement`) and the literals in its texts
(slapolicy.decide.whynot)."""
from __future__ import annotations

import datetime as dt

from slapolicy.decide.nearest import show
from slapolicy.language import ast
from slapolicy.language.runtime import UNKNOWN

_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "equal to", "!=": "other than"}
_TIME_WORDS = {"<": "before", "<=": "on or before", ">": "after", ">=": "on or after", "==": "on",
               "!=": "other than"}


def _q(text: str) -> str:
    return f"`{text}`"


def _lit(value, tz) -> str:
    v = show(value, tz)
    return f'"{v}"' if isinstance(v, str) and not isinstance(value, (dt.date, ast.Duration)) else str(v).lower() \
        if isinstance(v, bool) else str(v)


def requirement(a, expr, node, want, value) -> str:
    """The requirement of a failed leaf in words, from its node: `a` the ticket's Analysis (slapolicy.decide.whynot)."""
    text = a.t.text(expr, node)
    tz = a.tz

    def val(n):
        v = a.ev(expr, n)
        return "unknown" if v is UNKNOWN else _lit(v, tz)

    if isinstance(node, ast.Compare):
        op = node.op if want else _NEGATE[node.op]
        left, right = node.left, node.right
        if isinstance(left, ast.Literal) and not isinstance(right, ast.Literal):
            left, right, op = right, left, _FLIP[op]
        lv = a.ev(expr, left)
        words = _TIME_WORDS if isinstance(lv, (dt.date, dt.datetime)) else _WORDS
        rhs = (_lit(right.value, tz) if isinstance(right, ast.Literal)
               else f"{_q(a.t.text(expr, right))} ({val(right)})")
        if isinstance(right, ast.Literal) and isinstance(right.value, bool) and op in ("==", "!="):
            return f"{_q(a.t.text(expr, left))} is {val(left)}; it must be " \
                   f"{str(right.value if op == '==' else not right.value).lower()}"
        if op in ("==", "!=") and not isinstance(lv, (int, float, dt.date)) or isinstance(lv, bool):
            must = f"it must be {rhs}" if op == "==" else f"it must not be {rhs}"
        else:
            must = f"it must be {words[op]} {rhs}"
        return f"{_q(a.t.text(expr, left))} is {val(left)}; {must}"
    if isinstance(node, ast.Membership):
        inside = want != node.negated
        return (f"{_q(a.t.text(expr, node.item))} is {val(node.item)}; it must "
                f"{'' if inside else 'not '}be one of {a.t.text(expr, node.container)}")
    if isinstance(node, ast.Call) and node.name == "exists":
        arg = a.t.text(expr, node.args[0])
        return f"{_q(arg)} is {'not given' if want else 'given'}; it must {'' if want else 'not '}be given"
    if isinstance(node, ast.Call) and node.name == "is_open":
        cal = node.args[1].value
        return (f"{_q(a.t.text(expr, node.args[0]))} ({val(node.args[0])}) must be "
                f"{'inside' if want else 'outside'} the hours of calendar {cal}")
    if isinstance(node, ast.Quantifier):
        cond = a.t.text(expr, node.cond)
        src = a.t.text(expr, node.source)
        if (node.kind == "any") == want:
            return f"{'some' if node.kind == 'any' else 'every'} item {node.var} of {_q(src)} must satisfy {_q(cond)}"
        return f"{'no' if node.kind == 'any' else 'some'} item {node.var} of {_q(src)} may satisfy {_q(cond)}"
    state = "unknown" if value is UNKNOWN else str(bool(value)).lower()
    return f"{_q(text)} is {state}; it must be {str(want).lower()}"
