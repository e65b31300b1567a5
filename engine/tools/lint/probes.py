"""Tickets from fact values, and the policy's own compiled rules run on them (used by lint, diff and render)."""
from __future__ import annotations

import copy
import datetime as dt

from slapolicy.tools.lint.domains import _field_schema
from slapolicy.tools.lint.findings import BASE_DAY, MISSING, REQUIRED_DEFAULTS


def build_ticket(assign: dict, base: dt.datetime, number: int = 1) -> dict:
    """A normalised ticket (as slapolicy.decide.tickets.validate_ticket returns) from dotted fact values."""
    ticket = {"id": f"LINT-{number}", "created_at": base, "channel": REQUIRED_DEFAULTS["channel"],
              "customer": {"segment": REQUIRED_DEFAULTS["customer.segment"]}}
    for dotted in sorted(assign):  # an object ("form") before its fields ("form.phone")
        value = assign[dotted]
        if value is MISSING:
            continue
        parts = dotted.split(".")
        node = ticket
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, dict):
            node.setdefault(parts[-1], {}).update(copy.deepcopy(value))
        else:
            node[parts[-1]] = copy.deepcopy(value) if isinstance(value, list) else value
    return ticket


def ticket_json(ticket: dict, tz) -> dict:
    """A normalised ticket as JSON (timestamps in the policy's time zone)."""
    def conv(v):
        if isinstance(v, dt.datetime):
            return v.astimezone(tz).isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(ticket)


def truth(rule, ticket, stage):
    """True / False / UNKNOWN: the rule's condition through the evaluator's generated function."""
    if rule.fast is None:
        if rule.fn is None:
            return True
        from slapolicy.language.compile import Env

        env = Env(ticket, None)
        env.stage = stage
        return rule.fn(env)
    return rule.fast(ticket, stage)


def run_stages(compiled, ticket):
    """(accepted, scope rule index or None, tier rule index or None, stage values), as slapolicy.decide.evaluate decides."""
    stage = {}
    accepted = not any(truth(r, ticket, stage) is True for r in compiled.acceptance)
    stage["accepted"] = accepted
    scope_i = tier_i = None
    if accepted:
        for i, r in enumerate(compiled.scope):
            if truth(r, ticket, stage) is True:
                scope_i = i
                break
    stage["eligibility"] = compiled.scope[scope_i].status if scope_i is not None else ("not_accepted" if not accepted else None)
    if accepted:
        for i, r in enumerate(compiled.tier_rules):
            if truth(r, ticket, stage) is True:
                tier_i = i
                break
    stage["tier"] = compiled.tier_rules[tier_i].tier if tier_i is not None else None
    return accepted, scope_i, tier_i, stage


def probe_ticket(compiled, **facts) -> dict:
    base = dt.datetime.combine(BASE_DAY, dt.time(12, 0), tzinfo=compiled.timezone).astimezone(dt.timezone.utc)
    return build_ticket(facts, base)


def channel_acceptance(compiled) -> dict:
    """channel -> the acceptance rules that refuse a ticket with only that channel known ([] = accepted)."""
    from slapolicy.decide.tickets import vocabulary

    out = {}
    vocab = getattr(compiled, "vocabulary", None)
    for channel in _field_schema("channel", vocab)[0].get("enum") or sorted(vocabulary().field("channel").values):
        ticket = probe_ticket(compiled, channel=channel)
        out[channel] = [r for r in compiled.acceptance if truth(r, ticket, {}) is True]
    return out


def topic_scope(compiled) -> dict:
    """topic -> the scope rule that decides a ticket with only that topic known (None if none does)."""
    out = {}
    stage = {"accepted": True}
    for topic in _field_schema("topic", getattr(compiled, "vocabulary", None))[0].get("enum") or []:
        ticket = probe_ticket(compiled, topic=topic)
        out[topic] = next((r for r in compiled.scope if truth(r, ticket, stage) is True), None)
    return out
