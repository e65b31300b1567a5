"""slapolicy.calendar.core.local_iso writes an instant in a time zone exactly as
`instant.astimezone(tz).isoformat()` does (the decision's deadlines, created_at in the policy's zone, the
facts of timestamps): whole seconds from its kept date and offset texts, anything else by isoformat."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from slapolicy.calendar.core import local_iso

ZONES = [ZoneInfo(z) for z in ("Europe/Kyiv", "Europe/Moscow", "UTC", "America/St_Johns", "Asia/Kolkata",
                                "Australia/Lord_Howe", "Africa/Monrovia", "Europe/Dublin", "Pacific/Chatham")] + [
    dt.timezone.utc, dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
    dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=7)),  # (an offset with seconds: isoformat writes them)
    dt.timezone(dt.timedelta(seconds=1, microseconds=5))]

INSTANTS = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                        timezones=st.sampled_from(ZONES))


@settings(max_examples=3000, deadline=None)
@given(INSTANTS, st.sampled_from(ZONES), st.booleans())
def test_local_iso_is_isoformat_of_the_local_instant(instant, tz, whole):
    if whole:  # (most instants of a decision are whole seconds: the kept texts' path)
        instant = instant.replace(microsecond=0)
    assert local_iso(instant, tz) == instant.astimezone(tz).isoformat()
    assert local_iso(instant, tz) == instant.astimezone(tz).isoformat()  # (the second time: from the kept texts)


def test_the_repeated_hour_and_the_gap_of_a_daylight_saving_change():
    kyiv = ZoneInfo("Europe/Kyiv")
    start = dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.timezone.utc)  # 04:00 EEST -> 03:00 EET at 01:00 UTC
    for minutes in range(0, 180, 7):
        instant = start + dt.timedelta(minutes=minutes)
        assert local_iso(instant, kyiv) == instant.astimezone(kyiv).isoformat()
    assert local_iso(dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.timezone.utc), kyiv) == "2026-10-25T03:30:00+03:00"
    assert local_iso(dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.timezone.utc), kyiv) == "2026-10-25T03:30:00+02:00"
