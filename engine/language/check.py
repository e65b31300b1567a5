"""Stage 4: check a schema-valid policy: references, ids, calendars, targets and every expression.

Named passes (each adds diagnostics; all problems are reported at once, sorted by position):
  ids         unique rule ids, known tiers / calendars / assumptions, final default rules
  calendars   each calendar spec builds (slapolicy.calendar)
  targets     target texts parse, business units name a calendar
  expressions parse (stage 3), resolve names against the ticket vocabulary, definitions and stage
              values, check enum literals ("did you mean"), operand and argument types
  usage       unused calendars / assumptions / definitions (warnings)
The result is a CheckedPolicy: the data plus the typed trees and name resolutions the compiler uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slapolicy.language import ast
from slapolicy.language.diagnostics import ERROR, WARNING, Diagnostic
from slapolicy.language.load import Loaded, expr_span  # noqa: F401 (expr_span: also imported from here)
from slapolicy.language.parse import ExprSyntaxError, parse_expression
from slapolicy.language.schema import did_you_mean
from slapolicy.language.source import Span
from slapolicy.language.types import ANY, BOOL, DATE, DURATION, INT, NUMBER, STRING, TIMESTAMP, Type, enum
from slapolicy.language.vocabulary import Vocabulary, base, policy_vocabulary

ELIGIBILITY = ("in_scope", "out_of_scope", "consultation_only", "not_accepted")
# stage -> the stage values visible to its rules
STAGES = ("definitions", "acceptance", "scope", "tier_rules", "delay_reasons", "notices", "billing")
STAGE_VALUES = {
    "accepted": ("scope", "tier_rules", "delay_reasons", "notices", "billing", "lifecycle"),
    "eligibility": ("tier_rules", "delay_reasons", "notices", "billing", "lifecycle"),
    "tier": ("delay_reasons", "notices", "billing", "lifecycle"),
}
RULE_LISTS = ("acceptance", "scope", "tier_rules", "delay_reasons", "notices")
EVENT_TYPES = ("agent_replied", "customer_replied", "status_changed", "escalated", "severity_changed", "resolved", "reopened")


def _value_fits(typ, value) -> bool:
    if typ.values is not None:
        return value in typ.values
    return {"bool": isinstance(value, bool), "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str)}.get(typ.kind, True)


@dataclass
class Expr:
    """A parsed, checked expression and where it came from."""

    tree: ast.Node
    path: tuple  # key path in the policy data
    stage: str
    resolved: dict = field(default_factory=dict)  # id(Path node) -> ("field"|"def"|"stage"|"var", ...)
    defs_used: set = field(default_factory=set)


@dataclass
class CheckedPolicy:
    loaded: Loaded
    data: dict
    exprs: dict  # key path -> Expr
    calendars: dict  # name -> slapolicy.calendar.Calendar
    targets: dict  # (tier, target name) -> Target or None (no guarantee)
    diagnostics: list
    vocabulary: Vocabulary | None = None  # the ticket vocabulary the names resolved against (merged)

    @property
    def errors(self):
        return [d for d in self.diagnostics if d.severity == ERROR]


class Checker:
    def __init__(self, loaded: Loaded, vocab: Vocabulary | None = None):
        self.loaded = loaded
        self.data = loaded.data
        self.diags: list[Diagnostic] = []
        self.vocabulary = vocab or base()
        self.vocab = self.vocabulary.type
        self.exprs: dict = {}
        self.calendars: dict = {}
        self.targets: dict = {}
        self.def_types: dict = {}
        self.def_state: dict = {}  # name -> "checking" | "done"
        self.used_calendars: set = set()
        self.used_assumptions: set = set()
        self.used_defs: set = set()
        self.holiday_source = None  # the calendars' HolidayStore (slapolicy.calendar.holistore), or the package
        tiers = self.data.get("tiers") or {}
        self.tier_type = enum(tiers.keys(), "tier")

    # -- helpers -----------------------------------------------------------------------------
    def error(self, code, message, span, hint=None, severity=ERROR):
        self.diags.append(Diagnostic(code, message, span, severity, hint))

    def warn(self, code, message, span, hint=None):
        self.error(code, message, span, hint, WARNING)

    def at(self, path):
        return self.loaded.span(tuple(path))

    # -- passes ------------------------------------------------------------------------------
    def run(self) -> CheckedPolicy:
        self.check_ids()
        self.check_calendars()
        self.check_targets()
        self.check_definitions()
        self.check_rules()
        self.check_usage()
        return CheckedPolicy(self.loaded, self.data, self.exprs, self.calendars, self.targets, self.diags,
                             self.vocabulary)

    def check_ids(self):
        data = self.data
        assumption_ids = set()
        for i, a in enumerate(data.get("assumptions") or []):
            if a["id"] in assumption_ids:
                self.error("duplicate-id", f"assumption id '{a['id']}' is used twice", self.at(("assumptions", i, "id")))
            assumption_ids.add(a["id"])
        self.assumption_ids = assumption_ids
        seen = {}
        nested = {"billing": ("billing", "rates"), "lifecycle": ("lifecycle", "rules"),
                  "pauses": ("lifecycle", "pauses")}
        for name in RULE_LISTS + tuple(nested):
            base = nested.get(name, (name,))
            rules = (data.get(base[0]) or {}).get(base[1]) or [] if len(base) == 2 else data.get(name) or []
            for i, rule in enumerate(rules):
                rid = rule["id"]
                if rid in seen:
                    self.error("duplicate-id", f"rule id '{rid}' is already used at {seen[rid]}", self.at(base + (i, "id")))
                else:
                    seen[rid] = str(self.at(base + (i, "id")))
                self.check_assumption_refs(rule, base + (i,))
        for list_name in ("scope", "tier_rules"):
            rules = data.get(list_name) or []
            if rules and "when" in rules[-1]:
                self.error("no-default", f"the last rule of '{list_name}' must have no 'when', so that every "
                           "ticket gets a result", self.at((list_name, len(rules) - 1)))
            for i, rule in enumerate(rules[:-1]):
                if "when" not in rule:
                    self.warn("unreachable-rule", f"rule '{rule['id']}' has no 'when', so the rules after it "
                              "in '{list_name}' never apply", self.at((list_name, i, "id")))
        tiers = data.get("tiers") or {}
        for i, rule in enumerate(data.get("tier_rules") or []):
            if rule["tier"] not in tiers:
                hint = did_you_mean(rule["tier"], tiers)
                self.error("unknown-tier", f"tier '{rule['tier']}' is not defined under 'tiers'",
                           self.at(("tier_rules", i, "tier")), f"did you mean '{hint}'?" if hint else None)
        used_tiers = {r["tier"] for r in data.get("tier_rules") or []}
        for tier_id in tiers:
            self.check_assumption_refs(tiers[tier_id], ("tiers", tier_id))
            if tier_id not in used_tiers:
                self.warn("unused-tier", f"tier '{tier_id}' is never assigned by a tier rule",
                          self.loaded.key_span(("tiers", tier_id)))
        for name, d in (data.get("definitions") or {}).items():
            self.check_assumption_refs(d, ("definitions", name))
        for name, c in (data.get("calendars") or {}).items():
            self.check_assumption_refs(c, ("calendars", name))

    def check_assumption_refs(self, obj, path):
        for j, ref in enumerate(obj.get("assumptions") or []):
            self.used_assumptions.add(ref)
            if ref not in self.assumption_ids:
                hint = did_you_mean(ref, self.assumption_ids)
                self.error("unknown-assumption", f"assumption '{ref}' is not declared under 'assumptions'",
                           self.at(tuple(path) + ("assumptions", j)), f"did you mean '{hint}'?" if hint else None)

    def check_calendars(self):
        from slapolicy.calendar import Calendar, CalendarError

        tz = self.data.get("timezone")
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(tz)
        except Exception:
            self.error("bad-timezone", f"'{tz}' is not an IANA time zone", self.at(("timezone",)))
            return
        for name, spec in (self.data.get("calendars") or {}).items():
            clean = {k: v for k, v in spec.items() if k not in ("source", "assumptions", "description")}
            try:
                self.calendars[name] = Calendar.from_spec(clean, default_timezone=tz, base_dir=_policy_dir(self.loaded),
                                                          holiday_source=self.holiday_source)
            except CalendarError as exc:
                key = getattr(exc, "key_path", None) or getattr(exc, "key", None) or ()
                if isinstance(key, str):
                    key = tuple(key.split(".")) if key else ()
                self.error("bad-calendar", f"calendar '{name}': {exc}", self.at(("calendars", name) + tuple(key)))

    def check_targets(self):
        from slapolicy.calendar import CalendarError, parse_target

        for tier_id, tier in (self.data.get("tiers") or {}).items():
            for tname, target in (tier.get("targets") or {}).items():
                path = ("tiers", tier_id, "targets", tname)
                self.check_assumption_refs(target, path)
                text = target.get("within") or target.get("from")
                parsed = None
                if text is not None:
                    key = "within" if "within" in target else "from"
                    try:
                        parsed = parse_target(str(text))
                    except CalendarError as exc:
                        self.error("bad-target", str(exc), self.at(path + (key,)))
                        continue
                    if parsed.unit.startswith("business") and "calendar" not in target:
                        self.error("missing-calendar", f"'{text}' counts business time: name the 'calendar' it "
                                   "counts in", self.at(path))
                cal = target.get("calendar")
                if cal is not None:
                    self.used_calendars.add(cal)
                    if cal not in (self.data.get("calendars") or {}):
                        hint = did_you_mean(cal, self.data.get("calendars") or {})
                        self.error("unknown-calendar", f"calendar '{cal}' is not defined under 'calendars'",
                                   self.at(path + ("calendar",)), f"did you mean '{hint}'?" if hint else None)
                self.targets[(tier_id, tname)] = parsed

    def check_definitions(self):
        for name in self.data.get("definitions") or {}:
            self.definition_type(name, None)

    def definition_type(self, name, use_span):
        state = self.def_state.get(name)
        if state == "done":
            return self.def_types.get(name, ANY)
        if state == "checking":
            if use_span is not None:
                self.error("cyclic-definition", f"definition '{name}' refers to itself", use_span)
            return ANY
        self.def_state[name] = "checking"
        path = ("definitions", name, "expr")
        typ = self.check_expr(path, "definitions", want_bool=False)
        self.def_types[name] = typ
        self.def_state[name] = "done"
        return typ

    def check_rules(self):
        for list_name in RULE_LISTS:
            for i, rule in enumerate(self.data.get(list_name) or []):
                if "when" in rule:
                    self.check_expr((list_name, i, "when"), list_name, want_bool=True)
        for i, rate in enumerate((self.data.get("billing") or {}).get("rates") or []):
            self.check_expr(("billing", "rates", i, "when"), "billing", want_bool=True)
        self.check_lifecycle()

    def check_lifecycle(self):
        from slapolicy.calendar import CalendarError, parse_target

        for i, rule in enumerate((self.data.get("lifecycle") or {}).get("rules") or []):
            base = ("lifecycle", "rules", i)
            if "when" in rule:
                self.check_expr(base + ("when",), "lifecycle", want_bool=True)
            if "unless" in rule:
                event, _, duration = rule["unless"].strip().partition(" within ")
                if event.strip() not in EVENT_TYPES:
                    hint = did_you_mean(event.strip(), EVENT_TYPES)
                    self.error("unknown-event", f"'{event.strip()}' is not an event type", self.at(base + ("unless",)),
                               f"did you mean '{hint}'?" if hint else f"event types: {', '.join(EVENT_TYPES)}")
                try:
                    parse_target(duration.strip())
                except CalendarError as exc:
                    self.error("bad-target", str(exc), self.at(base + ("unless",)))
            for key, value in (rule.get("set") or {}).items():
                typ = self.vocab
                for part in key.split("."):
                    typ = typ.field(part) if typ is not None and typ.kind == "object" else None
                if typ is None:
                    hint = did_you_mean(key, self.all_paths())
                    self.error("unknown-field", f"'{key}' is not a ticket field", self.loaded.key_span(base + ("set", key)),
                               f"did you mean '{hint}'?" if hint else None)
                elif not _value_fits(typ, value):
                    self.error("type-mismatch", f"'{key}' cannot be set to {value!r} ({typ} expected)",
                               self.at(base + ("set", key)))

    def check_usage(self):
        for name in self.data.get("calendars") or {}:
            if name not in self.used_calendars:
                self.warn("unused-calendar", f"calendar '{name}' is used by no target and no is_open()",
                          self.loaded.key_span(("calendars", name)))
        for i, a in enumerate(self.data.get("assumptions") or []):
            if a["id"] not in self.used_assumptions:
                self.warn("unused-assumption", f"assumption '{a['id']}' is relied on by no rule",
                          self.at(("assumptions", i, "id")))
        for name in self.data.get("definitions") or {}:
            if name not in self.used_defs:
                self.warn("unused-definition", f"definition '{name}' is used by no rule",
                          self.loaded.key_span(("definitions", name)))

    # -- expressions -------------------------------------------------------------------------
    def check_expr(self, path, stage, want_bool):
        text = self.data
        for key in path:
            text = text[key]
        text = str(text)
        try:
            tree = parse_expression(text)
        except ExprSyntaxError as exc:
            span = expr_span(self.loaded, path, (exc.line, exc.col, exc.line, exc.col + exc.length))
            self.error(exc.code, exc.message, span)
            return ANY
        expr = Expr(tree, tuple(path), stage)
        self.exprs[tuple(path)] = expr
        typ = self.type_of(tree, expr, {})
        if want_bool and typ.kind not in ("bool", "any"):
            self.error("not-a-condition", f"a 'when' must be a condition (true/false), this is {typ}",
                       self.span(expr, tree))
        return typ

    def span(self, expr: Expr, node) -> Span:
        return expr_span(self.loaded, expr.path, node.pos)

    def type_of(self, node, expr: Expr, scope: dict) -> Type:
        method = getattr(self, "t_" + type(node).__name__)
        return method(node, expr, scope)

    def t_Literal(self, node, expr, scope):
        return {"string": STRING, "number": INT if isinstance(node.value, int) else NUMBER, "bool": BOOL,
                "date": DATE, "timestamp": TIMESTAMP, "duration": DURATION}[node.type]

    def t_Path(self, node, expr, scope):
        head, rest = node.parts[0], node.parts[1:]
        if head in scope:  # quantifier variable
            expr.resolved[id(node)] = ("var", head, rest)
            return self.walk_fields(scope[head], rest, node, expr, head)
        field_type = self.vocab.field(head)
        if field_type is not None:
            expr.resolved[id(node)] = ("field", node.parts)
            return self.walk_fields(field_type, rest, node, expr, "")
        defs = self.data.get("definitions") or {}
        if head in defs and not rest:
            if expr.stage == "definitions" and head == expr.path[1]:
                self.error("cyclic-definition", f"definition '{head}' refers to itself", self.span(expr, node))
                return ANY
            self.used_defs.add(head)
            expr.resolved[id(node)] = ("def", head)
            expr.defs_used.add(head)
            typ = self.definition_type(head, self.span(expr, node))
            sub = self.exprs.get(("definitions", head, "expr"))
            if sub is not None:
                expr.defs_used |= sub.defs_used
            return typ
        if head in STAGE_VALUES and not rest:
            if expr.stage not in STAGE_VALUES[head]:
                self.error("stage-order", f"'{head}' is decided after the '{expr.stage}' stage and cannot be used here",
                           self.span(expr, node))
                return ANY
            expr.resolved[id(node)] = ("stage", head)
            return {"accepted": BOOL, "eligibility": enum(ELIGIBILITY, "eligibility"), "tier": self.tier_type}[head]
        names = self.vocab.field_names() + list(defs) + [k for k, v in STAGE_VALUES.items() if expr.stage in v]
        hint = did_you_mean(node.dotted, self.all_paths() + list(defs)) or did_you_mean(head, names)
        self.error("unknown-field", f"'{node.dotted}' is not a ticket field, a definition or a stage value",
                   self.span(expr, node), f"did you mean '{hint}'?" if hint else None)
        return ANY

    def all_paths(self):
        out, stack = [], [("", self.vocab)]
        while stack:
            prefix, typ = stack.pop()
            for name, sub in typ.fields or ():
                dotted = f"{prefix}.{name}" if prefix else name
                out.append(dotted)
                if sub.kind == "object":
                    stack.append((dotted, sub))
        return out

    def walk_fields(self, typ, rest, node, expr, prefix):
        for i, part in enumerate(rest):
            if typ.kind == "any":
                return ANY
            sub = typ.field(part) if typ.kind == "object" else None
            if sub is None:
                so_far = ".".join(node.parts[: len(node.parts) - len(rest) + i])
                choices = typ.field_names()
                hint = did_you_mean(part, choices)
                self.error("unknown-field", f"'{node.dotted}': '{so_far}' has no field '{part}'"
                           + (f"; its fields: {', '.join(choices)}" if choices and not hint else ""),
                           self.span(expr, node), f"did you mean '{so_far}.{hint}'?" if hint else None)
                return ANY
            typ = sub
        return typ

    def t_ListExpr(self, node, expr, scope):
        types = [self.type_of(item, expr, scope) for item in node.items]
        item = types[0] if types else ANY
        return Type("list", item=item)

    def t_Not(self, node, expr, scope):
        self.expect_bool(self.type_of(node.operand, expr, scope), node.operand, expr, "not")
        return BOOL

    def t_BoolOp(self, node, expr, scope):
        for operand in node.operands:
            self.expect_bool(self.type_of(operand, expr, scope), operand, expr, node.op)
        return BOOL

    def expect_bool(self, typ, node, expr, op):
        if typ.kind not in ("bool", "any"):
            self.error("type-mismatch", f"'{op}' needs a condition (true/false), not {typ}", self.span(expr, node))

    def t_Compare(self, node, expr, scope):
        left = self.type_of(node.left, expr, scope)
        right = self.type_of(node.right, expr, scope)
        if ANY in (left, right) or left.kind == "any" or right.kind == "any":
            return BOOL
        self.check_enum_literal(left, node.right, expr)
        self.check_enum_literal(right, node.left, expr)
        numeric = {"int", "number"}
        if left.kind in numeric and right.kind in numeric:
            return BOOL
        if left.kind != right.kind:
            hint = "use date(...) to take the date of a timestamp" if {left.kind, right.kind} == {"date", "timestamp"} else None
            self.error("type-mismatch", f"cannot compare {left} with {right}", self.span(expr, node), hint)
            return BOOL
        if node.op not in ("==", "!=") and left.kind in ("string", "bool", "list", "object"):
            self.error("type-mismatch", f"'{node.op}' does not order {left} values; use == or !=", self.span(expr, node))
        return BOOL

    def check_enum_literal(self, typ, other, expr):
        if typ.values is None or not isinstance(other, ast.Literal):
            return
        if other.type != "string":
            self.error("type-mismatch", f"an enum is compared with strings, not {other.type}", self.span(expr, other))
            return
        if other.value not in typ.values:
            hint = did_you_mean(other.value, typ.values)
            shown = ", ".join(sorted(typ.values))
            if len(shown) > 200:
                shown = shown[:197] + "..."
            self.error("unknown-enum-value", f"'{other.value}' is not a value of this field",
                       self.span(expr, other), f"did you mean '{hint}'?" if hint else f"expected one of: {shown}")

    def t_Membership(self, node, expr, scope):
        item = self.type_of(node.item, expr, scope)
        container = self.type_of(node.container, expr, scope)
        if container.kind == "any" or item.kind == "any":
            return BOOL
        if container.kind != "list":
            self.error("type-mismatch", f"'in' needs a list on its right, not {container}", self.span(expr, node.container))
            return BOOL
        element = container.item or ANY
        if isinstance(node.container, ast.ListExpr):
            for lit in node.container.items:
                self.check_enum_literal(item, lit, expr)
                lit_type = self.type_of(lit, expr, scope)
                if not self.comparable(item, lit_type):
                    self.error("type-mismatch", f"list item is {lit_type}, but the value tested is {item}", self.span(expr, lit))
        elif not self.comparable(item, element):
            self.error("type-mismatch", f"cannot look for {item} in a list of {element}", self.span(expr, node))
        if isinstance(node.item, ast.Literal):
            self.check_enum_literal(element, node.item, expr)
        return BOOL

    @staticmethod
    def comparable(a, b):
        if "any" in (a.kind, b.kind):
            return True
        return a.kind == b.kind or {a.kind, b.kind} <= {"int", "number"}

    def t_Arith(self, node, expr, scope):
        left = self.type_of(node.left, expr, scope)
        right = self.type_of(node.right, expr, scope)
        if "any" in (left.kind, right.kind):
            return ANY
        if left.kind in ("int", "number") and right.kind in ("int", "number"):
            return NUMBER if "number" in (left.kind, right.kind) else INT
        if left.kind in ("date", "timestamp") and right.kind == "duration":
            if left.kind == "date" and isinstance(node.right, ast.Literal):
                d = node.right.value
                if d.seconds % 86400:
                    self.error("type-mismatch", f"a date moves by whole days, weeks, months or years, not '{d}'",
                               self.span(expr, node.right))
            return left
        self.error("type-mismatch", f"cannot compute {left} {node.op} {right}", self.span(expr, node))
        return ANY

    FUNCTIONS = {
        "days_between": ((("date", "timestamp"), ("date", "timestamp")), INT),
        "hours_between": ((("timestamp",), ("timestamp",)), NUMBER),
        "date": ((("timestamp",),), DATE),
        "lower": ((("string",),), STRING),
        "blank": ((("string",),), BOOL),
        "len": ((("list", "string"),), INT),
        "exists": ((None,), BOOL),
        "is_open": ((("timestamp",), ("string",)), BOOL),
    }

    def t_Call(self, node, expr, scope):
        sig = self.FUNCTIONS.get(node.name)
        if sig is None:
            hint = did_you_mean(node.name, list(self.FUNCTIONS) + ["any", "all"])
            self.error("unknown-function", f"'{node.name}' is not a function of the language", self.span(expr, node),
                       f"did you mean '{hint}'?" if hint else f"functions: {', '.join(self.FUNCTIONS)}, any, all")
            for a in node.args:
                self.type_of(a, expr, scope)
            return ANY
        params, result = sig
        if len(node.args) != len(params):
            self.error("arity", f"{node.name}() takes {len(params)} argument{'s' if len(params) != 1 else ''}, "
                       f"got {len(node.args)}", self.span(expr, node))
        for arg, kinds in zip(node.args, params):
            typ = self.type_of(arg, expr, scope)
            if node.name == "exists" and not isinstance(arg, ast.Path):
                self.error("type-mismatch", "exists() takes a field, e.g. exists(form.phone)", self.span(expr, arg))
            if kinds and typ.kind != "any" and typ.kind not in kinds:
                self.error("type-mismatch", f"{node.name}() needs {' or '.join(kinds)} here, not {typ}", self.span(expr, arg))
        if node.name == "is_open" and len(node.args) == 2:
            cal = node.args[1]
            if not isinstance(cal, ast.Literal) or cal.type != "string":
                self.error("type-mismatch", "is_open() takes a calendar name as a string literal", self.span(expr, cal))
            else:
                self.used_calendars.add(cal.value)
                if cal.value not in (self.data.get("calendars") or {}):
                    hint = did_you_mean(cal.value, self.data.get("calendars") or {})
                    self.error("unknown-calendar", f"calendar '{cal.value}' is not defined under 'calendars'",
                               self.span(expr, cal), f"did you mean '{hint}'?" if hint else None)
        return result

    def t_Quantifier(self, node, expr, scope):
        source = self.type_of(node.source, expr, scope)
        if source.kind not in ("list", "any"):
            self.error("type-mismatch", f"{node.kind}() goes over a list, not {source}", self.span(expr, node.source))
            item = ANY
        else:
            item = source.item or ANY
        inner = dict(scope)
        inner[node.var] = item
        self.expect_bool(self.type_of(node.cond, expr, inner), node.cond, expr, node.kind)
        return BOOL


def check_policy(loaded: Loaded, vocab: Vocabulary | None = None, repository=None,
                 holiday_source=None) -> CheckedPolicy:
    """Check a schema-valid policy; its names resolve against `vocab`, by default the contract vocabulary
    merged with the repository's vocabulary.yaml (or `repository`, its (text, label)) and the policy's
    `vocabulary:` (slapolicy.language.vocabulary). The calendars take their holidays from `holiday_source`
    (a slapolicy.calendar.holistore.HolidayStore) when given, else from the `holidays` package."""
    problems = []
    if vocab is None:
        vocab, problems = policy_vocabulary(loaded, repository)
    checker = Checker(loaded, vocab)
    checker.holiday_source = holiday_source
    checker.diags.extend(problems)
    return checker.run()


def _policy_dir(loaded):
    """The folder a calendar's relative holidays_file is read from: the policy file's."""
    from pathlib import Path

    return Path(loaded.file).parent if loaded.file and not loaded.file.startswith("<") else None
