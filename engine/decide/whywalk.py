"""why_not's walk of one rule's condition as one generated function per (condition, wish), from the checked
tree (slapolicy.decide.whynot: `Analysis.require` with its per-node closures is the reference, and
tests/test_whywalk.py holds the two equal).

The reference evaluates a node's closure, and where the value is not the one wanted evaluates each child's
closure again on the way down: a closure evaluates its whole subtree, so a node deep in the tree is evaluated
once per ancestor. The generated function evaluates every node at most once: a leaf (anything but and, or, not
and a definition the policy has) by its own closure, or inline when it tests one fact against literals
(`customer.segment == "partner"`, `topic in [...]`, a bare fact: the closure's reads and operator), and the
and / or / not / definition nodes from their
children's values by the closures' own three-valued rules (slapolicy.language.compile: `v is stop` decides an
and / or, an unknown operand makes it unknown otherwise; not keeps unknown). An and / or stops at the operand
that decides it as its closure does; the operands it did not reach are evaluated when the walk descends into
it (only a node whose value is not the one wanted is descended into). A definition's value is kept per
analysis (`Analysis._values`, keyed as the reference keys it: its tree's node), so that the rules of one
ticket evaluate a definition once; its nodes are evaluated when the walk descends into it. Then, from those
values, the failed tree is built as the reference builds it, in the same order: the leaves' analyses
(`Analysis.leaf`, kept answers and all) are called for the failing leaves only, with the same arguments (and
the kept answers' head, a constant of the walk; a leaf whose answers are never kept through `Analysis.once`).

    walk(env, values, leaf, once) -> (the condition's value, its failed tree or None)

(env: the analysis's environment of the ticket as it is; values: its per-node values; leaf: its `leaf`; once:
its `once`, the `leaf` of a leaf whose answers are never kept, analysed once per ticket).
The source holds only names and numbers: the nodes, closures, via lists and the group builder are constants
of the namespace, never policy text. A condition of more than MAX_NODES nodes (with its definitions) has no
generated walk (the reference walks it).
"""
from __future__ import annotations

from slapolicy.language import ast
from slapolicy.language.runtime import UNKNOWN

MAX_NODES = 120
_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Missing:
    __slots__ = ()

    def __repr__(self):
        return "NA"


NA = _Missing()  # a value not computed yet


class _Gen:
    def __init__(self, trees, group):
        self.t = trees
        self.ns = {"U": UNKNOWN, "NA": NA, "group": group, "E": {}}
        self.nodes = 0
        self.count = 0
        self._vars: dict = {}  # (id(expr), id(node)) -> the node's variable name

    def name(self, prefix, value) -> str:
        self.count += 1
        n = f"{prefix}{self.count}"
        self.ns[n] = value
        return n

    def shape(self, expr, node):
        """("not", child) | ("bool", op, children) | ("def", def expr, key name, via entry, child) | ("leaf",)"""
        if isinstance(node, ast.Not):
            return ("not", (expr, node.operand))
        if isinstance(node, ast.BoolOp):
            return ("bool", node.op, [(expr, o) for o in node.operands])
        if isinstance(node, ast.Path):
            d = self.t.definition(expr, node)
            if d is not None:
                return ("def", d, (d[0], d[0].tree))
        return ("leaf",)

    # -- the value of a node: lines assigning its variable ------------------------------------------------
    def value(self, expr, node, var, ind) -> list:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig
        pad = "    " * ind
        s = self.shape(expr, node)
        if s[0] == "leaf":
            return self.inline(expr, node, var, pad) or [f"{pad}{var} = {self.name('f', self.t.closure(expr, node))}(env)"]
        if s[0] == "not":
            cvar = self.var_of(s[1])
            return self.value(*s[1], cvar, ind) + [f"{pad}{var} = {cvar} if {cvar} is U else not {cvar}"]
        if s[0] == "def":
            child = s[2]
            cvar = self.var_of(child)
            key = self.name("k", id(child[1]))
            lines = [f"{pad}{var} = values.get({key}, NA)", f"{pad}if {var} is NA:"]
            lines += self.value(*child, cvar, ind + 1)
            lines += [f"{pad}    {var} = values[{key}] = {cvar}", f"{pad}else:", f"{pad}    {cvar} = {var}"]
            lines += self.unset(child, ind + 1)
            return lines
        op, kids = s[1], s[2]
        stop = "True" if op == "or" else "False"
        kvars = [self.var_of(k) for k in kids]
        uvar = f"u{var[1:]}"
        lines = [f"{pad}{' = '.join(kvars)} = NA", f"{pad}{uvar} = False"]
        depth = ind
        for k, kv in zip(kids, kvars):
            p = "    " * depth
            lines += self.value(*k, kv, depth)
            lines += [f"{p}if {kv} is {stop}:", f"{p}    {var} = {stop}", f"{p}else:",
                      f"{p}    if {kv} is U:", f"{p}        {uvar} = True"]
            depth += 1
        p = "    " * depth
        lines.append(f"{p}{var} = U if {uvar} else {'False' if op == 'or' else 'True'}")
        return lines

    def field(self, expr, node):
        res = expr.resolved.get(id(node)) if isinstance(node, ast.Path) else None
        return tuple(res[1]) if res and res[0] == "field" else None

    def inline(self, expr, node, var, pad):
        """the lines of a leaf that tests one fact against literals (`customer.segment == "partner"`, `topic in
        [...]`, a bare fact), as its closure computes it (a fact absent or null is unknown, an object on the way
        that is not one too; the comparison's or membership's operator then), or None (its closure it is)"""
        parts, test = self.field(expr, node), None
        if parts is None and isinstance(node, ast.Compare):
            op = _OPS[node.op]
            if self.field(expr, node.left) and isinstance(node.right, ast.Literal):
                parts, lit = self.field(expr, node.left), self.name("c", node.right.value)
                test = f"x {op} {lit}"
            elif self.field(expr, node.right) and isinstance(node.left, ast.Literal):
                parts, lit = self.field(expr, node.right), self.name("c", node.left.value)
                test = f"{lit} {op} x"
            if test is None:
                return None
        elif parts is None and isinstance(node, ast.Membership) and isinstance(node.container, ast.ListExpr) \
                and all(isinstance(i, ast.Literal) for i in node.container.items):
            parts = self.field(expr, node.item)
            if parts is None:
                return None
            test = f"x {'not in' if node.negated else 'in'} {self.name('c', frozenset(i.value for i in node.container.items))}"
        elif parts is None:
            return None
        lines, obj = [], "t"
        for part in parts[:-1]:
            lines += [f"{pad}x = {obj}.get({self.name('p', part)})", f"{pad}if not isinstance(x, dict):", f"{pad}    x = E"]
            obj = "x"
        lines.append(f"{pad}x = {obj}.get({self.name('p', parts[-1])})")
        lines.append(f"{pad}{var} = U if x is None else {test or 'x'}")
        return lines

    def unset(self, where, ind) -> list:
        """the children of a node whose value came from elsewhere (a definition's kept value): not computed"""
        s = self.shape(*where)
        pad = "    " * ind
        if s[0] == "not":
            return [f"{pad}{self.var_of(s[1])} = NA"]
        if s[0] == "bool":
            return [f"{pad}{' = '.join(self.var_of(k) for k in s[2])} = NA"]
        if s[0] == "def":
            return [f"{pad}{self.var_of(s[2])} = NA"]
        return []

    def var_of(self, where) -> str:
        key = (id(where[0]), id(where[1]))
        got = self._vars.get(key)
        if got is None:
            got = self._vars[key] = f"v{len(self._vars)}"
        return got

    # -- the failed tree of a node whose value is computed: lines assigning its result ----------------------
    def failed(self, where, want, via, var, rvar, ind) -> list:
        expr, node = where
        pad = "    " * ind
        wish = "True" if want else "False"
        lines = [f"{pad}if {var} is not U and bool({var}) is {wish}:", f"{pad}    {rvar} = None", f"{pad}else:"]
        ind += 1
        pad = "    " * ind
        s = self.shape(expr, node)
        if s[0] == "leaf":
            vname = self.name("via", via)
            head = self.name("h", ("leaf", expr.path, id(node), want, tuple([v["definition"] for v in via])))  # (leaf's)
            call = "once" if self.t.inputs(expr, node) is None else "leaf"  # (never kept: once per analysis)
            lines.append(f"{pad}{rvar} = {call}({self.name('e', expr)}, {self.name('n', node)}, {wish}, {var}, {vname}, {head})")
            return lines
        if s[0] == "not":
            cvar = self.var_of(s[1])
            lines += self.ensure(s[1], cvar, ind)
            return lines + self.failed(s[1], not want, via, cvar, rvar, ind)
        if s[0] == "def":
            d, child = s[1], s[2]
            cvar = self.var_of(child)
            return lines + self.failed(child, want, via + [{"definition": d[1], "source": d[2]}], cvar, rvar, ind)
        op, kids = s[1], s[2]
        kind = "all_of" if (op == "and") == want else "any_of"
        rvars = []
        for k in kids:
            kv = self.var_of(k)
            lines += self.ensure(k, kv, ind)
            rv = f"r{self.count}_{len(rvars)}"
            self.count += 1
            lines += self.failed(k, want, via, kv, rv, ind)
            rvars.append(rv)
        kids_of = f"list(filter(None, ({', '.join(rvars)},)))"  # (the failing ones: a failed tree is never empty)
        if all(self.shape(*k)[0] == "leaf" for k in kids):  # leaves' entries: nothing to flatten (_group's result)
            lines += [f"{pad}_k = {kids_of}", f"{pad}{rvar} = (_k[0] if len(_k) == 1 else {{{kind!r}: _k}}) if _k else None"]
        else:
            lines.append(f"{pad}{rvar} = group({kind!r}, {kids_of})")
        return lines

    def ensure(self, where, var, ind) -> list:
        pad = "    " * ind
        return [f"{pad}if {var} is NA:"] + self.value(*where, var, ind + 1)


class _TooBig(Exception):
    pass


def walk_of(trees, expr, want: bool, group, policy_id: str):
    """the walk of `expr`'s condition for `want`, generated on first use and kept in whynot's per-policy trees
    (`trees.walks`; None: the reference walks it)"""
    key = (expr.path, want)
    walk = trees.walks.get(key, NA)
    if walk is NA:
        walk = trees.walks[key] = generate(trees, expr, want, group, f"<slapolicy:{policy_id}:why_not>")
    return walk


def generate(trees, expr, want: bool, group, label: str):
    """the walk of `expr`'s condition for `want` (module docstring), or None when it is too big"""
    g = _Gen(trees, group)
    try:
        root = (expr, expr.tree)
        lines = g.value(*root, "v_root", 1)
        g.nodes = 0
        lines += g.failed(root, want, [], "v_root", "r_root", 1)
    except _TooBig:
        return None
    source = "def walk(env, values, leaf, once):\n    t = env.ticket\n" + "\n".join(lines) + "\n    return v_root, r_root\n"
    try:
        code = compile(source, label, "exec")
    except (SyntaxError, RecursionError, MemoryError):  # (nested too deep for the parser: the reference walks it)
        return None
    exec(code, g.ns)  # generated from the checked tree: names and numbers only
    fn = g.ns["walk"]
    fn.source = source
    return fn


_EMPTY: dict = {}
SLOW = object()  # (a key's mark: its values as JSON follow)


def value_at(ticket, parts):
    """the value at a field path of a ticket, None where absent (the reference of `reader`)"""
    value = ticket
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def keyer(fields, classes, stages, slow):
    """fn(ticket, stage values, head) -> the key of a kept answer (whynot's `_kept`): (head, the value at each
    field path of `fields` (None where absent, or where an object on the way is not an object; `value_at` for
    each path is the reference), the stage value of each name of `stages`), when each value's class is one of
    its field's `classes` (a set of classes no two of which have equal values: str, bool, None and date, or int
    and None: 1, 1.0 and True never share a key); else (head, SLOW, slow(the values), the stage values). One
    generated function reading each object once."""
    ns, lines, objects, out = {"_E": _EMPTY, "_SLOW": SLOW, "_slow": slow}, [], {(): "t"}, []

    def const(prefix, value):
        name = f"{prefix}{len(ns)}"
        ns[name] = value
        return name

    for i, parts in enumerate(fields):
        for k in range(1, len(parts)):
            if parts[:k] not in objects:
                o = objects[parts[:k]] = f"o{len(objects)}"
                lines.append(f"    {o} = {objects[parts[:k - 1]]}.get({const('k', parts[k - 1])})")
                lines.append(f"    if not isinstance({o}, dict):\n        {o} = _E")
        lines.append(f"    a{i} = {objects[parts[:-1]]}.get({const('k', parts[-1])})")
        out.append(f"a{i}")
    tail = "".join(f", s.get({const('s', name)})" for name in stages)
    if out:
        test = " and ".join(f"{v}.__class__ in {const('c', frozenset(c))}" for v, c in zip(out, classes))
        lines.append(f"    if {test}:\n        return (h, {', '.join(out)}{tail})")
        lines.append(f"    return (h, _SLOW, _slow([{', '.join(out)}]){tail})")
    else:
        lines.append(f"    return (h{tail},)")
    source = "def key(t, s, h):\n" + "\n".join(lines) + "\n"
    exec(compile(source, "<slapolicy:why_not:key>", "exec"), ns)  # names and numbers only
    fn = ns["key"]
    fn.source = source
    return fn
