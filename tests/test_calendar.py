"""slapolicy.calendar: the shared acceptance cases, the project's table cases, the API's edges, and
hypothesis properties against a brute-force oracle that walks minute by minute.

The oracle reads the spec on its own (a few lines, no code shared with the engine): for every UTC
minute it takes the local date and time, picks that date's hours (override > public holiday >
decree working day > week) and says whether the minute is open, and which date owns it: an overnight
interval ("20:00-08:00") belongs to the date it starts on, so a minute after midnight may be the day
before's.
"""
import datetime as dt
import threading
import zoneinfo
from functools import lru_cache
from pathlib import Path

import holidays
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from slapolicy.calendar import Calendar, CalendarError, Target, parse_target

UTC = dt.timezone.utc
HERE = Path(__file__).resolve().parent
ACCEPTANCE = Path(__file__).resolve().parents[1].parent / "shared/acceptance/calendar-cases.yaml"
TABLE = HERE / "cases" / "calendar_table.yaml"


def instant(text) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    assert value.tzinfo is not None, f"{text} has no offset"
    return value


def target_of(value) -> Target:
    return parse_target(value) if isinstance(value, str) else Target.from_mapping(value)


def run_case(case, default_timezone=None, base_dir=None):
    cal = Calendar.from_spec(case["calendar"], default_timezone=default_timezone, base_dir=base_dir)
    pauses = [(instant(a), instant(b)) for a, b in case.get("pauses") or []]
    return cal.add(instant(case["start"]), target_of(case["target"]), pauses)


# ---------------------------------------------------------------------------------------------
# 1. the shared acceptance cases
# ---------------------------------------------------------------------------------------------
ACCEPTANCE_CASES = yaml.safe_load(ACCEPTANCE.read_text("utf-8")) if ACCEPTANCE.exists() else []


@pytest.mark.skipif(not ACCEPTANCE.exists(), reason=f"the shared acceptance file {ACCEPTANCE} is absent")
@pytest.mark.parametrize("case", ACCEPTANCE_CASES, ids=[c["name"] for c in ACCEPTANCE_CASES])
def test_acceptance_case(case):
    due = run_case(case)
    want = instant(case["due"])
    assert due == want, f"{case['name']}: got {due.isoformat()}, want {want.astimezone(UTC).isoformat()}"
    assert due.tzinfo is not None and due.utcoffset() == dt.timedelta(0)


def test_acceptance_file_is_not_empty():
    if not ACCEPTANCE.exists():
        pytest.skip(f"the shared acceptance file {ACCEPTANCE} is absent")
    assert len(ACCEPTANCE_CASES) >= 10


# ---------------------------------------------------------------------------------------------
# 2. the table cases
# ---------------------------------------------------------------------------------------------
TABLE_CASES = yaml.safe_load(TABLE.read_text("utf-8"))
DUE_CASES = [c for c in TABLE_CASES if "error" not in c]
ERROR_CASES = [c for c in TABLE_CASES if "error" in c]


@pytest.mark.parametrize("case", DUE_CASES, ids=[c["name"] for c in DUE_CASES])
def test_table_case(case):
    due = run_case(case, base_dir=TABLE.parent)
    want = instant(case["due"])
    assert due == want, f"{case['name']}: got {due.isoformat()}, want {want.astimezone(UTC).isoformat()}"


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["name"] for c in ERROR_CASES])
def test_bad_spec_names_the_key(case):
    with pytest.raises(CalendarError) as info:
        Calendar.from_spec(case["calendar"], default_timezone=case.get("default_timezone", "Europe/Kyiv"),
                           base_dir=TABLE.parent)
    assert ".".join(info.value.key_path) == case["error"], str(info.value)
    assert str(info.value)


def test_table_covers_what_it_must():
    names = " ".join(c["name"] for c in TABLE_CASES)
    for word in ("lunch", "override", "holiday_hours", "workday_hours", "business days", "elapsed", "pause",
                 "opening", "closing", "year boundary", "unknown day", "overlapping day keys", "hour 25",
                 "end before start", "unknown country", "bad time zone"):
        assert word in names, word


# ---------------------------------------------------------------------------------------------
# 3. the API's edges
# ---------------------------------------------------------------------------------------------
KYIV_9_18 = {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-18:00"}}


@pytest.mark.parametrize("text, unit, amount", [
    ("90 business minutes", "business_minutes", 90),
    ("3 business hours", "business_hours", 3),
    ("1 business hour", "business_hours", 1),
    ("24 business days", "business_days", 24),
    ("1 business day", "business_days", 1),
    ("24 working hours", "business_hours", 24),
    ("8 Working Hours", "business_hours", 8),
    ("4 hours", "elapsed_hours", 4),
    ("1 hour", "elapsed_hours", 1),
    ("14 days", "elapsed_days", 14),
    ("30 minutes", "elapsed_minutes", 30),
    ("1.5 business hours", "business_hours", 1.5),
    ("  2.25 hours ", "elapsed_hours", 2.25),
])
def test_parse_target(text, unit, amount):
    t = parse_target(text)
    assert t == Target(unit, amount)
    assert (t.unit, t.amount) == (unit, amount)
    assert parse_target(str(t)) == t


@pytest.mark.parametrize("target, text", [
    (Target("business_hours", 3), "3 business hours"),
    (Target("business_hours", 1), "1 business hour"),
    (Target("business_hours", 1.5), "1.5 business hours"),
    (Target("business_minutes", 90), "90 business minutes"),
    (Target("business_days", 24), "24 business days"),
    (Target("elapsed_hours", 4), "4 hours"),
    (Target("elapsed_days", 1), "1 day"),
    (Target("elapsed_minutes", 30.0), "30 minutes"),
])
def test_target_text(target, text):
    assert str(target) == text


@pytest.mark.parametrize("text", ["", "hours", "3", "three hours", "3 business", "-1 hours", "3 business weeks",
                                  "3 office hours", "1..5 hours", "3 hours please"])
def test_parse_target_refuses(text):
    with pytest.raises(CalendarError):
        parse_target(text)


def test_target_from_mapping():
    assert Target.from_mapping({"business_hours": 2}) == Target("business_hours", 2)
    assert Target.from_mapping({"working_hours": 2}) == Target("business_hours", 2)
    assert Target.from_mapping({"elapsed_days": 14}).seconds == 14 * 86400
    assert Target.from_mapping({"business_minutes": 90}).seconds == 5400
    for bad in ({}, {"business_hours": 1, "elapsed_hours": 1}, {"fortnights": 1}, {"business_hours": -1},
                {"business_hours": "2"}, {"business_hours": True}, {"business_hours": float("nan")}, ["x"]):
        with pytest.raises(CalendarError):
            Target.from_mapping(bad)


@st.composite
def targets(draw):
    unit = draw(st.sampled_from(["business_minutes", "business_hours", "business_days",
                                 "elapsed_minutes", "elapsed_hours", "elapsed_days"]))
    amount = draw(st.one_of(st.integers(0, 10_000), st.decimals("0", "999", places=2).map(float)))
    return Target(unit, amount)


@settings(max_examples=200, deadline=None)
@given(targets())
def test_target_text_round_trips(target):
    assert parse_target(str(target)) == target
    assert Target.from_mapping({target.unit: target.amount}) == target


def test_is_open_and_next_open():
    cal = Calendar.from_spec(KYIV_9_18)
    assert cal.is_open(instant("2026-03-10T09:00:00+02:00"))
    assert cal.is_open(instant("2026-03-10T17:59:59+02:00"))
    assert not cal.is_open(instant("2026-03-10T18:00:00+02:00"))
    assert not cal.is_open(instant("2026-03-10T08:59:59+02:00"))
    assert not cal.is_open(instant("2026-03-14T12:00:00+02:00"))
    inside = instant("2026-03-10T12:34:56.789+02:00")
    got = cal.next_open(inside)
    assert got == inside and got.utcoffset() == dt.timedelta(0)
    assert cal.next_open(instant("2026-03-10T18:00:00+02:00")) == instant("2026-03-11T09:00:00+02:00")
    assert cal.next_open(instant("2026-03-13T20:00:00+02:00")) == instant("2026-03-16T09:00:00+02:00")
    # across the spring change: Monday 30 March opens at 09:00 +03:00
    assert cal.next_open(instant("2026-03-27T20:00:00+02:00")) == instant("2026-03-30T09:00:00+03:00")
    # the same instant in another zone's clothes
    assert cal.is_open(instant("2026-03-10T07:30:00+00:00"))
    assert not cal.is_open(instant("2026-03-10T08:30:00+02:00").astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")))


def test_holiday_facts_through_the_calendar():
    ru = Calendar.from_spec({"timezone": "Europe/Moscow", "week": {"mon-fri": "09:00-18:00"}, "holidays": "RU"})
    assert ru.is_open(instant("2025-11-01T10:00:00+03:00"))  # Saturday made a working day
    assert not ru.is_open(instant("2025-11-03T10:00:00+03:00"))  # the Monday it moved
    assert not ru.is_open(instant("2025-12-31T10:00:00+03:00"))  # a day off moved from 5 January
    assert not ru.is_open(instant("2026-01-09T10:00:00+03:00"))
    assert ru.is_open(instant("2026-01-12T10:00:00+03:00"))
    ua = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00"}, "holidays": "UA"})
    assert not ua.is_open(instant("2022-01-07T10:00:00+02:00"))  # Christmas before martial law
    assert ua.is_open(instant("2022-03-12T10:00:00+02:00"))  # a Saturday worked for 7 March
    assert ua.is_open(instant("2025-12-25T10:00:00+02:00"))  # martial law: no public holidays
    assert ua.is_open(instant("2026-01-01T10:00:00+02:00"))
    assert ru.day_hours(dt.date(2025, 11, 1)) == ((540, 1080),)
    assert ru.day_hours(dt.date(2025, 11, 4)) == ()


def test_business_seconds_between():
    cal = Calendar.from_spec(KYIV_9_18)
    a, b = instant("2026-03-10T17:00:00+02:00"), instant("2026-03-11T10:00:00+02:00")
    assert cal.business_seconds_between(a, b) == 2 * 3600
    assert cal.business_seconds_between(b, a) == 0
    assert cal.business_seconds_between(a, a) == 0
    # a whole week, the weekend closed
    assert cal.business_seconds_between(instant("2026-03-09T00:00:00+02:00"),
                                        instant("2026-03-16T00:00:00+02:00")) == 45 * 3600
    # overlapping pauses subtract once; the part outside hours subtracts nothing
    pauses = [(instant("2026-03-10T17:30:00+02:00"), instant("2026-03-11T09:30:00+02:00")),
              (instant("2026-03-10T20:00:00+02:00"), instant("2026-03-11T09:45:00+02:00"))]
    assert cal.business_seconds_between(a, b, pauses) == 30 * 60 + 15 * 60
    always = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": "24x7"})
    # 24x7 over the spring gap: 4 real hours from 23:30 to 04:30 local
    assert always.business_seconds_between(instant("2025-03-29T23:30:00+02:00"),
                                           instant("2025-03-30T04:30:00+03:00")) == 4 * 3600


def test_describe():
    cal = Calendar.from_spec({"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"},
                              "holidays": "RU", "holiday_hours": "09:00-18:00"})
    assert cal.describe() == "Mon-Fri 08:00-20:00, Sat-Sun 09:00-18:00 (Europe/Moscow); holidays: RU (09:00-18:00)"
    assert Calendar.from_spec({"week": "24x7"}, default_timezone="Europe/Kyiv").describe() == "24x7 (Europe/Kyiv)"
    lunch = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-13:00, 14:00-18:00"},
                                "holidays": "UA", "overrides": {"2026-12-31": "09:00-15:00"}})
    assert lunch.describe() == ("Mon-Fri 09:00-13:00, 14:00-18:00 (Europe/Kyiv); holidays: UA (closed); "
                                "overrides: 2026-12-31 09:00-15:00")
    assert Calendar.from_spec({"week": {"mon,wed": "09:00-18:00"}}, default_timezone="UTC").describe() == \
        "Mon 09:00-18:00, Wed 09:00-18:00 (UTC)"


def test_default_timezone_and_timezone_attribute():
    cal = Calendar.from_spec({"week": {"mon-fri": "09:00-18:00"}}, default_timezone="Europe/Moscow")
    assert cal.timezone == zoneinfo.ZoneInfo("Europe/Moscow")
    own = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-18:00"}},
                             default_timezone="Europe/Moscow")
    assert own.timezone.key == "Europe/Kyiv"


def test_calendar_is_immutable():
    cal = Calendar.from_spec(KYIV_9_18)
    with pytest.raises(AttributeError):
        cal.timezone = zoneinfo.ZoneInfo("UTC")
    with pytest.raises(AttributeError):
        cal.week = {}
    with pytest.raises(AttributeError):
        cal.anything = 1


def test_naive_datetimes_are_refused():
    cal = Calendar.from_spec(KYIV_9_18)
    naive = dt.datetime(2026, 3, 10, 10)
    for call in (lambda: cal.add(naive, Target("business_hours", 1)), lambda: cal.is_open(naive),
                 lambda: cal.next_open(naive), lambda: cal.business_seconds_between(naive, naive)):
        with pytest.raises(CalendarError):
            call()


def test_never_open_calendar_raises():
    cal = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-sun": "closed"}})
    start = instant("2026-03-10T10:00:00+02:00")
    assert not cal.is_open(start)
    with pytest.raises(CalendarError):
        cal.add(start, Target("business_hours", 1))
    with pytest.raises(CalendarError):
        cal.next_open(start)
    with pytest.raises(CalendarError):
        cal.add(start, Target("business_days", 1))
    assert cal.add(start, Target("elapsed_hours", 1)) == start + dt.timedelta(hours=1)


def test_year_boundaries_and_long_horizons():
    cal = Calendar.from_spec({"timezone": "Europe/Moscow", "week": {"mon-fri": "09:00-18:00"}, "holidays": "RU"})
    start = instant("2026-12-30T12:00:00+03:00")
    due = cal.add(start, Target("business_hours", 216))
    assert cal.business_seconds_between(start, due) == 216 * 3600
    assert due.year == 2027
    # far ahead and far behind the first years built: the index grows both ways
    later = instant("2040-06-05T10:00:00+03:00")
    assert cal.business_seconds_between(later, cal.add(later, Target("business_hours", 2000))) == 2000 * 3600
    earlier = instant("2012-06-05T10:00:00+04:00")
    assert cal.add(earlier, Target("business_hours", 1)) == instant("2012-06-05T11:00:00+04:00")
    assert cal.add(start, Target("business_hours", 216)) == due
    # a horizon longer than a year, across several New Year holidays
    year_later = cal.add(start, Target("business_hours", 9 * 247 * 2))
    assert cal.business_seconds_between(start, year_later) == 9 * 247 * 2 * 3600
    with pytest.raises(CalendarError):
        cal.add(start, Target("business_hours", 10 ** 9))


def test_index_is_built_once_and_reused():
    from slapolicy.calendar.core import _FIRST, _LAST, _MIDS

    cal = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00"}, "holidays": "UA"})
    start = instant("2025-05-05T10:00:00+03:00")
    first = cal.add(start, Target("business_hours", 1))
    months = lambda idx: (divmod(idx[_FIRST], 12), divmod(idx[_LAST], 12))  # noqa: E731  ((year, month - 1), ...)
    assert months(cal._index) == ((2025, 4), (2025, 5))  # a first deadline builds its month and one more
    assert len(cal._index[_MIDS]) == 31 + 30 + 1  # (the day bounds of May and June, and the next one)
    assert cal.add(start + dt.timedelta(days=300), Target("business_hours", 216)) > first
    built = cal._index
    assert months(built) == ((2025, 4), (2027, 11))  # grown in whole years, a year to spare ahead of 2026-03
    for hours in (1, 24, 40, 216):
        for day in range(0, 300, 7):
            cal.add(start + dt.timedelta(days=day), Target("business_hours", hours))
    assert cal._index is built  # no rebuild for deadlines inside the years already built


def test_concurrent_first_use_agrees_with_sequential():
    spec = {"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"},
            "holidays": "RU", "holiday_hours": "09:00-18:00"}
    starts = [instant("2020-01-01T00:00:00+03:00") + dt.timedelta(hours=37 * i) for i in range(0, 3000, 7)]
    sequential = Calendar.from_spec(spec)
    want = [sequential.add(s, Target("business_hours", 40)) for s in starts]
    shared = Calendar.from_spec(spec)
    results, errors = {}, []

    def work(k):
        try:
            order = starts[k::4] + starts[:k:4]
            results[k] = {s: shared.add(s, Target("business_hours", 40)) for s in reversed(order)}
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        for s, due in results[k].items():
            assert due == want[starts.index(s)]


def test_pauses_never_count_twice_and_touching_pauses_merge():
    cal = Calendar.from_spec(KYIV_9_18)
    start = instant("2026-03-10T09:00:00+02:00")
    one = [(instant("2026-03-10T10:00:00+02:00"), instant("2026-03-10T12:00:00+02:00"))]
    split = [(instant("2026-03-10T11:00:00+02:00"), instant("2026-03-10T12:00:00+02:00")),
             (instant("2026-03-10T10:00:00+02:00"), instant("2026-03-10T11:00:00+02:00")),
             (instant("2026-03-10T10:30:00+02:00"), instant("2026-03-10T11:30:00+02:00")),
             (instant("2026-03-10T13:00:00+02:00"), instant("2026-03-10T12:59:00+02:00"))]  # empty: ignored
    for hours in (1, 2, 5, 30):
        t = Target("business_hours", hours)
        assert cal.add(start, t, one) == cal.add(start, t, split)
        assert cal.business_seconds_between(start, cal.add(start, t, split), split) == hours * 3600


# ---------------------------------------------------------------------------------------------
# 4. hypothesis: the engine against a minute-stepping oracle
# ---------------------------------------------------------------------------------------------
SPECS = {
    "kyiv-ua": {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00"}, "holidays": "UA"},
    "moscow-ru": {"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"},
                  "holidays": "RU", "holiday_hours": "09:00-18:00"},
    "moscow-decree": {"timezone": "Europe/Moscow", "week": {"mon-thu": "09:00-18:00", "fri": "09:00-16:45"},
                      "holidays": "RU", "workday_hours": "10:00-15:00"},
    "lunch": {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-13:00, 14:00-18:00", "sat": "10:00-14:00"},
              "holidays": "none",
              "overrides": {"2025-10-24": "closed", "2025-10-25": "10:00-12:00", "2025-10-26": "working",
                            "2025-12-31": "09:00-12:00", "2026-03-28": "closed", "2026-03-29": "08:30-09:15"}},
    "always": {"timezone": "Europe/Kyiv", "week": "24x7"},
    # overnight intervals, over Kyiv's DST nights (03:00 -> 04:00 in March, 04:00 -> 03:00 in October)
    "night": {"timezone": "Europe/Kyiv", "week": {"mon-fri": "20:00-08:00", "sat": "10:00-14:00"}, "holidays": "UA",
              "overrides": {"2025-10-25": "22:00-06:00", "2026-03-28": "21:00-05:00", "2025-12-31": "closed"}},
    # a night shift written as two keys for the same days, public holidays with hours of their own
    "night-split": {"timezone": "Europe/Moscow", "week": {"mon-fri": "22:00-24:00", "tue-sat": "00:00-06:00",
                                                         "sun": "21:00-23:00"},
                    "holidays": "RU", "holiday_hours": "12:00-23:00"},
    "moscow-holiday-closed": {"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00"}, "holidays": "RU",
                              "holiday_hours": "09:00-18:00", "holiday_hours_on_closed_days": "closed"},
}
CALENDARS = {name: Calendar.from_spec(spec) for name, spec in SPECS.items()}
NAMES = sorted(SPECS)
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _oracle_intervals(text):
    if text is None or str(text).strip() == "closed":
        return []
    out = []
    for part in str(text).split(","):
        a, b = part.strip().split("-")
        start, end = int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])
        out.append((start, end if end > start else end + 1440))  # overnight: ends the next morning
    return out


@lru_cache(maxsize=None)
def _oracle_country(code, year):
    h = holidays.country_holidays(code, years=year)
    return set(h), set(h.weekend_workdays)


@lru_cache(maxsize=None)
def oracle_hours(name, day):
    spec = SPECS[name]
    if spec["week"] == "24x7":
        return [(0, 1440)]
    week = {}
    for key, text in spec["week"].items():
        first, _, last = key.partition("-")
        for i in range(DAY_NAMES.index(first), DAY_NAMES.index(last or first) + 1):
            week[i] = week.get(i, []) + _oracle_intervals(text)
    monday = week.get(0, [])
    override = spec.get("overrides", {}).get(day.isoformat())
    if override == "working":
        return week.get(day.weekday()) or _oracle_intervals(spec.get("workday_hours")) or monday
    if override is not None:
        return _oracle_intervals(override)
    if spec.get("holidays", "none") != "none":
        hols, workdays = _oracle_country(spec["holidays"], day.year)
        if day in hols:
            if spec.get("holiday_hours_on_closed_days") == "closed" and not week.get(day.weekday()):
                return []
            return _oracle_intervals(spec.get("holiday_hours", "closed"))
        if day in workdays:
            return _oracle_intervals(spec["workday_hours"]) if "workday_hours" in spec else monday
    return week.get(day.weekday(), [])


@lru_cache(maxsize=None)
def _zone(name):
    return zoneinfo.ZoneInfo(SPECS[name]["timezone"])


def oracle_owner(name, minute):
    """The local date whose hours hold this UTC minute (the day before's for the morning part of an
    overnight interval), or None when closed."""
    local = minute.astimezone(_zone(name))
    m, day = local.hour * 60 + local.minute, local.date()
    if any(a <= m < b for a, b in oracle_hours(name, day)):
        return day
    before = day - dt.timedelta(days=1)
    if any(a <= m + 1440 < b for a, b in oracle_hours(name, before)):
        return before
    return None


def oracle_open(name, minute):
    return oracle_owner(name, minute) is not None


def oracle_add(name, start, minutes, pauses=()):
    """Walk minute by minute; the due is the end of the last open, un-paused minute counted."""
    t, left = start, minutes
    while left > 0:
        if oracle_open(name, t) and not any(a <= t < b for a, b in pauses):
            left -= 1
        t += dt.timedelta(minutes=1)
    return t


def oracle_next_open(name, start):
    t = start
    while not oracle_open(name, t):
        t += dt.timedelta(minutes=1)
    return t


def oracle_between(name, a, b):
    n, t = 0, a
    while t < b:
        n += oracle_open(name, t)
        t += dt.timedelta(minutes=1)
    return n * 60


def oracle_days(name, start, n):
    """business_days n, read literally: same open offset into the nth working day after s's date."""
    tz = _zone(name)
    s = oracle_next_open(name, start)
    d = s.astimezone(tz).date()

    def midnight(day):
        return dt.datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    def owned(day, until=None):
        """The open minutes that belong to `day` (from its midnight to two days later), before `until`."""
        t, stop, out = midnight(day), until or midnight(day + dt.timedelta(days=2)), []
        while t < stop:
            if oracle_owner(name, t) == day:
                out.append(t)
            t += dt.timedelta(minutes=1)
        return out

    d = oracle_owner(name, s)
    o = len(owned(d, s))
    day, count = d, 0
    while count < n:
        day += dt.timedelta(days=1)
        count += bool(oracle_hours(name, day))
    open_minutes = owned(day)
    offset = min(o, len(open_minutes))
    return open_minutes[0] if offset == 0 else open_minutes[offset - 1] + dt.timedelta(minutes=1)


# starts: any minute of 2025-2026, or near a DST weekend, a RU holiday or transfer, the UA holidays of
# 2022 (the last ones before martial law), the overrides
SPECIAL_DAYS = [dt.date(*d) for d in (
    (2025, 3, 28), (2025, 3, 30), (2025, 10, 24), (2025, 10, 26), (2026, 3, 27), (2026, 3, 29), (2026, 10, 23),
    (2026, 10, 25), (2024, 12, 27), (2025, 1, 8), (2025, 2, 21), (2025, 5, 1), (2025, 6, 11), (2025, 10, 31),
    (2025, 11, 2), (2025, 12, 29), (2026, 1, 8), (2026, 3, 6), (2026, 5, 8), (2026, 12, 30), (2021, 12, 30),
    (2022, 1, 6), (2022, 3, 4), (2022, 3, 11), (2022, 2, 23), (2027, 1, 1), (2027, 2, 19), (2025, 3, 29),
    (2026, 10, 24))]
days = st.one_of(st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
                 st.builds(lambda d, k: d + dt.timedelta(days=k), st.sampled_from(SPECIAL_DAYS), st.integers(-1, 2)))
starts = st.builds(lambda d, m: dt.datetime(d.year, d.month, d.day, tzinfo=UTC) + dt.timedelta(minutes=m),
                   days, st.integers(0, 1439))
minutes = st.integers(1, 60 * 60)  # up to 60 business hours
names = st.sampled_from(NAMES)
ORACLE = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ORACLE
@given(names, starts, minutes)
def test_add_agrees_with_the_oracle(name, start, n):
    cal = CALENDARS[name]
    due = cal.add(start, Target("business_minutes", n))
    assert due == oracle_add(name, start, n), (name, start, n)
    assert cal.add(start, Target("business_hours", n / 60)) == due
    assert cal.is_open(start) == oracle_open(name, start)
    assert cal.next_open(start) == oracle_next_open(name, start)


@ORACLE
@given(names, starts, minutes, st.lists(st.tuples(st.integers(-600, 4000), st.integers(1, 3000)), max_size=3))
def test_pauses_agree_with_the_oracle(name, start, n, raw):
    pauses = [(start + dt.timedelta(minutes=a), start + dt.timedelta(minutes=a + b)) for a, b in raw]
    cal = CALENDARS[name]
    due = cal.add(start, Target("business_minutes", n), pauses)
    assert due == oracle_add(name, start, n, pauses), (name, start, n, pauses)
    assert cal.business_seconds_between(start, due, pauses) == n * 60
    assert due >= cal.add(start, Target("business_minutes", n))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names, starts, st.integers(1, 6 * 24 * 60))
def test_between_agrees_with_the_oracle(name, start, span):
    end = start + dt.timedelta(minutes=span)
    assert CALENDARS[name].business_seconds_between(start, end) == oracle_between(name, start, end)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names, starts, st.integers(1, 8))
def test_business_days_agree_with_the_oracle(name, start, n):
    assert CALENDARS[name].add(start, Target("business_days", n)) == oracle_days(name, start, n), (name, start, n)


month_ends = st.builds(lambda y, m, k, minute: dt.datetime(y, m, 1, tzinfo=UTC) + dt.timedelta(days=k, minutes=minute),
                       st.integers(2025, 2026), st.integers(1, 12), st.integers(-2, 1), st.integers(0, 1439))


@ORACLE
@given(names, st.one_of(starts, month_ends), minutes, st.integers(1, 8), st.integers(1, 3 * 24 * 60))
def test_a_fresh_calendar_agrees_with_the_oracle(name, start, n, days, span):
    """The calendars above are shared, so their index soon covers whole years; a fresh one's first index covers
    only the months a computation asks for (and one more), then grows: the same answers from each first index,
    across month ends, overnight intervals and DST nights."""
    spec = SPECS[name]
    due = Calendar.from_spec(spec).add(start, Target("business_minutes", n))
    assert due == oracle_add(name, start, n), (name, start, n)
    assert Calendar.from_spec(spec).add(start, Target("business_days", days)) == oracle_days(name, start, days)
    assert Calendar.from_spec(spec).next_open(start) == oracle_next_open(name, start)
    end = start + dt.timedelta(minutes=span)
    assert Calendar.from_spec(spec).business_seconds_between(start, end) == oracle_between(name, start, end)
    fresh = Calendar.from_spec(spec)
    assert fresh.is_open(start) == oracle_open(name, start)
    assert fresh.add(start, Target("business_minutes", n)) == due  # after is_open's first index


@settings(max_examples=200, deadline=None)
@given(names, starts, minutes, minutes)
def test_monotonic_additive_and_inverse(name, start, a, b):
    cal = CALENDARS[name]
    first = cal.add(start, Target("business_minutes", a))
    assert first > start
    both = cal.add(start, Target("business_minutes", a + b))
    assert both > first  # strictly: more open time is always later
    assert cal.add(first, Target("business_minutes", b)) == both  # additive
    later = cal.add(start + dt.timedelta(minutes=b), Target("business_minutes", a))
    assert later >= first  # monotonic in the start
    assert cal.business_seconds_between(start, first) == a * 60  # between() inverts add()
    assert cal.business_seconds_between(start, both) == (a + b) * 60


@settings(max_examples=100, deadline=None)
@given(names, starts, st.integers(1, 40), st.integers(0, 3600))
def test_business_days_are_monotonic(name, start, n, shift):
    cal = CALENDARS[name]
    due = cal.add(start, Target("business_days", n))
    assert due > start
    assert cal.add(start, Target("business_days", n + 1)) > due
    assert cal.add(start + dt.timedelta(minutes=shift), Target("business_days", n)) >= due


@settings(max_examples=100, deadline=None)
@given(names, starts, st.integers(1, 10_000), st.sampled_from(["elapsed_minutes", "elapsed_hours", "elapsed_days"]))
def test_elapsed_is_utc_arithmetic(name, start, amount, unit):
    seconds = {"elapsed_minutes": 60, "elapsed_hours": 3600, "elapsed_days": 86400}[unit] * amount
    assume(start.year + seconds / 3.2e7 < 2090)
    assert CALENDARS[name].add(start, Target(unit, amount)) == start + dt.timedelta(seconds=seconds)
