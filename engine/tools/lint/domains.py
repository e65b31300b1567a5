"""The fact domains of a policy: which facts its expressions read, and the values each may take."""
from __future__ import annotations

import datetime as dt

from slapolicy.language import ast
from slapolicy.tools.lint.findings import BASE_DAY, MISSING


def _field_type(dotted: str, vocab=None):
    """The type of a ticket field in `vocab` (a policy's merged Vocabulary; default the contract's)."""
    from slapolicy.decide.tickets import vocabulary

    typ = vocab.type if vocab is not None else vocabulary()
    for part in dotted.split("."):
        typ = typ.field(part) if typ is not None and typ.kind == "object" else None
    return typ


def _field_schema(dotted: str, vocab=None) -> tuple[dict, bool]:
    """(JSON Schema node, required) of a ticket field (in `vocab`, default the contract vocabulary)."""
    from slapolicy.language.schema import schema_json

    node, required = vocab.schema if vocab is not None else schema_json("ticket"), True
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
        from slapolicy.decide.tickets import _fast_checker

        vocab = getattr(self.compiled, "vocabulary", None)
        typ = _field_type(dotted, vocab)
        schema, required = _field_schema(dotted, vocab)
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
