"""A decision as readable text (`slapolicy explain`): why this tier, which clauses, what is missing."""
from __future__ import annotations

from slapolicy.calendar.breakdown import duration_text
from slapolicy.decide.unknown import unknown_text
from slapolicy.decide.whynot import leaves


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
        lines.extend(breakdown_text(d.get("breakdown")))
    lines.extend(why_not_text(decision.get("why_not") or []))
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
    if decision.get("unknown_facts"):
        lines.extend(unknown_text(decision["unknown_facts"]))
    elif decision.get("missing_facts"):
        lines.append("Unknown facts (a rule that needs them did not fire): " + ", ".join(decision["missing_facts"]))
        for e in unknown:
            lines.append(f"  - rule {e['rule']} [clause {e['source']}] needs {', '.join(e['missing'])}")
    if decision.get("assumptions"):
        lines.append("Assumptions relied on:")
        for a in decision["assumptions"]:
            lines.append(f"  - {a['id']} [clause {a['clause']}]: {a['text']}")
    return "\n".join(lines)


def breakdown_text(b: dict | None) -> list:
    """The counted time of a deadline, day by day (decision["deadlines"][name]["breakdown"])."""
    if not b:
        return []
    out = [f"  counted {b['counted']} from {b['from']} until {b['until']} ({b['timezone']}"
           + (", elapsed time" if b["elapsed"] else ", business time") + "):"]
    for day in b["days"]:
        special = f" - {day['kind'].replace('_', ' ')}" + (f": {day['name']}" if day.get("name") else "") \
            if day.get("kind") else ""
        spans = ", ".join(f"{a[11:16]}-{z[11:16]}" for a, z in day["intervals"])
        out.append(f"    {day['weekday']} {day['date']}: {day['counted']}" + (f" ({spans})" if spans else "")
                   + f"; hours {day['hours']}{special}")
    if b.get("omitted"):
        om = b["omitted"]
        out.append(f"    ... {om['days']} days from {om['from']} to {om['to']} not listed "
                   f"({duration_text(om['counted_seconds'])} counted)")
    if b["skipped"]:
        out.append("    skipped: " + ", ".join(f"{s['date']} ({s['kind'].replace('_', ' ')}"
                                               + (f": {s['name']}" if s.get("name") else "") + ")" for s in b["skipped"]))
    for p in b["pauses"]:
        out.append(f"    paused {p['from']} - {p['to']} ({duration_text(p['open_seconds'])} of counted time)")
    return out


def why_not_text(entries: list) -> list:
    """`slapolicy explain` lines for the why_not block."""
    lines = []
    if entries:
        lines.append("Why not:")
    for e in entries:
        if e["stage"] == "tier_rules":
            head = f"tier {e['would_give']} was not given (rule {e['rule']} [clause {e['source']}])"
        elif e["stage"] == "acceptance":
            head = f"not accepted: rule {e['rule']} [clause {e['source']}] fired"
        elif "verdict" in e:
            head = f"{e['verdict']}: rule {e['rule']} [clause {e['source']}] matched"
        else:
            head = f"in_scope was not given by rule {e['rule']} [clause {e['source']}]"
        state = "unknown" if e["result"] == "unknown" else "false" if e["result"] is False else "true"
        lines.append(f"  - {head}: its condition is {state}")
        kind = "all_of" if "all_of" in (e["failed"] or {}) else "any_of" if "any_of" in (e["failed"] or {}) else None
        leafs = leaves(e["failed"])
        if kind == "any_of" and len(leafs) > 1:
            lines.append("    any one of these would change it:")
        for leaf in leafs:
            where = f"{leaf['span']['file']}:{leaf['span']['line']}:{leaf['span']['col']}"
            ctx = "; ".join(filter(None, [f"definition {' > '.join(leaf['via'])}" if leaf["via"] else None,
                                          f"clause {leaf['clause'] or e['source']}"]))
            lines.append(f"    because {leaf['requirement']} [{ctx}; {where}]")
            for c in leaf["changes"]:
                lines.append(f"      change: {c['text']}")
    return lines
