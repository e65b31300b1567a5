"""Stage 5: compile checked expressions into Python closures (never eval of policy text).

A compiled expression is `fn(env) -> value | UNKNOWN`. `env` carries the normalised ticket, the
stage values decided so far, quantifier variables, memoised definitions and the list of missing
facts. Logic is three-valued (Kleene): a missing fact is UNKNOWN, and an operator over UNKNOWN is
UNKNOWN except `false and x`, `true or x`; `exists()` is never UNKNOWN.
"""
from __future__ import annotations

import operator

from slapolicy.language import ast
from slapolicy.language.builtins import arith, functions
from slapolicy.language.runtime import UNKNOWN, Env

__all__ = ["UNKNOWN", "Env", "CompiledPolicy", "compile_policy", "compile_expressions"]


_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}




class Compiler:
    def __init__(self, checked, definitions: dict):
        self.checked = checked
        self.definitions = definitions  # name -> compiled fn (filled lazily)

    def compile(self, expr) -> callable:
        self.expr = expr
        return self.c(expr.tree)

    def c(self, node):
        return getattr(self, "c_" + type(node).__name__)(node)

    def c_Literal(self, node):
        value = node.value
        return lambda env: value

    def c_Path(self, node):
        kind, *rest = self.expr.resolved[id(node)]
        if kind == "field":
            parts = rest[0]
            dotted = ".".join(parts)

            def field(env):
                value = env.ticket
                for part in parts:
                    value = value.get(part) if isinstance(value, dict) else None
                    if value is None:
                        env.missing.append(dotted)
                        return UNKNOWN
                if env.read is not None:
                    env.read.append((dotted, value))
                return value
            return field
        if kind == "var":
            name, parts = rest
            label = f"{name}." + ".".join(parts) if parts else name

            def var(env):
                value = env.vars[name]
                for part in parts:
                    value = value.get(part) if isinstance(value, dict) else None
                    if value is None:
                        env.missing.append(label)
                        return UNKNOWN
                return value
            return var
        if kind == "def":
            name = rest[0]
            defs = self.definitions

            def definition(env):
                cached = env.defs.get(name)
                if cached is None:
                    mark = len(env.missing)
                    value = defs[name](env)
                    cached = env.defs[name] = (value, env.missing[mark:])
                    return value
                if cached[0] is UNKNOWN:
                    env.missing.extend(cached[1])
                return cached[0]
            return definition
        name = rest[0]  # stage value
        return lambda env: env.stage[name]

    def c_ListExpr(self, node):
        items = [self.c(i) for i in node.items]
        if all(isinstance(i, ast.Literal) for i in node.items):
            frozen = [i.value for i in node.items]
            return lambda env: frozen

        def listing(env):
            out = [f(env) for f in items]
            return UNKNOWN if any(v is UNKNOWN for v in out) else out
        return listing

    def c_Not(self, node):
        f = self.c(node.operand)

        def not_(env):
            v = f(env)
            return v if v is UNKNOWN else not v
        return not_

    def c_BoolOp(self, node):
        fns = [self.c(o) for o in node.operands]
        stop = node.op == "or"  # the value that decides: true for or, false for and

        def boolop(env):
            mark = len(env.missing)
            unknown = False
            for f in fns:
                v = f(env)
                if v is UNKNOWN:
                    unknown = True
                elif v is stop:
                    del env.missing[mark:]
                    return stop
            return UNKNOWN if unknown else (not stop)
        return boolop

    def c_Compare(self, node):
        left, right, op = self.c(node.left), self.c(node.right), _COMPARE[node.op]

        def compare(env):
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return op(a, b)
        return compare

    def c_Membership(self, node):
        item, container, negated = self.c(node.item), self.c(node.container), node.negated
        if isinstance(node.container, ast.ListExpr) and all(isinstance(i, ast.Literal) for i in node.container.items):
            values = frozenset(i.value for i in node.container.items)

            def member_const(env):
                v = item(env)
                if v is UNKNOWN:
                    return UNKNOWN
                return (v in values) != negated
            return member_const

        def member(env):
            v, c = item(env), container(env)
            if v is UNKNOWN or c is UNKNOWN:
                return UNKNOWN
            return (v in c) != negated
        return member

    def c_Arith(self, node):
        left, right = self.c(node.left), self.c(node.right)
        apply = arith(self.checked_tz(), 1 if node.op == "+" else -1)

        def arith_(env):
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return apply(a, b)
        return arith_

    def checked_tz(self):
        import zoneinfo

        return zoneinfo.ZoneInfo(self.checked.data["timezone"])

    def c_Call(self, node):
        args = [self.c(a) for a in node.args]
        name = node.name
        if name == "exists":
            target = args[0]

            def exists(env):
                mark = len(env.missing)
                v = target(env)
                del env.missing[mark:]
                return v is not UNKNOWN
            return exists
        if name == "is_open":
            calendar = self.checked.calendars.get(node.args[1].value)
            when = args[0]

            def is_open(env):
                t = when(env)
                return UNKNOWN if t is UNKNOWN else calendar.is_open(t)
            return is_open
        impl = functions(self.checked_tz())[name]

        def call(env):
            values = [f(env) for f in args]
            if any(v is UNKNOWN for v in values):
                return UNKNOWN
            return impl(*values)
        return call

    def c_Quantifier(self, node):
        source, cond, var, want = self.c(node.source), self.c(node.cond), node.var, node.kind == "any"

        def quantifier(env):
            items = source(env)
            if items is UNKNOWN:
                return UNKNOWN
            mark = len(env.missing)
            unknown = False
            saved = env.vars.get(var)
            try:
                for item in items:
                    env.vars[var] = item
                    v = cond(env)
                    if v is UNKNOWN:
                        unknown = True
                    elif v is want:
                        del env.missing[mark:]
                        return want
            finally:
                env.vars[var] = saved
            return UNKNOWN if unknown else (not want)
        return quantifier


def compile_expressions(checked) -> dict:
    """key path -> closure, for every expression of a checked policy."""
    definitions: dict = {}
    compiler = Compiler(checked, definitions)
    out = {}
    for path, expr in checked.exprs.items():
        out[path] = compiler.compile(expr)
        if path[0] == "definitions":
            definitions[path[1]] = out[path]
    return out


# -- the compiled policy ----------------------------------------------------------------------
from dataclasses import dataclass, field  # noqa: E402


@dataclass(frozen=True)
class Rule:
    id: str
    stage: str
    fn: object  # closure, or None for a rule without `when`
    source: str
    message: str | None = None
    status: str | None = None  # scope
    tier: str | None = None  # tier rules
    code: str | None = None  # delay reasons
    multiplier: float | None = None  # billing rates
    assumptions: tuple = ()
    on: str | None = None  # lifecycle rules: the event that triggers the rule
    unless: tuple | None = None  # lifecycle rules: (event type, Target) that cancels it
    set: dict | None = None  # lifecycle rules: facts to set
    output: dict | None = None  # delay reasons / notices: the decision's entry, built once
    fast: object = None  # generated function f(ticket, stage) (slapolicy.language.codegen), None without `when`
    track: object = None  # generated f(ticket, stage, missing): the same, also listing missing facts


@dataclass(frozen=True)
class Deadline:
    name: str
    kind: str  # within | from | none
    target: object  # slapolicy.calendar.Target or None
    text: str
    calendar_name: str | None
    calendar: object
    source: str
    assumptions: tuple = ()


@dataclass(frozen=True)
class Tier:
    id: str
    name: str
    source: str
    deadlines: tuple  # of Deadline
    assumptions: tuple = ()


@dataclass
class CompiledPolicy:
    id: str
    title: str
    version: str
    content_hash: str
    timezone: object  # ZoneInfo
    effective_from: str | None
    acceptance: tuple
    scope: tuple
    tier_rules: tuple
    tiers: dict
    delay_reasons: tuple
    notices: tuple
    billing_rates: tuple
    billing_minimum: dict | None
    assumptions: dict  # id -> {id, clause, text, why}
    calendars: dict
    data: dict
    file: str
    warnings: list = field(default_factory=list)
    lifecycle_rules: tuple = ()
    next_response: dict | None = None  # lifecycle.next_response (enabled when present)
    pauses: tuple = ()  # ((target name, frozenset of statuses, id, source), ...)
    vocabulary: object = None  # the merged ticket vocabulary (slapolicy.language.vocabulary.Vocabulary)
    checked: object = field(default=None, repr=False, compare=False)  # the CheckedPolicy (trees, spans): explanations
    sources: tuple | None = None  # (constants, {key path: (name, body)}): the generated expressions (fast path)
    exprs: dict | None = None  # key path -> checked expression (its tree indexes the fast path's stages)


def compile_policy(checked, content_hash: str = "") -> CompiledPolicy:
    import zoneinfo

    from slapolicy.language.codegen import Lazy, sources

    data = checked.data
    fns = compile_expressions(checked)
    tz = zoneinfo.ZoneInfo(data["timezone"])
    label = f"<slapolicy:{data.get('id')}>"
    plain = sources(checked, tz)
    fast_lazy, track_lazy = Lazy(*plain, "t, s", label), Lazy(*sources(checked, tz, track=True), "t, s, m", label)
    fast = {path: fast_lazy.stub(path) for path in plain[1]}
    track = {path: track_lazy.stub(path) for path in plain[1]}
    exprs = checked.exprs

    def def_assumptions(path):
        expr = exprs.get(path)
        if expr is None:
            return ()
        out = []
        for name in sorted(expr.defs_used):
            out.extend((data.get("definitions") or {}).get(name, {}).get("assumptions") or [])
        return tuple(out)

    def rules(stage, items, base):
        out = []
        for i, r in enumerate(items or []):
            path = base + (i, "when")
            out.append(Rule(
                id=r["id"], stage=stage, fn=fns.get(path), fast=fast.get(path), track=track.get(path),
                source=str(r["source"]),
                message=r.get("message"),
                status=r.get("status"), tier=r.get("tier"), code=r.get("code"), multiplier=r.get("multiplier"),
                assumptions=tuple(dict.fromkeys(tuple(r.get("assumptions") or ()) + def_assumptions(path))),
                output=_output(stage, r)))
        return tuple(out)

    from slapolicy.calendar import Calendar

    always = Calendar.from_spec({"week": "24x7"}, default_timezone=data["timezone"])  # elapsed targets
    tiers = {}
    for tier_id, t in (data.get("tiers") or {}).items():
        deadlines = []
        for name, target in (t.get("targets") or {}).items():
            kind = "within" if "within" in target else "from" if "from" in target else "none"
            cal_name = target.get("calendar")
            parsed = checked.targets.get((tier_id, name))
            cal_assumptions = (tuple((data["calendars"].get(cal_name) or {}).get("assumptions") or ())
                               if cal_name and "no_guarantee" not in target else ())  # no time, no calendar relied on
            deadlines.append(Deadline(
                name=name, kind=kind, target=parsed,
                text=str(parsed) if parsed is not None else "no guarantee",
                calendar_name=cal_name, calendar=checked.calendars.get(cal_name) if cal_name else always,
                source=str(target["source"]),
                assumptions=tuple(dict.fromkeys(tuple(target.get("assumptions") or ()) + cal_assumptions))))
        tiers[tier_id] = Tier(tier_id, t["name"], str(t["source"]), tuple(deadlines), tuple(t.get("assumptions") or ()))
    billing = data.get("billing") or {}
    return CompiledPolicy(
        id=data["id"], title=data["title"], version=str(data["version"]), content_hash=content_hash,
        timezone=zoneinfo.ZoneInfo(data["timezone"]), effective_from=data.get("effective_from"),
        acceptance=rules("acceptance", data.get("acceptance"), ("acceptance",)),
        scope=rules("scope", data.get("scope"), ("scope",)),
        tier_rules=rules("tier_rules", data.get("tier_rules"), ("tier_rules",)),
        tiers=tiers,
        delay_reasons=rules("delay_reasons", data.get("delay_reasons"), ("delay_reasons",)),
        notices=rules("notices", data.get("notices"), ("notices",)),
        billing_rates=rules("billing", billing.get("rates"), ("billing", "rates")),
        billing_minimum=billing.get("minimum_minutes"),
        assumptions={a["id"]: a for a in data.get("assumptions") or []},
        calendars=checked.calendars, data=data, file=checked.loaded.file,
        warnings=[d for d in checked.diagnostics if d.severity != "error"],
        lifecycle_rules=_lifecycle_rules(rules, data),
        next_response=(data.get("lifecycle") or {}).get("next_response"),
        pauses=tuple((p["target"], frozenset(p["statuses"]), p["id"], str(p["source"]))
                     for p in (data.get("lifecycle") or {}).get("pauses") or []),
        vocabulary=getattr(checked, "vocabulary", None), checked=checked, sources=plain, exprs=dict(exprs))


def _output(stage, r):
    if stage == "delay_reasons":
        return {"code": r["code"], "rule": r["id"], "source": str(r["source"]),
                "message": r.get("message") or r["code"].replace("_", " ")}
    if stage == "notices":
        return {"rule": r["id"], "source": str(r["source"]), "message": r.get("message")}
    return None


def _lifecycle_rules(rules, data):
    from slapolicy.calendar import parse_target

    raw = (data.get("lifecycle") or {}).get("rules") or []
    out = []
    for rule, r in zip(rules("lifecycle", raw, ("lifecycle", "rules")), raw):
        unless = None
        if r.get("unless"):
            event, _, duration = r["unless"].strip().partition(" within ")
            unless = (event.strip(), parse_target(duration.strip()))
        out.append(Rule(**{**rule.__dict__, "on": r["on"], "unless": unless, "set": dict(r["set"])}))
    return tuple(out)
