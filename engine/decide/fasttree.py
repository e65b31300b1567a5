"""The decision tree of a stage, as generated source (the builder slapolicy.decide.fastpath makes its one
function per policy edition with).

First-match and all-match stages are compiled into a decision tree over the facts their rules test
first: a rule `topic in ["a", "b"] and ...` cannot fire unless `topic` is "a" or "b", so each stage
dispatches on the value of its most discriminating field (if / elif on a few values, else a dict
lookup to a function) to code that tests only the rules that can still fire, in their order, without
the conjuncts the tree knows to be true; nested on the next field while a bucket is still large. A
missing optional fact dispatches to its own bucket, where a rule guarded on it cannot fire (it is
unknown, or false when the rest is) and only lists the fact (and the rest's) unless the rest is false.
In a leaf, a rule whose remaining test is one an earlier rule made already (first match), or that
cannot fire and lists what an earlier one lists, is left out: it is false or unknown like that one,
with the same facts. So the cost of a decision stays flat as a policy grows to thousands of rules. In a leaf,
consecutive rules that read one optional fact (an object and its sub-fields, or a field) branch once on its
presence, folding what each branch knows into them (slapolicy.decide.fastsplit).
"""
from __future__ import annotations

import contextlib
import itertools

from slapolicy.decide import fastsplit
from slapolicy.language import ast
from slapolicy.language.runtime import UNKNOWN

MAX_DEPTH = 3  # nested dispatch on at most this many fields
INLINE = 40  # a missing fact's list of more rules than this runs as a loop over the rules' functions
LAZY_ABOVE = 300  # a policy of more rules than this compiles each bucket of its decision tree on first use
SMALL = 4  # a node of at most this many values dispatches by if / elif (not lazy policies), else by a table
LEAF = 2  # a bucket of at most this many rules is tested in order, without further dispatch


def guards(expr) -> dict:
    """{(kind, key): (positive, values, node)} for the conjuncts `path == "x"`, `path in [...]`, `!=`,
    `not in` of a rule's condition (top level of an `and`): the rule is false when the path's value is
    known and (positive) not among `values` or (not positive) among them."""
    tree = expr.tree
    operands = tree.operands if isinstance(tree, ast.BoolOp) and tree.op == "and" else (tree,)
    out = {}
    for node in operands:
        if isinstance(node, ast.Compare) and node.op in ("==", "!=") and isinstance(node.left, ast.Path) \
                and isinstance(node.right, ast.Literal) and type(node.right.value) is str:
            path, values, positive = node.left, frozenset([node.right.value]), node.op == "=="
        elif isinstance(node, ast.Membership) and isinstance(node.item, ast.Path) \
                and isinstance(node.container, ast.ListExpr) and node.container.items \
                and all(isinstance(i, ast.Literal) and type(i.value) is str for i in node.container.items):
            path, values, positive = node.item, frozenset(i.value for i in node.container.items), not node.negated
        else:
            continue
        kind, *rest = expr.resolved[id(path)]
        if kind == "field":
            key = ("field", tuple(rest[0]))
        elif kind == "stage":
            key = ("stage", rest[0])
        else:
            continue
        if key in out:  # two guards on one field: keep the first (the other is still tested)
            continue
        out[key] = (positive, values, node)
    return out


_LOGIC = (ast.Compare, ast.Membership, ast.Not, ast.BoolOp)


class Fused:
    """Generating one function that holds several stages (slapolicy.decide.fastpath's eligibility + tier): the
    stage values are its locals (or literals), a definition's memo is a local (`_NS` until computed) instead of
    an entry of the stage dict, and a required field (or object: `customer`) is read into a local once."""

    def __init__(self):
        self.stages = {}  # stage value -> the source of its value (the stages decided so far)
        self.read = set()  # the stage values the generated code read
        self.memos = {}  # definition -> the local holding its memo (initialised to _NS at the function's top)
        self.hoisted = {}  # required field path -> (its local, the source reading it), in the order of first use
        self.lambdas = 0  # inside a quantifier's lambda (a walrus there would bind the lambda's local: no memo)

    def stage(self, name) -> str:
        self.read.add(name)
        return self.stages[name]

    def sdict(self) -> str:
        """the stage dict a function called from the fused one gets: the stage values decided so far"""
        self.read.update(self.stages)
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in self.stages.items()) + "}"


class Builder:
    def __init__(self, policy, gen):
        self.policy = policy
        self.gen = gen
        self.ns = {}
        self.lines = []
        self.counter = itertools.count()
        self.constant = {}  # a stage function that only returns an index (no test) -> the index
        # the function being generated: a stage function (t, s, m, out), or (fused, a Fused) the fused
        # eligibility + tier function: stage values and memos in its locals, `out` is `hits`, and a first-match
        # stage's result goes to the variable `result` (in a `while True:` block that `break` leaves)
        self.fused, self.out, self.result = None, "out", None

    # the answer-only mode (slapolicy.decide.classify): a leaf's rule tests come from answer(), no missing
    # facts; in the fused function a first-match stage ends with finish(index or the source of one)
    bare = False
    finish = None

    def mode(self, fused, out="out", result=None) -> tuple:
        """switch to generating a stage function (fused None) or the fused function; the previous mode"""
        before = self.fused, self.out, self.result
        self.fused, self.out, self.result = fused, out, result
        self.gen.fused = fused
        return before

    @property
    def sx(self) -> str:
        """the stage values, as what the generated code passes to a function (t, s, ...): in the fused function
        a dict of the stage values decided so far (a fresh one a call: the memos of definitions stay local)"""
        return "s" if self.fused is None else self.fused.sdict()

    def done(self, value, first_match) -> list:
        """the statements that end a stage with `value` (first match: the index; else a call statement)"""
        if self.fused is None:
            return [f"return {value}"]
        if self.finish is not None:
            return self.finish(value)
        return [f"{self.result} = {value}", "break"] if first_match else [value]

    def const(self, value) -> str:
        name = f"_c{next(self.counter)}"
        self.ns[name] = value
        return name

    def tracker(self, rule) -> str:
        """the name of the rule's tracking function: a stub that compiles it on its first call and puts it in
        its place (a policy of thousands of rules compiles only the tracking code that runs)"""
        name = f"_tr{next(self.counter)}"
        expr, namespace, track, label = self.policy.exprs[self.paths[id(rule)]], self.namespace, self.track, self.label

        def first(t, s, m):  # the rule's tracking form (codegen, the fast path's variant), compiled now
            exec(compile(f"def {name}(t, s, m):\n    return {track.body(expr)}\n", label, "exec"), track.ns)
            fn = namespace[name] = track.ns[name]
            return fn(t, s, m)
        self.ns[name] = first
        return name

    def access(self, key) -> str:
        kind, where = key
        if kind == "stage":
            return f"s[{where!r}]" if self.fused is None else self.fused.stage(where)
        return self.gen.field_code(where)

    def cond(self, rule, drop) -> tuple:
        """(source, can it be UNKNOWN) of the rule's condition without the conjuncts in `drop` (guards whose
        value the decision tree knows: true, or unknown in a missing fact's bucket)"""
        expr, node = self.node(rule, drop)
        if node is None:
            return "True", False, []
        code = self.gen.body(expr, node)
        maybe = self.gen.maybe(node)
        return code, maybe, self.facts(expr, node) if maybe else []

    def node(self, rule, drop) -> tuple:
        """(the rule's checked expression, its condition without the conjuncts in `drop`: None if none is left)"""
        expr = self.policy.exprs[self.paths[id(rule)]]
        tree = expr.tree
        if not drop:
            return expr, tree
        operands = tree.operands if isinstance(tree, ast.BoolOp) and tree.op == "and" else (tree,)
        rest = tuple(o for o in operands if id(o) not in drop)
        if not rest:
            return expr, None
        # Kleene `and` of one operand is the operand only for a truth value
        return expr, rest[0] if len(rest) == 1 and self.logic(expr, rest[0]) else ast.BoolOp(tree.pos, "and", rest)

    def strict(self, expr, node):
        """the optional fields of a test that is UNKNOWN exactly when one of them is missing (their order), or
        None: the test reads each of them, and nothing else can be unknown (no and / or, quantifier or
        definition that can be unknown)"""
        out = {}

        def walk(node) -> bool:
            if isinstance(node, ast.Literal):
                return True
            if isinstance(node, ast.Path):
                kind, *rest = expr.resolved[id(node)]
                if kind == "field":
                    if tuple(rest[0]) not in self.required and tuple(rest[0]) not in self.gen.known:
                        out[tuple(rest[0])] = None
                    return True
                return kind == "stage" or (kind == "def" and not self.gen.maybe(node))
            if isinstance(node, ast.Call):
                return node.name == "exists" or all(walk(a) for a in node.args)
            if isinstance(node, ast.Not):
                return walk(node.operand)
            if isinstance(node, (ast.Compare, ast.Arith)):
                return walk(node.left) & walk(node.right)
            if isinstance(node, ast.Membership):
                return walk(node.item) & walk(node.container)
            if isinstance(node, ast.ListExpr):
                return all([walk(i) for i in node.items])
            return False
        return list(out) if walk(node) and out else None

    def lowered(self, rule, drop, action) -> list | None:
        """the statements that `action` when the rule's condition (without the conjuncts in `drop`) is true, as
        branches: a strict first conjunct (see strict) reads its optional fields into locals; when one is missing,
        the condition in full (Kleene), else that conjunct without UNKNOWN checks and then the rest the same way
        (the last: the missing fields are its facts); None: the first conjunct is not strict"""
        expr = self.policy.exprs[self.paths[id(rule)]]
        tree = expr.tree
        operands = tree.operands if isinstance(tree, ast.BoolOp) and tree.op == "and" else (tree,)
        self.gen.expr = expr  # (maybe() reads the expression's names)
        self.fields = itertools.count()
        try:
            return self.lower(expr, rule, tuple(o for o in operands if id(o) not in drop), action)
        finally:
            self.gen.known = {}

    def lower(self, expr, rule, operands, action):
        head, tail = operands[0], operands[1:]
        if not self.logic(expr, head) or not self.gen.maybe(head):
            return None
        fields = self.strict(expr, head)
        if fields is None or len(fields) > 2:
            return None
        names = [f"_f{next(self.fields)}" for _ in fields]
        heads = [f"m.append({'.'.join(fields[0])!r})"] if len(fields) == 1 else \
            [f"if {n} is U: m.append({'.'.join(f)!r})" for n, f in zip(names, fields)]
        whole = self.unknown_and(expr, rule, tail, heads) if tail else heads  # a field missing: the rule cannot fire
        lines = [f"{n} = {self.gen.field_code(f)}" for n, f in zip(names, fields)]
        known = self.gen.known
        self.gen.known = {**known, **dict(zip(fields, names))}
        try:
            code = self.gen.body(expr, head)
            inner = (self.lower(expr, rule, tail, action) or self.kleene(expr, rule, tail, action)) if tail else action
        finally:
            self.gen.known = known
        lines.append(f"if {' or '.join(f'{n} is U' for n in names)}:")
        return lines + ["    " + line for line in whole] + [f"elif {code}:"] + ["    " + a for a in inner]

    def conjunction(self, expr, operands):
        """(node, generated code) of the Kleene `and` of the operands (a single logical operand as it is)"""
        single = len(operands) == 1 and self.logic(expr, operands[0])
        node = operands[0] if single else ast.BoolOp(expr.tree.pos, "and", operands)
        return node, self.gen.body(expr, node)

    def unknown_and(self, expr, rule, operands, heads) -> list:
        """the statements of `UNKNOWN and <operands>` (Kleene): false when an operand is, else unknown, with the
        facts `heads` lists and those of the unknown operands (as the tracking twin: a false operand drops them)"""
        node, code = self.conjunction(expr, operands)
        if not self.gen.maybe(node):
            return [f"if {code}:"] + ["    " + h for h in heads]
        facts = self.facts(expr, node)
        if facts is None:  # the twin lists them all
            return [f"if {code} is not False: {self.tracker(rule)}(t, {self.sx}, m)"]
        return [f"v = {code}", "if v is not False:"] + ["    " + h for h in heads] + ["    if v is U:"] + \
            ["        " + f for f in facts]

    def kleene(self, expr, rule, operands, action) -> list:
        """the statements testing the Kleene `and` of the operands (the value, then its facts when unknown)"""
        node, code = self.conjunction(expr, operands)
        if not self.gen.maybe(node):
            return [f"if {code}:"] + ["    " + a for a in action]
        facts = self.facts(expr, node)
        if facts is None:
            facts = [f"{self.tracker(rule)}(t, {self.sx}, m)"]
        return [f"v = {code}", "if v is U:"] + ["    " + f for f in facts] + ["elif v:"] + ["    " + a for a in action]

    def facts(self, expr, node):
        """statements listing in m what an UNKNOWN value of the node lacked, as its tracking twin would (one
        optional field: its label; an and / or of such tests: those that were unknown); None: not that simple
        (the twin lists them)"""
        gen = self.gen

        def listing(node):  # what lists the facts of the node when it is unknown (None: not that simple)
            one = gen.labels(node)
            if one is not None and len(one) == 1:
                return f"m.append({next(iter(one))!r})"
            where = expr.resolved.get(id(node)) if isinstance(node, ast.Path) else None
            if where and where[0] == "def":  # the definition's tracking form (it is unknown again)
                # (a definition reads no stage value and its tracking form memoises nothing: no stage dict)
                return f"{self.track.def_names[where[1]]}(t, {'s' if self.fused is None else 'None'}, m)"
            return None
        whole = listing(node)
        if whole is not None:
            return [whole]
        names = gen.bound.get(id(node)) if isinstance(node, ast.BoolOp) else None
        if names is not None:  # an unknown and / or: no operand decided it, so its facts are the unknown ones'
            out = []
            for name, operand in zip(names, node.operands):
                if name is None:
                    continue
                one = listing(operand)
                if one is None:
                    break
                out.append(f"if {name} is U: {one}")
            else:
                return out
        return None

    def logic(self, expr, node) -> bool:
        """is the node's value always True / False / UNKNOWN (a test, or a definition that is one)?"""
        while isinstance(node, ast.Path):
            kind, *rest = expr.resolved[id(node)]
            if kind != "def":
                return False
            expr = self.policy.exprs[("definitions", rest[0], "expr")]
            node = expr.tree
        return isinstance(node, _LOGIC)

    def reads(self, expr, node, out) -> dict:
        """out counting the reads of optional fields (and of their optional parents) the node's code makes"""
        for n in ast.walk(node) if node is not None else ():
            if isinstance(n, ast.Path):
                kind, *rest = expr.resolved[id(n)]
                if kind == "field":
                    parts = tuple(rest[0])
                    for k in range(1, len(parts) + 1):
                        if parts[:k] not in self.required:
                            out[parts[:k]] = out.get(parts[:k], 0) + 1
                elif kind == "def" and self.gen.simple(rest[0]):  # (inlined)
                    inner = self.policy.exprs[("definitions", rest[0], "expr")]
                    self.reads(inner, inner.tree, out)
        return out

    def leaf(self, rules, first_match):
        """[(index, rule, source, can be unknown, lost keys, dropped, statements before, reads)] of the rules a
        leaf tests: a rule that cannot fire (a guard on a missing fact) and lists what an earlier one lists, or
        (first match) a test that an earlier rule made already, is left out (exact: it is false or unknown like
        that one, with the same facts). An optional field the rules from one on read more than once is read into
        a local before that rule's test (`reads`: field path -> local, for the generator while it is tested)."""
        out, seen = [], set()
        counts = [{} if r.fast is None else self.reads(*self.node(r, d), {}) for _, r, _, d, _ in rules]
        left = {}
        for c in counts:
            for p, n in c.items():
                left[p] = left.get(p, 0) + n
        read, names = {}, itertools.count()
        try:
            for (i, rule, _, drop, lost), count in zip(rules, counts):
                if rule.fast is None:
                    out.append((i, rule, "True", False, [], lost, drop, [], read))
                    if first_match and not lost:
                        break
                    continue
                before, pre = read, []
                for p in sorted((p for p in count if p not in read and left[p] > 1), key=len):
                    self.gen.read = read
                    name = f"_r{next(names)}"
                    pre.append(f"{name} = {self.gen.field_code(p)}")
                    read = {**read, p: name}
                for p, n in count.items():
                    left[p] -= n
                self.gen.read = read
                code, maybe, facts = self.cond(rule, drop)
                sig = (lost, code) if lost or first_match else None
                if sig is not None and sig in seen:
                    read = before
                    continue
                seen.add(sig)
                out.append((i, rule, code, maybe, facts, lost, drop, pre, read))
                if first_match and code == "True" and not lost:
                    break
        finally:
            self.gen.read = {}
        return out

    # -- one stage: a function over rule indices -----------------------------------------------
    def stage(self, name, rules, first_match: bool, fire, depth=0, in_full=False) -> str:
        """the name of a function (t, s, m, out) testing `rules` (a list of (index, rule, guards, dropped
        conjuncts, missing keys)) in order; first_match: returns the index of the first that fires, or -1; else
        `fire(index)` statements."""
        fname = f"_{name}_{next(self.counter)}"
        before = self.mode(None)
        try:
            body, leaf = self.body(name, rules, first_match, fire, depth, in_full)
        finally:
            self.mode(*before)
        if leaf and first_match and len(body) == 1 and body[0].split(" ")[-1].lstrip("-").isdigit():
            self.constant[fname] = int(body[0].split(" ")[-1])  # `return <index>`
        source = f"def {fname}(t, s, m, out):\n" + "".join(f"    {b}\n" for b in body)
        if leaf and self.lazy and depth:  # compiled on its first call: a large policy compiles what runs
            self.ns[fname] = LazyLeaf(self.namespace, fname, source, self.label)
        else:
            self.lines.append(source)
        return fname

    def body(self, name, rules, first_match: bool, fire, depth, in_full) -> tuple:
        """(the statements of such a function, is it a leaf): a leaf tests its rules in order; a node dispatches
        on a fact, by if / elif on a few values (a small policy: no call), else by a table of functions"""
        key = self.pick(rules) if depth < MAX_DEPTH else None
        tests = self.leaf(rules, first_match) if key is None else None
        if key is None and depth and len(tests) > INLINE:  # a missing fact in a large stage: a loop, no copy
            kept = {i for i, *_ in tests}
            rules = [r for r in rules if r[0] in kept]
            items = self.const(tuple((i, None if r.fast is None else r.fast.compiled(), r.track) for i, r, *_ in rules)
                               if not self.lazy else tuple((i, r.fast, r.track) for i, r, *_ in rules))
            call = f"_first({items}, t, {self.sx}, m)" if first_match else f"_every({items}, t, {self.sx}, m, {self.out})"
            if self.bare:
                call = f"_first_true({items}, t, {self.sx})"
            return self.done(call, first_match), False
        if key is None:  # (a run of rules reading one optional fact: one branch on its presence, fastsplit)
            body, ends = [], False
            for path, part in ((None, rules),) if self.bare else fastsplit.runs(self, rules):  # (bare: classify)
                if path is None:
                    tests = tests if part is rules else self.leaf(part, first_match)
                    body += self.tested(tests, first_match, fire)
                    ends = first_match and bool(tests) and tests[-1][2] == "True" and not tests[-1][5]
                else:
                    lines, ends = fastsplit.Split(self, first_match, fire).run(path, part)
                    body += lines
                if ends:
                    break
            if first_match and not ends:
                body += self.done(-1, True)
            if not body:
                body.append("pass")
            return body, True
        return self.node_body(name, key, rules, first_match, fire, depth, in_full)

    def tested(self, tests, first_match, fire) -> list:
        """the statements of a leaf's tests (see leaf), in order"""
        body = []
        for i, rule, code, maybe, facts, lost, drop, pre, self.gen.read in tests:
            body += pre
            action = self.done(i, True) if first_match else fire(i)
            if self.bare:  # the answer only: a rule fires when its condition is true, nothing else is listed
                body += self.answer(rule, drop, lost, action)
                continue
            if facts is None:
                facts = [f"{self.tracker(rule)}(t, {self.sx}, m)"]
            if lost:  # a guard on a missing fact: unknown (unless the rest is false), never fires
                keys = [".".join(k[1]) for k in sorted(lost) if k[0] == "field"]
                if len(keys) < len(lost) or (facts and facts[-1].startswith("_tr")):  # the twin lists them all
                    track = f"{self.tracker(rule)}(t, {self.sx}, m)"
                    body.append(track if code == "True" else f"if {code} is not False: {track}")
                    continue
                keys = [f"m.append({k!r})" for k in keys]
                if code == "True":
                    body += keys
                elif not maybe:
                    body.append(f"if {code}:")
                    body += ["    " + k for k in keys]
                else:
                    body += [f"v = {code}", "if v is not False:"] + ["    " + k for k in keys] + ["    if v is U:"]
                    body += ["        " + f for f in facts]
            elif code == "True":
                body += action
            elif maybe and (low := self.lowered(rule, drop, action)) is not None:
                body += low
            elif maybe:
                body.append(f"v = {code}")
                body.append("if v is U:")
                body += ["    " + f for f in facts]
                body.append("elif v:")
                body += ["    " + a for a in action]
            else:
                body.append(f"if {code}:")
                body += ["    " + a for a in action]
        self.gen.read = {}
        return body

    def node_body(self, name, key, rules, first_match, fire, depth, in_full) -> tuple:
        """(the statements of a node dispatching on `key`, False)"""
        values = sorted({v for _, _, g, _, _ in rules if key in g for v in g[key][1]})

        buckets = {value: [] for value in values}  # the rules that can fire when the field has the value
        other, full = [], []  # ... a value no rule names; the fact is missing (every rule)
        for i, r, g, drop, lost in rules:  # one pass, in order; the guard on the key is dropped below it
            guard = g.get(key)
            if guard:  # true in the buckets it is in, unknown in the missing fact's
                rest = {k: v for k, v in g.items() if k != key}
                item = (i, r, rest, drop | {id(guard[2])}, lost)
                full.append((i, r, rest, item[3], lost | {key}))
            else:
                item = (i, r, g, drop, lost)
                full.append(item)
            if guard is None:
                targets = values
            elif guard[0]:
                targets = guard[1]
            else:
                targets = [v for v in values if v not in guard[1]]
            for value in targets:
                buckets[value].append(item)
            if guard is None or not guard[0]:
                other.append(item)
        optional = key[0] == "field" and key[1] not in self.required
        again = optional and not in_full
        if not self.lazy and len(values) <= SMALL:  # if / elif in this function
            x, read = f"_x{depth}", self.access(key)
            out = [f"{x} = {read}"] if not read.isidentifier() else []  # (a local of the fused function: itself)
            x = x if out else read
            branches = [(f"{x} == {v!r}", bucket, depth + 1, in_full) for v, bucket in buckets.items()]
            bucket_value = list(buckets)
            if optional:
                branches.append((f"{x} is U", full, depth + 1 if again else MAX_DEPTH, True))
            for k, (test, bucket, deeper, full_) in enumerate(branches):
                out.append(f"{'if' if k == 0 else 'elif'} {test}:")
                with self.knowing(key, test.endswith(" is U") or (True, frozenset([bucket_value[k]]))):
                    out += ["    " + line for line in self.body(name, bucket, first_match, fire, deeper, full_)[0]]
            out.append("else:" if branches else "if True:")
            with self.knowing(key, (False, frozenset(values))):
                out += ["    " + line for line in self.body(name, other, first_match, fire, depth + 1, in_full)[0]]
            return out, False
        table = {}
        for value, bucket in buckets.items():
            with self.knowing(key, (True, frozenset([value]))):
                table[value] = self.stage(name, bucket, first_match, fire, depth + 1, in_full)
        with self.knowing(key, (False, frozenset(values))):
            other = self.stage(name, other, first_match, fire, depth + 1, in_full)
        # the fact is missing: an optional one is indexed on the next facts once (a missing fact within it: a
        # loop, so the tree stays small)
        if optional:
            full = self.stage(name, full, first_match, fire, depth + 1 if again else MAX_DEPTH, True)
        else:  # a required fact or a stage value is never missing here (decide's s holds no UNKNOWN)
            full = other
        self.lines.append("")  # the table is filled after the functions exist
        tname = f"_{name}_{next(self.counter)}_t"
        ints = self.fused is not None and first_match  # the fused function: a bucket without tests is its index
        self.tables.append((tname, table, other, full, ints))
        if not ints:
            return self.done(f"{tname}.get({self.access(key)}, {other})(t, {self.sx}, m, {self.out})", first_match), False
        # its entries: the index of a bucket without tests, else -2 - k for the k-th of its functions (tname_f)
        r, code = self.result, self.constant.get(other, None)
        calls = [f for f in dict.fromkeys((*table.values(), other, full)) if f not in self.constant]
        code = code if code is not None else -2 - calls.index(other)
        return [f"{r} = {tname}.get({self.access(key)}, {code})",
                f"if {r} < -1:", f"    {r} = {tname}_f[-2 - {r}](t, {self.sx}, {'None' if self.bare else 'm'}, None)",
                *(self.finish(r) if self.finish is not None else ["break"])], False

    @contextlib.contextmanager
    def knowing(self, key, fact):
        """while generating a bucket: the value of a required field the tree dispatched on, for the generated
        code to fold its other tests of it (in definitions too: `customer.segment == "commercial"`)"""
        values = self.gen.values
        if key[0] == "field" and key[1] in self.required and fact is not True:
            self.gen.values = {**values, key[1]: fact}
        try:
            yield
        finally:
            self.gen.values = values

    def pick(self, rules):
        """the field whose guards exclude the most rule tests (None: test in order)"""
        if len(rules) <= LEAF:
            return None
        counts = {}
        for _, _, g, _, _ in rules:
            for key in g:
                counts[key] = counts.get(key, 0) + 1
        if not counts:
            return None
        key, count = max(counts.items(), key=lambda kv: (kv[1], kv[0][0] == "field", str(kv[0])))
        return key if count >= 2 else None


def first_firing(items, t, s, m):
    """the first of (index, fast, track) that fires, or -1 (the loop for a missing fact in a large stage)"""
    for i, fast, track in items:
        if fast is None:
            return i
        v = fast(t, s)
        if v is UNKNOWN:
            track(t, s, m)
        elif v:
            return i
    return -1


def every_firing(items, t, s, m, out):
    for i, fast, track in items:
        if fast is None:
            out.append(i)
            continue
        v = fast(t, s)
        if v is UNKNOWN:
            track(t, s, m)
        elif v:
            out.append(i)


class LazyLeaf:
    """a generated stage function compiled on its first call, which then takes its place in the tables"""

    def __init__(self, namespace, name, source, label):
        self.namespace, self.name, self.source, self.label = namespace, name, source, label
        self.tables = []  # (table, key) that hold this stub

    def __call__(self, t, s, m, out):
        namespace = self.namespace
        fn = namespace.get(self.name)
        if fn is None or fn is self:
            exec(compile(self.source, self.label, "exec"), namespace)  # generated from the checked trees
            fn = namespace[self.name]
        for table, key in self.tables:
            table[key] = fn
        return fn(t, s, m, out)
