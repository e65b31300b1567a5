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
from slapolicy.language.runtime import UNKNOWN, Env, Stub

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
# Plain classes, not dataclasses: a dataclass generates and compiles its methods at every import, which a
# start pays whether or not its bytecode is cached (these four: ~1.5 ms). Rule, Deadline and Tier behave as
# the frozen dataclasses they were (slapolicy.language.source.Frozen), CompiledPolicy as a plain mutable one.
from slapolicy.language.source import Frozen  # noqa: E402

_set = object.__setattr__


class Rule(Frozen):
    __slots__ = _fields = ("id", "stage", "fn", "source", "message", "status", "tier", "code", "multiplier",
                           "assumptions", "on", "unless", "set", "output", "fast", "track")

    def __init__(self, id: str, stage: str, fn, source: str, message: str | None = None, status: str | None = None,
                 tier: str | None = None, code: str | None = None, multiplier: float | None = None,
                 assumptions: tuple = (), on: str | None = None, unless: tuple | None = None,
                 set: dict | None = None, output: dict | None = None, fast=None, track=None) -> None:
        _set(self, "id", id)
        _set(self, "stage", stage)
        _set(self, "fn", fn)  # closure, or None for a rule without `when`
        _set(self, "source", source)
        _set(self, "message", message)
        _set(self, "status", status)  # scope
        _set(self, "tier", tier)  # tier rules
        _set(self, "code", code)  # delay reasons
        _set(self, "multiplier", multiplier)  # billing rates
        _set(self, "assumptions", assumptions)
        _set(self, "on", on)  # lifecycle rules: the event that triggers the rule
        _set(self, "unless", unless)  # lifecycle rules: (event type, Target) that cancels it
        _set(self, "set", set)  # lifecycle rules: facts to set
        _set(self, "output", output)  # delay reasons / notices: the decision's entry, built once
        # generated f(ticket, stage) (slapolicy.language.codegen), None without `when`; track: f(ticket, stage,
        # missing), the same, also listing missing facts
        _set(self, "fast", fast)
        _set(self, "track", track)


class Deadline(Frozen):
    __slots__ = _fields = ("name", "kind", "target", "text", "calendar_name", "calendar", "source", "assumptions")

    def __init__(self, name: str, kind: str, target, text: str, calendar_name: str | None, calendar, source: str,
                 assumptions: tuple = ()) -> None:
        _set(self, "name", name)
        _set(self, "kind", kind)  # within | from | none
        _set(self, "target", target)  # slapolicy.calendar.Target or None
        _set(self, "text", text)
        _set(self, "calendar_name", calendar_name)
        _set(self, "calendar", calendar)
        _set(self, "source", source)
        _set(self, "assumptions", assumptions)


class Tier(Frozen):
    __slots__ = _fields = ("id", "name", "source", "deadlines", "assumptions")

    def __init__(self, id: str, name: str, source: str, deadlines: tuple, assumptions: tuple = ()) -> None:
        _set(self, "id", id)
        _set(self, "name", name)
        _set(self, "source", source)
        _set(self, "deadlines", deadlines)  # of Deadline
        _set(self, "assumptions", assumptions)


_POLICY_FIELDS = ("id", "title", "version", "content_hash", "timezone", "effective_from", "acceptance", "scope",
                  "tier_rules", "tiers", "delay_reasons", "notices", "billing_rates", "billing_minimum",
                  "assumptions", "calendars", "data", "file", "warnings", "lifecycle_rules", "next_response",
                  "pauses", "vocabulary", "checked", "sources", "exprs")


class CompiledPolicy:
    """A compiled policy edition (mutable, as the dataclass it was: the decide stage memoises per-policy state
    in its __dict__). Equal by its fields but `checked` and `closures`."""

    def __init__(self, id: str, title: str, version: str, content_hash: str, timezone, effective_from: str | None,
                 acceptance: tuple, scope: tuple, tier_rules: tuple, tiers: dict, delay_reasons: tuple,
                 notices: tuple, billing_rates: tuple, billing_minimum: dict | None, assumptions: dict,
                 calendars: dict, data: dict, file: str, warnings: list | None = None, lifecycle_rules: tuple = (),
                 next_response: dict | None = None, pauses: tuple = (), vocabulary=None, checked=None,
                 sources=None, exprs: dict | None = None, closures: dict | None = None) -> None:
        self.id = id
        self.title = title
        self.version = version
        self.content_hash = content_hash
        self.timezone = timezone  # ZoneInfo
        self.effective_from = effective_from
        self.acceptance = acceptance
        self.scope = scope
        self.tier_rules = tier_rules
        self.tiers = tiers
        self.delay_reasons = delay_reasons
        self.notices = notices
        self.billing_rates = billing_rates
        self.billing_minimum = billing_minimum
        self.assumptions = assumptions  # id -> {id, clause, text, why}
        self.calendars = calendars
        self.data = data
        self.file = file
        self.warnings = [] if warnings is None else warnings
        self.lifecycle_rules = lifecycle_rules
        self.next_response = next_response  # lifecycle.next_response (enabled when present)
        self.pauses = pauses  # ((target name, frozenset of statuses, id, source), ...)
        self.vocabulary = vocabulary  # the merged ticket vocabulary (slapolicy.language.vocabulary.Vocabulary)
        self.checked = checked  # the CheckedPolicy (trees, spans): explanations
        # the generated expressions (fast path): (constants, {key path: (name, body)}), or a _Variant that
        # generates them when first asked (`sources` below)
        self._sources = sources
        self.exprs = exprs  # key path -> checked expression (its tree indexes the fast path's stages)
        self.closures = closures  # key path -> its closure (compile_expressions; why_not evaluates with them too)

    @property
    def sources(self):
        """(constants, {key path: (function name, body expression)}) of the generated expressions, or None for a
        policy compiled without them (generated on first use: a start that decides one ticket needs none)"""
        got = self._sources
        return got.sources() if isinstance(got, _Variant) else got

    def _key(self):
        return tuple(self.sources if f == "sources" else getattr(self, f) for f in _POLICY_FIELDS if f != "checked")

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self is other or self._key() == other._key()
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in _POLICY_FIELDS if f != "checked")
        return f"CompiledPolicy({shown})"


class _Variant:
    """The generated functions of one variant (slapolicy.language.codegen.Lazy: f(t, s), or with `track`
    f(t, s, m)), their sources generated on first use: codegen is neither imported nor run by a decision
    that does not use the generated code (the explained ones, and the first unexplained one)."""

    __slots__ = ("checked", "tz", "track", "label", "lazy", "plain")

    def __init__(self, checked, tz, track: bool, label: str) -> None:
        self.checked, self.tz, self.track, self.label, self.lazy, self.plain = checked, tz, track, label, None, None

    def _lazy(self):
        lazy = self.lazy
        if lazy is None:
            from slapolicy.language.codegen import Lazy, sources

            self.plain = sources(self.checked, self.tz, track=self.track)
            lazy = self.lazy = Lazy(*self.plain, "t, s, m" if self.track else "t, s", self.label)
        return lazy

    def sources(self) -> tuple:
        """codegen.sources of the policy for this variant"""
        self._lazy()
        return self.plain

    def get(self, path):
        return self._lazy().get(path)

    def stub(self, path):
        return Stub(self, path)


def compile_policy(checked, content_hash: str = "") -> CompiledPolicy:
    import zoneinfo

    data = checked.data
    fns = compile_expressions(checked)
    tz = zoneinfo.ZoneInfo(data["timezone"])
    label = f"<slapolicy:{data.get('id')}>"
    exprs = checked.exprs
    plain = _Variant(checked, tz, False, label)
    fast = {path: plain.stub(path) for path in exprs}  # (codegen.sources gives a function to every expression)
    tracking = _Variant(checked, tz, True, label)
    track = {path: tracking.stub(path) for path in exprs}

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
        vocabulary=getattr(checked, "vocabulary", None), checked=checked, sources=plain, exprs=dict(exprs),
        closures=fns)


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
        out.append(Rule(**{**{f: getattr(rule, f) for f in Rule._fields}, "on": r["on"], "unless": unless,
                           "set": dict(r["set"])}))
    return tuple(out)
