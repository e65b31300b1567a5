"""classify: the eligibility status and the tier id of a validated ticket, and nothing else.

`classifier(policy)` returns `classify(t) -> (status, tier id or None)` for a policy edition: ONE generated
Python function, built from the checked expression trees by the fast path's machinery
(slapolicy.decide.fastpath's Builder, fasttree's decision trees over the facts the rules test first) in its
answer-only mode:

  acceptance  the first rule that refuses ends it: ("not_accepted", None); the others are not tested
  scope       the first rule that fires sets the status (no scope rule fired: the reference answers)
  tier        the first tier rule that fires is the tier (None when none fires)

A rule fires when its condition is true (Kleene: unknown never fires); nothing lists what was unknown, so a
condition is tested as "is it true": an `and` by Python's `and` of its operands' truth, `x == "a"` of an
optional x as `x == "a"` (UNKNOWN equals nothing), no UNKNOWN bookkeeping once the answer is known.

This is NOT a decision: no reasons, no missing facts, no deadlines, no assumptions, no explanation. A
caller that must say why, or what was missing, asks for a decision (slapolicy.decide.evaluate). The closures'
decision is the reference: tests hold classify(t) == (decision status, decision tier id) on generated tickets
of every bundled policy, missing facts and refusals included (tests/test_classify.py). A ticket that lacks a
required field (KeyError) or holds another type in a date-time field (AttributeError) is answered by the
reference, as the fast path's decide leaves it to it.
"""
from __future__ import annotations

import itertools

from slapolicy.decide.evaluate import built_once
from slapolicy.decide.fastpath import builder, items, link, stage_block
from slapolicy.decide.fasttree import Builder, Fused
from slapolicy.language import ast

_REFUSED = "return 'not_accepted', None"


def first_true(items, t, s) -> int:
    """the first of (index, fast, track) whose condition is true, or -1 (a missing fact's loop in a large stage)"""
    for i, fast, _ in items:
        if fast is None or fast(t, s) is True:
            return i
    return -1


class Answer(Builder):
    """the tree builder in its answer-only mode: a rule's test is "is its condition true", no fact is listed"""

    bare = True

    def facts(self, expr, node) -> list:
        return []  # (nothing lists what was unknown)

    def answer(self, rule, drop, lost, action) -> list:
        """the statements that `action` when the rule's condition (without the conjuncts in `drop`) is true; none
        when a guard of it is on a missing fact (`lost`: it is unknown or false)"""
        if rule.fast is None:
            return action
        if lost:
            return []
        expr, node = self.node(rule, drop)
        if node is None:
            return action
        gen = self.gen
        gen.expr, gen.vars = expr, itertools.count()
        test = self.truth(node)
        if test == "True":
            return action
        if test == "False":
            return []
        return [f"if {test}:"] + ["    " + a for a in action]

    def truth(self, node) -> str:
        """source that is (Python) true exactly when the node's Kleene value is True"""
        gen = self.gen
        if not gen.maybe(node):
            return gen.gen(node)
        if isinstance(node, ast.BoolOp):
            return "(" + f" {node.op} ".join(self.truth(o) for o in node.operands) + ")"
        if isinstance(node, ast.Not):
            return self.falsity(node.operand)
        if isinstance(node, ast.Path):
            kind, *rest = gen.expr.resolved[id(node)]
            if kind == "def" and gen.simple(rest[0]):  # (one test of a field: inline, as codegen does)
                outer, gen.expr = gen.expr, self.policy.exprs[("definitions", rest[0], "expr")]
                try:
                    return self.truth(gen.expr.tree)
                finally:
                    gen.expr = outer
        code = gen.gen(node)
        if code in ("True", "False"):  # (folded: the decision tree knows the field's value)
            return code
        if isinstance(node, ast.Compare) and gen.maybe(node.left) != gen.maybe(node.right):
            known, other = (node.right, node.left) if gen.maybe(node.left) else (node.left, node.right)
            if node.op == "==":  # UNKNOWN equals no value
                return f"({gen.gen(other)} == {gen.gen(known)})"
            v = gen.var()
            pair = (v, gen.gen(known)) if known is node.right else (gen.gen(known), v)
            return f"(({v} := {gen.gen(other)}) is not U and {pair[0]} {_OPS[node.op]} {pair[1]})"
        if isinstance(node, ast.Membership) and not node.negated and isinstance(node.container, ast.ListExpr) \
                and all(isinstance(i, ast.Literal) for i in node.container.items) and not gen.maybe(node.container):
            values = gen.const(frozenset(i.value for i in node.container.items))  # (UNKNOWN is in no set)
            return f"({gen.gen(node.item)} in {values})"
        return f"({code} is True)"

    def falsity(self, node) -> str:
        """source that is (Python) true exactly when the node's Kleene value is False"""
        gen = self.gen
        if not gen.maybe(node):
            return f"(not {gen.gen(node)})"
        if isinstance(node, ast.BoolOp):
            return "(" + (" or " if node.op == "and" else " and ").join(self.falsity(o) for o in node.operands) + ")"
        if isinstance(node, ast.Not):
            return self.truth(node.operand)
        return f"({gen.gen(node)} is False)"


_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def reference(policy, t) -> tuple:
    """(status, tier id) by the closures: the registration decision's, for what the generated code leaves"""
    from slapolicy.decide.registration import register

    decision, _, tier = register(policy, t, explain=False, generated=False)
    return decision["eligibility"]["status"], None if tier is None else tier.id


def build(policy):
    """classify(t) -> (eligibility status, tier id or None) of a validated ticket, for `policy` (a CompiledPolicy
    made with its expression sources): the generated answer-only function (see the module docstring)"""
    b, _ = builder(policy, Answer, "classify")
    b.ns["_first_true"] = first_true
    c = b.const
    ref = c(lambda t: reference(policy, t))
    statuses = tuple(r.status for r in policy.scope)
    tiers = tuple(policy.tiers[r.tier].id for r in policy.tier_rules)
    status_of, tier_of = c(statuses), c(tiers + (None,))  # (index -1: no tier rule fired)

    def local(value, name) -> tuple:  # (statements, the source of the index: a literal or a local)
        if isinstance(value, int) or value.isidentifier():
            return [], value
        return [f"{name} = {value}"], name

    def refused(value) -> list:  # the acceptance stage's end: an index >= 0 refuses, -1 goes on
        if isinstance(value, int):
            return [_REFUSED] if value >= 0 else []
        return [f"if {value} >= 0:", "    " + _REFUSED]

    def scoped(value) -> list:  # the scope stage's: the status of the rule that fired (none: the reference)
        if isinstance(value, int):
            return [f"_S_eligibility = {statuses[value]!r}", "break"] if value >= 0 else [f"return {ref}(t)"]
        pre, i = local(value, "_i")
        return pre + [f"if {i} < 0:", f"    return {ref}(t)", f"_S_eligibility = {status_of}[{i}]", "break"]

    def tiered(value) -> list:  # the tier stage's: the answer
        if isinstance(value, int):
            return [f"return _S_eligibility, {tiers[value] if value >= 0 else None!r}"]
        pre, j = local(value, "_j")
        return pre + [f"return _S_eligibility, {tier_of}[{j}]"]

    fused = Fused()
    before = b.mode(fused, "hits", "_a")
    try:
        b.finish = refused
        body = stage_block(b, fused, "acceptance", items(b, policy.acceptance, ("acceptance",)), True, None)
        fused.stages["accepted"] = "True"  # (below, the ticket is accepted)
        b.result, b.finish = "_i", scoped
        body += stage_block(b, fused, "scope", items(b, policy.scope, ("scope",)), True, None)
        fused.stages["eligibility"] = "_S_eligibility"
        b.result, b.finish = "_j", tiered
        body += stage_block(b, fused, "tier", items(b, policy.tier_rules, ("tier_rules",)), True, None)
    finally:
        b.mode(*before)
        b.finish = None
    # a validated ticket has its required fields (and a datetime in each date-time one); one that does not is
    # answered by the reference
    b.lines.append("def classify(t):\n    try:\n" + "".join(f"        {line}\n" for line in body)
                   + f"    except (KeyError, AttributeError):\n        return {ref}(t)\n")
    namespace, source = link(b)
    classify = namespace["classify"]
    classify.source = source
    return classify


def classifier(policy):
    """The policy edition's classify function (see build), built on first use; None for a policy compiled
    without its expression sources."""
    return built_once(policy, "_classify", build)
