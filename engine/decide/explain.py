"""A decision as readable text (`slapolicy explain`): why this tier, which clauses, what is missing."""
from __future__ import annotations


def render_text(decision: dict, policy) -> str:
    lines = []
    pol = decision["policy"]
    lines.append(f"Ticket {decision['ticket']} under {policy.title} ({pol['id']}, version {pol['version']})")
    elig = decision["eligibility"]
    lines.append(f"Eligibility: {elig['status']}")
    for r in elig["reasons"]:
        lines.append(f"  - {r['message']} [clause {r['source']}; rule {r['rule']}]")
    tier = decision.get("tier")
    if tier:
        lines.append(f"Tier: {tier['id']} - {tier['name']} [clause {tier['source']}]")
        chosen = [e for e in decision.get("explanation") or [] if e.get("stage") == "tier_rules" and e["result"] == "fired"]
        for e in chosen:
            facts = ", ".join(f"{k} = {v}" for k, v in e.get("facts", {}).items()) or "the default rule"
            lines.append(f"  because rule {e['rule']} [clause {e['source']}] matched: {facts}")
    else:
        lines.append("Tier: none (the request is not accepted)")
    for name, d in (decision.get("deadlines") or {}).items():
        if not d:
            continue
        if d.get("due"):
            when = f"due {d['due']}"
        elif d.get("not_before"):
            when = f"not before {d['not_before']} (the regulation gives only a lower bound)"
        else:
            when = "no guaranteed time"
        cal = f" in calendar {d['calendar']}" if d.get("calendar") else ""
        lines.append(f"{name.replace('_', ' ').capitalize()}: {when} ({d['target']}{cal}) [clause {d['source']}]")
    if decision.get("delay_reasons"):
        lines.append("May be delayed because:")
        for r in decision["delay_reasons"]:
            lines.append(f"  - {r['message']} ({r['code']}) [clause {r['source']}]")
    for n in decision.get("notices") or []:
        lines.append(f"Notice: {n['message']} [clause {n['source']}]")
    if "billing" in decision:
        b = decision["billing"]
        lines.append(f"Billing: minimum {b['minimum_minutes']} minutes, rate x{b['rate_multiplier']}")
    unknown = [e for e in decision.get("explanation") or [] if e.get("result") == "unknown"]
    if decision.get("missing_facts"):
        lines.append("Unknown facts (a rule that needs them did not fire): " + ", ".join(decision["missing_facts"]))
        for e in unknown:
            lines.append(f"  - rule {e['rule']} [clause {e['source']}] needs {', '.join(e['missing'])}")
    if decision.get("assumptions"):
        lines.append("Assumptions relied on:")
        for a in decision["assumptions"]:
            lines.append(f"  - {a['id']} [clause {a['clause']}]: {a['text']}")
    return "\n".join(lines)
