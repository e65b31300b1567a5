"""Translation: checked expression trees -> durable-rules conditions (a ruleset definition per policy)."""
from __future__ import annotations

import itertools

from slapolicy.backends.durable.evaluator import STAGES, DurableBackendError, _Evaluator, _to_json, _Untranslatable
from slapolicy.language import ast


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
            return (type(node).__name__,) + tuple(self._shape(getattr(node, f)) for f in node._fields
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
    from slapolicy.decide.tickets import vocabulary as _vocabulary

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
