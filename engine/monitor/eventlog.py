"""Synthetic event logs for `slapolicy watch` (tests and the memory benchmark): deterministic for a seed."""
from __future__ import annotations

import datetime as dt
import random

EVENT_WEIGHTS = [("agent_replied", 5), ("customer_replied", 4), ("status_changed", 2), ("escalated", 1),
                 ("severity_changed", 1), ("resolved", 2)]


def generate(n_tickets: int, seed: int = 1, start="2026-03-09T08:00:00+02:00", open_at_once: int = 50,
             base_ticket: dict | None = None):
    """Yield (ticket dict, [events]) lines as dicts in stream order: created lines and event lines."""
    rng = random.Random(seed)
    t = dt.datetime.fromisoformat(start)
    base = base_ticket or {"channel": "portal", "customer": {"segment": "commercial"}, "topic": "billing"}
    open_tickets: list = []
    created = 0
    types, weights = zip(*EVENT_WEIGHTS)
    while created < n_tickets or open_tickets:
        # a busy helpdesk: about one event a minute on average, so a million events span about two years
        t += dt.timedelta(seconds=rng.choice([5, 20, 40, 60, 90, 120, 240]) * 50 // max(len(open_tickets), 50))
        if created < n_tickets and (len(open_tickets) < open_at_once and rng.random() < 0.5 or not open_tickets):
            created += 1
            tid = f"T-{seed}-{created}"
            ticket = dict(base, id=tid, created_at=t.isoformat())
            if rng.random() < 0.1:
                ticket.update(severity=1, critical_terms_accepted=True)
            open_tickets.append(tid)
            yield {"type": "created", "ticket": ticket}
            continue
        tid = rng.choice(open_tickets)
        kind = rng.choices(types, weights)[0]
        event = {"ticket": tid, "type": kind, "at": t.isoformat()}
        if kind == "status_changed":
            event["status"] = rng.choice(["waiting_on_customer", "open"])
        elif kind == "escalated":
            event["to"] = rng.choice(["development", "consulting", "engineer"])
        elif kind == "severity_changed":
            event["severity"] = rng.randint(1, 4)
        elif kind == "resolved":
            open_tickets.remove(tid)
        yield event


def tickets_from_stream(records) -> dict:
    """ticket id -> the ticket with its events, as `evaluate` receives it, from stream records ("created"
    lines carry the ticket, the others name it)."""
    tickets = {}
    for r in records:
        if r["type"] == "created":
            tickets[r["ticket"]["id"]] = dict(r["ticket"], events=[])
        else:
            tickets[r["ticket"]]["events"].append({k: v for k, v in r.items() if k != "ticket"})
    return tickets
