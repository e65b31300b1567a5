"""Rule coverage of policy tests: which rules no test case made fire."""
from __future__ import annotations


def all_rule_ids(policy) -> list[str]:
    c = policy.compiled
    ids = [r.id for group in (c.acceptance, c.scope, c.tier_rules, c.delay_reasons, c.notices, c.billing_rates)
           for r in group]
    return ids + [t for t in c.tiers]


def rule_coverage(results, policies_dir=None) -> list[str]:
    from .api import load_policy

    fired_by_policy: dict = {}
    for r in results:
        fired_by_policy.setdefault(r.policy, set()).update(r.fired)
    lines = []
    for ref, fired in sorted(fired_by_policy.items()):
        try:
            policy = load_policy(ref, policies_dir)
        except Exception as exc:  # reported by the test run already
            lines.append(f"coverage {ref}: not computed ({exc.__class__.__name__})")
            continue
        ids = all_rule_ids(policy)
        missed = [i for i in ids if i not in fired]
        pct = 100.0 * (len(ids) - len(missed)) / len(ids) if ids else 100.0
        lines.append(f"coverage {policy.id}: {pct:.0f}% of {len(ids)} rules and tiers"
                     + (f"; never fired: {', '.join(missed)}" if missed else ""))
    return lines
