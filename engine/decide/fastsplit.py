"""Branching once on the presence of an optional fact, in a leaf of a decision tree (slapolicy.decide.fasttree).

When several consecutive rules of a leaf read one optional fact (an object: `form`, its sub-fields `form.X`, or
`exists(form)`; or a field: `severity == 1`, `severity == 2`, ...), the generated code reads it once and
branches on its presence, and in each branch folds what the branch knows into the rules' conditions (`fold`):

- the fact is missing: `exists()` of it (or of a field under it) is false, the fact and every field under it is
  unknown, so a rule is false, true, or unknown with facts known at generation (listed as one constant tuple,
  in the order the closures list them), or it still needs a test (of the rest of its condition);
- it is present: its local is read (`_p0.get("X", U)`, no `(_E if ... else ...)`), `exists()` of it is true.

What remains of a rule is tested the same way: when it can be unknown and one of its optional fields, missing,
decides it (true, false or unknown with known facts), it branches on that field too (`not exists(form.X) or
blank(form.X)`: missing, true; present, `not x.strip()`), else it is tested as the leaf would (Kleene, its facts
inline or by its tracking twin). The fold is exact: a value it claims is the closures' value in that branch,
with the same facts (a decided value lists none: a decided `and` / `or` / `exists` drops what its operands
listed); what it cannot decide it leaves to the generated test, which reads the ticket.
"""
from __future__ import annotations

import itertools

from slapolicy.language import ast

_LOGIC = (ast.Compare, ast.Membership, ast.Not, ast.BoolOp)
_BOOL_CALLS = ("exists", "blank")  # built-ins whose value is True / False / UNKNOWN
_X = ("x", None)  # not decided at generation, and not a residue either: test the condition as it is


def _children(node):
    """(the value operands of a node that evaluates all of them, a function rebuilding it from new ones) or None"""
    if isinstance(node, (ast.Compare, ast.Arith)):
        return (node.left, node.right), lambda l, r: type(node)(node.pos, node.op, l, r)
    if isinstance(node, ast.Membership):
        return (node.item, node.container), lambda i, c: ast.Membership(node.pos, node.negated, i, c)
    if isinstance(node, ast.Call):
        return tuple(node.args), lambda *a: ast.Call(node.pos, node.name, type(node.args)(a))
    if isinstance(node, ast.ListExpr):
        return tuple(node.items), lambda *a: ast.ListExpr(node.pos, type(node.items)(a))
    return None


class Fold:
    """the value of a condition when some optional fields are known missing (`absent`) or present (`present`):
    ("v", True / False), ("u", the facts it lists), ("r", what is left to test) or ("x", None)"""

    def __init__(self, expr, absent, present, maybe):
        self.expr, self.absent, self.present, self.maybe = expr, absent, present, maybe

    def field(self, node):
        where = self.expr.resolved.get(id(node)) if isinstance(node, ast.Path) else None
        return tuple(where[1]) if where and where[0] == "field" else None

    def missing(self, parts) -> bool:
        return any(parts[:k] in self.absent for k in range(1, len(parts) + 1))

    def __call__(self, node):
        parts = self.field(node)
        if parts is not None:
            return ("u", (".".join(parts),)) if self.missing(parts) else ("r", node)
        if isinstance(node, ast.Literal):
            return ("v", node.value) if type(node.value) is bool else ("r", node)
        if isinstance(node, ast.Call) and node.name == "exists":
            arg = node.args[0]
            parts = self.field(arg)
            if parts is not None and parts in self.present:
                return ("v", True)
            return ("v", False) if self(arg)[0] == "u" else ("r", node)
        if isinstance(node, ast.Not):
            kind, value = self(node.operand)
            if kind == "v":
                return ("v", not value)
            if kind == "r" and value is not node.operand:
                return ("r", ast.Not(node.pos, value))
            return (kind, node) if kind == "r" else (kind, value)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node)
        split = _children(node)
        if split is None:  # a quantifier, a definition, a stage value: tested as it is
            return ("r", node)
        operands, rebuild = split
        folded = [self(o) for o in operands]
        if any(k == "x" for k, _ in folded):
            return _X
        if any(k == "u" for k, _ in folded):  # unknown, when every other operand is known not to be
            if any(k == "r" and self.maybe(v) for k, v in folded):
                return _X
            return ("u", tuple(f for k, v in folded if k == "u" for f in v))
        if all(k == "r" and v is o for (k, v), o in zip(folded, operands)):
            return ("r", node)
        return ("r", rebuild(*(v if k == "r" else ast.Literal(o.pos, v, "bool") for (k, v), o in zip(folded, operands))))

    def boolop(self, node):
        stop = node.op == "or"  # the value that decides (and drops what the operands listed)
        rest = []
        for kind, value in map(self, node.operands):
            if kind == "v" and value is stop:
                return ("v", stop)
            if kind != "v":
                rest.append((kind, value))
        if not rest:
            return ("v", not stop)
        if any(k == "x" for k, _ in rest):
            return _X
        if all(k == "u" for k, _ in rest):
            return ("u", tuple(f for _, v in rest for f in v))
        if any(k == "u" for k, _ in rest):  # unknown unless the rest decides: its facts are the rest's business
            return _X
        if len(rest) == len(node.operands):
            return ("r", node)
        if len(rest) == 1 and (isinstance(rest[0][1], _LOGIC) or isinstance(rest[0][1], ast.Call)
                               and rest[0][1].name in _BOOL_CALLS):
            return rest[0]  # (Kleene `and` of one operand is the operand for a truth value)
        return ("r", ast.BoolOp(node.pos, node.op, tuple(v for _, v in rest)))


def optional_paths(expr, node, required) -> list:
    """the optional field paths the node reads (and their optional parents), parents first, in reading order"""
    out = {}
    for n in ast.walk(node):
        where = expr.resolved.get(id(n)) if isinstance(n, ast.Path) else None
        if where and where[0] == "field":
            parts = tuple(where[1])
            for k in range(1, len(parts) + 1):
                if parts[:k] not in required:
                    out.setdefault(parts[:k], None)
    return list(out)


def runs(b, rules) -> list:
    """the leaf's rules as [(path or None, rules)]: a run of consecutive rules that read the optional fact `path`
    (two of them decided, when it is missing, at generation) is tested after one branch on its presence"""
    eligible, reads, paths = [], [], {}
    for _, rule, _, drop, lost in rules:
        expr, node = b.node(rule, drop) if rule.fast is not None and not lost else (None, None)
        eligible.append(None if node is None else (expr, node))
        reads.append({} if node is None else dict.fromkeys(p for p in optional_paths(expr, node, b.required)
                                                          if p not in b.gen.known))  # (in order)
        for p in reads[-1]:
            paths[p] = paths.get(p, 0) + 1
    best = None
    for path in (p for p, n in paths.items() if n >= 2):
        k = 0
        while k < len(rules):
            if path not in reads[k]:
                k += 1
                continue
            start, decided = k, 0
            while k < len(rules) and path in reads[k]:
                expr, node = eligible[k]
                b.gen.expr = expr
                decided += Fold(expr, {path}, set(b.gen.known), b.gen.maybe)(node)[0] in ("v", "u")
                k += 1
            score = (decided, k - start, -len(path))
            if decided >= 2 and (best is None or score > best[0]):
                best = (score, path, start, k)
    if best is None:
        return [(None, rules)]
    _, path, start, end = best
    before, after = rules[:start], rules[end:]
    return (runs(b, before) if before else []) + [(path, rules[start:end])] + (runs(b, after) if after else [])


class Split:
    """the statements of a run of rules (see `runs`) for the Builder `b`: (lines, does the run always end the
    stage (first match: a rule fired in every branch))"""

    def __init__(self, b, first_match, fire):
        self.b, self.gen, self.first_match, self.fire = b, b.gen, first_match, fire
        if not hasattr(b, "presence"):
            b.presence = itertools.count()

    def action(self, i):
        return self.b.done(i, True) if self.first_match else self.fire(i)

    def run(self, path, rules) -> tuple:
        gen = self.gen
        local = f"_p{next(self.b.presence)}"
        gen.read = {}  # (the leaf's locals are its own)
        lines = [f"{local} = {gen.field_code(path)}"]
        missing, _ = self.branch(rules, {path}, {})
        known = gen.known
        gen.known = {**known, path: local}
        try:
            present, _ = self.branch(rules, set(), {path: local})
        finally:
            gen.known = known
        return lines + self.either(local, missing, present), False

    def branch(self, rules, absent, present) -> tuple:
        """the statements testing the rules in order, knowing `absent` missing and `present` (path -> local)"""
        out, facts = [], []
        for i, rule, _, drop, lost in rules:
            expr, node = self.b.node(rule, drop)
            got, ends = self.rule(i, rule, expr, node, absent, present)
            if isinstance(got, tuple):
                facts += got
                continue
            out += self.flush(facts) + got
            facts = []
            if ends:
                return out, True
        return out + self.flush(facts), False

    @staticmethod
    def either(local, missing, present) -> list:
        """`if <local> is U:` `missing`, else `present` (`elif` of its one test; `or` the test when both do the same)"""
        test = present[0][3:-1] if present and present[0].startswith("if ") and present[0].endswith(":") \
            and all(line.startswith("    ") for line in present[1:]) else None
        if test is not None and missing == [line[4:] for line in present[1:]]:
            return [f"if {local} is U or {test}:"] + present[1:]
        if not missing:
            return [f"if {local} is not U:"] + ["    " + line for line in present] if present else []
        out = [f"if {local} is U:"] + ["    " + line for line in missing]
        if test is not None:
            return out + [f"elif {test}:"] + present[1:]
        return out + (["else:"] + ["    " + line for line in present] if present else [])

    @staticmethod
    def flush(facts) -> list:
        if not facts:
            return []
        return [f"m.append({facts[0]!r})"] if len(facts) == 1 else [f"m += {tuple(facts)!r}"]

    def rule(self, i, rule, expr, node, absent, present):
        """(statements, or the tuple of facts the rule lists (it is unknown), does it always fire (first match))"""
        gen, b = self.gen, self.b
        gen.expr = expr
        kind, value = Fold(expr, absent, {**gen.known, **present}, gen.maybe)(node)
        if kind == "v":
            return (self.action(i), self.first_match) if value else ([], False)
        if kind == "u":
            return value, False
        node = node if kind == "x" else value
        code = gen.body(expr, node)
        if not gen.maybe(node):
            return [f"if {code}:"] + ["    " + a for a in self.action(i)], False
        if kind == "r":  # a field that, missing, decides the rest: branch on it
            for path in optional_paths(expr, node, b.required):
                if path in gen.known or any(path[:k] in absent for k in range(1, len(path) + 1)):
                    continue
                gen.expr = expr
                if Fold(expr, absent | {path}, {**gen.known, **present}, gen.maybe)(node)[0] not in ("v", "u"):
                    continue
                local = f"_p{next(b.presence)}"
                lines = [f"{local} = {gen.field_code(path)}"]
                when, _ = self.rule(i, rule, expr, node, absent | {path}, present)
                when = self.flush(when) if isinstance(when, tuple) else when
                known = gen.known
                gen.known = {**known, path: local}
                try:
                    then, _ = self.rule(i, rule, expr, node, absent, {**present, path: local})
                finally:
                    gen.known = known
                then = self.flush(then) if isinstance(then, tuple) else then
                return lines + self.either(local, when, then), False
        facts = b.facts(expr, node)
        if facts is None:
            facts = [f"{b.tracker(rule)}(t, {b.sx}, m)"]
        return [f"v = {code}", "if v is U:"] + ["    " + f for f in facts] + ["elif v:"] + \
            ["    " + a for a in self.action(i)], False
