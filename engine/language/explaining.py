"""Stage 5c: the explaining twin of each closure as generated code (explained decisions).

An explained decision (slapolicy.decide.registration) needs of each rule it tests what its closure
(slapolicy.language.compile) computes and leaves behind: the value (True / False / UNKNOWN), the missing facts
appended to `env.missing` (with the closures' Kleene bookkeeping: facts under a decided sub-expression dropped),
the facts read appended to `env.read` as (dotted path, value) in reading order, and the definitions memoised in
`env.defs` as name -> (value, the missing facts listed while computing it). A definition already memoised adds
no facts read (only its missing facts, when it is unknown): the explanation's facts of a rule depend on the
rules tested before it, and the twins keep that exactly.

Each expression becomes `f(t, s, m, r, d)` (t: the ticket, s: the stage values, m: env.missing, r: env.read,
d: env.defs): codegen's tracking variant (the same bookkeeping of missing facts as the closures) with the
closures' own reading of fields (a value of None is missing; a part under a non-object is missing), the facts
read recorded, and definitions memoised in `d` as the closures memoise them, so that closures and twins can
share one Env. Generated from the checked tree only, as codegen is (no policy text evaluated); compiled per
function on first use (codegen.Lazy). tests/test_explaining.py holds every twin to its closure.
"""
from __future__ import annotations

from slapolicy.language.builtins import functions
from slapolicy.language.codegen import Lazy, _Gen
from slapolicy.language.inline import ONE_ARG
from slapolicy.language.runtime import UNKNOWN

PARAMS = "t, s, m, r, d"


def _xdef(d, name, fn, t, s, m, r):
    """a definition as the closure `definition` computes it: memoised in d with the missing facts it listed"""
    cached = d.get(name)
    if cached is None:
        mark = len(m)
        value = fn(t, s, m, r, d)
        d[name] = (value, m[mark:])
        return value
    if cached[0] is UNKNOWN:
        m.extend(cached[1])
    return cached[0]


class _Explaining(_Gen):
    """codegen._Gen's tracking variant with the closures' field reads, facts read and memoised definitions"""

    def __init__(self, checked, tz):
        super().__init__(checked, tz, track=True, prefix="_x")
        self.ns["_xdef"] = _xdef

    def _walk(self, base: str, parts) -> str:
        """`base`'s value down `parts` as the closures walk it: None under a missing part or a non-object"""
        code = base
        for part in parts:
            if code == "t":  # (the ticket is an object)
                code = f"t.get({part!r})"
            else:
                w = self.var()
                code = f"({w}.get({part!r}) if isinstance({w} := {code}, dict) else None)"
        return code

    def g_Path(self, node):
        kind, *rest = self.expr.resolved[id(node)]
        if kind == "field":
            label = ".".join(rest[0])
            v = self.var()
            return (f"((r.append(({label!r}, {v})) or {v}) if ({v} := {self._walk('t', rest[0])}) is not None "
                    f"else (m.append({label!r}) or U))")
        if kind == "var":
            name, parts = rest
            if not parts:
                return f"_q_{name}"
            label = f"{name}." + ".".join(parts)
            v = self.var()
            return f"({v} if ({v} := {self._walk(f'_q_{name}', parts)}) is not None else (m.append({label!r}) or U))"
        if kind == "def":
            name = rest[0]
            c = self.var()
            return (f"({c}[0] if ({c} := d.get({name!r})) is not None and {c}[0] is not U else "
                    f"_xdef(d, {name!r}, {self.def_names[name]}, t, s, m, r))")
        return f"s[{rest[0]!r}]"

    def g_Call(self, node):
        if node.name in ONE_ARG and len(node.args) == 1:  # the built-in itself (its errors as the closures')
            v = self.var()
            impl = self.const(functions(self.tz)[node.name])
            return f"(U if ({v} := {self.gen(node.args[0])}) is U else {impl}({v}))"
        return super().g_Call(node)


def sources(checked, tz) -> tuple:
    """(namespace, {key path: (function name, body expression)}, definitions first) of the explaining twins"""
    gen = _Explaining(checked, tz)
    for name in (checked.data.get("definitions") or {}):
        gen.def_names[name] = f"_xd_{len(gen.def_names)}"
    out = {}
    order = sorted(checked.exprs.items(), key=lambda kv: kv[0][0] != "definitions")
    for i, (path, expr) in enumerate(order):
        body = gen.body(expr)
        out[path] = (gen.def_names[path[1]] if path[0] == "definitions" else f"_xr_{i}", body)
    return gen.ns, out


def twins(checked, tz, label: str) -> Lazy:
    """the explaining twins of a checked policy, each compiled on first use: `.get(path)` -> f(t, s, m, r, d)"""
    ns, bodies = sources(checked, tz)
    return Lazy(ns, bodies, PARAMS, label)


__all__ = ["PARAMS", "sources", "twins"]
