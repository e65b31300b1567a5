"""Part 1 of a diff: the semantic changes, one Change per clause-level difference."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Change:
    kind: str  # target, calendar, topic, channel, rule, assumption, definition, tier, billing, policy, ...
    text: str
    clause: str | None = None

    def line(self) -> str:
        return self.text + (f" (clause {self.clause})" if self.clause else "")

    def to_json(self) -> dict:
        return {"kind": self.kind, "text": self.text, "clause": self.clause}


def _target_text(target: dict | None) -> str:
    if not target:
        return "none"
    if target.get("no_guarantee"):
        text = "no guarantee"
    elif "within" in target:
        text = f"within {target['within']}"
    else:
        text = f"from {target['from']}"
    return text + (f" ({target['calendar']})" if target.get("calendar") else "")


STATUS_WORDS = {"in_scope": "in scope", "out_of_scope": "out of scope", "consultation_only": "consultation only",
                "not_accepted": "not accepted", None: "undecided"}
RULE_LISTS = (("acceptance", "acceptance rule"), ("scope", "scope rule"), ("tier_rules", "tier rule"),
              ("delay_reasons", "delay reason"), ("notices", "notice"))
OUTCOME = {"scope": "status", "tier_rules": "tier", "delay_reasons": "code"}


def _rules(data, name):
    if name == "billing":
        return (data.get("billing") or {}).get("rates") or []
    if name == "lifecycle":
        return (data.get("lifecycle") or {}).get("rules") or []
    return data.get(name) or []


def semantic_changes(old, new) -> list[Change]:
    """What changed between two compiled policies, one Change per clause-level difference."""
    a, b = old.data, new.data
    out: list[Change] = []
    for key in ("id", "title", "version", "timezone", "effective_from"):
        if a.get(key) != b.get(key):
            out.append(Change("policy", f"{key} changed: {a.get(key)!r} -> {b.get(key)!r}"))
    if a.get("regulation") != b.get("regulation"):
        out.append(Change("policy", "regulation reference changed"))
    out += _calendar_changes(old, new)
    out += _tier_changes(a, b)
    out += _probe_changes(old, new)
    for name, label in RULE_LISTS + (("billing", "billing rate"), ("lifecycle", "lifecycle rule")):
        out += _rule_changes(name, label, _rules(a, name), _rules(b, name))
    ma, mb = (a.get("billing") or {}).get("minimum_minutes"), (b.get("billing") or {}).get("minimum_minutes")
    if ma != mb:
        out.append(Change("billing", f"minimum billable time {(ma or {}).get('value')} min -> {(mb or {}).get('value')} min",
                          str((mb or ma or {}).get("source") or "") or None))
    out += _keyed_changes("assumption", {x["id"]: x for x in a.get("assumptions") or []},
                          {x["id"]: x for x in b.get("assumptions") or []}, ("text", "clause", "why"), "clause")
    out += _keyed_changes("definition", a.get("definitions") or {}, b.get("definitions") or {},
                          ("expr", "source", "assumptions"), "source")
    if a.get("lifecycle") != b.get("lifecycle"):
        for key in sorted(set(a.get("lifecycle") or {}) | set(b.get("lifecycle") or {}) - {"rules"}):
            if key != "rules" and (a.get("lifecycle") or {}).get(key) != (b.get("lifecycle") or {}).get(key):
                out.append(Change("lifecycle", f"lifecycle {key} changed"))
    return out


def _keyed_changes(kind, old: dict, new: dict, fields, clause_key) -> list[Change]:
    out = []
    for key in new:
        if key not in old:
            out.append(Change(kind, f"{kind} '{key}' added", str(new[key].get(clause_key) or "") or None))
    for key in old:
        if key not in new:
            out.append(Change(kind, f"{kind} '{key}' removed", str(old[key].get(clause_key) or "") or None))
    for key in new:
        if key in old:
            for f in fields:
                if old[key].get(f) != new[key].get(f):
                    out.append(Change(kind, f"{kind} '{key}' {f} changed: {_short(old[key].get(f))} -> "
                                            f"{_short(new[key].get(f))}", str(new[key].get(clause_key) or "") or None))
    return out


def _short(value, width=90) -> str:
    text = " ".join(str(value).split()) if value is not None else "none"
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _calendar_changes(old, new) -> list[Change]:
    out = []
    ca, cb = old.data.get("calendars") or {}, new.data.get("calendars") or {}
    for name in cb:
        if name not in ca:
            out.append(Change("calendar", f"calendar '{name}' added: {_describe(new, name)}", str(cb[name].get("source") or "") or None))
    for name in ca:
        if name not in cb:
            out.append(Change("calendar", f"calendar '{name}' removed", str(ca[name].get("source") or "") or None))
    for name in cb:
        if name not in ca:
            continue
        sa = {k: v for k, v in ca[name].items() if k not in ("source", "assumptions", "description")}
        sb = {k: v for k, v in cb[name].items() if k not in ("source", "assumptions", "description")}
        if sa == sb:
            continue
        da, db = _describe(old, name), _describe(new, name)
        detail = f"{da} -> {db}" if da != db else "; ".join(
            f"{k} {sa.get(k)!r} -> {sb.get(k)!r}" for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k))
        out.append(Change("calendar", f"calendar '{name}' hours changed: {detail}", str(cb[name].get("source") or "") or None))
    return out


def _describe(compiled, name) -> str:
    cal = compiled.calendars.get(name)
    try:
        return cal.describe() if cal is not None else "?"
    except Exception:  # noqa: BLE001 - a description is a courtesy
        return json.dumps(compiled.data["calendars"][name], ensure_ascii=False, default=str)


def _tier_changes(a, b) -> list[Change]:
    out = []
    ta, tb = a.get("tiers") or {}, b.get("tiers") or {}
    for tid in tb:
        if tid not in ta:
            first = (tb[tid].get("targets") or {}).get("first_response")
            out.append(Change("tier", f"tier '{tid}' added: first response {_target_text(first)}", str(tb[tid].get("source") or "") or None))
    for tid in ta:
        if tid not in tb:
            out.append(Change("tier", f"tier '{tid}' removed", str(ta[tid].get("source") or "") or None))
    for tid in tb:
        if tid not in ta:
            continue
        if ta[tid].get("name") != tb[tid].get("name"):
            out.append(Change("tier", f"tier '{tid}' renamed: {ta[tid].get('name')!r} -> {tb[tid].get('name')!r}",
                              str(tb[tid].get("source") or "") or None))
        xa, xb = ta[tid].get("targets") or {}, tb[tid].get("targets") or {}
        for name in list(xb) + [n for n in xa if n not in xb]:
            before, after = xa.get(name), xb.get(name)
            if _target_text(before) != _target_text(after):
                clause = str((after or before).get("source") or "") or None
                out.append(Change("target", f"tier '{tid}' {name.replace('_', ' ')} target changed: "
                                            f"{_target_text(before)} -> {_target_text(after)}", clause))
    return out


def _probe_changes(old, new) -> list[Change]:
    from slapolicy.tools.lint import channel_acceptance, topic_scope

    out = []
    ca, cb = channel_acceptance(old), channel_acceptance(new)
    for channel in cb:
        was, now = ca.get(channel) or [], cb[channel]
        if not was and now:
            out.append(Change("channel", f"channel '{channel}' no longer accepted (rule '{now[0].id}')", now[0].source))
        elif was and not now:
            out.append(Change("channel", f"channel '{channel}' now accepted (rule '{was[0].id}' no longer refuses it)", was[0].source))
    ta, tb = topic_scope(old), topic_scope(new)
    for topic in tb:
        ra, rb = ta.get(topic), tb[topic]
        sa, sb = (ra.status if ra else None), (rb.status if rb else None)
        if sa != sb:
            out.append(Change("topic", f"topic '{topic}' moved from {STATUS_WORDS.get(sa, sa)} to {STATUS_WORDS.get(sb, sb)}"
                                       + (f" (rule '{rb.id}')" if rb else ""), rb.source if rb else (ra.source if ra else None)))
    return out


def _rule_changes(name, label, old_rules, new_rules) -> list[Change]:
    out = []
    ia = {r["id"]: (i, r) for i, r in enumerate(old_rules)}
    ib = {r["id"]: (i, r) for i, r in enumerate(new_rules)}
    outcome_key = OUTCOME.get(name)
    for rid, (i, r) in ib.items():
        if rid not in ia:
            what = f" -> {outcome_key} {r.get(outcome_key)}" if outcome_key else ""
            when = (f" on {r['on']}" if "on" in r else "") + (f" when {_short(r['when'])}" if "when" in r else
                                                               ("" if "on" in r else " (default)"))
            out.append(Change("rule", f"{label} '{rid}' added{when}{what}", str(r.get("source") or "") or None))
    for rid, (i, r) in ia.items():
        if rid not in ib:
            out.append(Change("rule", f"{label} '{rid}' removed", str(r.get("source") or "") or None))
    for rid, (j, r) in ib.items():
        if rid not in ia:
            continue
        i, q = ia[rid]
        clause = str(r.get("source") or "") or None
        if " ".join(str(q.get("when", "")).split()) != " ".join(str(r.get("when", "")).split()):
            out.append(Change("rule", f"{label} '{rid}' condition changed: {_short(q.get('when', '(default)'))} -> "
                                      f"{_short(r.get('when', '(default)'))}", clause))
        for key in ("status", "tier", "code", "multiplier", "on", "unless", "set"):
            if q.get(key) != r.get(key):
                out.append(Change("rule", f"{label} '{rid}' {key} changed: {q.get(key)} -> {r.get(key)}", clause))
        if q.get("message") != r.get("message"):
            out.append(Change("rule", f"{label} '{rid}' message changed", clause))
        if str(q.get("source")) != str(r.get("source")):
            out.append(Change("rule", f"{label} '{rid}' clause changed: {q.get('source')} -> {r.get('source')}", clause))
        if sorted(q.get("assumptions") or []) != sorted(r.get("assumptions") or []):
            out.append(Change("rule", f"{label} '{rid}' assumptions changed: {q.get('assumptions') or []} -> "
                                      f"{r.get('assumptions') or []}", clause))
    if name in ("scope", "tier_rules"):  # order decides in first-match lists
        common_a = [r["id"] for r in old_rules if r["id"] in ib]
        common_b = [r["id"] for r in new_rules if r["id"] in ia]
        if common_a != common_b:
            for rid in common_b:
                if common_a.index(rid) != common_b.index(rid):
                    out.append(Change("rule", f"{label} '{rid}' moved from position {ia[rid][0] + 1} to {ib[rid][0] + 1} "
                                              "(first match wins)", str(ib[rid][1].get("source") or "") or None))
    return out
