"""The explained decision's stage functions: per stage, one generated function that tests the stage's rules in
order as `_Run.test` tests them, up to the first that fires.

An explained decision (slapolicy.decide.registration) tests a stage's rules in order; of each it records an
explanation entry when it fires (with the facts read) or is unknown (with the missing facts). Most are false: a
false rule whose definitions are all memoised in the run already (or that uses none) records nothing and leaves
no trace, so its generated code (slapolicy.language.codegen's plain variant) tells all (`_Run.test`'s pretest).
Any other rule runs its explaining twin (slapolicy.language.explaining), which computes what its closure
computes. A stage function does both for the rules of a stage in one call:

    stage(t, s, m, r, d, x, y, f) -> a first-match stage (FIRST_MATCH): the index of the first rule that fires,
                                     or the number of rules; another: f with the index of each rule that fires
                                     appended

(t, s: the ticket and stage values; m, r, d: the run's missing facts, facts read and memoised definitions, as
the closures leave them; x: the explanation, appended to as `_Run.test` appends; y: the entries of x of the
rules that fired with facts read, the only ones annotate.local_facts may rewrite; f: a list), so that a rule that
is false or unknown costs no call of `_Run.test` and of the rule's function, and a stage one call. The bodies are codegen's and the twins'
(generated from the checked tree; the rules' ids and clauses are constants of the namespace, never source
text), compiled per policy edition on the edition's second explained decision (as `_pretested`). A stage of
more rules than MAX_RULES, or with a rule without generated code, has no stage function (its rules tested one
by one by `_Run.test`, compiled only when they run).
"""
from __future__ import annotations

import datetime as dt

from slapolicy.language import ast
from slapolicy.language.compile import UNKNOWN as U
from slapolicy.decide.stagememo import Memo, Table, key_parts, miss
from slapolicy.language.runtime import Stub

MAX_RULES = 300
FIRST_MATCH = ("scope", "tier_rules")  # (registration's first-match stages; the others: every rule that fires)


def _facts(read, mark):
    """the explanation's facts of a rule that fired (registration._jsonable of each value read)"""
    out = {}
    for k, v in read[mark:]:
        out[k] = v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v
    return out


def one_field(expr, tree=None) -> str | None:
    """the dotted name of the one field a condition reads, when it reads it once and reads no definition, no
    quantifier's variable (stage values aside): its one source of UNKNOWN (the built-ins take known values), so
    that it is unknown exactly when that field is missing, which is then the one missing fact its twin lists
    (nothing read, no definition memoised); else None. (`tree`: a part of the condition instead.)"""
    label = None
    for node in ast.walk(expr.tree if tree is None else tree):
        if isinstance(node, ast.Quantifier):
            return None
        if isinstance(node, ast.Path):
            kind, *rest = expr.resolved[id(node)]
            if kind == "field":
                if label is not None:
                    return None
                label = ".".join(rest[0])
            elif kind != "stage":
                return None
    return label


def absent_form(expr, required=frozenset()) -> tuple | None:
    """(the tests that every field a condition reads is missing, the stage values it reads, the fields tested) of a
    condition that reads no definition and at least one field, none of them in `required`: a ticket that lacks all
    of its fields (a part under a missing or non-object part is missing) gives it the value, missing facts and
    facts read (none) that it has on an empty ticket with the same stage values, one outcome per edition, rule and
    stage values (`_absent`); else None. The tests are of the fields no other of its fields lies under (source
    expressions of the ticket `t`)."""
    fields, stage = set(), set()
    for node in ast.walk(expr.tree):
        if isinstance(node, ast.Path):
            kind, *rest = expr.resolved[id(node)]
            if kind == "field":
                fields.add(tuple(rest[0]))
            elif kind == "stage":
                stage.add(rest[0])
            elif kind != "var":
                return None
    if not fields or expr.defs_used or fields & required:  # (`required`: the fields a validated ticket has)
        return None
    tests, tops = [], []
    for path in sorted(fields):
        if any(path[:n] in fields for n in range(1, len(path))):
            continue  # (missing when the field it lies under is)
        tops.append(path)
        code = f"t.get({path[0]!r})"
        for n, part in enumerate(path[1:]):
            code = f"(_a{n}.get({part!r}) if isinstance(_a{n} := {code}, dict) else None)"
        tests.append(f"{code} is None")
    return tuple(tests), tuple(sorted(stage)), tuple(tops)


def _required() -> frozenset:
    """the field paths a validated ticket always has: required (under required parents) or given a default"""
    from slapolicy.decide.tickets import DEFAULTS, required_fields

    return frozenset(required_fields()[0] | {(k,) for k in DEFAULTS})


def _absent(cache, key, fn, s) -> tuple:
    """(value, missing facts as listed, the explanation's list of them) of a rule whose fields are all missing
    (absent_form), by its twin on an empty ticket with the stage values `s`, kept in `cache` under `key`"""
    m = []
    value = fn({}, s, m, [], {})
    got = cache[key] = (value, tuple(m), [m[-1]] if len(m) == 1 else sorted(set(m)))
    return got


def some_fields(expr) -> tuple | None:
    """the top-level fields of a condition that is an and / or of operands that each read one of them
    (one_field), in order; else None. Its value is unknown when no operand decides it (none false for and, none
    true for or) and one is unknown, and an operand is unknown exactly when its field is missing: the missing
    facts the closure lists are then the missing ones of these fields (an operand's own, each once), nothing else"""
    tree = expr.tree
    if not isinstance(tree, ast.BoolOp):
        return None
    if any(isinstance(node, ast.Call) and node.name == "exists" for node in ast.walk(tree)):
        return None  # (exists(x) is never unknown: an operand of it is not unknown when x is missing)
    labels = tuple(one_field(expr, node) for node in tree.operands)
    return labels if all(label is not None and "." not in label for label in labels) else None


class _Variant:
    """a dispatched stage's function for some values of its field, compiled on its first call, which puts it in
    its places (the dispatch table's entries, the namespace's name) instead of this stub (most tickets meet a
    few values: an edition compiles the functions it runs)"""
    __slots__ = ("name", "source", "namespace", "label", "places")

    def __init__(self, name, source, namespace, policy_id):
        self.name, self.source, self.namespace = name, source, namespace
        self.label, self.places = f"<slapolicy:{policy_id}:stages>", []

    def __call__(self, *args):
        exec(compile(self.source, self.label, "exec"), self.namespace)  # generated from the checked tree
        fn = self.namespace[self.name]
        for place, key in self.places:
            place[key] = fn
        return fn(*args)


MIN_DISPATCH = 4  # a stage dispatches on a field that at least this many of its rules guard on


def _dispatch(policy, rules, base):
    """(field, {value: indices of the rules false for it}, indices of the rules false for any other text) of a
    stage whose rules test one top-level field first (fasttree.guards: `field == "x"`, `field in [...]`, their
    negations, conjuncts of the top-level `and`), on at least MIN_DISPATCH rules; else None. A rule that uses no
    definition and whose guard is false for the field's value (a text) is false and leaves no trace (the module
    docstring): its stage function for that value leaves it out. A ticket without the field (or with another
    type in it) is tested by the stage's function of all its rules."""
    from slapolicy.decide.fasttree import guards

    per = {}
    for k, rule in enumerate(rules):
        expr = policy.exprs.get(base + (k, "when"))
        if rule.fn is None or expr is None or expr.defs_used:
            continue
        for (kind, where), (positive, values, _) in guards(expr).items():
            if kind == "field" and len(where) == 1:
                per.setdefault(where[0], {})[k] = (positive, values)
    if not per:
        return None
    field, guarded = max(per.items(), key=lambda kv: len(kv[1]))
    if len(guarded) < MIN_DISPATCH:
        return None
    values = sorted(set().union(*(values for _, values in guarded.values())))
    table = {v: frozenset(k for k, (positive, values) in guarded.items() if (v not in values) == positive)
             for v in values}
    return field, table, frozenset(k for k, (positive, _) in guarded.items() if positive)


def _present(labels) -> str:
    """the test that every field of `labels` (dotted) is absent as the generated code reads it (`t.get(a, _E)
    .get(b, U) is U`: the key is not there)"""
    tests = []
    for label in labels:
        *parents, last = label.split(".")
        where = "t" + "".join(f".get({p!r}, _E)" for p in parents)
        tests.append(f"{last!r} not in {where}")
    return " and ".join(tests)


def _constant(outcome, head, done) -> str:
    """the lines (at the indentation of a block) recording a rule's outcome kept at generation time: (value,
    missing facts as listed, the explanation's list of them)"""
    value, missing, listed = outcome
    if value is U:
        add = f"m.append({missing[0]!r})" if len(missing) == 1 else f"m += {tuple(missing)!r}"
        return f'{add}\nx.append({head}"result": "unknown", "missing": {list(listed)!r}}})\n'
    return f'x.append({head}"result": "fired", "facts": {{}}}})\n{done}\n'


def _rule_source(k, rule, expr, plain, twin, names, absent=None, first=True, plain_facts=False) -> str:
    """the lines testing rule k of a stage (see the module docstring; `names`: its constants' names; `absent`:
    (the names of its twin's function and its cache, absent_form of its condition, the outcome kept at generation
    time or None, the test that its fields are absent or None) for the outcome of a ticket that lacks all its
    fields (`_absent`), kept per stage values, or constant; `first`: a first-match stage, which returns the
    index of the rule that fires, else its index is appended to `f` and the next rules are tested; `plain_facts`:
    no value it reads is a date or timestamp, its facts are those read as they are)"""
    stage, rid, src = names
    done = f"return {k}" if first else f"f.append({k})"
    head = f'{{"stage": {stage}, "rule": {rid}, "source": {src}, '
    if rule.fn is None:  # a rule without `when`: fires (its default entry)
        return f'    x.append({head}"result": "fired", "facts": {{}}, "default": True}})\n    {done}\n'
    defs = " and ".join(f"{name!r} in d" for name in sorted(expr.defs_used))
    false = f"(_w := {plain}) is not U and not _w"
    passed = f"({defs}) and {false}" if defs else false
    facts = "dict(r[_rk:])" if plain_facts else "_facts(r, _rk)"
    tested = (f"_mk, _rk = len(m), len(r)\n"
              f"if (_w := {twin}) is U:\n"
              f'    x.append({head}"result": "unknown", "missing": [m[-1]] if len(m) == _mk + 1 else sorted(set(m[_mk:]))}})\n'
              f"else:\n"
              f"    del m[_mk:]\n"
              f"    if _w:\n"
              f'        y.append(_e := {{"stage": {stage}, "rule": {rid}, "source": {src}, "result": "fired", "facts": {facts}}})\n'
              f"        x.append(_e)\n"
              f"        {done}\n")
    label = one_field(expr) if not defs else None
    labels = some_fields(expr) if not defs and label is None else None
    if label is not None:  # unknown by the generated code: its one field is missing (one_field), the twin not run
        tested = (f"if _w is U:\n"
                  f"    m.append({label!r})\n"
                  f'    x.append({head}"result": "unknown", "missing": [{label!r}]}})\n'
                  f"else:\n" + "".join(f"    {line}\n" for line in tested.splitlines()))
    elif labels is not None:  # unknown by the generated code: its missing facts are its fields missing (some_fields)
        tested = (f"if _w is U:\n"
                  f"    _mm = []\n"
                  + "".join(f"    if t.get({x!r}) is None:\n        _mm.append({x!r})\n" for x in labels) +
                  f"    m += _mm\n"
                  f'    x.append({head}"result": "unknown", "missing": _mm if len(_mm) == 1 else sorted(set(_mm))}})\n'
                  f"else:\n" + "".join(f"    {line}\n" for line in tested.splitlines()))
    if absent is not None and absent[3] is not None:  # (its outcome when its fields are all absent: constant)
        fn, cache, form, outcome, test = absent
        if outcome[0] is not U and not outcome[0]:  # (false: nothing recorded)
            return f"    if not ({test}) and not ({passed}):\n" + "".join(f"        {line}\n" for line in tested.splitlines())
        lines = (f"if {test}:\n" + "".join(f"    {line}\n" for line in _constant(outcome, head, done).splitlines())
                 + f"elif not ({passed}):\n" + "".join(f"    {line}\n" for line in tested.splitlines()))
        return "".join(f"    {line}\n" for line in lines.splitlines())
    if absent is not None and label is None and labels is None:
        fn, cache, (tests, stage_names, _), _, _ = absent
        key = "None" if not stage_names else "(" + "".join(f"s[{n!r}], " for n in stage_names) + ")" \
            if len(stage_names) > 1 else f"s[{stage_names[0]!r}]"
        lines = (f"if {' and '.join(tests)}:\n"
                 f"    _o = {cache}.get({key}) or _absent({cache}, {key}, {fn}, s)\n"
                 f"    if (_w := _o[0]) is U:\n"
                 f"        m.extend(_o[1])\n"
                 f'        x.append({head}"result": "unknown", "missing": _o[2][:]}})\n'
                 f"    elif _w:\n"
                 f'        x.append({head}"result": "fired", "facts": {{}}}})\n'
                 f"        {done}\n"
                 f"elif not ({passed}):\n" + "".join(f"    {line}\n" for line in tested.splitlines()))
        return "".join(f"    {line}\n" for line in lines.splitlines())
    return f"    if not ({passed}):\n" + "".join(f"        {line}\n" for line in tested.splitlines())


def _kept(namespace, plain, twin, labels) -> tuple | None:
    """the outcome (as `_absent`'s) of a rule that reads no stage value on a ticket that lacks all its fields
    (absent_form), at generation time: by its twin on an empty ticket; for one_field / some_fields (`labels`: the
    field, or the fields) as their lines record it when the generated code is unknown (its fields listed), or
    nothing when it is false; None when it is true there (the twin decides), or cannot be run without a ticket"""
    scratch = dict(namespace)
    try:
        exec(compile(f"def _p(t, s):\n    return {plain}\ndef _q(t, s, m, r, d):\n    return {twin}\n",
                     "<slapolicy:kept>", "exec"), scratch)  # generated from the checked tree
        if labels is None:
            m = []
            value = scratch["_q"]({}, {}, m, [], {})
            return value, tuple(m), [m[-1]] if len(m) == 1 else sorted(set(m))
        value = scratch["_p"]({}, {})
    except Exception:  # noqa: BLE001 - (a rule that needs more than an empty ticket: tested as before)
        return None
    if value is U:
        if isinstance(labels, str):
            return U, (labels,), [labels]
        return U, tuple(labels), list(labels) if len(labels) == 1 else sorted(set(labels))
    return (False, (), []) if not value else None


_PLAIN_KINDS = frozenset({"bool", "int", "number", "string"})


def _plain_facts(policy, expr) -> bool:
    """whether every value a condition without definitions reads is of a type whose fact is the value itself
    (no date, no timestamp: `_facts` would convert none)"""
    if expr.defs_used:
        return False
    vocabulary = getattr(policy, "vocabulary", None)
    root = vocabulary.type if vocabulary is not None else None
    if root is None:
        return False
    for node in ast.walk(expr.tree):
        if isinstance(node, ast.Path):
            kind, *rest = expr.resolved[id(node)]
            if kind == "field":
                typ = root
                for part in rest[0]:
                    typ = typ.field(part) if typ is not None and typ.kind == "object" else None
                if typ is None or typ.kind not in _PLAIN_KINDS:
                    return False
            elif kind != "stage":
                return False
    return True


MIN_RUN = 2  # consecutive rules a memo keeps the outcome of, at least (slapolicy.decide.stagememo)


def _runs(keys) -> list:
    """(start, end) of each run of at least MIN_RUN consecutive rules a memo may keep the outcome of (`keys`: each
    rule's stagememo.key_parts, None for one it may not), reading something"""
    runs, start = [], None
    for k, key in enumerate([*keys, None]):
        if key is not None and start is None:
            start = k
        elif key is None and start is not None:
            if k - start >= MIN_RUN and any(keys[start:k]):
                runs.append((start, k))
            start = None
    return runs


def _memo_lines(memo, run, keys, first) -> str:
    """a stage function's lines for a run of rules through its memo (the key: the values its rules read)"""
    parts, seen, n = [], set(), 0
    for part in (p for key in keys for p in key):
        code = part if isinstance(part, str) else part[0]
        if code in seen:
            continue
        seen.add(code)
        if isinstance(part, str) or not part[1]:
            parts.append(code)
        else:  # (an int or number field: its value's class too)
            parts.append(f"(_q{n} := {code}), _q{n}.__class__")
            n += 1
    got = "_i = " if first else ""
    lines = (f"    if {memo}.off:\n"
             f"        {got}{run}(t, s, m, r, d, x, y, f)\n"
             f"    elif (_o := {memo}.get(_k := ({', '.join(parts)},))) is None:\n"
             f"        {got}_miss({memo}, _k, {run}, t, s, m, r, d, x, y, f)\n"
             f"    else:\n"
             f"        {memo}.hits += 1\n"
             f"        if _o[0]:  # (entries; then missing facts, indices fired: only with entries)\n"
             f"            x += _o[0]\n"
             f"            if _o[1]:\n"
             f"                m += _o[1]\n"
             + ("" if first else f"            if _o[3]:\n                f += _o[3]\n")
             + f"        if _o[2]:  # (facts read: a false rule's twin leaves them too)\n"
             f"            r += _o[2]\n"
             + ("        _i = _o[4]\n" if first else ""))
    return lines + ("    if _i is not None:\n        return _i\n" if first else "")


def stage_functions(policy, twin_sources, stages) -> dict:
    """{stage attribute: its stage function} of a compiled policy edition ({} without generated sources);
    `twin_sources`: slapolicy.language.explaining.sources of the edition (None without its checked trees);
    `stages`: (attribute, key path of its rules) of each stage (registration's)"""
    if policy._sources is None or not policy.exprs or twin_sources is None:
        return {}, Table()
    plain_ns, plain = policy.sources
    twin_ns, twins = twin_sources
    namespace = {**plain_ns, **twin_ns, "_facts": _facts, "_absent": _absent, "_miss": miss}  # (disjoint names but the shared helpers)
    required = _required()
    absent_fns = []  # (the twins of the rules with an outcome when their fields are all missing: functions of the source)
    consts = {}

    def const(value):
        key = (type(value), value)
        if key not in consts:
            consts[key] = f"_C{len(consts)}"
            namespace[consts[key]] = value
        return consts[key]

    functions, tables, memos, memoised = [], {}, [], []  # (memos: (stage attribute, name of a run's Memo))
    for attr, base in stages:
        rules = getattr(policy, attr)
        if not rules or len(rules) > MAX_RULES:
            continue
        blocks, keys, first = [], [], attr in FIRST_MATCH
        for k, rule in enumerate(rules):
            path = base + (k, "when")
            expr = policy.exprs.get(path)
            if rule.fn is not None and (expr is None or not isinstance(rule.fast, Stub) or path not in plain
                                        or path not in twins):
                break  # (a rule without generated code: the stage is tested rule by rule)
            names = (const(rule.stage), const(rule.id), const(rule.source))
            form = absent_form(expr, required) if expr is not None and rule.fn is not None else None
            absent = None
            if form is not None:
                one = one_field(expr)
                labels = (one,) if one is not None else some_fields(expr)
                if labels is None:
                    n = len(absent_fns)
                    absent = (f"_xa{n}", f"_A{n}", form, None, None)
                    if not form[1]:  # (no stage value read: one outcome per edition, kept in the source)
                        outcome = _kept(namespace, plain[path][1], twins[path][1], None)
                        if outcome is not None:
                            absent = (None, None, form, outcome, " and ".join(form[0]))
                    if absent[3] is None:
                        namespace[f"_A{n}"] = {}
                        absent_fns.append(f"def _xa{n}(t, s, m, r, d):\n    return {twins[path][1]}\n")
                elif not form[1]:  # (one_field / some_fields: their fields absent as the generated code reads them)
                    outcome = _kept(namespace, plain[path][1], twins[path][1], labels if one is None else one)
                    if outcome is not None:
                        absent = (None, None, form, outcome, _present(labels))
            keys.append(key_parts(policy, rule, expr))
            blocks.append(_rule_source(k, rule, expr, plain[path][1] if expr else None,
                                       twins[path][1] if expr else None, names, absent, first,
                                       expr is not None and _plain_facts(policy, expr)))
        else:
            def function(name, left_out=frozenset(), body=None):
                return (f"def {name}(t, s, m, r, d, x, y, f):\n"
                        + (body or "".join(b for k, b in enumerate(blocks) if k not in left_out))
                        + (f"    return {len(rules)}\n" if first else "    return f\n"))
            dispatch = _dispatch(policy, rules, base)
            if dispatch is None:
                functions.append((attr, function(f"_stage_{attr}")))
                runs = _runs(keys)
                if not runs:
                    continue
                body, at = [], 0  # (a shared decision's stage function: through its runs' memos)
                for j, (start, end) in enumerate(runs):
                    body += blocks[at:start]
                    at, name = end, f"_run_{attr}_{j}"
                    memos.append((attr, f"_M_{attr}_{j}"))
                    functions.append((attr, f"def {name}(t, s, m, r, d, x, y, f):\n" + "".join(blocks[start:end])
                                      + "    return None\n"))
                    body.append(_memo_lines(f"_M_{attr}_{j}", name, keys[start:end], first))
                body += blocks[at:]
                memoised.append(attr)
                functions.append((attr, function(f"_stage_{attr}_memo", body="".join(body))))
                continue
            field, table, other = dispatch  # (one function a set of rules left out, compiled on first use; all)
            variants = {}
            for left_out in (*table.values(), other):
                if left_out not in variants:
                    name = f"_stage_{attr}_{len(variants)}"
                    variants[left_out] = _Variant(name, function(name, left_out), namespace, policy.id)
            functions.append((attr, function(f"_stage_{attr}_all")))
            tables[attr] = ({value: variants[left_out] for value, left_out in table.items()}, variants[other])
            functions.append((attr, f"def _stage_{attr}(t, s, m, r, d, x, y, f):\n"
                                    f"    _k = t.get({field!r})\n"
                                    f"    return (_D_{attr}.get(_k, _stage_{attr}_other) if _k.__class__ is str else "
                                    f"_stage_{attr}_all)(t, s, m, r, d, x, y, f)\n"))
    if not functions:
        return {}, Table()
    source = "".join(f"def {f}(t, s):\n    return {b}\n" for key, (f, b) in plain.items() if key[0] == "definitions")
    source += "".join(f"def {f}(t, s, m, r, d):\n    return {b}\n" for key, (f, b) in twins.items()
                      if key[0] == "definitions")
    source += "".join(absent_fns)
    source += "\n".join(text for _, text in functions)
    exec(compile(source, f"<slapolicy:{policy.id}:stages>", "exec"), namespace)  # generated from the checked tree
    for attr, (table, other) in tables.items():  # (the dispatch tables: the value of the field -> its function)
        namespace[f"_D_{attr}"] = dict(table)
        namespace[f"_stage_{attr}_other"] = other
        for value, variant in table.items():
            variant.places.append((namespace[f"_D_{attr}"], value))
        other.places.append((namespace, f"_stage_{attr}_other"))
    out = {attr: namespace[f"_stage_{attr}"] for attr, _ in functions}
    shared = Table(out)
    shared.update((attr, namespace[f"_stage_{attr}_memo"]) for attr in memoised)
    for attr, name in memos:
        namespace[name] = Memo(shared)
    return out, shared
