"""The explained stages' outcomes kept per edition (slapolicy.decide.explainscan): a run of consecutive rules of a
stage that read no definition, no date, timestamp, list or object (fields of the vocabulary's bool, int, number
and string types, and stage values) has one outcome per values of what they read: the entries it appends to the
explanation, the missing facts and facts read it appends, the indices of the rules that fire (a first-match
stage: the index it returns). A stage function looks the run's values up (`Memo`, a dict) before testing its
rules; a hit replays the outcome kept (the stage function's lines), a miss tests the rules and keeps what they did
(`miss`).

The key is the tuple of the values (a missing field: UNKNOWN, as the generated code reads it) and, for a field of
the int or number type, each value's class: 1, 1.0 and True are equal dict keys but different JSON (a bool field
holds bools only, a string field strings: the validated ticket's). A memo holds at most CAP outcomes (cleared
when full) and is ADAPTIVE: a memo that hits less than HIT_SHARE times as often as it misses, over at least
MIN_LOOKUPS lookups, stops (the
stage function then tests its run's rules without looking up), so that tickets each seen once pay for no store
that never hits; it tries again after PROBE explained decisions (`Table.tick`), twice as many after each probe
that failed, deciding again after PROBE_LOOKUPS lookups (a stream that turns to repeated tickets finds it
again).

A hit hands out copies of the kept entries (their `missing` list, their `facts` dict: the decision's owner may
change them) or, for a decision that is only serialised (`shared`), the kept entries themselves. Nothing in the
engine changes an entry of these rules once made: annotate.local_facts rewrites the facts of timestamps and adds
those of date(x) only, which these rules read none of (the entries that fired reach it through the run's `y`
list on a miss only)."""
from __future__ import annotations

CAP = 4096  # outcomes kept per run at most (then cleared)
MIN_LOOKUPS = 128  # lookups of a new memo before it may stop (its first tickets all miss)
PROBE_LOOKUPS = 16
HIT_SHARE = 3  # a memo goes on while it hits at least 3 times as often as it misses (a miss costs more than a hit saves)
PROBE = 256  # explained decisions after which a stage that stopped tries its memos again (doubled at each failure)
MAX_PROBE = 32768


class Table(dict):
    """an edition's stage functions (attribute -> function); `off`: the memos that stopped, `clock` the explained
    decisions until they try again (registration.register calls `tick` while some are off)"""
    __slots__ = ("off", "clock")

    def __init__(self, *args):
        super().__init__(*args)
        self.off, self.clock = [], 0

    def tick(self):
        self.clock -= 1
        if self.clock <= 0:  # (the memos that stopped try again, over MIN_LOOKUPS lookups)
            for memo in self.off:
                memo.hits = memo.misses = 0
                memo.off, memo.need = False, PROBE_LOOKUPS
            del self.off[:]


class Memo(dict):
    """key -> (entries, missing facts, facts read, indices fired, returned) of one run of a stage's rules; its
    lookups (`hits`, `misses`), whether it stopped (`off`: the stage function then tests the run's rules), the
    decisions until it tries again once it stops (`period`, doubled at each probe that fails)"""
    __slots__ = ("hits", "misses", "off", "period", "table", "need")

    def __init__(self, table):
        super().__init__()
        self.hits = self.misses = 0
        self.off, self.period, self.table, self.need = False, PROBE, table, MIN_LOOKUPS

    def stop(self):
        self.off = True
        table = self.table
        table.off.append(self)
        table.clock = self.period if len(table.off) == 1 else min(table.clock, self.period)
        self.period = min(self.period * 2, MAX_PROBE)


def miss(memo, key, run, t, s, m, r, d, x, y, f):
    """test a run's rules (`run`: their function) and keep their outcome under `key`; what `run` returned"""
    x0, m0, r0 = len(x), len(m), len(r)
    f0 = len(f) if f is not None else 0
    got = run(t, s, m, r, d, x, y, f)
    if len(memo) >= CAP:
        memo.clear()
    memo[key] = (tuple(x[x0:]), tuple(m[m0:]), tuple(r[r0:]), tuple(f[f0:]) if f is not None else (), got)
    memo.misses += 1
    looked = memo.hits + memo.misses
    if looked >= memo.need:
        if memo.misses * HIT_SHARE > memo.hits:  # (too many misses: the run's rules tested for a while, `stop`)
            memo.stop()
        else:
            memo.period = PROBE
            if looked >= 32 * MIN_LOOKUPS:  # (the recent lookups weigh: counts halved)
                memo.hits //= 2
                memo.misses //= 2
    return got


_KINDS = {"bool": False, "string": False, "int": True, "number": True}  # kind -> its values' classes in the key


def key_parts(policy, rule, expr) -> list | None:
    """the source expressions of the key a rule adds to its run's (see the module docstring): each field's value
    as the generated code reads it (then its class, for an int or number field), each stage value; None for a rule
    no run may hold"""
    from slapolicy.language import ast

    if rule.fn is None:
        return []  # (a rule without `when`: fires, reads nothing)
    if expr is None or expr.defs_used:
        return None
    vocabulary = getattr(policy, "vocabulary", None)  # (None: the base vocabulary, as tickets.parse_ticket reads it;
    if vocabulary is None:                          # a policy from the compile cache has no other)
        from slapolicy.language.types import vocabulary as base

        root = base()
    else:
        root = vocabulary.type
    if root is None:
        return None
    parts = {}
    for node in ast.walk(expr.tree):
        if isinstance(node, ast.Quantifier) or isinstance(node, ast.Call) and node.name == "date":
            return None
        if not isinstance(node, ast.Path):
            continue
        kind, *rest = expr.resolved[id(node)]
        if kind == "stage":
            parts[("s", rest[0])] = f"s[{rest[0]!r}]"
            continue
        if kind != "field":
            return None
        path = tuple(rest[0])
        typ = root
        for part in path:
            typ = typ.field(part) if typ is not None and typ.kind == "object" else None
        if typ is None or typ.kind not in _KINDS:
            return None
        code = "t" + "".join(f".get({p!r}, _E)" for p in path[:-1]) + f".get({path[-1]!r}, U)"
        parts[("t", path)] = (code, _KINDS[typ.kind])
    return [parts[k] for k in sorted(parts)]
