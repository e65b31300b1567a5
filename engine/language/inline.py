"""The inline forms of built-in functions and arithmetic in generated code (slapolicy.language.codegen): the
source that replaces a call of an implementation in slapolicy.language.builtins by its body, with the same
semantics (the same value, the same exception for a value of another type), or a specialised implementation
when an argument is known at generation (`+ <duration literal>`)."""
from __future__ import annotations

import datetime as dt

from slapolicy.language import ast
from slapolicy.language.builtins import add_months

# one-argument built-ins whose body is an expression of the (known) argument: builtins.functions' lambdas (and
# str.lower: the same value for a string; another type raises AttributeError, which the fast path leaves to the
# reference)
ONE_ARG = {"blank": "(not {0}.strip())", "lower": "{0}.lower()"}


def date_source(gen, node) -> str:
    """as_date inline (the policy's zone; UTC: no shift), for the fast path's variant `gen` (codegen._Gen)"""
    v = gen.var()
    tz = gen.const(gen.tz)
    arg = node.args[0]
    where = gen.expr.resolved[id(arg)] if isinstance(arg, ast.Path) else ()
    if where and where[0] == "field" and tuple(where[1]) in gen.instants:  # a validated instant: no type
        # test (a value of another type raises AttributeError: fastpath's decide leaves it to the reference)
        if getattr(gen.tz, "key", None) in ("UTC", "Etc/UTC"):
            return f"({v}.date() if ({v} := {gen.gen(arg)}).tzinfo is _utc else {v}.astimezone({tz}).date())"
        return f"{gen.gen(arg)}.astimezone({tz}).date()"
    if getattr(gen.tz, "key", None) in ("UTC", "Etc/UTC"):
        date = (f"({v}.date() if isinstance(({v} := {{}}), _dt) and {v}.tzinfo is _utc else "
                f"({v}.astimezone({tz}).date() if isinstance({v}, _dt) else {v}))")
    else:
        date = f"({v}.astimezone({tz}).date() if isinstance(({v} := {{}}), _dt) else {v})"
    if not gen.maybe(node.args[0]):
        return date.format(gen.gen(node.args[0]))
    w = gen.var()
    return f"(U if ({w} := {gen.gen(node.args[0])}) is U else {date.format(w)})"


def shift(tz, sign: int, d):
    """a + d (sign 1) or a - d (-1) for a known duration d: arith() with its branches on d taken"""
    if d.months:
        n = sign * d.months
        utc = dt.timezone.utc

        def months(a):
            if isinstance(a, dt.datetime):  # calendar months in the policy's time zone
                return add_months(a.astimezone(tz), n).astimezone(utc)
            return add_months(a, n)

        years = n // 12

        def whole_years(a):  # add_months(a, 12 k) for a date: the same day, 29 February the 28th
            if isinstance(a, dt.datetime):
                return add_months(a.astimezone(tz), n).astimezone(utc)
            try:
                return a.replace(year=a.year + years)
            except ValueError:
                return a.replace(year=a.year + years, day=28)
        return whole_years if n % 12 == 0 else months
    instant, day = dt.timedelta(seconds=sign * d.seconds), dt.timedelta(days=sign * int(d.seconds // 86400))

    def seconds(a):
        return a + (instant if isinstance(a, dt.datetime) else day)
    return seconds
