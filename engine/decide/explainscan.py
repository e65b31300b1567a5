"""The explained decision's scans: per stage, one generated function that passes over the rules that are false.

An explained decision (slapolicy.decide.registration) tests a stage's rules in order, and most are false: a
false rule whose definitions are all memoised in the run already (or that uses none) records nothing and
leaves no trace, so its generated code (slapolicy.language.codegen's plain variant) gives all that the test
would (`_Run.test`'s pretest). A scan does those tests for a whole stage in one function:

    scan(t, s, d, i) -> the index of the first rule from i on that the run must test itself (its code's
                        value is true or unknown, a definition it uses is not memoised in d yet, or it has no
                        generated code), or the number of rules

so that a rule passed over costs a few bytecodes, not a call of `_Run.test` and of the rule's function. The
bodies are codegen's (generated from the checked tree, never policy text), compiled per policy edition on the
edition's second explained decision (as `_pretested`); a stage of more rules than MAX_RULES has no scan (its
rules tested one by one, compiled only when they run).
"""
from __future__ import annotations

from slapolicy.language.runtime import Stub

MAX_RULES = 300  # a stage of more rules: compiled per rule on first use (codegen.Lazy), no scan

STAGES = (("acceptance", ("acceptance",)), ("scope", ("scope",)), ("tier_rules", ("tier_rules",)),
          ("delay_reasons", ("delay_reasons",)), ("notices", ("notices",)), ("billing_rates", ("billing", "rates")))


def scans(policy) -> dict:
    """{stage attribute: scan} of a compiled policy edition ({} without generated sources)"""
    sources = policy.sources if policy._sources is not None else None
    if sources is None or not policy.exprs:
        return {}
    ns, bodies = sources
    out, functions = {}, []
    for attr, base in STAGES:
        rules = getattr(policy, attr)
        if not rules or len(rules) > MAX_RULES:
            continue
        lines = [f"def _scan_{attr}(t, s, _d, _i):"]
        for k, rule in enumerate(rules):
            path = base + (k, "when")
            expr = policy.exprs.get(path)
            if rule.fn is None or expr is None or not isinstance(rule.fast, Stub) or path not in bodies:  # (the run
                # tests it: as _Run.test, which runs the closure of a rule without generated code)
                lines.append(f"    if _i <= {k}:\n        return {k}")
                continue
            defs = " and ".join(f"{name!r} in _d" for name in sorted(expr.defs_used))
            test = f"(_w := {bodies[path][1]}) is U or _w"  # true or unknown: the run tests it
            lines.append(f"    if _i <= {k} and ({f'not ({defs}) or ' if defs else ''}{test}):\n        return {k}")
        lines.append(f"    return {len(rules)}\n")
        functions.append((attr, "\n".join(lines)))
    if not functions:
        return {}
    namespace = dict(ns)
    source = "\n".join(f"def {f}(t, s):\n    return {b}\n" for key, (f, b) in bodies.items() if key[0] == "definitions")
    source += "\n" + "\n".join(text for _, text in functions)
    exec(compile(source, f"<slapolicy:{policy.id}:scans>", "exec"), namespace)  # generated from the checked tree
    for attr, _ in functions:
        out[attr] = namespace[f"_scan_{attr}"]
    return out
