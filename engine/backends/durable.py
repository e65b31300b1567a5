"""The durable-rules backend: a second, independent executor of a checked policy.

    from engine.api import load_policy
    from engine.backends.durable import DurablePolicy
    decision = DurablePolicy(load_policy("bitrix-inc")).evaluate(ticket)

The acceptance, scope, tier, delay-reason, notice and billing-rate rules of the checked policy are
turned into durable-rules JSON ruleset definitions, one ruleset per policy edition, generated from
the checked expression trees (never from the engine's closures or generated code). Each ticket gets
a throw-away durable session: one fact per stage is asserted into it (the ticket's referenced
fields, the stage values decided so far, a few derived values), durable's Rete network says which
rules match, Python keeps the stage order (every acceptance rule that fires refuses; the first
scope / tier rule that fires decides; every delay reason / notice / rate that fires counts), and
the session is deleted. Deadlines reuse engine.calendar. The durable Host runs without its
background timer threads (nothing here uses timers, and the timer thread racing `delete_state`
is a known crash).

Three-valued logic. A missing fact is UNKNOWN (docs/language.md): a rule fires only when its
condition is *true*. Each condition is translated twice over, into T(e) ("e is true") and F(e)
("e is false"), pushing negation down (T(not e) = F(e), F(a and b) = F(a) or F(b), ...). Atoms
match only facts that are present: durable does not match a comparison on a missing property,
except with another property of the fact as right operand (`{"$m": ...}`), which durable matches
when that property is missing; such atoms get an explicit `$ex` guard.

What durable cannot express (arithmetic on dates and durations, the built-in functions, `is_open`,
anything else) is computed in Python by the small evaluator of this module into a derived value
(`_d<n>` of the fact, or of each list item under a quantifier) that the rules then compare. The
evaluator is written from the language's documentation, independently of engine.compile,
engine.codegen and engine.builtins, so a divergence shows up in the differential test.

Known durable-rules limits (docs/performance.md): at most 1,024 live sessions per ruleset (so each
ticket's session is deleted at once); sessions are found by a 32-bit FNV hash of the sid and a
collision is not detected (so at most one session is ever alive); an event is consumed by the
first rule that matches (so the stages are asserted as facts, which every matching rule sees);
a lone `$nex` condition loops forever (so every rule also tests the stage, and a lone `$nex` never
occurs); integers beyond 64 bits and string ordering on escaped characters are not portable.

Not produced by this backend: the explanation (always []), missing_facts and the lifecycle
(`as_of`, events); the decision carries "backend": "durable-rules".
"""
from __future__ import annotations

import calendar as _calendar
import copy
import datetime as dt
import hashlib
import itertools
import threading
from pathlib import Path

try:
    import durable.engine as _durable
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the durable backend needs the durable-rules package: "
                      f"pip install 'slapolicy[durable]' ({exc})") from exc

from .. import ast
from ..evaluate import _status_text, compute_deadlines

__all__ = ["DurablePolicy", "DurableBackendError", "ruleset_definition", "load"]

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


# -- translation: checked expression trees -> durable-rules conditions ---------------------------

class _Always:
    def __repr__(self):
        return "ALWAYS"


class _Never:
    def __repr__(self):
        return "NEVER"


ALWAYS, NEVER = _Always(), _Never()
_INVERSE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_DOP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class _Untranslatable(Exception):
    pass


def _and(parts):
    out = []
    for p in parts:
        if p is NEVER:
            return NEVER
        if p is ALWAYS:
            continue
        out.extend(p["$and"] if set(p) == {"$and"} else [p])
    return ALWAYS if not out else out[0] if len(out) == 1 else {"$and": out}


def _or(parts):
    out = []
    for p in parts:
        if p is ALWAYS:
            return ALWAYS
        if p is NEVER:
            continue
        out.extend(p["$or"] if set(p) == {"$or"} else [p])
    return NEVER if not out else out[0] if len(out) == 1 else {"$or": out}


def _atom(op, key, rhs):
    return {key: rhs} if op == "==" else {_DOP[op]: {key: rhs}}


def _ex(key):
    return {"$ex": {key: 1}}


class _Derived:
    """A value durable cannot compute: evaluated in Python per ticket (per list item when `item_of`)."""

    __slots__ = ("key", "node", "var", "item_of", "staged")

    def __init__(self, key, node, var=None, item_of=None, staged=False):
        self.key, self.node, self.var, self.item_of, self.staged = key, node, var, item_of, staged


class _Scope:
    """Inside a quantifier: the variable's item is durable's `$i`."""

    def __init__(self, var, source_parts):
        self.var = var
        self.source_parts = source_parts


class _Translator:
    def __init__(self, checked, vocabulary):
        self.checked = checked
        self.vocabulary = vocabulary
        self.resolved = {}
        for expr in checked.exprs.values():
            self.resolved.update(expr.resolved)
        self.defs = {path[1]: expr.tree for path, expr in checked.exprs.items() if path[0] == "definitions"}
        self.derived = []
        self.known = {}  # structural key -> derived key
        self.counter = itertools.count()
        self.fields = set()  # top-level ticket fields the rules read

    # helpers about nodes
    def _uses(self, node, kinds, var=None, seen=None) -> bool:
        """Does the tree read a resolution of one of `kinds` (through definitions too)?"""
        seen = set() if seen is None else seen
        for n in ast.walk(node):
            if isinstance(n, ast.Path):
                kind, *rest = self.resolved[id(n)]
                if kind == "def" and rest[0] not in seen:
                    seen.add(rest[0])
                    if self._uses(self.defs[rest[0]], kinds, var, seen):
                        return True
                if kind in kinds and (var is None or kind != "var" or rest[0] == var):
                    return True
        return False

    def derive(self, node, scope):
        """A derived value for `node`: its key in the fact (or in each item, `$i._d<n>`)."""
        shape = (self._shape(node), scope.var if scope is not None else None)
        if shape in self.known:  # the same value (a definition inlined twice, `date(created_at)`...)
            return self.known[shape]
        key = self.known[shape] = self._new_derived(node, scope)
        return key

    def _shape(self, node):
        """A structural key of a tree: its kind, fields and name resolutions, positions left out."""
        if isinstance(node, ast.Path):
            return ("Path", self.resolved[id(node)])
        if isinstance(node, ast.Node):
            return (type(node).__name__,) + tuple(self._shape(getattr(node, f)) for f in node.__dataclass_fields__
                                                  if f != "pos")
        if isinstance(node, tuple):
            return tuple(self._shape(x) for x in node)
        return (type(node).__name__, repr(node))

    def _new_derived(self, node, scope):
        key = f"_d{next(self.counter)}"
        staged = self._uses(node, ("stage",))
        if scope is not None and self._uses(node, ("var",), scope.var):
            if staged or self._item_type(scope.source_parts) != "object":
                raise _Untranslatable("a per-item value needs object items and no stage value")
            self.derived.append(_Derived(key, node, scope.var, scope.source_parts))
            return "$i." + key
        if self._uses(node, ("var",)):
            raise _Untranslatable("a value of an outer quantifier variable")
        self.derived.append(_Derived(key, node, staged=staged))
        return key

    def _item_type(self, parts):
        typ = self.vocabulary
        for part in parts:
            typ = typ.field(part) if typ is not None else None
        return typ.item.kind if typ is not None and typ.kind == "list" and typ.item is not None else None

    # operands: ("k", key) or ("v", value)
    def operand(self, node, scope):
        if isinstance(node, ast.Literal):
            return ("v", _to_json(node.value))
        if isinstance(node, ast.Path):
            kind, *rest = self.resolved[id(node)]
            if kind == "field":
                self.fields.add(rest[0][0])
                return ("k", "t." + ".".join(rest[0]))
            if kind == "stage":
                return ("k", "_" + rest[0])
            if kind == "var":
                if scope is None or rest[0] != scope.var:
                    raise _Untranslatable("an outer quantifier variable")
                return ("k", "".join(["$i"] + ["." + p for p in rest[1]]))
        return ("k", self.derive(node, scope))

    # conditions
    def cond(self, node, want: bool, scope=None):
        """The durable condition that matches exactly when `node` is `want` (true / false)."""
        method = getattr(self, "c_" + type(node).__name__, None)
        if method is not None:
            try:
                return method(node, want, scope)
            except _Untranslatable:
                if scope is None:  # computed whole in Python; inside a quantifier, the quantifier is
                    return self.fallback(node, want, scope)
                raise
        return self.fallback(node, want, scope)

    def fallback(self, node, want, scope):
        return {self.derive(node, scope): want}

    def c_Literal(self, node, want, scope):
        return ALWAYS if node.value is want else NEVER

    def c_Path(self, node, want, scope):
        kind, *rest = self.resolved[id(node)]
        if kind == "def":
            return self.cond(self.defs[rest[0]], want, scope)
        kind, key = self.operand(node, scope)
        return {key: want}

    def c_Not(self, node, want, scope):
        return self.cond(node.operand, not want, scope)

    def c_BoolOp(self, node, want, scope):
        parts = [self.cond(o, want, scope) for o in node.operands]
        conjunction = (node.op == "and") == want
        return _and(parts) if conjunction else _or(parts)

    def c_Compare(self, node, want, scope):
        op = node.op if want else _INVERSE[node.op]
        (ka, a), (kb, b) = self.operand(node.left, scope), self.operand(node.right, scope)
        if ka == "v" and kb == "v":
            return ALWAYS if _Evaluator._CMP[op](a, b) else NEVER
        if ka == "v":
            return _atom(_FLIP[op], b, a)
        if kb == "v":
            return _atom(op, a, b)
        if a.startswith("$i") != b.startswith("$i"):
            raise _Untranslatable("a comparison of an item with the ticket")
        # durable matches {"$m": key} when that property is missing: guard both sides
        return _and([_ex(a), _ex(b), _atom(op, a, {"$m": b})])

    def c_Membership(self, node, want, scope):
        container = node.container
        if not (isinstance(container, ast.ListExpr) and all(isinstance(i, ast.Literal) for i in container.items)):
            return self.fallback(node, want, scope)
        values = [_to_json(i.value) for i in container.items]
        kind, item = self.operand(node.item, scope)
        inside = want != node.negated  # the condition: the item is one of the values
        if kind == "v":
            return ALWAYS if (item in values) == inside else NEVER
        if inside:
            return _or([_atom("==", item, x) for x in values])
        return _and([_ex(item)] + [_atom("!=", item, x) for x in values])

    def c_Call(self, node, want, scope):
        if node.name == "exists" and isinstance(node.args[0], ast.Path):
            kind, *rest = self.resolved[id(node.args[0])]
            if kind in ("field", "var") and (kind == "field" or rest[1]):
                _, key = self.operand(node.args[0], scope)
                return {"$ex": {key: 1}} if want else {"$nex": {key: 1}}
        return self.fallback(node, want, scope)

    def c_Quantifier(self, node, want, scope):
        source = node.source
        if scope is not None or not isinstance(source, ast.Path) or self.resolved[id(source)][0] != "field":
            raise _Untranslatable("a quantifier over something other than a ticket list")
        if any(isinstance(n, ast.Quantifier) for n in ast.walk(node.cond)):
            raise _Untranslatable("nested quantifiers")
        parts = self.resolved[id(source)][1]
        self.fields.add(parts[0])
        key = "t." + ".".join(parts)
        inner = _Scope(node.var, parts)
        length = self.derive(ast.Call(node.pos, "len", (source,)), None)
        is_any = node.kind == "any"
        item_cond = self.cond(node.cond, want, inner)  # any: some T / every F; all: every T / some F

        def some(c):  # some item matches c
            if c is NEVER:
                return NEVER
            if c is ALWAYS:
                return {"$gt": {length: 0}}
            return {"$iany": {key: c}}

        def every(c):  # the list is present and every item matches c (true for an empty list)
            if c is NEVER:
                return {length: 0}
            if c is ALWAYS:
                return _ex(key)
            return _and([_ex(key), _or([{length: 0}, {"$iall": {key: c}}])])

        if is_any:  # true: some item true; false: every item false
            return some(item_cond) if want else every(item_cond)
        return every(item_cond) if want else some(item_cond)


def ruleset_definition(compiled, checked, vocabulary=None):
    """(definition, rules, translator): the durable-rules JSON ruleset of a compiled policy edition.

    `definition` maps rule names ("<stage>#<index>") to {"all": [{"m": condition}]} (plain JSON;
    the actions are added when the ruleset is registered); `rules` maps the same names to
    (stage, index)."""
    from ..tickets import vocabulary as _vocabulary

    tr = _Translator(checked, vocabulary or _vocabulary())
    definition, rules = {}, {}
    for stage, attr in STAGES:
        compiled_rules = getattr(compiled, attr)
        base = ("billing", "rates") if stage == "billing" else (stage,)
        for i, rule in enumerate(compiled_rules):
            expr = checked.exprs.get(base + (i, "when"))
            if expr is not None and rule.id != _rule_id(checked.data, base, i):
                raise DurableBackendError(f"rule {rule.id} does not match the policy file")
            condition = ALWAYS if expr is None else tr.cond(expr.tree, True)
            if condition is NEVER:
                continue
            name = f"{stage}#{i}"
            definition[name] = {"all": [{"m": _and([{"_st": stage}, condition])}]}
            rules[name] = (stage, i)
    return definition, rules, tr


def _rule_id(data, base, i):
    node = data
    for key in base:
        node = (node or {}).get(key)
    return (node or [])[i].get("id")


# -- the executor ---------------------------------------------------------------------------------

def _checked_for(compiled, files=()):
    """Re-run stages 1-4 on the file of a compiled edition (the compiled policy keeps no trees)."""
    from ..check import check_policy
    from ..load import load_yaml

    candidates = [Path(f) for f in files] + [Path(compiled.file)]
    for path in candidates:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if compiled.content_hash and hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] != compiled.content_hash:
            continue
        checked = check_policy(load_yaml(text, compiled.file))
        if checked.errors:
            raise DurableBackendError(f"{compiled.file}: the policy no longer checks")
        return checked
    raise DurableBackendError(f"cannot re-read the policy file of '{compiled.id}' ({compiled.file}) "
                              "with the content that was compiled")


class _Edition:
    """One compiled edition as a registered durable ruleset."""

    def __init__(self, host, name, compiled, checked):
        self.compiled = compiled
        self.name = name
        definition, self.rules, tr = ruleset_definition(compiled, checked)
        self.definition = copy.deepcopy(definition)
        self.fired = []
        for rule_name in definition:
            definition[rule_name]["run"] = self._action(rule_name)
        try:
            host.register_rulesets({name: definition})
        except Exception as exc:  # durable refuses the definition: a translation defect, named
            raise DurableBackendError(f"durable-rules refused the ruleset of '{compiled.id}': {exc}") from exc
        self.fields = sorted(tr.fields)
        self.evaluator = _Evaluator(tr.resolved, tr.defs, compiled.calendars, compiled.timezone)
        self.plain = [d for d in tr.derived if d.item_of is None and not d.staged]
        self.staged = [d for d in tr.derived if d.item_of is None and d.staged]
        per_item = {}
        for d in tr.derived:
            if d.item_of is not None:
                per_item.setdefault(d.item_of, []).append(d)
        self.per_item = sorted(per_item.items())

    def _action(self, rule_name):
        fired = self.fired

        def action(c):
            fired.append(rule_name)
        return action

    def base_fact(self, ticket):
        t = {k: _to_json(ticket[k]) for k in self.fields if ticket.get(k) is not None}
        ev = self.evaluator
        for parts, entries in self.per_item:
            items, converted = ticket, t
            for part in parts:
                items = items.get(part) if isinstance(items, dict) else None
                converted = converted.get(part) if isinstance(converted, dict) else None
            if not isinstance(items, list):
                continue
            for item, out in zip(items, converted):
                for d in entries:
                    value = ev.value(d.node, ticket, {}, {d.var: item})
                    if value is not MISSING:
                        out[d.key] = _to_json(value)
        fact = {"t": t}
        for d in self.plain:
            value = ev.value(d.node, ticket, {}, {})
            if value is not MISSING:
                fact[d.key] = _to_json(value)
        return fact


class DurablePolicy:
    """A policy (engine.api.Policy, all its editions) decided by durable-rules.

    `evaluate(ticket, as_of=None, explain=True, edition=None)` has the signature of
    Policy.evaluate, validates the ticket the same way (TicketError) and returns the decision
    without explanation, missing facts or lifecycle. Thread-safe (one lock: durable's state is
    not)."""

    _names = itertools.count()

    def __init__(self, policy, files=()):
        self.policy = policy
        self.host = _Host()
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self.editions = {}
        for _, compiled in policy.editions:
            name = f"slapolicy_{next(self._names)}"
            self.editions[id(compiled)] = _Edition(self.host, name, compiled, _checked_for(compiled, files))

    def definitions(self) -> dict:
        """The durable-rules ruleset definitions (plain JSON), by ruleset name."""
        return {e.name: e.definition for e in self.editions.values()}

    def evaluate(self, ticket: dict, as_of=None, explain: bool = True, edition: str | None = None) -> dict:
        from ..tickets import validate_ticket

        normal = validate_ticket(ticket)
        compiled, why = self.policy.select(normal["created_at"], edition)
        with self._lock:
            decision = self._decide(self.editions[id(compiled)], normal)
        if len(self.policy.editions) > 1 or edition is not None:
            decision["policy"]["edition"] = compiled.effective_from or "current"
            decision["policy"]["edition_chosen"] = why
        return decision

    def _run_stage(self, edition, sid, stage, base, stage_values):
        fact = dict(base)
        fact.update(sid=sid, id=stage, _st=stage)
        for key, value in stage_values.items():
            fact["_" + key] = _NONE if value is None else value
        for d in edition.staged:
            value = edition.evaluator.value(d.node, self._ticket, stage_values, {})
            if value is not MISSING:
                fact[d.key] = _to_json(value)
        del edition.fired[:]
        try:
            self.host.assert_fact(edition.name, fact)
        except _durable.MessageNotHandledException:
            pass
        except _durable.MessageObservedException:  # pragma: no cover - each stage's fact has its own id
            raise DurableBackendError(f"durable-rules saw the {stage} fact twice")
        except MemoryError as exc:  # the 1,024-session cap
            raise DurableBackendError(f"durable-rules is out of sessions: {exc!r}") from None
        # a set: durable splits an `$or` into branches and runs the action once per matching branch
        return sorted({edition.rules[name][1] for name in edition.fired})

    def eligibility_and_tier(self, ticket: dict, edition: str | None = None) -> tuple:
        """(eligibility status, tier id) only: the acceptance, scope and tier stages (bench/peers.py)."""
        from ..tickets import validate_ticket

        normal = validate_ticket(ticket)
        compiled, _ = self.policy.select(normal["created_at"], edition)
        chosen = self.editions[id(compiled)]
        with self._lock:
            self._ticket = normal
            sid = str(next(self._sids))
            try:
                _, status, _, tier = self._first_stages(chosen, sid, chosen.base_fact(normal), {}, lambda ids: None)
            finally:
                self._delete(chosen, sid)
        return status, tier.id if tier else None

    def _first_stages(self, edition, sid, base, stage, rely):
        """Stages 1-3 (acceptance, scope, tier): (accepted, status, reasons, tier); fills `stage`."""
        compiled = edition.compiled
        refusals = [compiled.acceptance[i] for i in self._run_stage(edition, sid, "acceptance", base, stage)]
        accepted = not refusals
        stage["accepted"] = accepted
        if accepted:
            fired = self._run_stage(edition, sid, "scope", base, stage)
            chosen = compiled.scope[fired[0]] if fired else None
            status, reasons = (chosen.status if chosen else None), [chosen]
        else:
            status, reasons = "not_accepted", refusals
        for r in reasons:
            if r is not None:
                rely(r.assumptions)
        stage["eligibility"] = status
        tier = None
        if accepted:
            fired = self._run_stage(edition, sid, "tier_rules", base, stage)
            if fired:
                rule = compiled.tier_rules[fired[0]]
                tier = compiled.tiers[rule.tier]
                rely(rule.assumptions)
                rely(tier.assumptions)
        stage["tier"] = tier.id if tier else None
        return accepted, status, reasons, tier

    def _delete(self, edition, sid):
        try:
            self.host.delete_state(edition.name, sid)
        except Exception:  # no fact reached the session (durable creates it on the first assert)
            pass

    def _decide(self, edition, ticket):
        compiled = edition.compiled
        tz = compiled.timezone
        self._ticket = ticket
        sid = str(next(self._sids))
        base = edition.base_fact(ticket)
        relied = {}

        def rely(ids):
            for a in ids:
                relied[a] = True
        try:
            stage = {}
            accepted, status, reasons, tier = self._first_stages(edition, sid, base, stage, rely)
            deadlines = compute_deadlines(tier, ticket["created_at"], tz)  # the engine's: the calendar is shared
            for d in tier.deadlines if tier is not None else ():
                rely(d.assumptions)
            delays = []
            if accepted:
                for i in self._run_stage(edition, sid, "delay_reasons", base, stage):
                    rule = compiled.delay_reasons[i]
                    rely(rule.assumptions)
                    delays.append({"code": rule.code, "rule": rule.id, "source": rule.source,
                                   "message": rule.message or rule.code.replace("_", " ")})
            notices = []
            if compiled.notices:
                for i in self._run_stage(edition, sid, "notices", base, stage):
                    rule = compiled.notices[i]
                    rely(rule.assumptions)
                    notices.append({"rule": rule.id, "source": rule.source, "message": rule.message})
            billing = None
            if compiled.billing_minimum is not None or compiled.billing_rates:
                rates = []
                if accepted and compiled.billing_rates:
                    rates = [compiled.billing_rates[i] for i in self._run_stage(edition, sid, "billing", base, stage)]
                for r in rates:
                    rely(r.assumptions)
                minimum = compiled.billing_minimum or {}
                billing = {"minimum_minutes": minimum.get("value"),
                           "minimum_source": str(minimum.get("source", "")) or None,
                           "rate_multiplier": max([r.multiplier for r in rates], default=1),
                           "rates": [{"rule": r.id, "source": r.source, "multiplier": r.multiplier, "message": r.message}
                                     for r in rates]}
        finally:
            self._delete(edition, sid)
        decision = {
            "ticket": ticket.get("id"),
            "policy": {"id": compiled.id, "version": compiled.version, "hash": compiled.content_hash,
                       **({"effective_from": compiled.effective_from} if compiled.effective_from else {})},
            "eligibility": {"status": status,
                            "reasons": [{"rule": r.id, "source": r.source, "message": r.message or _status_text(r)}
                                        for r in reasons if r is not None]},
            "tier": {"id": tier.id, "name": tier.name, "source": tier.source} if tier else None,
            "deadlines": deadlines,
            "delay_reasons": delays,
            "notices": notices,
        }
        if billing is not None:
            decision["billing"] = billing
        decision["assumptions"] = [{"id": a, "clause": str(compiled.assumptions[a]["clause"]),
                                    "text": compiled.assumptions[a]["text"]}
                                   for a in relied if a in compiled.assumptions]
        decision["explanation"] = []
        decision["backend"] = BACKEND
        return decision






def load(id_or_path: str, policies_dir=None) -> DurablePolicy:
    """load_policy + the durable rulesets of every edition."""
    from ..api import edition_files, load_policy, resolve_policy_path

    policy = load_policy(id_or_path, policies_dir)
    path = resolve_policy_path(str(id_or_path), policies_dir)
    return DurablePolicy(policy, [path] + edition_files(path))
