"""why_not's per-edition part (slapolicy.decide.whynot): the checked trees, their closures and texts, the rule
paths, what each sub-expression reads (`inputs`) and the key function of its kept answers (`key_of`), the
kept answers themselves and why_not's candidate lists (`plans`); everything here depends on the policy only
(the answers on the tickets met), computed once per (expression, node)."""
from __future__ import annotations

import datetime as dt
import operator
import pickle

from slapolicy.decide.closedform import field_type
from slapolicy.decide.dated import dated_only, through_definitions
from slapolicy.decide.whywalk import NA, keyer, value_at
from slapolicy.language import ast
from slapolicy.language.compile import Compiler, compile_expressions

_STAGE_PATHS = {"acceptance": ("acceptance",), "scope": ("scope",), "tier_rules": ("tier_rules",),
                "delay_reasons": ("delay_reasons",), "notices": ("notices",), "billing": ("billing", "rates")}
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


# -- per policy: the trees, their closures, the rule paths -----------------------------------------------
class _Trees:
    def __init__(self, policy):
        checked = policy.checked
        self.checked = checked
        self.fns = policy.closures or compile_expressions(checked)  # (the policy's own, compiled with it)
        self.definitions = {p[1]: f for p, f in self.fns.items() if p[0] == "definitions"}
        self.compiler = Compiler(checked, self.definitions)
        self.closures: dict = {}
        # everything below depends on the policy only: computed once per (expression, node)
        self._texts: dict = {}
        self._spans: dict = {}
        self._lines: dict = {}
        self._statics: dict = {}
        self._tests: dict = {}
        self._definitions: dict = {}
        self.dated: dict = {}  # slapolicy.decide.dated: (path, node, fact) -> read only by its local date?
        self.shapes: dict = {}  # slapolicy.decide.nearest: (path, node, fact) -> a comparison solved directly
        self.closed: dict = {}  # slapolicy.decide.closedform: id(node) -> a comparison of dates answered directly
        self.date_calls: dict = {}  # slapolicy.decide.annotate: rule path -> its date(path) calls
        self.enum_held: dict = {}  # (path, node, enum fact, want) -> the values a direct test holds for
        self._inputs: dict = {}  # condition path -> the facts and stage values it reads (`inputs`)
        self.answers: dict = {}  # (what, its inputs' values) -> Analysis.rule's / .leaf's answer as JSON
        self.keys: dict = {}  # id(node) -> fn(ticket, stage, head) -> its answers' key (`key_of`), or None
        # id(node) -> (the timestamp it reads by its local date only (`inputs`, DATED), [Dated templates made,
        # answers given from them, key calls left off] (whynot.Dated))
        self.stamps: dict = {}
        self.tz = policy.timezone
        self.plans: dict = {}  # why_not's candidates (`_plan`) -> their entries' (key, head, expr, want, header)
        self.walks: dict = {}  # (condition path, want) -> its generated walk (slapolicy.decide.whywalk) or None
        self.paths = {}
        for stage, base in _STAGE_PATHS.items():
            items = policy.data
            for key in base:
                items = (items or {}).get(key) or []
            for i, r in enumerate(items):
                self.paths[(stage, r["id"])] = base + (i, "when")

    def closure(self, expr, node):
        key = id(node)  # (the checked trees' nodes live as long as the policy: one id, one node)
        fn = self.closures.get(key)
        if fn is None:
            self.compiler.expr = expr
            fn = self.closures[key] = self.compiler.c(node)
        return fn

    def text(self, expr, node) -> str:
        key = id(node)
        got = self._texts.get(key)
        if got is None:
            got = self._texts[key] = self._text(expr, node)
        return got

    def _text(self, expr, node) -> str:
        lines = self._lines.get(expr.path)
        if lines is None:
            src = self.checked.data
            for key in expr.path:
                src = src[key]
            lines = self._lines[expr.path] = str(src).splitlines() or [""]
        line, col, end_line, end_col = node.pos
        if line == end_line:
            return lines[line - 1][col - 1:end_col - 1]
        parts = [lines[line - 1][col - 1:]] + lines[line:end_line - 1] + [lines[end_line - 1][:end_col - 1]]
        return " ".join(p.strip() for p in parts)

    def span(self, expr, node) -> dict:
        key = id(node)
        got = self._spans.get(key)
        if got is None:
            from slapolicy.language.files import expr_span  # (not language.check: it brings the parser)

            s = expr_span(self.checked.loaded, expr.path, node.pos)
            got = self._spans[key] = {"file": s.file, "line": s.line, "col": s.col, "end_line": s.end_line,
                                      "end_col": s.end_col}
        return dict(got)

    def statics(self, expr, node) -> tuple:
        """(the stage values and definitions it names, in tree order: ("stage", name) or ("def", checked
        expression), its `date(path)` calls with their texts, its string literals) of a sub-expression."""
        key = id(node)
        got = self._statics.get(key)
        if got is None:
            names, dates, strings = [], [], []
            for n in ast.walk(node):
                res = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
                if res and res[0] == "stage":
                    names.append(("stage", res[1]))
                elif res and res[0] == "def":
                    d = self.checked.exprs.get(("definitions", res[1], "expr"))
                    if d is not None:
                        names.append(("def", d))
                if isinstance(n, ast.Call) and n.name == "date" and n.args and isinstance(n.args[0], ast.Path):
                    dates.append((n, self.text(expr, n)))
                if isinstance(n, ast.Literal) and n.type == "string":
                    strings.append(n.value)
            got = self._statics[key] = (names, dates, strings)
        return got

    def definition(self, expr, node):
        """For a path naming a definition the policy has: (its checked expression, its name, its clause); else None."""
        key = id(node)
        got = self._definitions.get(key, self)
        if got is self:
            res = expr.resolved.get(id(node))
            got = None
            if res and res[0] == "def":
                d = self.checked.exprs.get(("definitions", res[1], "expr"))
                info = (self.checked.data.get("definitions") or {}).get(res[1]) or {}
                if d is not None:
                    got = (d, res[1], str(info.get("source", "")))
            self._definitions[key] = got
        return got

    def direct_test(self, expr, node):
        """For a comparison or constant membership of one fact with literals (`customer.coupon.used < 15`,
        `channel in ["email", "portal"]`, `exists(topic)`): (dotted, fn(value) -> the node's value with the fact set to a
        non-null value), the very operation the node's closure does; else None."""
        key = id(node)
        if key in self._tests:
            return self._tests[key]
        got = None

        def field(n):
            res = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
            return ".".join(res[1]) if res and res[0] == "field" else None

        if isinstance(node, ast.Compare):
            op = _COMPARE[node.op]
            if field(node.left) and isinstance(node.right, ast.Literal):
                lit = node.right.value
                got = (field(node.left), lambda v: op(v, lit))
            elif field(node.right) and isinstance(node.left, ast.Literal):
                lit = node.left.value
                got = (field(node.right), lambda v: op(lit, v))
        elif isinstance(node, ast.Membership) and field(node.item) and isinstance(node.container, ast.ListExpr) \
                and all(isinstance(i, ast.Literal) for i in node.container.items):
            values, negated = frozenset(i.value for i in node.container.items), node.negated
            got = (field(node.item), lambda v: (v in values) != negated)
        elif isinstance(node, ast.Call) and node.name == "exists" and field(node.args[0]):
            got = (field(node.args[0]), lambda v: True)  # any value given exists
        self._tests[key] = got
        return got


    def inputs(self, expr, node):
        """(the fact paths, the stage names) a sub-expression reads, with the definitions it uses: all of the
        ticket and the stage values that its analysis (Analysis.rule, Analysis.leaf) depends on; None (not kept)
        when it uses a definition the policy lacks or reads a timestamp, unless that is one timestamp read only
        by its local date (`date(created_at) <= customer.license_purchased_at + 1 year`): then (the other fact
        paths, the stage names, the timestamp's path), its answers keyed by the local date and kept as
        templates of the timestamp's text (`DATED`, slapolicy.decide.whynot `Dated`)."""
        key = id(node)
        got = self._inputs.get(key, self)
        if got is self:
            fields, stages = {}, {}
            for e, n in through_definitions(self.checked, expr, node):
                if e is None:
                    fields = None
                    break
                res = e.resolved.get(id(n)) if isinstance(n, ast.Path) else None
                if res and res[0] == "field":
                    fields[tuple(res[1])] = True
                elif res and res[0] == "stage":
                    stages[res[1]] = True
            stamps = [] if fields is None else [
                f for f in fields if (typ := field_type(".".join(f))) is not None and typ.kind == "timestamp"]
            if fields is None:
                got = None
            elif not stamps:
                got = (tuple(fields), tuple(stages))
            elif len(stamps) == 1 and dated_only(self, expr, node, ".".join(stamps[0])):
                del fields[stamps[0]]
                got = (tuple(fields), tuple(stages), stamps[0])
            else:
                got = None  # an instant: no two tickets share one (its answers would fill memory, not hit)
            self._inputs[key] = got
        return got

    def key_of(self, expr, node):
        """fn(ticket, stage values, head) -> the key of `node`'s kept answers: its `inputs`' values (generated:
        whywalk.keyer; an int or a number as itself only among ints, anything else as itself only when it is a
        string, a bool, None or a date, else the values pickled: `_as_key`), or None (never kept); with a
        timestamp read by its local date (`inputs`): (that key, DATED, the local date, ...), an answer kept under it
        being a template of the timestamp's text (or, for a value that is not an instant, (that key, EXACT, the
        value pickled), an answer as it is)"""
        key = id(node)
        got = self.keys.get(key, NA)
        if got is NA:
            inputs = self.inputs(expr, node)
            got = None if inputs is None else keyer(
                inputs[0], [_INTS if getattr(field_type(".".join(f)), "kind", None) in ("int", "number") else _PLAIN
                            for f in inputs[0]], inputs[1], _as_key)
            if got is not None and len(inputs) > 2:
                use = [0, 0, 0]
                self.stamps[key] = (inputs[2], use)
                got = _dated_keyer(got, inputs[2], self.tz, use)
            self.keys[key] = got
        return got

_PLAIN = (str, bool, type(None), dt.date)  # (no value of one of these classes equals one of another)
_INTS = (int, type(None))


DATED, EXACT = object(), object()  # (the marks of a key with a timestamp read by its local date: `key_of`)


def _dated_keyer(base, parts, tz, use):
    """key_of's key function of a sub-expression that reads the timestamp at `parts` by its local date only: its
    local date, and the instant's microseconds and UTC offset there (a nearest change searched from the instant in
    whole seconds keeps its fraction: `created_at` at the latest 2026-03-10T23:59:59.250000+02:00); None (not
    kept) for the calls its templates are turned off for (`use`: whynot.Dated)"""
    def key(t, s, h):
        if use[2]:  # (off: its next calls give None, then its templates get another trial)
            use[2] -= 1
            return None
        v = value_at(t, parts)
        if v.__class__ is dt.datetime:
            try:
                local = v.astimezone(tz)
                return base(t, s, h), DATED, (local.date(), local.microsecond, local.utcoffset())
            except (OverflowError, ValueError):
                pass
        return base(t, s, h), EXACT, _as_key([v])
    return key


def _as_key(values):
    """the values of a key that are not all of their fields' classes, exactly (pickle: a type and its value, 1.0
    and 1, a date and its text apart; orjson's JSON would not keep the last two apart), or a key of its own"""
    try:
        return pickle.dumps(values, 5)
    except Exception:  # (nothing a ticket holds: such a key is never met again)
        return object()




def walk_through_definitions(t: "_Trees", path):
    """(checked expression, node) of every node of the condition at `path` and of the definitions it uses,
    each definition once."""
    expr = t.checked.exprs.get(path)
    if expr is not None:
        for e, n in through_definitions(t.checked, expr, expr.tree):
            if e is not None:
                yield e, n


def trees(policy) -> _Trees:
    got = policy.__dict__.get("_whynot_trees")
    if got is None:  # (one read from the compile cache has the positions too: slapolicy.language.cache)
        got = policy.__dict__["_whynot_trees"] = _Trees(policy)
    return got
