"""A breakdown without pauses is counted day by day from each day's own open spans (slapolicy.calendar.breakdown
_rows without `spans`); with a pause every day is clipped from the merged, counted spans of all the days (_paused, the
reference). A pause that holds nothing (before the start) must give the same breakdown, keys in order, for
every calendar of the bundled policies and extra ones (24x7, hours to midnight, DST changes, holidays), with
starts at midnight, on the minute, between minutes, on weekends and holidays, and every kind of target."""
import datetime as dt
import random

import orjson
import pytest
from slapolicy import load_policy
from slapolicy.api import policy_ids
from slapolicy.calendar import Calendar, Target
from slapolicy.calendar.breakdown import breakdown

EXTRA = [
    {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-18:00"}, "holidays": "UA"},
    {"timezone": "Europe/Kyiv", "week": {"mon-fri": "08:00-24:00", "sat": "00:00-24:00"}},
    {"timezone": "Europe/Moscow", "week": "24x7", "holidays": "RU"},
    {"timezone": "Europe/Berlin", "week": {"mon-sun": "00:00-24:00"}},
    {"timezone": "Europe/Berlin", "week": {"mon-fri": "00:00-03:30, 22:00-24:00"}},
]
TARGETS = [Target("business_hours", 1), Target("business_hours", 9), Target("business_minutes", 95),
           Target("business_days", 3), Target("elapsed_hours", 30), Target("elapsed_minutes", 200), Target("elapsed_days", 4), Target("business_hours", 120)]
STARTS = ["2026-03-27T23:59:30+02:00", "2026-03-29T00:00:00+01:00", "2026-10-24T21:15:00+03:00",
          "2026-12-31T23:00:00+02:00", "2026-08-21T17:59:59.500000+03:00", "2026-05-01T09:00:00+03:00",
          "2026-01-03T12:00:00+00:00", "2026-06-12T08:59:00+03:00"]


def _calendars():
    out = [Calendar.from_spec(spec) for spec in EXTRA]
    for pid in policy_ids():
        out.extend(load_policy(pid).compiled.calendars.values())
    return out


CALENDARS = _calendars()


@pytest.mark.parametrize("index", range(len(CALENDARS)))
def test_a_breakdown_without_pauses_is_the_day_by_day_one(index):
    cal = CALENDARS[index]
    rnd = random.Random(index)
    starts = [dt.datetime.fromisoformat(s) for s in STARTS]
    starts += [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=rnd.randrange(366 * 86400) + rnd.random())
               for _ in range(40)]
    compared = 0
    for start in starts:
        begin = start.astimezone(dt.timezone.utc)
        nothing = [(begin - dt.timedelta(days=2), begin - dt.timedelta(days=1))]
        for target in TARGETS:
            due = cal.add(begin, target)
            fast, counted = breakdown(cal, target, begin, due), breakdown(cal, target, begin, due, nothing)
            assert counted["pauses"][0]["open_seconds"] == 0
            fast["pauses"] = counted["pauses"] = None
            assert orjson.dumps(fast) == orjson.dumps(counted), (start, target)  # (keys in order, floats exact)
            compared += 1
    assert compared == len(starts) * len(TARGETS)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Moscow", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_an_instant_written_from_its_day_is_what_fromtimestamp_writes(zone):
    """a ticket's own instants in a breakdown are written from the day's date and UTC offset (_day_iso): the same
    text as datetime.fromtimestamp(t, tz).isoformat(), on days of a DST change too, fractions of a second aside"""
    from slapolicy.calendar.breakdown import _day_info, _day_iso

    cal = Calendar.from_spec({"timezone": zone, "week": "24x7"})
    tz = cal.timezone
    rnd = random.Random(zone)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    instants = [base + rnd.randrange(366 * 86400) for _ in range(3000)]
    instants += [base + rnd.randrange(366 * 86400) + rnd.random() for _ in range(200)]
    for day in (dt.date(2026, 3, 8), dt.date(2026, 3, 29), dt.date(2026, 4, 5), dt.date(2026, 10, 4), dt.date(2026, 10, 25),
                dt.date(2026, 11, 1)):  # (DST changes of the zones above)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        instants += [midnight + k * 900 for k in range(100)]
    for t in instants:
        day = dt.datetime.fromtimestamp(t, tz).date()
        assert _day_iso(_day_info(cal, day, (day.year,), True), t, tz) == dt.datetime.fromtimestamp(t, tz).isoformat(), t


@pytest.mark.parametrize("index", range(len(CALENDARS)))
def test_a_breakdown_given_the_texts_of_its_ends_is_the_same(index):
    """annotate hands a deadline's breakdown the texts of created_at and of the deadline the decision has (in the
    calendar's time zone): the breakdown (its local dates, its ends' texts) is the one made without them, keys in
    order, for starts at midnight, between minutes, on DST days and ends at midnight"""
    cal = CALENDARS[index]
    tz = cal.timezone
    rnd = random.Random(index + 100)
    starts = [dt.datetime.fromisoformat(s) for s in STARTS]
    starts += [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=rnd.randrange(366 * 86400) + rnd.random() * (k % 2))
               for k in range(40)]
    for start in starts:
        begin = start.astimezone(dt.timezone.utc)
        for target in TARGETS:
            for due in (cal.add(begin, target), dt.datetime.combine(begin.astimezone(tz).date() + dt.timedelta(days=2),
                                                                    dt.time(0), tz).astimezone(dt.timezone.utc)):
                texts = (begin.astimezone(tz).isoformat(), due.astimezone(tz).isoformat())
                assert orjson.dumps(breakdown(cal, target, begin, due, (), texts)) == \
                    orjson.dumps(breakdown(cal, target, begin, due)), (start, target, due)
