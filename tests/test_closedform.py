"""why_not's closed form for comparisons of dates and instants (slapolicy.decide.closedform) against the search
it replaces (slapolicy.decide.nearest.probe, the reference): the whole leaf entry (facts, changes, requirement)
equal, for conditions of every shape it answers with each operator, +/- days, weeks, months, years and
hours, in zones with and without DST (some moving their clocks at midnight), tickets at the first and the
last second of a local date, on DST days, Feb 29 and month ends, facts missing, both wishes."""
from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from slapolicy import load_policy
from slapolicy.decide import closedform, whynot
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.runtime import UNKNOWN

ZONES = ["UTC", "Europe/Kyiv", "America/Santiago", "America/Havana", "Asia/Beirut", "Australia/Lord_Howe",
         "Pacific/Chatham", "Asia/Kolkata", "America/St_Johns"]
SHAPES = [
    "date(created_at) {op} customer.license_purchased_at + 1 year",
    "date(created_at) {op} customer.license_purchased_at + 30 days",
    "customer.coupon.issued_at + 1 month {op} date(created_at)",
    "customer.coupon.issued_at - 3 months {op} date(created_at) - 2 weeks",
    "customer.license_purchased_at {op} customer.coupon.issued_at + 1 year",
    "created_at + 90 minutes {op} 2026-03-20T21:00:00Z",
    "created_at - 1 week {op} 2024-02-29T00:00:00+02:00",
    "date(created_at) {op} 2024-02-29 + 1 year",
    "2026-10-25 {op} date(created_at) + 2 days",
]
OPS = ["<", "<=", ">", ">="]
CONDITIONS = [s.format(op=op) for s in SHAPES for op in OPS]
POLICY = """id: closedform-{n}
title: Comparisons of dates and instants
version: "1"
timezone: {zone}
calendars:
  office:
    source: "1"
    week: {{mon-fri: "09:00-18:00"}}
    holidays: none
scope:
  - id: covered
    status: in_scope
    source: "1"
tiers:
  standard:
    name: Standard
    source: "1"
    targets:
      first_response: {{within: 1 hours, source: "1"}}
tier_rules:
{rules}
  - id: everyone
    tier: standard
    source: "1"
"""


def _policy(tmp_path, n, zone, conditions):
    rules = "".join(f'  - id: r{i}\n    when: {c}\n    tier: standard\n    source: "1"\n' for i, c in enumerate(conditions))
    path = tmp_path / f"closedform-{n}.yaml"
    path.write_text(POLICY.format(n=n, zone=zone, rules=rules), "utf-8")
    return load_policy(str(path))


def _days(tz):
    """local dates worth testing in a zone: Feb 29, month and year ends, the days its clocks move (and the next)"""
    days = [dt.date(2024, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2025, 2, 28), dt.date(2025, 3, 1),
            dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 3, 20), dt.date(2026, 3, 21), dt.date(2026, 8, 31)]
    day = dt.date(2025, 1, 1)
    while day < dt.date(2027, 1, 1):
        noon = dt.datetime.combine(day, dt.time(12), tz).utcoffset()
        if dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12), tz).utcoffset() != noon:
            days += [day + dt.timedelta(days=1), day + dt.timedelta(days=2)]
        day += dt.timedelta(days=1)
    return days


def _instants(tz, day):
    first = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.timezone.utc)  # (a skipped midnight: its first instant)
    last = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.timezone.utc) - dt.timedelta(seconds=1)
    noon = dt.datetime.combine(day, dt.time(12, 30, 0, 250000), tz).astimezone(dt.timezone.utc)
    return [first, first + dt.timedelta(seconds=1), noon, last]


def _dates(day, rng):
    fixed = [dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2025, 1, 31), dt.date(2025, 3, 31), dt.date(2024, 12, 31)]
    near = [day - dt.timedelta(days=k) for k in (365, 366, 364, 30, 31, 29, 0, -1, 92, 89)]
    far = [dt.date(1830, 1, 1), dt.date(2250, 6, 30)]  # beyond the search's reach (2^16 days) from 2026
    pick = rng.choice(far) if rng.random() < 0.04 else rng.choice(fixed + near + near)
    return None if rng.random() < 0.08 else pick.isoformat()


@pytest.mark.parametrize("n,zone", list(enumerate(ZONES)))
def test_the_closed_form_gives_the_searchs_answer(tmp_path, monkeypatch, n, zone):
    policy = _policy(tmp_path, n, zone, CONDITIONS)
    compiled, tz = policy.compiled, zoneinfo.ZoneInfo(zone)
    t = whynot.trees(compiled)
    exprs = [t.checked.exprs[t.paths[("tier_rules", f"r{i}")]] for i in range(len(CONDITIONS))]
    rng = random.Random(n)
    answer = closedform.leaf
    monkeypatch.setattr(closedform, "leaf", lambda *args: None)  # whynot's own analysis ...
    monkeypatch.setattr(whynot, "shape", lambda *args: None)  # ... by the search
    days = _days(tz)
    seen = {}
    for _ in range(70):
        day = rng.choice(days)
        created = rng.choice(_instants(tz, day))
        ticket = {"id": "T", "created_at": created.isoformat(), "channel": "portal",
                  "customer": {"segment": "commercial", "coupon": {"used": 1}}}
        for dotted in ("license_purchased_at", "issued_at"):
            got = _dates(day, rng)
            if got is not None:
                (ticket["customer"]["coupon"] if dotted == "issued_at" else ticket["customer"])[dotted] = got
        a = whynot.Analysis(compiled, validate_ticket(ticket), {})
        for i in rng.sample(range(len(CONDITIONS)), 8):
            expr = exprs[i]
            value = a.ev(expr, expr.tree)
            for want in (True, False):
                if value is not UNKNOWN and bool(value) == want:
                    continue
                got = answer(a, expr, expr.tree, want, value, [])
                assert got is not None, (zone, CONDITIONS[i], ticket)
                reference = a._leaf(expr, expr.tree, want, value, [])
                assert got == reference, (zone, CONDITIONS[i], ticket, want)
                kinds = seen.setdefault(CONDITIONS[i], set())
                kinds.add((want, tuple(c.get("bound") for c in got["changes"])))
    assert len(seen) > 25  # (most conditions met with the both wishes, changes with either bound and unknown facts)
    bounds = {b for kinds in seen.values() for _, bs in kinds for b in bs}
    assert bounds == {"latest", "earliest", None}, bounds


def test_what_the_closed_form_leaves_to_the_search(tmp_path):
    """months added to an instant, == and !=, a comparison of a date with a number of days, one fact on both
    sides: the leaf is analysed as before"""
    conditions = ["created_at + 1 month > 2026-06-30T00:00:00Z", "date(created_at) == customer.license_purchased_at + 1 year",
                  "days_between(customer.license_purchased_at, date(created_at)) <= 30",
                  "date(created_at) > date(created_at) - 1 day", "customer.coupon.used < 15"]
    policy = _policy(tmp_path, "left", "Europe/Kyiv", conditions)
    t = whynot.trees(policy.compiled)
    for i in range(len(conditions)):
        expr = t.checked.exprs[t.paths[("tier_rules", f"r{i}")]]
        assert closedform.plan(t, expr, expr.tree) is None, conditions[i]
    ticket = validate_ticket({"id": "T", "created_at": "2026-05-01T10:00:00Z", "channel": "portal",
                              "customer": {"segment": "commercial", "license_purchased_at": "2024-05-01"}})
    a = whynot.Analysis(policy.compiled, ticket, {})
    expr = t.checked.exprs[t.paths[("tier_rules", "r1")]]
    assert closedform.leaf(a, expr, expr.tree, True, a.ev(expr, expr.tree), []) is None
