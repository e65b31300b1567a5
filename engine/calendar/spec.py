"""The calendar spec as written in policy YAML (timezone, week, holidays, hours, overrides) -> its parts."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from slapolicy.calendar.targets import CalendarError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_time(text: str, part: str, path, *, end: bool) -> int:
    m = _TIME_RE.match(text)
    if not m:
        raise CalendarError(f"'{part}' is not HH:MM-HH:MM (or 'closed')", path)
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and (mi or not end)):
        raise CalendarError(f"'{part}' is not a valid time range", path)
    return h * 60 + mi


def _parse_hours(value, path) -> tuple:
    """'09:00-13:00, 14:00-18:00' | ['09:00-13:00', ...] | 'closed' -> ((start_min, end_min), ...)."""
    if value is None:
        raise CalendarError("hours are missing: write 'HH:MM-HH:MM' or 'closed'", path)
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
        if not parts:
            return ()
    else:
        text = str(value).strip()
        if text.lower() == "closed":
            return ()
        parts = text.split(",")
    out = []
    for part in parts:
        part = part.strip()
        if part.count("-") != 1:
            raise CalendarError(f"'{part}' is not HH:MM-HH:MM (or 'closed')", path)
        a, b = (p.strip() for p in part.split("-"))
        start, end = _parse_time(a, part, path, end=False), _parse_time(b, part, path, end=True)
        if end == start or (end == 0 and start == 0):
            raise CalendarError(f"'{part}' is empty (it ends when it starts)", path)
        if end < start:  # an overnight interval: it belongs to the day it starts and ends the next morning
            end += 1440
        out.append((start, end))
    out.sort()
    for (s1, e1), (s2, e2) in zip(out, out[1:]):
        if s2 < e1:
            raise CalendarError(f"'{value}' has overlapping intervals", path)
    return tuple(out)


def _day_keys(key, path) -> list:
    days = []
    for part in str(key).split(","):
        part = part.strip().lower()
        if "-" in part:
            a, b = (p.strip() for p in part.split("-", 1))
            if a not in DAYS or b not in DAYS:
                bad = a if a not in DAYS else b
                raise CalendarError(f"'{bad}' in '{key}' is not a day (mon, tue, wed, thu, fri, sat, sun)", path)
            i, j = DAYS.index(a), DAYS.index(b)
            if j < i:
                raise CalendarError(f"'{key}': a day range goes forwards within the week (mon-fri)", path)
            days.extend(range(i, j + 1))
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise CalendarError(f"'{part}' is not a day (mon, tue, wed, thu, fri, sat, sun)", path)
    if len(set(days)) != len(days):
        raise CalendarError(f"'{key}' names a day twice", path)
    return days


def _fmt_hours(hours) -> str:
    if not hours:
        return "closed"

    def hm(m):
        m = m - 1440 if m > 1440 else m
        return f"{m // 60:02d}:{m % 60:02d}"

    return ", ".join(f"{hm(s)}-{hm(e)}" for s, e in hours)


def _check_week(spans: list) -> None:
    """No two intervals of the week overlap, overnight ones included (sunday's night runs into monday).
    `spans` are (day, start, end, key) in the order written; the error names the key written later."""
    timeline = sorted(((d * 1440 + s, d * 1440 + e, order, d, s, e, key)
                       for order, (d, s, e, key) in enumerate(spans)))
    if not timeline:
        return
    a0, b0, *rest = timeline[0]
    wrapped = timeline + [(a0 + 10080, b0 + 10080, *rest)]
    for first, second in zip(wrapped, wrapped[1:]):
        if second[0] < first[1]:
            x, y = sorted((first, second), key=lambda t: t[2])  # y: the one written later
            raise CalendarError(f"{DAYS[y[3]]} {_fmt_hours(((y[4], y[5]),))} (in '{y[6]}') overlaps "
                                f"{DAYS[x[3]]} {_fmt_hours(((x[4], x[5]),))} (in '{x[6]}')", ("week", y[6]))


_WORKING = "working"
_ALL_DAY = ((0, 1440),)


def _country_code(value, holiday_source=None):
    if value is None or value is False:
        return None
    code = str(value).strip()
    if code.lower() in ("none", "", "null"):
        return None
    if holiday_source is not None and holiday_source.known(code):  # stored: the package accepted it
        return code
    import holidays

    try:
        holidays.country_holidays(code, years=2025)
    except (NotImplementedError, KeyError, AttributeError, ValueError):
        raise CalendarError(f"'{code}' is not a country code of the holidays package (e.g. RU, UA)",
                            ("holidays",)) from None
    return code


def parse_spec(spec, default_timezone: str | None = None, base_dir=None, holiday_source=None) -> tuple:
    """(timezone, week, country, holiday_hours, workday_hours, overrides, holiday_file, holidays_open_closed_days):
    Calendar's arguments. `base_dir` is where a relative `holidays_file` is read from (the policy's folder);
    a country that `holiday_source` (a HolidayStore) has stored is valid without asking the package."""
    if not isinstance(spec, dict):
        raise CalendarError("a calendar is a mapping (timezone, week, holidays, ...)")
    known = ("timezone", "week", "holidays", "holidays_file", "holiday_hours", "holiday_hours_on_closed_days",
             "workday_hours", "overrides")
    for key in spec:
        if key not in known:
            raise CalendarError(f"unknown calendar key '{key}' (known: {', '.join(known)})", (key,))
    tz_name = spec.get("timezone") or default_timezone
    if not tz_name:
        raise CalendarError("no time zone: give 'timezone' (an IANA name such as Europe/Kyiv)", ("timezone",))
    try:
        tz = zoneinfo.ZoneInfo(str(tz_name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise CalendarError(f"'{tz_name}' is not an IANA time zone (e.g. Europe/Kyiv)", ("timezone",)) from None

    week_spec = spec.get("week")
    if isinstance(week_spec, str) and week_spec.strip().lower() == "24x7":
        week = {d: _ALL_DAY for d in range(7)}
    elif isinstance(week_spec, dict):
        # a day may be named by two keys ("mon-fri": "22:00-24:00", "tue-sat": "00:00-06:00", a night
        # shift) as long as their hours do not overlap and neither says "closed"
        week, seen, spans = {}, {}, []
        for key, hours in week_spec.items():
            path = ("week", key)
            days = _day_keys(key, path)
            parsed = _parse_hours(hours, path)
            for d in days:
                if d in seen and (not parsed or not week[d]):
                    raise CalendarError(f"{DAYS[d]} is given twice (in '{seen[d]}' and '{key}') and one of them "
                                        "says closed", path)
                seen.setdefault(d, key)
                week[d] = tuple(sorted(week.get(d, ()) + parsed))
                spans.extend((d, s, e, key) for s, e in parsed)
        _check_week(spans)
    elif week_spec is None:
        raise CalendarError("'week' is missing: hours per day ({mon-fri: \"09:00-18:00\"}) or \"24x7\"",
                            ("week",))
    else:
        raise CalendarError("'week' is hours per day ({mon-fri: \"09:00-18:00\"}) or \"24x7\"", ("week",))

    country = _country_code(spec.get("holidays"), holiday_source)
    holiday_hours = _parse_hours(spec["holiday_hours"], ("holiday_hours",)) if spec.get(
        "holiday_hours") is not None else ()
    workday_hours = (_parse_hours(spec["workday_hours"], ("workday_hours",))
                     if spec.get("workday_hours") is not None else None)
    on_closed = spec.get("holiday_hours_on_closed_days", "open")
    if on_closed not in ("open", "closed"):
        raise CalendarError(f"'{on_closed}' is not 'open' (holiday_hours apply on every holiday, the default) or "
                            "'closed' (a holiday on a day the week keeps closed stays closed)",
                            ("holiday_hours_on_closed_days",))
    holiday_file = None
    if spec.get("holidays_file") is not None:
        from slapolicy.calendar.ics import IcsHolidays

        holiday_file = IcsHolidays.load(spec["holidays_file"], base_dir)
    overrides_spec = spec.get("overrides") or {}
    if not isinstance(overrides_spec, dict):
        raise CalendarError("'overrides' maps dates to hours: {\"2026-12-31\": \"09:00-15:00\"}", ("overrides",))
    overrides = {}
    for key, value in overrides_spec.items():
        if isinstance(key, dt.datetime):
            key = key.date()
        try:
            day = key if isinstance(key, dt.date) else dt.date.fromisoformat(str(key).strip())
        except ValueError:
            raise CalendarError(f"'{key}' is not a date (YYYY-MM-DD)", ("overrides", key)) from None
        if isinstance(value, str) and value.strip().lower() == _WORKING:
            overrides[day] = _WORKING
        else:
            overrides[day] = _parse_hours(value, ("overrides", key))
    return tz, week, country, holiday_hours, workday_hours, overrides, holiday_file, on_closed == "open"
