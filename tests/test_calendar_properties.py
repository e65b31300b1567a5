"""engine.calendar against a brute-force oracle that walks minute by minute (hypothesis).

The oracle reads the spec independently: for each UTC minute it takes the local date and time,
decides that date's hours (override > holiday > decree working day > week) and checks the minute.
Properties: agrees with the oracle; monotonic in start and amount; additive; between() inverts add()."""
import datetime as dt
import zoneinfo

import holidays
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.calendar import Calendar, Target

UTC = dt.timezone.utc
SPECS = {
    "kyiv": {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00"}, "holidays": "UA"},
    "moscow-weekends": {"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"},
                        "holidays": "RU", "holiday_hours": "09:00-18:00"},
    "lunch-break": {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-13:00, 14:00-18:00"}, "holidays": "none",
                    "overrides": {"2025-10-24": "closed", "2025-10-25": "10:00-12:00", "2026-03-27": "09:00-11:00"}},
    "always": {"timezone": "Europe/Kyiv", "week": "24x7"},
}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def oracle_hours(spec, day):
    def parse(text):
        if text is None or str(text).strip() == "closed":
            return []
        out = []
        for part in str(text).split(","):
            a, b = part.strip().split("-")
            out.append((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
        return out
    if spec["week"] == "24x7":
        return [(0, 1440)]
    week = {}
    for key, hours in spec["week"].items():
        if "-" in key:
            a, b = key.split("-")
            for i in range(DAYS.index(a), DAYS.index(b) + 1):
                week[i] = parse(hours)
        else:
            week[DAYS.index(key)] = parse(hours)
    override = (spec.get("overrides") or {}).get(day.isoformat())
    if override is not None:
        return parse(override)
    if spec.get("holidays") not in (None, "none"):
        h = holidays.country_holidays(spec["holidays"], years=day.year)
        if day in h:
            return parse(spec.get("holiday_hours", "closed"))
        if day in h.weekend_workdays:
            return parse(spec.get("workday_hours")) if "workday_hours" in spec else week.get(0, [])
    return week.get(day.weekday(), [])


def oracle_open(spec, minute):
    local = minute.astimezone(zoneinfo.ZoneInfo(spec["timezone"]))
    m = local.hour * 60 + local.minute
    return any(a <= m < b for a, b in oracle_hours(spec, local.date()))


def oracle_add(spec, start, minutes):
    t, left = start, minutes
    while left > 0:
        if oracle_open(spec, t):
            left -= 1
        t += dt.timedelta(minutes=1)
    return t


starts = st.builds(lambda days, minute: dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(days=days, minutes=minute),
                   st.one_of(st.integers(0, 700), st.sampled_from([82, 83, 84, 86, 296, 297, 298, 358, 359, 363, 364, 365, 372, 430, 450])),
                   st.integers(0, 1439))
names = st.sampled_from(sorted(SPECS))
amounts = st.integers(1, 60 * 30)
CAL = {name: Calendar.from_spec(spec) for name, spec in SPECS.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names, starts, amounts)
def test_agrees_with_the_minute_oracle(name, start, minutes):
    spec = SPECS[name]
    unit = Target("business_minutes", minutes) if spec["week"] != "24x7" else Target("elapsed_minutes", minutes)
    due = CAL[name].add(start, unit)
    want = oracle_add(spec, start, minutes)
    # the oracle steps whole minutes and returns the minute after the last open one: the same instant
    assert due == want, (name, start, minutes)
    assert CAL[name].is_open(start) == oracle_open(spec, start)


@settings(max_examples=150, deadline=None)
@given(names, starts, amounts, amounts)
def test_monotonic_additive_and_inverse(name, start, a, b):
    cal = CAL[name]
    unit = "business_minutes" if SPECS[name]["week"] != "24x7" else "elapsed_minutes"
    first = cal.add(start, Target(unit, a))
    assert first >= start
    assert cal.add(start, Target(unit, a + b)) >= first
    assert cal.add(start + dt.timedelta(minutes=b), Target(unit, a)) >= first
    assert cal.add(first, Target(unit, b)) == cal.add(start, Target(unit, a + b))
    assert abs(cal.business_seconds_between(start, first) - a * 60) < 1e-6


@settings(max_examples=60, deadline=None)
@given(names, starts, amounts, st.integers(0, 3000), st.integers(1, 3000))
def test_pauses_stop_the_clock(name, start, minutes, offset, length):
    cal = CAL[name]
    unit = "business_minutes" if SPECS[name]["week"] != "24x7" else "elapsed_minutes"
    pause = (start + dt.timedelta(minutes=offset), start + dt.timedelta(minutes=offset + length))
    due = cal.add(start, Target(unit, minutes), [pause])
    assert due >= cal.add(start, Target(unit, minutes))
    counted = cal.business_seconds_between(start, due, [pause])
    assert abs(counted - minutes * 60) < 1e-6
