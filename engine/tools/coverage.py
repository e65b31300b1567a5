"""Rule coverage of policy tests: which rules no test case made fire, per policy, and why."""
from __future__ import annotations


def all_rule_ids(policy) -> list[str]:
    c = policy.compiled
    ids = [r.id for group in (c.acceptance, c.scope, c.tier_rules, c.delay_reasons, c.notices, c.billing_rates,
                              c.lifecycle_rules)
           for r in group]
    return ids + [t for t in c.tiers]


def coverage_report(results, policies_dir=None, explain_missed: bool = True) -> list[dict]:
    """One entry per policy the results ran against:
    {policy, file, total, fired, missed: [ids], percent, why: {id: reason}} (or {policy, error})."""
    from slapolicy.api import load_policy, resolve_policy_path

    fired_by_policy: dict = {}
    for r in results:
        fired_by_policy.setdefault(r.policy, set()).update(r.fired)
    out = []
    for ref, fired in sorted(fired_by_policy.items()):
        try:
            policy = load_policy(ref, policies_dir)
        except Exception as exc:  # reported by the test run already
            out.append({"policy": ref, "error": exc.__class__.__name__})
            continue
        ids = all_rule_ids(policy)
        missed = [i for i in ids if i not in fired]
        pct = 100.0 * (len(ids) - len(missed)) / len(ids) if ids else 100.0
        entry = {"policy": policy.id, "file": policy.compiled.file, "total": len(ids), "fired": len(ids) - len(missed),
                 "missed": missed, "percent": pct, "why": {}}
        if missed and explain_missed:
            entry["why"] = _why(resolve_policy_path(ref, policies_dir), missed)
        out.append(entry)
    return out


def _why(path, missed) -> dict:
    """For rules no test fired: what lint knows about them (shadowed, never true), else no test reaches it."""
    from slapolicy.tools.lint import lint_file

    reasons = {}
    try:
        result = lint_file(path)
    except Exception:  # noqa: BLE001 - coverage never fails because the analysis did
        result = None
    dead = {}
    for f in result.findings if result is not None else ():
        if f.code in ("shadowed-rule", "never-true") and f.rule not in dead:
            dead[f.rule] = f"{f.code}: {f.message}"
    for rid in missed:
        if rid in dead:
            reasons[rid] = dead[rid]
    if result is not None and result.compiled is not None:
        for tier_id in result.compiled.tiers:
            if tier_id not in missed or tier_id in reasons:
                continue
            assigning = [r.id for r in result.compiled.tier_rules if r.tier == tier_id]
            if assigning and all(r in dead for r in assigning):
                reasons[tier_id] = f"assigned only by tier rules that never fire: {', '.join(assigning)}"
    for rid in missed:
        reasons.setdefault(rid, "no test case makes it fire")
    return reasons


def rule_coverage(results, policies_dir=None) -> list[str]:
    from slapolicy.tools.testreport import coverage_line

    return [coverage_line(e) for e in coverage_report(results, policies_dir, explain_missed=False)]
