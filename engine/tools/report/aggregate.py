"""SLA attainment: per-ticket facts from `evaluate --as-of T`, then counts per period, tier and target.

The per-ticket truth is the decision at `as_of` (slapolicy.api Policy.evaluate: the registration decision and the
lifecycle clocks replayed from the ticket's events, docs/lifecycle.md). For each ticket and each of its targets
(`lifecycle.targets`: the current instance of first_response, next_response, resolution) one fact row:

    outcome   met | breached | open (running or paused) | stopped    (the lifecycle status, open = running + paused)
    business_seconds   business time to the target's end (met_at), or to as_of while open: `elapsed_seconds`
    over_seconds       breached only: business seconds in the target's calendar from due to met_at (or to as_of)

The tier is the lifecycle's tier at as_of (the targets belong to it); the period is created_at's month
("2026-03") or ISO week ("2026-W11") in the policy's time zone. A ticket with no tier (not accepted) has one fact
row without a target, so the fact table counts every ticket.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from slapolicy.api import TicketError, parse_timestamp

TARGET_ORDER = {"first_response": 0, "next_response": 1, "resolution": 2}
FACT_COLUMNS = ("ticket", "period", "created_at", "eligibility", "tier", "target", "outcome", "status", "started",
                "due", "met_at", "business_seconds", "target_seconds", "over_seconds", "paused_seconds",
                "target_text", "calendar", "clause")
ROW_KEYS = ("period", "tier", "target", "tickets", "met", "breached", "open", "stopped", "met_share",
            "p50_seconds", "p90_seconds", "over_p50_seconds", "over_max_seconds")


def period_of(instant: dt.datetime, tz, by: str) -> str:
    local = instant.astimezone(tz)
    if by == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def percentile(values, q: float):
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


@dataclass
class Report:
    policy: str
    version: str
    as_of: str
    by: str
    timezone: str
    facts: list = field(default_factory=list)
    invalid: list = field(default_factory=list)  # {"line", "error"}
    eligibility: Counter = field(default_factory=Counter)  # (status, rule) -> count
    delay_reasons: Counter = field(default_factory=Counter)  # (rule, source) -> count
    tickets: int = 0

    # -- aggregates --------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        groups = defaultdict(list)
        for f in self.facts:
            if f["target"] is not None:
                groups[(f["period"], f["tier"], f["target"])].append(f)
        out = []
        for (period, tier, target), facts in sorted(groups.items(), key=lambda kv: (
                kv[0][0], kv[0][1] or "", TARGET_ORDER.get(kv[0][2], 9), kv[0][2])):
            outcomes = Counter(f["outcome"] for f in facts)
            done = [f["business_seconds"] for f in facts if f["met_at"] is not None]
            over = [f["over_seconds"] for f in facts if f["over_seconds"] is not None]
            closed = outcomes["met"] + outcomes["breached"]
            out.append({"period": period, "tier": tier, "target": target, "tickets": len(facts),
                        "met": outcomes["met"], "breached": outcomes["breached"], "open": outcomes["open"],
                        "stopped": outcomes["stopped"],
                        "met_share": round(outcomes["met"] / closed, 4) if closed else None,
                        "p50_seconds": _round(percentile(done, 0.5)), "p90_seconds": _round(percentile(done, 0.9)),
                        "over_p50_seconds": _round(percentile(over, 0.5)), "over_max_seconds": _round(max(over, default=None))})
        return out

    def breaches(self) -> list[dict]:
        rows = [{k: f[k] for k in ("ticket", "period", "tier", "target", "due", "met_at", "over_seconds", "clause",
                                   "target_text", "created_at")}
                for f in self.facts if f["outcome"] == "breached"]
        return sorted(rows, key=lambda r: (r["due"] or "", r["ticket"], TARGET_ORDER.get(r["target"], 9)))

    def eligibility_rows(self) -> list[dict]:
        return [{"status": s, "rule": r, "tickets": n}
                for (s, r), n in sorted(self.eligibility.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1] or ""))]

    def delay_rows(self) -> list[dict]:
        return [{"rule": r, "source": s, "tickets": n}
                for (r, s), n in sorted(self.delay_reasons.items(), key=lambda kv: (-kv[1], kv[0][0] or ""))]

    def to_json(self) -> dict:
        return {"policy": {"id": self.policy, "version": self.version}, "as_of": self.as_of, "by": self.by,
                "timezone": self.timezone, "tickets": self.tickets, "invalid": self.invalid, "rows": self.rows(),
                "breaches": self.breaches(), "eligibility": self.eligibility_rows(),
                "delay_reasons": self.delay_rows()}


def _round(value):
    return None if value is None else round(value)


def build_report(policy, tickets, as_of: dt.datetime, by: str = "month", progress=None) -> Report:
    """`tickets`: an iterable of (line number, ticket dict or an Exception for a line that does not parse)."""
    tz = policy.compiled.timezone
    report = Report(policy.id, policy.version, as_of.astimezone(tz).isoformat(), by, str(tz))
    for number, ticket in tickets:
        if progress is not None:
            progress(1)
        if isinstance(ticket, Exception):
            report.invalid.append({"line": number, "error": {"code": "json-syntax", "message": str(ticket)}})
            continue
        try:
            decision = policy.evaluate(ticket, as_of=as_of, explain=False)
        except TicketError as exc:
            report.invalid.append({"line": number, "error": exc.to_json()})
            continue
        report.tickets += 1
        add_decision(report, policy, ticket, decision, as_of)
    return report


def add_decision(report: Report, policy, ticket: dict, decision: dict, as_of: dt.datetime) -> None:
    tz = policy.compiled.timezone
    created = parse_timestamp(ticket["created_at"])
    period = period_of(created, tz, report.by)
    status = decision["eligibility"]["status"]
    if status != "in_scope":
        for reason in decision["eligibility"]["reasons"] or [{"rule": None}]:
            report.eligibility[(status, reason.get("rule"))] += 1
    for delay in decision.get("delay_reasons") or ():
        report.delay_reasons[(delay.get("rule") or delay.get("id"), delay.get("source"))] += 1
    life = decision.get("lifecycle")
    tier = (life or {}).get("tier") or (decision.get("tier") or {}).get("id")
    base = {"ticket": decision["ticket"], "period": period, "created_at": created.astimezone(tz).isoformat(),
            "eligibility": status, "tier": tier}
    targets = (life or {}).get("targets") or {}
    if not targets:
        report.facts.append({**dict.fromkeys(FACT_COLUMNS), **base})
        return
    compiled = policy.select(created)[0]
    for name in sorted(targets, key=lambda n: TARGET_ORDER.get(n, 9)):
        entry = targets[name]
        status_ = entry["status"]
        outcome = "open" if status_ in ("running", "paused") else status_
        calendar = _calendar(compiled, tier, name)
        due = parse_timestamp(entry["due"]) if entry.get("due") else None
        started = parse_timestamp(entry["started"])
        met = parse_timestamp(entry["met_at"]) if entry.get("met_at") else None
        over = None
        if outcome == "breached" and due is not None and calendar is not None:
            over = round(calendar.business_seconds_between(due, met or as_of))
        target_seconds = (round(calendar.business_seconds_between(started, due))
                          if calendar is not None and due is not None and not entry.get("paused_seconds") else None)
        report.facts.append({**base, "target": name, "outcome": outcome, "status": status_, "started": entry["started"],
                             "due": entry.get("due"), "met_at": entry.get("met_at"),
                             "business_seconds": entry.get("elapsed_seconds"), "target_seconds": target_seconds,
                             "over_seconds": over, "paused_seconds": entry.get("paused_seconds"),
                             "target_text": entry.get("target"), "calendar": entry.get("calendar"),
                             "clause": entry.get("source")})


def _calendar(compiled, tier, name):
    t = compiled.tiers.get(tier) if tier else None
    if t is None:
        return None
    by_name = {d.name: d for d in t.deadlines}
    d = by_name.get(name) or (by_name.get("first_response") if name == "next_response" else None)
    return d.calendar if d is not None else None
