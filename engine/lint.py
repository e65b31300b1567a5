"""`slapolicy lint`: static analysis of a policy from the declared fact domains.

The analysis runs the policy's own compiled rules (the evaluator's generated functions,
engine.codegen, the same ones `Policy.evaluate` uses) over tickets drawn from the domains of the
facts its expressions read, and derives findings from which rule fired for which ticket:

  gap             (error)    accepted tickets that no scope / tier rule decides (a list without a default)
  shadowed-rule   (warning)  a first-match rule whose condition holds only where an earlier rule fires first
  never-true      (warning)  a rule whose condition holds for no ticket of the domains
  overlap         (info)     two first-match rules with different outcomes that both hold on some tickets
  unclassified-topics        topics no scope rule names: the default rule decides them
  tier-without-targets       a tier without a first_response target: its tickets get no deadline
  missing-source  (warning)  a rule, tier, target, calendar or definition with a blank `source`
  unused-* / unreachable-rule  the checker's warnings, repeated here

Fact domains (the "declared" ones: engine/schemas/ticket.schema.json plus the literals the policy
uses): enums reduce to the values the policy names plus one value it does not name (every unnamed
value behaves the same), booleans are true / false, integers are the boundaries of the literals they
are compared with within their schema range (severity 1..4, problems_count 0 / 1 / 2+), strings the
literals plus two other values (so that two fields can be equal or not), dates lie just before / on /
after the durations and dates the policy uses, `created_at` one instant per combination of open /
closed calendars, lists empty or with one item per literal. Every optional fact also takes the value
"missing" (unknown), exactly as a ticket without that field.

The ticket space of a first-match list is the product of the domains of the facts its rules read
(and, for tier rules that read `eligibility`, the scope rules' facts). Facts only the acceptance rules
read are not varied: each ticket is completed with values that let it be accepted (found by a search
over their domains), since only accepted tickets reach scope and tier rules. When the product is larger
than `limit`, a seeded sample is used instead (random tickets plus, for every rule, tickets built to
make it true), and the findings say so.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import Diagnostic
from .source import Span, excerpt

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
DEFAULT_LIMIT = 40_000
MISSING = None  # a fact's "missing" value: the ticket has no such field
BASE_DAY = dt.date(2026, 3, 11)  # a Wednesday; the day most example tickets are created on
REQUIRED_DEFAULTS = {"channel": "portal", "customer.segment": "commercial"}
CHECKER_WARNINGS = ("unused-calendar", "unused-assumption", "unused-definition", "unused-tier", "unreachable-rule")


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    span: Span
    rule: str | None = None
    example: dict | None = None  # a ticket (JSON) that shows the finding
    related: list = field(default_factory=list)  # ids of other rules involved
    count: int | None = None  # tickets concerned

    def sort_key(self):
        return (self.span.file, self.span.line, self.span.col, SEVERITY_ORDER[self.severity], self.code, self.message)

    def format(self, text: str | None = None) -> str:
        head = f"{self.span}: {self.severity}: {self.code}: {self.message}"
        snippet = excerpt(text, self.span)
        out = f"{head}\n{snippet}" if snippet else head
        if self.example is not None:
            out += "\n    example ticket: " + json.dumps(self.example, ensure_ascii=False, separators=(", ", ": "))
        return out

    def github(self) -> str:
        level = {"error": "error", "warning": "warning", "info": "notice"}[self.severity]
        return (f"::{level} file={_gh_prop(self.span.file)},line={self.span.line},col={self.span.col},"
                f"title={_gh_prop(self.code)}::{_gh_data(self.message)}")

    def to_json(self) -> dict:
        out = {"code": self.code, "severity": self.severity, "message": self.message,
               "file": self.span.file, "line": self.span.line, "col": self.span.col}
        if self.rule:
            out["rule"] = self.rule
        if self.related:
            out["related"] = list(self.related)
        if self.count is not None:
            out["tickets"] = self.count
        if self.example is not None:
            out["example"] = self.example
        return out


def _gh_data(text: str) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass
class LintResult:
    file: str
    text: str
    findings: list  # of Finding, sorted
    diagnostics: list = field(default_factory=list)  # check errors that stopped the analysis
    stats: dict = field(default_factory=dict)  # list name -> {"tickets": n, "space": n, "exhaustive": bool}
    compiled: object = None  # the compiled policy analysed (engine.compile.CompiledPolicy), if it checked

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == ERROR]


# -- facts the expressions read ----------------------------------------------------------------

def _field_type(dotted: str):
    from .tickets import vocabulary

    typ = vocabulary()
    for part in dotted.split("."):
        typ = typ.field(part) if typ is not None and typ.kind == "object" else None
    return typ


def _field_schema(dotted: str) -> tuple[dict, bool]:
    """(JSON Schema node, required) of a ticket field."""
    from .schema import schema_json

    node, required = schema_json("ticket"), True
    for part in dotted.split("."):
        required = required and part in (node.get("required") or ())
        node = (node.get("properties") or {}).get(part) or {}
    return node, required


class _Usage:
    """What a policy's expressions read: fields, the literals they meet, stage values."""

    def __init__(self, checked, paths=None):
        self.checked = checked
        self.literals: dict = {}  # dotted field -> set of literal values it is compared with
        self.item_literals: dict = {}  # list field -> {item field: set of literals}
        self.len_used: set = set()
        self.blank_used: set = set()
        self.lowered: set = set()
        self.durations: set = set()  # days
        self.day_counts: set = set()  # ints compared with days_between(...)
        self.calendars_open: set = set()  # calendars named in is_open()
        self.timestamps: set = set()
        if paths is None:
            exprs = list(checked.exprs.values())
        else:
            exprs = [checked.exprs[p] for p in paths if p in checked.exprs]
            exprs += [checked.exprs[("definitions", d, "expr")] for e in list(exprs) for d in sorted(e.defs_used)
                      if ("definitions", d, "expr") in checked.exprs]
        for expr in exprs:
            self._scan(expr)

    def _field(self, expr, node):
        """The dotted field a node reads (through lower()), or None."""
        if isinstance(node, ast.Call) and node.name in ("lower", "len", "blank") and node.args:
            inner = self._field(expr, node.args[0])
            if inner and node.name in ("len", "blank"):
                (self.len_used if node.name == "len" else self.blank_used).add(inner)
            if inner and node.name == "lower":
                self.lowered.add(inner)
            return inner if node.name == "lower" else None
        if isinstance(node, ast.Path):
            res = expr.resolved.get(id(node))
            if res and res[0] == "field":
                return ".".join(res[1])
        return None

    def _var_field(self, expr, node, quant_vars):
        if isinstance(node, ast.Path):
            res = expr.resolved.get(id(node))
            if res and res[0] == "var" and res[1] in quant_vars and res[2]:
                return quant_vars[res[1]], ".".join(res[2])
        return None

    def _scan(self, expr):
        quant_vars = {}
        for node in ast.walk(expr.tree):
            if isinstance(node, ast.Quantifier):
                src = self._field(expr, node.source)
                if src:
                    quant_vars[node.var] = src
            if isinstance(node, ast.Literal):
                if node.type == "duration":
                    self.durations.add(node.value)
                elif node.type == "timestamp":
                    self.timestamps.add(node.value)
            if isinstance(node, ast.Call) and node.name == "is_open" and len(node.args) == 2 \
                    and isinstance(node.args[1], ast.Literal):
                self.calendars_open.add(node.args[1].value)
            if isinstance(node, ast.Call):
                self._field(expr, node)
            pairs = []
            if isinstance(node, ast.Compare):
                pairs = [(node.left, [node.right]), (node.right, [node.left])]
                for side, other in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(side, ast.Call) and side.name == "days_between" and isinstance(other, ast.Literal) \
                            and other.type == "number":
                        self.day_counts.add(int(other.value))
            elif isinstance(node, ast.Membership):
                items = list(node.container.items) if isinstance(node.container, ast.ListExpr) else [node.container]
                pairs = [(node.item, items)]
                if isinstance(node.item, ast.Literal):
                    pairs.append((node.container, [node.item]))
            for side, others in pairs:
                lits = [o.value for o in others if isinstance(o, ast.Literal)]
                if not lits:
                    continue
                name = self._field(expr, side)
                if name:
                    self.literals.setdefault(name, set()).update(lits)
                    continue
                vf = self._var_field(expr, side, quant_vars)
                if vf:
                    self.item_literals.setdefault(vf[0], {}).setdefault(vf[1], set()).update(lits)

    def facts(self, paths) -> set:
        """Dotted ticket fields read by the expressions at `paths` (through definitions)."""
        out: set = set()
        seen: set = set()
        stack = [p for p in paths if p in self.checked.exprs]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            seen.add(path)
            expr = self.checked.exprs[path]
            for node in ast.walk(expr.tree):
                if isinstance(node, ast.Path):
                    res = expr.resolved.get(id(node))
                    if not res:
                        continue
                    if res[0] == "field":
                        out.add(".".join(res[1]))
                    elif res[0] == "def":
                        stack.append(("definitions", res[1], "expr"))
        return out

    def stages_read(self, paths) -> set:
        out = set()
        for path in paths:
            expr = self.checked.exprs.get(path)
            if expr is None:
                continue
            for res in expr.resolved.values():
                if res[0] == "stage":
                    out.add(res[1])
                elif res[0] == "def":
                    out |= self.stages_read([("definitions", res[1], "expr")])
        return out


# -- domains ------------------------------------------------------------------------------------

class Domains:
    def __init__(self, compiled, usage: _Usage):
        self.compiled = compiled
        self.usage = usage
        self.tz = compiled.timezone
        self.base = dt.datetime.combine(BASE_DAY, dt.time(12, 0), tzinfo=self.tz).astimezone(dt.timezone.utc)
        self._cache: dict = {}

    def values(self, dotted: str) -> list:
        if dotted not in self._cache:
            self._cache[dotted] = self._values(dotted)
        return self._cache[dotted]

    def _values(self, dotted):
        from .tickets import _fast_checker

        typ = _field_type(dotted)
        schema, required = _field_schema(dotted)
        lits = self.usage.literals.get(dotted, set())
        if dotted == "created_at":
            return self.instants()
        if typ is None:
            return [MISSING]
        if typ.values is not None:
            named = [v for v in sorted(typ.values) if v in lits]
            order = list(schema.get("enum") or sorted(typ.values))
            others = [v for v in order if v not in lits]
            vals = [v for v in order if v in named] + others[:1]  # one value stands for every unnamed one
        elif typ.kind == "bool":
            vals = [True, False]
        elif typ.kind in ("int", "number"):
            lo, hi = schema.get("minimum"), schema.get("maximum")
            cand = set()
            if lo is not None and hi is not None and hi - lo <= 6:
                cand.update(range(int(lo), int(hi) + 1))
            else:
                cand.add(int(lo) if lo is not None else 0)
                for c in lits:
                    if isinstance(c, (int, float)) and not isinstance(c, bool):
                        cand.update((int(c) - 1, int(c), int(c) + 1))
                        if c != int(c):
                            cand.add(float(c))
                if len(cand) == 1:
                    cand.add(next(iter(cand)) + 1)
            vals = sorted(v for v in cand if (lo is None or v >= lo) and (hi is None or v <= hi))
        elif typ.kind == "string":
            vals = sorted(str(v) for v in lits if isinstance(v, str))
            vals += [v for v in ("value-a", "value-b") if v not in vals]
            if dotted in self.usage.len_used or dotted in self.usage.blank_used:
                vals.insert(0, "")
            if dotted in self.usage.blank_used:
                vals.insert(1, " ")
        elif typ.kind == "date":
            vals = self.dates(lits)
        elif typ.kind == "timestamp":
            vals = [self.base]
        elif typ.kind == "list":
            vals = self.lists(dotted, typ)
        elif typ.kind == "object":
            vals = [{}]
        else:
            vals = []
        check = _fast_checker(typ, schema) if typ.kind not in ("date", "timestamp", "list", "object") else None
        if check is not None:
            ok = []
            for v in vals:
                try:
                    check(v)
                    ok.append(v)
                except Exception:
                    pass
            vals = ok
        if not required:
            vals = vals + [MISSING]
        return vals

    def dates(self, lits):
        base = BASE_DAY
        offsets = {1}
        for d in self.usage.durations:
            days = int(d.seconds // 86400) + int(round(d.months * 30.44))
            if days:
                offsets.update((days - 1, days, days + 1))
        for n in self.usage.day_counts:
            if n > 0:
                offsets.update((n - 1, n, n + 1))
        out = [base - dt.timedelta(days=o) for o in sorted(offsets)]
        for lit in lits:
            if isinstance(lit, dt.date) and not isinstance(lit, dt.datetime):
                out += [lit - dt.timedelta(days=1), lit, lit + dt.timedelta(days=1)]
        return sorted(set(out))

    def lists(self, dotted, typ):
        out = [[]]
        item_lits = self.usage.item_literals.get(dotted, {})
        fields = typ.item.field_names() if typ.item is not None and typ.item.kind == "object" else []
        if "format" in fields:
            formats = sorted(str(v) for v in item_lits.get("format", ()) if isinstance(v, str))
            other = next(f for f in ("png", "txt", "zip", "pdf") if f not in formats)
            out += [[{"name": f"file.{f}", "format": f}] for f in formats + [other]]
        elif dotted != "events":
            out.append([{}] if typ.item is not None and typ.item.kind == "object" else [])
        return out

    def instants(self):
        """created_at values: one per combination of open/closed calendars (and side of timestamp literals)."""
        cals = [self.compiled.calendars[c] for c in sorted(self.usage.calendars_open) if c in self.compiled.calendars]
        lits = sorted(self.usage.timestamps)
        start = dt.datetime.combine(BASE_DAY - dt.timedelta(days=BASE_DAY.weekday()), dt.time(0, 0), tzinfo=self.tz)
        cand = [self.base]
        cand += [(start + dt.timedelta(hours=h)).astimezone(dt.timezone.utc) for h in range(0, 7 * 24)]
        cand += [(start + dt.timedelta(days=d, hours=12)).astimezone(dt.timezone.utc) for d in range(7, 372)]
        for lit in lits:
            cand += [lit - dt.timedelta(minutes=1), lit, lit + dt.timedelta(minutes=1)]
        out, seen = [], set()
        for t in cand:
            sig = tuple(c.is_open(t) for c in cals) + tuple(t < lit for lit in lits)
            if sig not in seen:
                seen.add(sig)
                out.append(t)
        return out


# -- tickets ------------------------------------------------------------------------------------

def build_ticket(assign: dict, base: dt.datetime, number: int = 1) -> dict:
    """A normalised ticket (as engine.tickets.validate_ticket returns) from dotted fact values."""
    ticket = {"id": f"LINT-{number}", "created_at": base, "channel": REQUIRED_DEFAULTS["channel"],
              "customer": {"segment": REQUIRED_DEFAULTS["customer.segment"]}}
    for dotted in sorted(assign):  # an object ("form") before its fields ("form.phone")
        value = assign[dotted]
        if value is MISSING:
            continue
        parts = dotted.split(".")
        node = ticket
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict):
            node.setdefault(parts[-1], {}).update(copy.deepcopy(value))
        else:
            node[parts[-1]] = copy.deepcopy(value) if isinstance(value, list) else value
    return ticket


def ticket_json(ticket: dict, tz) -> dict:
    """A normalised ticket as JSON (timestamps in the policy's time zone)."""
    def conv(v):
        if isinstance(v, dt.datetime):
            return v.astimezone(tz).isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(ticket)


def truth(rule, ticket, stage):
    """True / False / UNKNOWN: the rule's condition through the evaluator's generated function."""
    if rule.fast is None:
        if rule.fn is None:
            return True
        from .compile import Env

        env = Env(ticket, None)
        env.stage = stage
        return rule.fn(env)
    return rule.fast(ticket, stage)


def run_stages(compiled, ticket):
    """(accepted, scope rule index or None, tier rule index or None, stage values), as engine.evaluate decides."""
    stage = {}
    accepted = not any(truth(r, ticket, stage) is True for r in compiled.acceptance)
    stage["accepted"] = accepted
    scope_i = tier_i = None
    if accepted:
        for i, r in enumerate(compiled.scope):
            if truth(r, ticket, stage) is True:
                scope_i = i
                break
    stage["eligibility"] = compiled.scope[scope_i].status if scope_i is not None else ("not_accepted" if not accepted else None)
    if accepted:
        for i, r in enumerate(compiled.tier_rules):
            if truth(r, ticket, stage) is True:
                tier_i = i
                break
    stage["tier"] = compiled.tier_rules[tier_i].tier if tier_i is not None else None
    return accepted, scope_i, tier_i, stage


# -- the analysis -------------------------------------------------------------------------------

class Analysis:
    def __init__(self, checked, compiled, limit=DEFAULT_LIMIT, seed=0):
        self.checked = checked
        self.compiled = compiled
        self.loaded = checked.loaded
        self.usage = _Usage(checked)
        self.domains = Domains(compiled, self.usage)
        self.limit = limit
        self.seed = seed
        self.findings: list[Finding] = []
        self.stats: dict = {}
        self.numbers = itertools.count(1)
        data = compiled.data
        self.paths = {name: [(name, i, "when") for i in range(len(data.get(name) or []))]
                      for name in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices")}
        self.paths["billing"] = [("billing", "rates", i, "when") for i in range(len((data.get("billing") or {}).get("rates") or []))]
        self.accept_facts = self.usage.facts(self.paths["acceptance"])
        self._completion: dict = {}

    # spans
    def rule_span(self, list_name, index):
        base = ("billing", "rates") if list_name == "billing" else (list_name,)
        return self.loaded.span(base + (index, "id"))

    def example(self, ticket):
        t = dict(ticket)
        t["id"] = f"LINT-{next(self.numbers)}"
        return ticket_json(t, self.compiled.timezone)

    # the ticket space of a list
    def space(self, facts):
        facts = sorted(facts)
        doms = [self.domains.values(f) for f in facts]
        size = 1
        for d in doms:
            size *= max(1, len(d))
        return facts, doms, size

    def completion(self, assign: dict):
        """Values for the facts only acceptance reads that let a ticket with `assign` be accepted (or None)."""
        key = tuple(sorted((k, _hashable(v)) for k, v in assign.items() if k in self.accept_facts))
        if key in self._completion:
            return self._completion[key]
        free = sorted(self.accept_facts - set(assign))
        doms = [self.domains.values(f) for f in free]
        base = self.domains.base
        rules = self.compiled.acceptance

        def accepted(values):
            t = build_ticket({**assign, **dict(zip(free, values))}, base)
            return not any(truth(r, t, {}) is True for r in rules)

        found = None
        # first the all-missing / first-value point, then a greedy repair, then a bounded search
        start = [MISSING if MISSING in d else d[0] for d in doms]
        if accepted(start):
            found = start
        else:
            current = list(start)
            for _ in range(3):
                for i, d in enumerate(doms):
                    for v in d:
                        trial = current[:i] + [v] + current[i + 1:]
                        if accepted(trial):
                            found = trial
                            break
                        if _refusals(rules, build_ticket({**assign, **dict(zip(free, trial))}, base)) < \
                                _refusals(rules, build_ticket({**assign, **dict(zip(free, current))}, base)):
                            current = trial
                    if found:
                        break
                if found:
                    break
            if found is None:
                total = 1
                for d in doms:
                    total *= max(1, len(d))
                if total <= 20_000:
                    for values in itertools.product(*doms):
                        if accepted(list(values)):
                            found = list(values)
                            break
                else:
                    rng = random.Random(self.seed)
                    for _ in range(20_000):
                        values = [rng.choice(d) for d in doms]
                        if accepted(values):
                            found = values
                            break
        result = dict(zip(free, found)) if found is not None else None
        self._completion[key] = result
        return result

    def tickets(self, facts, rules_paths):
        """Yield tickets (accepted ones only) over the space of `facts`; records the stats."""
        names, doms, size = self.space(facts)
        exhaustive = size <= self.limit
        if exhaustive:
            assignments = (dict(zip(names, values)) for values in itertools.product(*doms))
        else:
            assignments = self._sample(names, doms, rules_paths)
        count = 0
        for assign in assignments:
            extra = self.completion(assign)
            if extra is None:
                continue
            ticket = build_ticket({**assign, **extra}, self.domains.base)
            count += 1
            yield ticket
        self._last_stats = {"facts": names, "space": size, "tickets": count, "exhaustive": exhaustive}

    def _sample(self, names, doms, rules_paths):
        rng = random.Random(self.seed)
        n = self.limit
        for _ in range(n // 2):
            yield {f: rng.choice(d) for f, d in zip(names, doms)}
        # directed: for every rule, the ways to make its own condition true, completed at random or with "missing"
        per_rule = max(10, (n // 2) // max(1, len(rules_paths)))
        statuses = sorted({r.status for r in self.compiled.scope if r.status}) or [None]
        for path in rules_paths:
            own = sorted(self.usage.facts([path]) & set(names))
            own_doms = [self.domains.values(f) for f in own]
            rule = self._rule_at(path)
            combos = []
            for combo in itertools.islice(itertools.product(*own_doms), 5000):
                ticket = build_ticket(dict(zip(own, combo)), self.domains.base)
                if rule is None or any(truth(rule, ticket, {"accepted": True, "eligibility": st}) is True for st in statuses):
                    combos.append(combo)
            if not combos:
                continue
            rng.shuffle(combos)
            for k in range(per_rule):
                combo = combos[k % len(combos)]
                assign = {f: (MISSING if MISSING in d and k % 3 == 0 else rng.choice(d)) for f, d in zip(names, doms)}
                assign.update(zip(own, combo))
                yield assign

    def _rule_at(self, path):
        name, index = path[0], path[1]
        rules = {"scope": self.compiled.scope, "tier_rules": self.compiled.tier_rules}.get(name)
        return rules[index] if rules is not None and index < len(rules) else None

    def first_match(self, list_name):
        rules = getattr(self.compiled, list_name)
        if not rules:
            return
        paths = self.paths[list_name]
        facts = self.usage.facts(paths)
        if list_name == "tier_rules" and "eligibility" in self.usage.stages_read(paths):
            facts |= self.usage.facts(self.paths["scope"])
        n = len(rules)
        true_count = [0] * n
        fired = [0] * n
        first_true_example = [None] * n
        beaten_by = [Counter() for _ in range(n)]
        beaten_example = [{} for _ in range(n)]
        gaps, gap_example = 0, None
        outcome = [r.status if list_name == "scope" else r.tier for r in rules]
        overlaps: dict = {}
        for ticket in self.tickets(facts, paths + (self.paths["scope"] if list_name == "tier_rules" else [])):
            accepted, scope_i, tier_i, stage = run_stages(self.compiled, ticket)
            if not accepted:
                continue
            if list_name == "scope":
                winner = scope_i
                local = {"accepted": True}
            else:
                winner = tier_i
                local = {"accepted": True, "eligibility": stage["eligibility"]}
            if winner is None:
                gaps += 1
                if gap_example is None:
                    gap_example = ticket
            else:
                fired[winner] += 1
            for i, r in enumerate(rules):
                if i == winner:
                    true_count[i] += 1
                    if first_true_example[i] is None:
                        first_true_example[i] = ticket
                    continue
                if r.fn is None and r.fast is None:
                    continue
                if truth(r, ticket, local) is True:
                    true_count[i] += 1
                    if winner is not None and winner < i:
                        beaten_by[i][winner] += 1
                        beaten_example[i].setdefault(winner, ticket)
                        if outcome[winner] != outcome[i]:
                            key = (winner, i)
                            if key not in overlaps:
                                overlaps[key] = [0, ticket]
                            overlaps[key][0] += 1
        stats = self._last_stats
        self.stats[list_name] = stats
        how = (f"all {stats['tickets']} accepted tickets of the domains" if stats["exhaustive"] else
               f"a sample of {stats['tickets']} accepted tickets (seed {self.seed}) of {stats['space']} combinations")
        what = "status" if list_name == "scope" else "tier"
        if gaps:
            last = len(rules) - 1
            self.findings.append(Finding(
                "gap", ERROR, f"{gaps} of {_n(stats['tickets'], 'accepted ticket')} get no {what}: no rule of "
                f"'{list_name}' decides them (add a last rule without 'when'; checked {how})",
                self.rule_span(list_name, last), rules[last].id, self.example(gap_example), count=gaps))
        for i, r in enumerate(rules):
            if fired[i]:
                continue
            if r.fn is None and r.fast is None:
                continue  # a default that explicit rules make unnecessary is fine
            if true_count[i] == 0:
                self.findings.append(Finding(
                    "never-true", WARNING, f"rule '{r.id}' can never fire: its condition holds for no accepted "
                    f"ticket (checked {how})", self.rule_span(list_name, i), r.id))
                continue
            winners = beaten_by[i].most_common()
            names = ", ".join(f"'{rules[w].id}'" + (f" ({_n(c, 'ticket')})" if len(winners) > 1 else "") for w, c in winners)
            top = winners[0][0]
            same = all(outcome[w] == outcome[i] for w, _ in winners)
            self.findings.append(Finding(
                "shadowed-rule", WARNING, f"rule '{r.id}' never fires: on all {_n(true_count[i], 'ticket')} where its "
                f"condition holds, {'an earlier rule fires' if len(winners) > 1 else 'the earlier rule'} "
                f"{names} first" + (f" with the same {what}, so only its clause is never cited" if same else "")
                + f" (checked {how})", self.rule_span(list_name, i), r.id,
                self.example(beaten_example[i][top]), [rules[w].id for w, _ in winners], true_count[i]))
        shadowed = {f.rule for f in self.findings if f.code == "shadowed-rule"}
        for (w, i), (count, ticket) in sorted(overlaps.items()):
            if rules[i].id in shadowed:
                continue
            self.findings.append(Finding(
                "overlap", INFO, f"rules '{rules[w].id}' ({what} {outcome[w]}) and '{rules[i].id}' ({what} "
                f"{outcome[i]}) both hold on {_n(count, 'ticket')}; '{rules[w].id}' comes first and wins",
                self.rule_span(list_name, i), rules[i].id, self.example(ticket), [rules[w].id], count))

    def all_fire(self, list_name):
        """never-true for rules of lists where every rule that holds fires (acceptance, delay reasons, ...)."""
        rules = getattr(self.compiled, list_name if list_name != "billing" else "billing_rates")
        for i, (rule, path) in enumerate(zip(rules, self.paths[list_name])):
            if rule.fast is None and rule.fn is None:
                continue
            names, doms, size = self.space(self.usage.facts([path]))
            stage_names = sorted(self.usage.stages_read([path]))
            stage_doms = []
            for s in stage_names:
                if s == "accepted":
                    stage_doms.append([True, False])
                elif s == "eligibility":
                    stage_doms.append(sorted({r.status for r in self.compiled.scope}) + ["not_accepted"])
                else:
                    stage_doms.append(sorted(self.compiled.tiers) + [None])
            combos = itertools.product(*doms)
            if size > self.limit:
                rng = random.Random(self.seed)
                combos = (tuple(rng.choice(d) for d in doms) for _ in range(self.limit))
            found = False
            for values in combos:
                ticket = build_ticket(dict(zip(names, values)), self.domains.base)
                for svals in itertools.product(*stage_doms):
                    if truth(rule, ticket, dict(zip(stage_names, svals))) is True:
                        found = True
                        break
                if found:
                    break
            if not found:
                self.findings.append(Finding(
                    "never-true", WARNING, f"rule '{rule.id}' can never fire: its condition holds for no ticket of "
                    f"the domains of {', '.join(names) or 'no fact'}", self.rule_span(list_name, i), rule.id))

    def topics(self):
        """Topics that no scope rule decides by itself: a ticket with only the topic known reaches the default."""
        data = self.compiled.data
        scope = data.get("scope") or []
        if not scope or "when" in scope[-1] or "topic" not in self.usage.facts(self.paths["scope"]):
            return
        decided = topic_scope(self.compiled)
        default = self.compiled.scope[-1]
        left = [t for t, rule in decided.items() if rule is default]
        if not left:
            return
        raw = scope[-1]
        documented = bool(raw.get("assumptions"))
        self.findings.append(Finding(
            "unclassified-topics", INFO if documented else WARNING,
            f"{len(left)} topics are put in or out of scope by no rule of their own, so the default rule "
            f"'{raw['id']}' makes them {raw['status']}"
            + (f" (relying on assumption {', '.join(raw['assumptions'])})" if documented else
               "; name them in a scope rule") + f": {', '.join(left)}",
            self.rule_span("scope", len(scope) - 1), raw["id"], count=len(left)))

    def static(self):
        data = self.compiled.data
        loaded = self.loaded
        for tier_id, tier in (data.get("tiers") or {}).items():
            targets = tier.get("targets") or {}
            if "first_response" not in targets:
                self.findings.append(Finding(
                    "tier-without-targets", WARNING, f"tier '{tier_id}' has no first_response target: its tickets "
                    "get no deadline (write `no_guarantee: true` if the regulation gives none)",
                    loaded.key_span(("tiers", tier_id)), tier_id))
        for where, items in self._sourced():
            for path, obj in items:
                if not str(obj.get("source", "")).strip():
                    name = obj.get("id") or ".".join(str(p) for p in path[1:] if p != "targets")
                    self.findings.append(Finding("missing-source", WARNING, f"{where} '{name}' cites no clause: its "
                                                 "'source' is blank", loaded.span(path + ("source",)), name))

    def _sourced(self):
        data = self.compiled.data
        out = []
        for name in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices"):
            out.append((f"{name} rule", [((name, i), r) for i, r in enumerate(data.get(name) or [])]))
        out.append(("billing rate", [(("billing", "rates", i), r)
                                       for i, r in enumerate((data.get("billing") or {}).get("rates") or [])]))
        out.append(("tier", [(("tiers", t), v) for t, v in (data.get("tiers") or {}).items()]))
        out.append(("target", [(("tiers", t, "targets", n), v) for t, tv in (data.get("tiers") or {}).items()
                                 for n, v in (tv.get("targets") or {}).items()]))
        out.append(("calendar", [(("calendars", c), v) for c, v in (data.get("calendars") or {}).items()]))
        out.append(("definition", [(("definitions", d), v) for d, v in (data.get("definitions") or {}).items()]))
        return out

    def run(self):
        self.static()
        self.first_match("scope")
        self.first_match("tier_rules")
        for name in ("acceptance", "delay_reasons", "notices", "billing"):
            self.all_fire(name)
        self.topics()
        return self.findings


def _n(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _refusals(rules, ticket):
    return sum(truth(r, ticket, {}) is True for r in rules)


# -- entry points -------------------------------------------------------------------------------

def lint_text(text: str, file: str, limit: int = DEFAULT_LIMIT, seed: int = 0) -> LintResult:
    """Lint one policy text. Check errors stop the analysis (they are returned in `diagnostics`),
    except a first-match list without a default rule: that is analysed and reported as a gap."""
    from .check import check_policy
    from .compile import compile_policy
    from .diagnostics import PolicyError
    from .load import load_yaml
    from .schema import validate_policy

    try:
        loaded = load_yaml(text, file)
    except PolicyError as exc:
        return LintResult(file, text, [], exc.diagnostics)
    problems = validate_policy(loaded)
    if problems:
        return LintResult(file, text, [], sorted(problems, key=Diagnostic.sort_key))
    checked = check_policy(loaded)
    blocking = [d for d in checked.errors if d.code != "no-default"]
    if blocking:
        return LintResult(file, text, [], sorted(blocking, key=Diagnostic.sort_key))
    compiled = compile_policy(checked, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    analysis = Analysis(checked, compiled, limit=limit, seed=seed)
    findings = analysis.run()
    for d in checked.diagnostics:
        if d.code in CHECKER_WARNINGS:
            findings.append(Finding(d.code, WARNING if d.code != "unused-tier" else WARNING, d.message, d.span))
    findings.sort(key=Finding.sort_key)
    return LintResult(file, text, findings, [], analysis.stats, compiled)


def lint_file(path, limit: int = DEFAULT_LIMIT, seed: int = 0) -> LintResult:
    from .api import _display

    path = Path(path)
    file = _display(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LintResult(file, "", [], [Diagnostic("unreadable", f"cannot read the file: {exc}", Span(file, 1, 1, 1, 2))])
    return lint_text(text, file, limit, seed)


def lint_paths(paths, limit: int = DEFAULT_LIMIT, seed: int = 0) -> list[LintResult]:
    from .api import policy_files

    return [lint_file(p, limit, seed) for p in policy_files(paths)]


# -- probes used by diff and render: what one fact alone decides ----------------------------------

def probe_ticket(compiled, **facts) -> dict:
    base = dt.datetime.combine(BASE_DAY, dt.time(12, 0), tzinfo=compiled.timezone).astimezone(dt.timezone.utc)
    return build_ticket(facts, base)


def channel_acceptance(compiled) -> dict:
    """channel -> the acceptance rules that refuse a ticket with only that channel known ([] = accepted)."""
    from .tickets import vocabulary

    out = {}
    for channel in _field_schema("channel")[0].get("enum") or sorted(vocabulary().field("channel").values):
        ticket = probe_ticket(compiled, channel=channel)
        out[channel] = [r for r in compiled.acceptance if truth(r, ticket, {}) is True]
    return out


def topic_scope(compiled) -> dict:
    """topic -> the scope rule that decides a ticket with only that topic known (None if none does)."""
    out = {}
    stage = {"accepted": True}
    for topic in _field_schema("topic")[0].get("enum") or []:
        ticket = probe_ticket(compiled, topic=topic)
        out[topic] = next((r for r in compiled.scope if truth(r, ticket, stage) is True), None)
    return out
