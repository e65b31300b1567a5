"""Stage 5b: generate Python source from the checked expression trees (the fast path).

Each expression becomes one Python function `f(t, s)` (t: the normalised ticket, s: the stage
values) returning True / False / UNKNOWN, with Kleene logic written out inline. The source is
generated from the typed tree only: identifiers are ours or vocabulary names, literals go into
the function's namespace as constants, never as text. So no policy text is ever evaluated.

The plain variant does not record which facts were missing: when a rule's result is UNKNOWN the
evaluator runs its tracking variant (f(t, s, m)) to learn them. Both are built from the same tree as
the closures (slapolicy.language.compile) and tests run both on the same tickets.

`fast_generator` is the variant slapolicy.decide.fastpath builds its one function with: it knows the
fields a validated ticket always has (read by subscript, never UNKNOWN, so their tests are two-valued),
inlines definitions and date(), and takes a duration literal's branch of `+` / `-` at generation.
"""
from __future__ import annotations

import datetime as dt
import itertools

from slapolicy.language import ast
from slapolicy.language.builtins import arith, functions
from slapolicy.language.inline import ONE_ARG, date_source, shift
from slapolicy.language.runtime import UNKNOWN, Stub

_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _quantify(kind):
    want = kind == "any"

    def q(items, cond):
        if items is UNKNOWN:
            return UNKNOWN
        unknown = False
        for item in items:
            v = cond(item)
            if v is want:
                return want
            if v is UNKNOWN:
                unknown = True
        return UNKNOWN if unknown else (not want)
    return q


def _quantify_tracked(kind):
    want = kind == "any"

    def q(m, items, cond):
        if items is UNKNOWN:
            return UNKNOWN
        mark = len(m)
        unknown = False
        for item in items:
            v = cond(item)
            if v is want:
                del m[mark:]
                return want
            if v is UNKNOWN:
                unknown = True
        return UNKNOWN if unknown else (not want)
    return q


def _miss(m, path):
    m.append(path)
    return UNKNOWN


def _cut(m, mark, value):
    del m[mark:]
    return value


_NS = object()  # "not computed yet"


def _memo(s, key, value):
    s[key] = value
    return value


class _Gen:
    """Source for one variant: plain (f(t, s)) or tracking (f(t, s, m): appends missing facts to m,
    with the same Kleene bookkeeping as the closures: facts under a decided sub-expression are dropped)."""

    def __init__(self, checked, tz, track=False, required=None, prefix="_k"):
        self.checked = checked
        self.tz = tz
        self.track = track
        # the fast path's variant (slapolicy.decide.fastpath): `required` field paths are read by subscript and
        # never unknown, so their tests need no UNKNOWN checks; date() and `+ <duration literal>` specialised
        self.required = required
        self.instants = frozenset()  # required fields that hold datetimes in a validated ticket
        self.prefix = prefix
        self.ns = {"U": UNKNOWN, "_E": {}, "_any": _quantify("any"), "_all": _quantify("all"),
                   "_any_t": _quantify_tracked("any"), "_all_t": _quantify_tracked("all"), "_miss": _miss, "_cut": _cut,
                   "_NS": _NS, "_memo": _memo, "_dt": dt.datetime, "_utc": dt.timezone.utc}
        self.counter = itertools.count()
        self.vars = itertools.count()
        self.expr = None
        self.def_names = {}
        self.consts = {}
        self.maybes = {}
        self.bound = {}
        self.inlined = 0  # definitions being inlined (fast path's variant; at most 3 deep)
        self.fused = None  # generating the fused function (slapolicy.decide.fasttree.Fused), not a function (t, s)
        self.known = {}  # field path -> the local holding its value, read and known not UNKNOWN (fastpath)
        self.read = {}  # optional field path -> the local its value (maybe UNKNOWN) was read into (fasttree's leaves)
        self.values = {}  # required field path -> (True, values it is among) / (False, values it is not among)

    def const(self, value) -> str:
        try:  # one name for one value (identical expressions give identical source: fastpath compares them)
            key = (type(value), value) if not callable(value) else ("fn", id(value))
            name = self.consts.get(key)
        except TypeError:
            key = name = None
        if name is None:
            name = f"{self.prefix}{next(self.counter)}"
            self.ns[name] = value
            if key is not None:
                self.consts[key] = name
        return name

    # -- the fast path's variant: which sub-expressions can be UNKNOWN ---------------------------------
    def maybe(self, node) -> bool:
        """can `node` evaluate to UNKNOWN? (always True outside the fast path's variant)"""
        if self.required is None:
            return True
        if isinstance(node, ast.Literal):
            return False
        if isinstance(node, ast.Path):
            kind, *rest = self.expr.resolved[id(node)]
            if kind == "field":
                return tuple(rest[0]) not in self.required and tuple(rest[0]) not in self.known
            if kind == "def":
                name = rest[0]
                if name not in self.maybes:
                    self.maybes[name] = True  # (a cycle, which the checker refuses anyway)
                    outer, self.expr = self.expr, self.checked.exprs[("definitions", name, "expr")]
                    try:
                        self.maybes[name] = self.maybe(self.expr.tree)
                    finally:
                        self.expr = outer
                return self.maybes[name]
            return kind != "stage"  # a stage value: the fast path's decide never stores UNKNOWN in s
        if isinstance(node, ast.Quantifier):
            return True
        if isinstance(node, ast.Not):
            return self.maybe(node.operand)
        if isinstance(node, ast.BoolOp):
            return any(self.maybe(o) for o in node.operands)
        if isinstance(node, (ast.Compare, ast.Arith)):
            return self.maybe(node.left) or self.maybe(node.right)
        if isinstance(node, ast.Membership):
            return self.maybe(node.item) or self.maybe(node.container)
        if isinstance(node, ast.ListExpr):
            return any(self.maybe(i) for i in node.items)
        if isinstance(node, ast.Call):
            return node.name != "exists" and any(self.maybe(a) for a in node.args)
        return True

    def labels(self, node):
        """the missing facts a tracking evaluation of `node` can list (the labels of its optional fields), or
        None when they are not that simple (a quantifier's variable)"""
        if isinstance(node, ast.Literal):
            return frozenset()
        if isinstance(node, ast.Path):
            kind, *rest = self.expr.resolved[id(node)]
            if kind == "field":
                parts = tuple(rest[0])
                return frozenset() if parts in self.required else frozenset([".".join(parts)])
            if kind == "def":
                outer, self.expr = self.expr, self.checked.exprs[("definitions", rest[0], "expr")]
                try:
                    return self.labels(self.expr.tree)
                finally:
                    self.expr = outer
            return frozenset() if kind == "stage" else None
        if isinstance(node, ast.Call) and node.name == "exists":
            return frozenset()
        children = {ast.Not: lambda n: (n.operand,), ast.BoolOp: lambda n: n.operands, ast.Compare: lambda n: (n.left, n.right),
                    ast.Arith: lambda n: (n.left, n.right), ast.Membership: lambda n: (n.item, n.container),
                    ast.ListExpr: lambda n: n.items, ast.Call: lambda n: n.args}.get(type(node))
        if children is None:
            return None
        out = frozenset()
        for child in children(node):
            sub = self.labels(child)
            if sub is None:
                return None
            out |= sub
        return out

    def simple(self, name) -> bool:
        """is the definition one test of a field against literals (inlined rather than memoised)?"""
        expr = self.checked.exprs[("definitions", name, "expr")]
        node = expr.tree
        if isinstance(node, ast.Not):
            node = node.operand
        if isinstance(node, ast.Compare):
            item, other = node.left, node.right
        elif isinstance(node, ast.Membership):
            item, other = node.item, node.container
        else:
            return False
        literal = isinstance(other, ast.Literal) or (isinstance(other, ast.ListExpr)
                                                     and all(isinstance(i, ast.Literal) for i in other.items))
        return literal and isinstance(item, ast.Path) and expr.resolved[id(item)][0] == "field"

    def body(self, expr, node=None) -> str:
        """the source of `node` (default: the expression's tree) of the checked expression `expr`"""
        self.expr = expr
        self.vars = itertools.count()  # names local to the function the body goes into
        return self.gen(expr.tree if node is None else node)

    def var(self) -> str:
        return f"_v{next(self.vars)}"

    def gen(self, node) -> str:
        return getattr(self, "g_" + type(node).__name__)(node)

    def g_Literal(self, node):
        if node.type in ("string", "number", "bool"):
            return repr(node.value)
        return self.const(node.value)

    def g_Path(self, node):
        kind, *rest = self.expr.resolved[id(node)]
        if kind == "field":
            parts = rest[0]
            code = "t"
            if self.required is not None:  # a validated ticket always has its required fields
                if tuple(parts) in self.known:
                    return self.known[tuple(parts)]
                code = self.field_code(parts)
                return code if tuple(parts) in self.required else self.tracked(code, ".".join(parts))
            for part in parts[:-1]:
                code = f"{code}.get({part!r}, _E)"
            return self.tracked(f"{code}.get({parts[-1]!r}, U)", ".".join(parts))
        if kind == "var":
            name, parts = rest
            code = f"_q_{name}"
            if not parts:
                return code
            for part in parts[:-1]:
                code = f"{code}.get({part!r}, _E)"
            return self.tracked(f"{code}.get({parts[-1]!r}, U)", f"{name}." + ".".join(parts))
        if kind == "def":
            if self.track:  # not memoised: each use must list the missing facts again
                return f"{self.def_names[rest[0]]}(t, s, m)"
            fused = self.fused
            if fused is not None and not self.simple(rest[0]) and (fused.lambdas or self.inlined >= 3):
                return f"{self.def_names[rest[0]]}(t, {{}})"  # (no stage value; its memos in a dict of its own)
            if self.required is not None and self.simple(rest[0]):  # cheaper than its memo: inline
                outer, self.expr = self.expr, self.checked.exprs[("definitions", rest[0], "expr")]
                try:
                    return self.gen(self.expr.tree)
                finally:
                    self.expr = outer
            # memoised per evaluation in the stage dict (fresh for every ticket), under a key no stage uses
            key, v = repr("#" + rest[0]), self.var()
            if self.required is not None:  # the memo by dict.setdefault (a C call), the body inline (no call)
                self.inlined += 1
                outer, self.expr = self.expr, self.checked.exprs[("definitions", rest[0], "expr")]
                try:
                    body = self.gen(self.expr.tree) if self.inlined <= 3 else f"{self.def_names[rest[0]]}(t, s)"
                finally:
                    self.expr = outer
                    self.inlined -= 1
                if fused is not None:  # the memo is a local of the fused function
                    memo = fused.memos.setdefault(rest[0], f"_M_{len(fused.memos)}")
                    return f"({memo} if {memo} is not _NS else ({memo} := {body}))"
                return f"({v} if ({v} := s.get({key}, _NS)) is not _NS else s.setdefault({key}, {body}))"
            return f"({v} if ({v} := s.get({key}, _NS)) is not _NS else _memo(s, {key}, {self.def_names[rest[0]]}(t, s)))"
        return f"s[{rest[0]!r}]" if self.fused is None else self.fused.stage(rest[0])

    def field_code(self, parts) -> str:
        """the source reading a field of a validated ticket (the fast path's variant): required parts by
        subscript, others by .get (UNKNOWN when absent); in the fused function from the local holding the
        required object it is in"""
        parts, code, start = tuple(parts), "t", 0
        if parts in self.read:
            return self.read[parts]
        fused = self.fused
        if fused is not None and parts[:1] in self.required:
            start = max(k for k in range(1, len(parts) + 1) if parts[:k] in self.required)
            got = fused.hoisted.get(parts[:start])
            if got is None:  # (its parent first)
                read = f"{self.field_code(parts[:start - 1])}[{parts[start - 1]!r}]" if start > 1 else f"t[{parts[0]!r}]"
                got = fused.hoisted[parts[:start]] = (f"_T_{len(fused.hoisted)}", read)
            code = got[0]
        for k in range(len(parts) - 1, max(start, 1) - 1, -1):  # an optional object read into a local: from it
            got = self.known.get(parts[:k])  # (known present: fastsplit's branch)
            if got is not None:
                code, start = got, k
                break
            got = self.read.get(parts[:k])
            if got is not None:
                code, start = f"(_E if {got} is U else {got})", k
                break
        for k in range(start, len(parts)):
            if parts[:k + 1] in self.required:
                code = f"{code}[{parts[k]!r}]"
            else:
                code = f"{code}.get({parts[k]!r}, {'U' if k == len(parts) - 1 else '_E'})"
        return code

    def tracked(self, access: str, label: str) -> str:
        if not self.track:
            return access
        v = self.var()
        return f"({v} if ({v} := {access}) is not U else _miss(m, {label!r}))"

    def both(self, a, left, b, right) -> str:
        """`left or right is unknown`, binding a and b; the tracking variant evaluates both sides (as the
        closures do), so that the missing facts of the right side are listed too."""
        if self.track:
            return f"((({a} := {left}) is U) | (({b} := {right}) is U))"
        return f"(({a} := {left}) is U or ({b} := {right}) is U)"

    def g_ListExpr(self, node):
        if all(isinstance(i, ast.Literal) for i in node.items):
            return self.const([i.value for i in node.items])
        items = ", ".join(self.gen(i) for i in node.items)
        v = self.var()
        return f"(U if U in ({v} := [{items}]) else {v})"  # `in` tests identity first

    def g_Not(self, node):
        if not self.maybe(node.operand):
            return f"(not {self.gen(node.operand)})"
        v = self.var()
        return f"(U if ({v} := {self.gen(node.operand)}) is U else not {v})"

    def g_BoolOp(self, node):
        stop, other = ("False", "True") if node.op == "and" else ("True", "False")
        if self.required is not None:  # operands that cannot be unknown are two-valued tests
            logic = (ast.Compare, ast.Membership, ast.Not, ast.BoolOp)
            maybe = [self.maybe(o) for o in node.operands]
            if not any(maybe) and all(isinstance(o, logic) or isinstance(o, ast.Call) and o.name == "exists"
                                      for o in node.operands):  # True / False each: Python's and / or
                return "(" + f" {node.op} ".join(self.gen(o) for o in node.operands) + ")"
            names = [self.var() if m else None for m in maybe]
            self.bound[id(node)] = names  # (fastpath reads which operand was unknown)
            unknown = [n for n in names if n is not None]
            code = f"(U if {' or '.join(f'{n} is U' for n in unknown)} else {other})" if unknown else other
            # tracking: a decided operand drops the facts the operands before it listed (none before the first
            # that can be unknown)
            mark = self.var() if self.track and unknown else None
            first = maybe.index(True) if unknown else len(maybe)
            for k, (name, operand) in reversed(list(enumerate(zip(names, node.operands)))):
                decided = f"_cut(m, {mark}, {stop})" if mark and k > first else stop
                if name is not None and unknown == [name] == names[-1:] and (isinstance(operand, logic) or isinstance(
                        operand, ast.Call) and operand.name in ("exists", "blank")):  # its True / False / UNKNOWN
                    code = f"({name} := {self.gen(operand)})"
                elif name is not None:
                    code = f"({decided} if ({name} := {self.gen(operand)}) is {stop} else {code})"
                if name is not None:
                    continue
                test = self.gen(operand)
                if not isinstance(operand, logic) and not (isinstance(operand, ast.Call) and operand.name == "exists"):
                    test = f"({test} is {'not False' if stop == 'False' else 'True'})"
                code = f"({code} if {test} else {decided})" if stop == "False" else f"({decided} if {test} else {code})"
            return f"({mark} := len(m), {code})[1]" if mark else code
        names = [self.var() for _ in node.operands]
        code = f"(U if {' or '.join(f'{n} is U' for n in names)} else {other})"
        mark = self.var() if self.track else None
        decided = f"_cut(m, {mark}, {stop})" if self.track else stop
        for name, operand in reversed(list(zip(names, node.operands))):
            code = f"({decided} if ({name} := {self.gen(operand)}) is {stop} else {code})"
        return f"({mark} := len(m), {code})[1]" if self.track else code

    def folded(self, path, values, positive):
        """"True" / "False" when the decision tree knows `path in values` (positive) or `not in`, else None"""
        where = self.expr.resolved[id(path)] if isinstance(path, ast.Path) else ()
        got = self.values.get(tuple(where[1])) if where and where[0] == "field" else None
        if got is None:
            return None
        among, known = got
        if among and known <= values or not among and values <= known:  # (True: in; False: not in)
            return repr(among == positive)
        if among and not (known & values):
            return repr(not positive)
        return None

    def g_Compare(self, node):
        if node.op in ("==", "!=") and isinstance(node.right, ast.Literal) and type(node.right.value) is str:
            fold = self.folded(node.left, frozenset([node.right.value]), node.op == "==")
            if fold is not None:
                return fold
        a, op = self.var(), _OPS[node.op]
        if not self.maybe(node):
            return f"({self.gen(node.left)} {op} {self.gen(node.right)})"
        if self.required is not None and not self.maybe(node.right):
            return f"(U if ({a} := {self.gen(node.left)}) is U else {a} {op} {self.gen(node.right)})"
        if self.required is not None and not self.maybe(node.left):  # (no side effects: the order is free)
            return f"(U if ({a} := {self.gen(node.right)}) is U else {self.gen(node.left)} {op} {a})"
        if isinstance(node.right, ast.Literal):
            return f"(U if ({a} := {self.gen(node.left)}) is U else {a} {op} {self.gen(node.right)})"
        b = self.var()
        return f"(U if {self.both(a, self.gen(node.left), b, self.gen(node.right))} else {a} {op} {b})"

    def g_Membership(self, node):
        a = self.var()
        op = "not in" if node.negated else "in"
        if isinstance(node.container, ast.ListExpr) and all(isinstance(i, ast.Literal) for i in node.container.items):
            items = frozenset(i.value for i in node.container.items)
            fold = self.folded(node.item, items, not node.negated) if all(type(i) is str for i in items) else None
            if fold is not None:
                return fold
            values = self.const(items)
            if not self.maybe(node.item):
                return f"({self.gen(node.item)} {op} {values})"
            return f"(U if ({a} := {self.gen(node.item)}) is U else {a} {op} {values})"
        b = self.var()
        return f"(U if {self.both(a, self.gen(node.item), b, self.gen(node.container))} else {a} {op} {b})"

    def g_Arith(self, node):
        sign = 1 if node.op == "+" else -1
        if self.required is not None and isinstance(node.right, ast.Literal) and isinstance(node.right.value, ast.Duration):
            d = node.right.value
            if not d.months:  # a + timedelta, inline (of seconds for an instant, of whole days for a date)
                a = self.var()
                instant, day = self.const(dt.timedelta(seconds=sign * d.seconds)), \
                    self.const(dt.timedelta(days=sign * int(d.seconds // 86400)))
                shifted = f"{a} + ({instant} if isinstance({a}, _dt) else {day})" if instant != day else f"{a} + {day}"
                if not self.maybe(node.left) and instant == day:  # whole days: the same for an instant and a date
                    return f"({self.gen(node.left)} + {day})"
                if not self.maybe(node.left):
                    return f"(({a} := {self.gen(node.left)}), {shifted})[1]"
                return f"(U if ({a} := {self.gen(node.left)}) is U else {shifted})"
            fn = self.const(shift(self.tz, sign, d))  # arith(), the duration known
            if not self.maybe(node.left):
                return f"{fn}({self.gen(node.left)})"
            a = self.var()
            return f"(U if ({a} := {self.gen(node.left)}) is U else {fn}({a}))"
        apply = self.const(arith(self.tz, sign))
        a, b = self.var(), self.var()
        return f"(U if {self.both(a, self.gen(node.left), b, self.gen(node.right))} else {apply}({a}, {b}))"

    def g_Call(self, node):
        if node.name == "exists":
            if self.track:
                mark = self.var()
                return f"({mark} := len(m), {self.gen(node.args[0])} is not U, _cut(m, {mark}, None))[1]"
            return f"({self.gen(node.args[0])} is not U)"
        if node.name == "is_open":
            calendar = self.checked.calendars.get(node.args[1].value)
            v = self.var()
            return f"(U if ({v} := {self.gen(node.args[0])}) is U else {self.const(calendar.is_open)}({v}))"

        impl = functions(self.tz)[node.name]
        if self.required is not None and node.name == "date":
            return date_source(self, node)
        if len(node.args) == 1 and node.name in ONE_ARG:  # the body inline (no call)
            if not self.maybe(node.args[0]):
                return ONE_ARG[node.name].format(self.gen(node.args[0]))
            v, arg = self.var(), self.gen(node.args[0])
            if arg.isidentifier():  # (a local: no walrus)
                return f"(U if {arg} is U else {ONE_ARG[node.name].format(arg)})"
            return f"(U if ({v} := {arg}) is U else {ONE_ARG[node.name].format(v)})"
        if len(node.args) == 1 and not self.maybe(node.args[0]):
            return f"{self.const(impl)}({self.gen(node.args[0])})"
        if len(node.args) == 1:  # inline: no argument list, no loop over it
            v = self.var()
            return f"(U if ({v} := {self.gen(node.args[0])}) is U else {self.const(impl)}({v}))"
        if len(node.args) == 2:
            a, b = self.var(), self.var()
            both = self.both(a, self.gen(node.args[0]), b, self.gen(node.args[1]))
            return f"(U if {both} else {self.const(impl)}({a}, {b}))"

        def call(*args):
            for a in args:
                if a is UNKNOWN:
                    return UNKNOWN
            return impl(*args)
        return f"{self.const(call)}({', '.join(self.gen(a) for a in node.args)})"

    def g_Quantifier(self, node):
        helper = "_any" if node.kind == "any" else "_all"
        if self.track:
            return f"{helper}_t(m, {self.gen(node.source)}, lambda _q_{node.var}: {self.gen(node.cond)})"
        source = self.gen(node.source)
        if self.fused is not None:
            self.fused.lambdas += 1
        try:
            cond = self.gen(node.cond)
        finally:
            if self.fused is not None:
                self.fused.lambdas -= 1
        return f"{helper}({source}, lambda _q_{node.var}: {cond})"


def fast_generator(checked, tz, required, track=False, instants=()):
    """a generator of the fast path's variant (see _Gen): `body(expr, node)` gives an expression's source,
    `maybe(node)` whether it can be UNKNOWN, `ns` the constants; definitions are `_def_<i>(t, s)`, or with
    track (f(t, s, m), listing missing facts) `_dtr_<i>(t, s, m)`"""
    gen = _Gen(checked, tz, track=track, required=frozenset(required), prefix="_j" if track else "_k")
    gen.instants = frozenset(instants)
    for name in (checked.data.get("definitions") or {}):
        gen.def_names[name] = f"{'_dtr' if track else '_def'}_{len(gen.def_names)}"
    return gen


def sources(checked, tz, track: bool = False) -> tuple:
    """(namespace of constants, {key path: (function name, body expression)}, definitions first) for every
    expression of a checked policy; `generate` makes functions of them, slapolicy.decide.fastpath inlines
    the bodies of the rules into one function per policy edition."""
    gen = _Gen(checked, tz, track)
    out = {}
    order = sorted(checked.exprs.items(), key=lambda kv: kv[0][0] != "definitions")  # definitions first
    for name in (checked.data.get("definitions") or {}):
        gen.def_names[name] = f"_def_{len(gen.def_names)}"
    for i, (path, expr) in enumerate(order):
        gen.expr = expr
        body = gen.gen(expr.tree)
        out[path] = (gen.def_names[path[1]] if path[0] == "definitions" else f"_rule_{i}", body)
    return gen.ns, out


def generate(checked, tz, track: bool = False) -> dict:
    """key path -> generated function, for every expression of a checked policy:
    f(t, s) returning the value, or (track=True) f(t, s, m) also appending missing facts to m."""
    ns, bodies = sources(checked, tz, track)
    params = "t, s, m" if track else "t, s"
    source = "\n".join(f"def {fname}({params}):\n    return {body}\n" for fname, body in bodies.values())
    code = compile(source, f"<slapolicy:{checked.data.get('id')}>", "exec")
    namespace = dict(ns)
    exec(code, namespace)  # generated from the checked tree (see the module docstring), not policy text
    out = {path: namespace[fname] for path, (fname, _) in bodies.items()}
    out["__source__"] = source
    return out


class Lazy:
    """The generated functions of one variant, each compiled on first use: a policy of thousands of rules
    compiles only the functions that run (compiling Python source is most of a large policy's load time).
    The definitions, which rules call, are compiled together on the first use of any function."""

    def __init__(self, ns: dict, bodies: dict, params: str, label: str):
        self.ns = dict(ns)
        self.bodies = bodies
        self.params = params
        self.label = label
        self.ready = False

    def get(self, path):
        fname, body = self.bodies[path]
        fn = self.ns.get(fname)
        if fn is not None:
            return fn
        source = f"def {fname}({self.params}):\n    return {body}\n"
        if not self.ready:  # the definitions first (memoised defs call each other by name)
            source = "\n".join(f"def {f}({self.params}):\n    return {b}\n" for key, (f, b) in self.bodies.items()
                               if key[0] == "definitions") + "\n" + source
        exec(compile(source, self.label, "exec"), self.ns)  # generated from the checked tree, not policy text
        self.ready = True
        return self.ns[fname]

    def stub(self, path):
        return Stub(self, path)
