"""Why not: for a rule that did not fire (or a verdict that did), the condition that failed, the facts it
read and the smallest change of facts that would flip it, computed from the checked expression tree.

The walk (`Analysis.require(node, want)`) evaluates each sub-expression with the ticket's values through
its own closure (slapolicy.language.compile.Compiler compiles any node to fn(env)) and descends only where
the result is not the one wanted:
  and, want true      the conjuncts that are false or unknown, all of them needed
  and, want false     any one conjunct made false would do
  or,  want true      any one alternative would do
  or,  want false     every true or unknown alternative must become false
  not                 the operand, with the opposite wish
  a definition        its own tree (the definition's clause and name are kept in `via`)
Anything else is a leaf: a comparison, a membership, a call, a quantifier, a bare fact or stage value. For
a leaf the facts it reads are listed (timestamps in the policy's time zone; `date(x)` also as the local
date the rule judged), and for each fact the nearest value that makes the leaf come out as wanted is
searched by re-evaluating the leaf's closure with that one fact changed: bool flipped; enum values tried
one by one; numbers, dates and timestamps by a doubling then bisecting search from the current value (so
`customer.coupon.used < 15` with 15 gives at most 14, `date(created_at) <= customer.license_purchased_at +
1 year` gives the last instant of the anniversary date in the policy's time zone, or the earliest purchase
date that still covers the request), which a comparison of the fact with a bound not reading it answers
directly with the search's own answer (slapolicy.decide.nearest). A missing fact is "unknown: giving it
could change this".

Only with explanation on (slapolicy.decide.evaluate calls `annotate`); the decision itself never depends
on anything here.
"""
from __future__ import annotations

import orjson

from slapolicy.decide import closedform
from slapolicy.decide.closedform import field_type
from slapolicy.decide.dated import by_local_date, dated_only
from slapolicy.decide.nearest import SEARCH_STEPS, UNSOLVED, probe, shape, show, solve
from slapolicy.decide.shared import Entries, as_json, compact, keep_entry
from slapolicy.decide.whytrees import DATED, _Trees, trees, walk_through_definitions  # noqa: F401 (imported here)
from slapolicy.decide.whywalk import NA, value_at, walk_of
from slapolicy.decide.wording import _lit, _q, requirement
from slapolicy.language import ast
from slapolicy.language.compile import UNKNOWN, Env

_UNSHOWN = object()
_ANSWERS = 8192  # answers kept per policy edition (all dropped when full)


def patched(ticket: dict, dotted: str, value) -> dict:
    """A copy of the ticket with one (dotted) fact set; intermediate objects are copied or created."""
    out = dict(ticket)
    node, parts = out, dotted.split(".")
    for part in parts[:-1]:
        inner = node.get(part)
        node[part] = dict(inner) if isinstance(inner, dict) else {}
        node = node[part]
    node[parts[-1]] = value
    return out


# -- one analysis: a ticket, its stage values ----------------------------------------------------------
class Analysis:
    def __init__(self, policy, ticket: dict, stage: dict, shared: bool = False):
        self.policy = policy
        self.shared = shared  # only serialised (why_not's `shared`): a kept leaf is its JSON, an orjson.Fragment
        self.t = trees(policy)
        self.ticket = ticket
        self.stage = dict(stage)
        self.tz = policy.timezone
        self._base = None
        self._values: dict = {}  # id(node) -> its value with the ticket as it is
        self.local: dict = {}  # slapolicy.decide.closedform: timestamp fact -> (its text, its local date)
        self._leaves: dict = {}  # a never-kept leaf's head -> its analysis (`leaf`)
        self._closures = self.t.closures

    def _env(self, ticket=None, stage=None, explain=True):
        env = Env(self.ticket if ticket is None else ticket, self.policy, explain)
        env.stage = dict(self.stage if stage is None else stage)
        return env

    def ev(self, expr, node, ticket=None, stage=None):
        if ticket is None and stage is None:  # the ticket as it is: one environment, each value computed once
            key = id(node)
            value = self._values.get(key, self)
            if value is self:
                env = self._base
                if env is None:
                    env = self._base = self._env(explain=False)
                fn = self._closures.get(key)
                value = self._values[key] = (fn or self.t.closure(expr, node))(env)
                del env.missing[:]
            return value
        env = Env(self.ticket if ticket is None else ticket, self.policy, False)
        env.stage = self.stage if stage is None else stage  # closures only read the stage values
        return (self._closures.get(id(node)) or self.t.closure(expr, node))(env)

    def reads(self, expr, node):
        """(facts read {dotted: value}, missing facts, stage values read) by a sub-expression."""
        env = Env(self.ticket, self.policy, True)
        env.stage = self.stage  # (closures only read the stage values)
        (self._closures.get(id(node)) or self.t.closure(expr, node))(env)
        facts = dict(env.read)
        stages = {}
        for kind, what in self.t.statics(expr, node)[0]:
            if kind == "stage":
                stages[what] = self.stage.get(what)
                continue
            f, m, s = self.reads(what, what.tree)
            facts.update(f)
            env.missing.extend(m)
            stages.update(s)
        return facts, sorted(set(env.missing)), stages

    def rule_fired(self, rule) -> bool:
        if rule.fn is None:
            return True
        env = self._base
        if env is None:
            env = self._base = self._env(explain=False)
        v = rule.fn(env)
        del env.missing[:]
        return v is not UNKNOWN and bool(v)

    # -- the walk ---------------------------------------------------------------------------------------
    def rule(self, stage: str, rule, want: bool) -> dict | None:
        """What would make `rule` come out as `want`: {condition, result, failed} or None (no `when`)."""
        path = self.t.paths.get((stage, rule.id))
        expr = self.t.checked.exprs.get(path) if path else None
        if expr is None:
            return None
        return self._kept(("rule", path, want), expr, expr.tree, lambda: self._rule(expr, want))

    def _kept(self, head, expr, node, compute):
        """compute(), the analysis of `node`: a function of the values of the facts and stage values it reads
        (`_Trees.inputs`), so a ticket that gives them the same values as an earlier one gets a copy of the
        earlier answer (kept as JSON: a fresh copy is one loads; the caller owns its decision; for a decision
        only serialised, `shared`, the kept JSON itself as an orjson.Fragment). A node that reads a timestamp
        by its local date only is keyed by that date, its answer kept as a template of the timestamp's text
        (`Dated`, filled with this ticket's)."""
        key_of = self.t.keys.get(id(node), NA)
        if key_of is NA:
            key_of = self.t.key_of(expr, node)
        if key_of is None:
            return compute()
        key = key_of(self.ticket, self.stage, head)
        if key is None:  # (a Dated key function turned off: analysed once per ticket, as `once` does)
            return self._once(head, compute)
        answers = self.t.answers
        kept = answers.get(key)
        if kept is not None:
            if not kept:
                return compute()
            if kept.__class__ is Dated:
                token = self.token(self.t.stamps[id(node)][0])
                text = kept.known(token)
                if text is None:  # (not yet checked against another instant of the date: this one)
                    got = compute()
                    kept.check(answers, key, token, compact(as_json(got)))
                    return got
                kept = text
            return orjson.Fragment(kept) if self.shared else orjson.loads(kept)
        got = compute()
        if len(answers) >= _ANSWERS:
            answers.clear()
        text = compact(as_json(got))
        stamp = self.t.stamps.get(id(node)) if text else None
        answers[key] = Dated(text, self.token(stamp[0]), stamp[1]) if stamp is not None and key[1] is DATED else text
        return got

    def token(self, parts) -> bytes:
        """the text of the timestamp at `parts` as an answer shows it, a fact's value or within a sentence (a
        Dated template's blank; JSON escapes none of its characters)"""
        text = show(value_at(self.ticket, parts), self.tz)
        return text.encode() if text.__class__ is str else orjson.dumps(text)

    def entry(self, key, kept, expr, want: bool, header: dict):
        """why_not's entry {**header, **rule(...)} of a shared decision, kept under `key` (None: never kept; `kept`:
        b"", the entry is not kept) as (orjson.Fragment, its JSON), which is what it gives back (or the entry
        itself, when orjson refuses it); one that holds kept leaves (orjson.Fragment) always is that pair. Under a
        key with a local date (DATED): kept as a Dated template, or, `kept` a Dated not yet checked, checked."""
        got = {**header, **self._rule(expr, want)}
        if key is not None and kept is None:
            answers = self.t.answers
            if len(answers) >= _ANSWERS:
                answers.clear()
            got = keep_entry(answers, key, got)
            if type(got) is tuple:
                stamp = self.t.stamps.get(id(expr.tree))
                if stamp is not None and key[1] is DATED:  # (a template of the instant's text: `_kept`)
                    answers[key] = Dated(got[1], self.token(stamp[0]), stamp[1])
                return got
        try:
            text = orjson.dumps(got)
        except TypeError:  # (what orjson refuses: a plain entry, as the standard library's fallback needs)
            if kept.__class__ is Dated:
                self.t.answers[key] = b""
            return {**header, **Analysis(self.policy, self.ticket, self.stage)._rule(expr, want)}
        if kept.__class__ is Dated:  # (checked against this instant of the date: `_kept`)
            kept.check(self.t.answers, key, self.token(self.t.stamps[id(expr.tree)][0]), text)
        return orjson.Fragment(text), text

    def _rule(self, expr, want: bool) -> dict:
        walk = walk_of(self.t, expr, want, _group, self.policy.id)
        if walk is None:  # (the reference: too big a condition for one function)
            value = self.ev(expr, expr.tree)
            failed = self.require(expr, expr.tree, want, [])
        else:
            env = self._base
            if env is None:
                env = self._base = self._env(explain=False)
            value, failed = walk(env, self._values, self.leaf, self.once)
            del env.missing[:]
        return {"condition": {"text": self.t.text(expr, expr.tree), "span": self.t.span(expr, expr.tree)},
                "result": "unknown" if value is UNKNOWN else bool(value), "want": want, "failed": failed}

    def require(self, expr, node, want: bool, via: list):
        value = self._values.get(id(node), self)
        if value is self:
            value = self.ev(expr, node)
        if value is not UNKNOWN and bool(value) == want:
            return None
        if isinstance(node, ast.Not):
            return self.require(expr, node.operand, not want, via)
        if isinstance(node, ast.BoolOp):
            conj = node.op == "and"
            if conj == want:  # every failing operand is needed
                kids = [self.require(expr, o, want, via) for o in node.operands]
                return _group("all_of", [k for k in kids if k])
            return _group("any_of", [k for k in (self.require(expr, o, want, via) for o in node.operands) if k])
        if isinstance(node, ast.Path):
            d = self.t.definition(expr, node)
            if d is not None:  # (its tree's value is the definition's: the same closure, the same environment)
                self._values.setdefault(id(d[0].tree), value)
                return self.require(d[0], d[0].tree, want, via + [{"definition": d[1], "source": d[2]}])
        return self.leaf(expr, node, want, value, via)

    def leaf(self, expr, node, want, value, via, head=None) -> dict:
        if head is None:  # (a generated walk's leaves have theirs: slapolicy.decide.whywalk)
            head = ("leaf", expr.path, id(node), want, tuple([v["definition"] for v in via]))
        return self._kept(head, expr, node, lambda: self._leaf(expr, node, want, value, via))

    def once(self, expr, node, want, value, via, head) -> dict:
        """`leaf` of a leaf whose answers are never kept (`_Trees.inputs` None), analysed once per ticket (a
        definition used by two rules: a generated walk calls this one for such leaves)"""
        return self._once(head, lambda: self._leaf(expr, node, want, value, via))

    def _once(self, head, compute) -> dict:
        got = self._leaves.get(head)
        if got is not None:  # (a copy: the caller owns each entry; a shared decision is only serialised)
            if self.shared:
                return got
            copy = orjson.loads(orjson.dumps(got))
            return copy if copy == got else compute()
        got = self._leaves[head] = compute()
        return got

    def _leaf(self, expr, node, want, value, via) -> dict:
        got = closedform.leaf(self, expr, node, want, value, via)  # (a comparison of dates or instants)
        if got is not None:
            return got
        facts, missing, stages = self.reads(expr, node)
        shown = {k: show(v, self.tz) for k, v in facts.items()}
        for n, text in self.t.statics(expr, node)[1]:  # the local date a rule judged: date(created_at) in the zone
            v = self.ev(expr, n)
            if v is not UNKNOWN:
                shown[text] = show(v, self.tz)
        out = {"condition": self.t.text(expr, node), "span": self.t.span(expr, node),
               "result": "unknown" if value is UNKNOWN else bool(value), "want": want,
               "clause": via[-1]["source"] if via else None, "via": [v["definition"] for v in via],
               "facts": shown}
        if stages:
            out["stage_values"] = stages
        changes = [{"fact": m, "from": None, "to": None, "text": f"{_q(m)} is unknown: giving it could change this"}
                   for m in missing]
        for dotted, current in facts.items():
            if dotted not in missing:
                change = self.nearest(expr, node, want, dotted, current, shown[dotted])
                if change:
                    changes.append(change)
        for name, current in stages.items():
            change = self.stage_change(expr, node, want, name, current)
            if change:
                changes.append(change)
        out["changes"] = changes
        out["requirement"] = self.requirement(expr, node, want, value)
        return out

    # -- the nearest value of one fact ------------------------------------------------------------------
    def _holds(self, expr, node, want, dotted, v) -> bool:
        got = self.ev(expr, node, ticket=patched(self.ticket, dotted, v))
        return got is not UNKNOWN and bool(got) == want

    def nearest(self, expr, node, want, dotted, current, shown=_UNSHOWN):
        typ = field_type(dotted)
        kind = "enum" if typ is not None and typ.values is not None else typ.kind if typ is not None else None
        direct = self.t.direct_test(expr, node)
        if direct is not None and direct[0] == dotted:  # the node's own operation on the value: no re-evaluation
            test = direct[1]
            holds = lambda v: bool(test(v)) == want  # noqa: E731
        else:
            holds = lambda v: self._holds(expr, node, want, dotted, v)  # noqa: E731
            if kind == "timestamp" and dated_only(self.t, expr, node, dotted):
                holds = by_local_date(holds, self.tz)
        base = {"fact": dotted, "from": show(current, self.tz) if shown is _UNSHOWN else shown}
        if kind == "bool":
            if holds(not current):
                return {**base, "to": not current, "text": f"{_q(dotted)} is {_lit(current, self.tz)}; it would have "
                                                           f"to be {_lit(not current, self.tz)}"}
            return None
        if kind == "enum":
            if direct is not None and direct[0] == dotted:  # the values that hold do not depend on the ticket
                key = (expr.path, id(node), dotted, want)
                held = self.t.enum_held.get(key)
                if held is None:
                    held = self.t.enum_held[key] = [v for v in sorted(typ.values) if holds(v)]
                ok = [v for v in held if v != current]
            else:
                ok = [v for v in sorted(typ.values) if v != current and holds(v)]
            if ok:
                shown = ", ".join(f'"{v}"' for v in ok[:12]) + (f" ({len(ok) - 12} more)" if len(ok) > 12 else "")
                return {**base, "to": ok if len(ok) > 1 else ok[0],
                        "text": f'{_q(dotted)} is "{current}"; it would have to be ' + ("one of " if len(ok) > 1 else "")
                        + shown}
            return None
        if kind == "string":
            for v in _string_candidates(self.t.statics(expr, node)[2], current):
                if holds(v):
                    return {**base, "to": v, "text": f'{_q(dotted)} is "{current}"; e.g. "{v}" would do'}
            return None
        if kind in SEARCH_STEPS and not isinstance(current, bool):  # solved directly, else probed
            found = shape(self.t.shapes, self.t.checked, expr, node, dotted)
            got = UNSOLVED if found is None else solve(found, lambda n: self.ev(expr, n), want, dotted, kind,
                                                       current, holds, base, self.tz)
            return probe(kind, dotted, current, holds, base, self.tz) if got is UNSOLVED else got
        return None

    def stage_change(self, expr, node, want, name, current):
        values = {"accepted": [True, False],
                  "eligibility": ["in_scope", "out_of_scope", "consultation_only", "not_accepted"],
                  "tier": list(self.policy.tiers)}.get(name, [])
        ok = []
        for v in values:
            if v == current:
                continue
            got = self.ev(expr, node, stage={**self.stage, name: v})
            if got is not UNKNOWN and bool(got) == want:
                ok.append(v)
        if not ok:
            return None
        return {"stage": name, "from": current, "to": ok if len(ok) > 1 else ok[0],
                "text": f"{name} is {_lit(current, self.tz)} (decided by the earlier stages); it would have to be "
                        + " or ".join(_lit(v, self.tz) for v in ok)}

    def requirement(self, expr, node, want, value) -> str:
        return requirement(self, expr, node, want, value)


DATED_TRIAL = 64  # templates of a node in a trial: to stay on, they must give half as many answers
DATED_OFF = 4096  # key calls a node's templates are then off for (its answers computed, none kept), until a new trial


class Dated:
    """A kept answer of a node that reads a timestamp only by its local date (`_Trees.inputs`), kept under that
    date (`_Trees.key_of`): its JSON cut at the timestamp's text (`Analysis.token`). A ticket of the same
    instant gets the answer as it is (the same inputs); a ticket of another instant of the date gets it filled
    with its own text once the template is `checked`: the first such ticket's answer is computed and compared
    with the filled template (equal: checked; else the key's answers are never kept: the answer shows more of
    the instant than its text).
    So no template is filled for an instant before a computation for another instant of its key (date,
    microseconds, UTC offset: `_Trees.key_of`) has shown it right. `use`: the node's [templates made, answers
    given from them, key calls left off]; a node whose templates are seldom used (tickets that share no date and
    inputs: a corpus over years) is turned off at the end of a trial of DATED_TRIAL templates for DATED_OFF key
    calls (its answers computed once per ticket, none kept, as before), then tried again."""
    __slots__ = ("pieces", "token", "checked", "use")

    def __init__(self, text: bytes, token: bytes, use: list):
        self.pieces = text.split(token)
        self.token = token
        self.checked = False
        self.use = use
        use[0] += 1
        if use[0] >= DATED_TRIAL:  # (a trial's end: off for a while when its templates gave less than half as many)
            if use[1] * 2 < use[0]:
                use[2] = DATED_OFF
            use[0] = use[1] = 0

    def known(self, token: bytes):
        """the answer's JSON for a ticket whose timestamp shows as `token`, or None: to be computed and checked"""
        if self.checked or token == self.token:
            self.use[1] += 1
            return token.join(self.pieces)
        return None

    def check(self, answers: dict, key, token: bytes, text: bytes) -> None:
        """`text`: the answer computed for an instant shown as `token`, of the date of the template's key"""
        if text and token.join(self.pieces) == text:
            self.checked = True
            self.use[1] += 1
        elif answers.get(key) is self:
            answers[key] = b""

    def __len__(self):  # (its size; never 0: JSON)
        return sum(map(len, self.pieces))


def _string_candidates(literals, current):
    out = [v for v in literals if v != current]
    out += [v for v in ("x", "", " ") if v != current]
    return list(dict.fromkeys(out))


def _group(kind, kids):
    if not kids:
        return None
    if len(kids) == 1:
        return kids[0]
    flat = []
    for k in kids:
        flat.extend(k[kind] if isinstance(k, dict) and kind in k else [k])
    return {kind: flat}


def leaves(req) -> list:
    """The leaves of a requirement tree, in order."""
    if not req:
        return []
    for kind in ("all_of", "any_of"):
        if kind in req:
            return [x for k in req[kind] for x in leaves(k)]
    return [req]


# -- the decision's why_not block -------------------------------------------------------------------
def why_not(policy, ticket: dict, decision: dict, stage: dict, shared: bool = False, tier_rule=None) -> list:
    """Entries for the tier rules ranked before the chosen one (giving another tier), for each refusal and
    for an out-of-scope or consultation-only verdict (the in-scope rules before it, and the verdict itself).
    `shared`: the decision is only serialised by orjson (`shared=True`, slapolicy.api.Policy.decide): an entry
    kept from an earlier ticket is its JSON as an orjson.Fragment (`Analysis.entry`) instead of a copy, found
    by its key alone (its header is made only for an entry computed). `tier_rule`: the tier rule that fired, when
    the caller knows it (registration's run; else each rule of the chosen tier is tested until one fires)."""
    a = Analysis(policy, ticket, stage, shared)
    plan = _plan(a, policy, decision, tier_rule)
    if not shared:
        out = []
        for _, _, expr, want, header in plan:
            out.append({**header, **a._kept(("rule", expr.path, want), expr, expr.tree, lambda: a._rule(expr, want))})
        return out
    out = Entries()
    texts, append, answers, stage = out.texts, out.append, a.t.answers, a.stage
    for key_of, head, expr, want, header in plan:
        key = kept = None
        if key_of is not None:
            kept = answers.get(key := key_of(ticket, stage, head))
            if kept:
                if kept.__class__ is Dated:  # (this ticket's instant in the template, once checked: Analysis._kept)
                    text = kept.known(a.token(a.t.stamps[id(expr.tree)][0]))
                    if text is not None:
                        texts[len(out)] = text
                        append(orjson.Fragment(text))
                        continue
                else:
                    texts[len(out)] = kept[1]
                    append(kept[0])
                    continue
        got = a.entry(key, kept, expr, want, header)
        if type(got) is tuple:
            texts[len(out)] = got[1]
            append(got[0])
        else:
            append(got)
    return out


def _plan(a: Analysis, policy, decision: dict, tier_rule=None) -> list:
    """why_not's entries for `decision`, in order: (key function or None: never kept, head, expr, want, header)
    each, the lists kept per edition (`_Trees.plans`) by what they depend on (the refusals, the scope rule
    chosen and the verdict, the tier: of its rules, the first that fires ends the list)"""
    plans = a.t.plans
    status = decision["eligibility"]["status"]
    if status == "not_accepted":
        fired = frozenset(r["rule"] for r in decision["eligibility"]["reasons"])
        got = plans.get(fired)
        if got is None:
            got = plans[fired] = _entries(a.t, [
                ("acceptance", rule, False, {"stage": "acceptance", "rule": rule.id, "source": rule.source,
                                             "verdict": "not_accepted", "question": "why not accepted"})
                for rule in policy.acceptance if rule.id in fired])
        return got
    out = []
    if status in ("out_of_scope", "consultation_only"):
        chosen = decision["eligibility"]["reasons"][0]["rule"]
        got = plans.get(("scope", chosen, status))
        if got is None:
            items = []
            for rule in policy.scope:
                if rule.id == chosen:
                    items.append(("scope", rule, False, {"stage": "scope", "rule": rule.id, "source": rule.source,
                                                         "verdict": status, "question": f"why {status}"}))
                    break
                if rule.status == "in_scope":
                    items.append(("scope", rule, True, {"stage": "scope", "rule": rule.id, "source": rule.source,
                                                        "would_give": "in_scope", "question": "why not in_scope"}))
            got = plans[("scope", chosen, status)] = _entries(a.t, items)
        out += got
    tier = (decision.get("tier") or {}).get("id")
    if tier is not None:
        got = plans.get(("tier_rules", tier))
        if got is None:
            got = plans[("tier_rules", tier)] = [
                (rule, None) if rule.tier == tier else (None, _entries(a.t, [(
                    "tier_rules", rule, True, {"stage": "tier_rules", "rule": rule.id, "source": rule.source,
                                               "would_give": rule.tier, "question": f"why not tier {rule.tier}"})]))
                for rule in policy.tier_rules]
        for rule, entries in got:
            if rule is None:
                out += entries
            elif rule is tier_rule if tier_rule is not None else a.rule_fired(rule):
                break  # the chosen one (the first that fires: a rule of another tier did not)
    return out


def _entries(t: _Trees, items) -> list:
    """(key function, head, expr, want, header) of each (stage, rule, want, header) that has a condition"""
    out = []
    for stage, rule, want, header in items:
        path = t.paths.get((stage, rule.id))
        expr = t.checked.exprs.get(path) if path else None
        if expr is not None:
            out.append((t.key_of(expr, expr.tree), ("entry", path, want, header["question"]), expr, want, header))
    return out
