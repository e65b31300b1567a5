"""Days off from an iCalendar file (RFC 5545), as Zammad and Jira Service Management import them.

`holidays_file: holidays.ics` in a calendar spec names the file, relative to the policy's folder. Each
VEVENT is a day off (or several: DTEND is exclusive, DURATION is accepted too) and must be all-day
(`DTSTART;VALUE=DATE:20261231`); a timed event is refused, since part of a day is not a day off. Recurring
events (RRULE, `FREQ=YEARLY` and whatever else RFC 5545 allows, with EXDATE and RDATE) are expanded
year by year as the calendar needs them. Events with `STATUS:CANCELLED` are skipped.

Parsing is the `icalendar` library's (line unfolding, parameters, escaping, the value types); the RRULE
expansion is python-dateutil's `rrulestr`, which implements RFC 5545's recurrence rules (icalendar itself
does not expand them).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from slapolicy.calendar.targets import CalendarError

_KEY = ("holidays_file",)
_UNTIL = re.compile(r"UNTIL=(\d{8})(?:T\d{6}Z?)?", re.IGNORECASE)


class IcsHolidays:
    """The days off of one .ics file, per year: `dates(year)` -> frozenset of dates."""

    __slots__ = ("path", "events", "_years")

    def __init__(self, path: str, events: list):
        self.path = path
        self.events = events  # (first date, days, rrule text or None, exdates, rdates, summary)
        self._years: dict = {}

    def __repr__(self):
        return f"<IcsHolidays {self.path}: {len(self.events)} events>"

    @classmethod
    def load(cls, name, base_dir=None) -> "IcsHolidays":
        path = Path(str(name))
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CalendarError(f"holidays_file '{name}' cannot be read ({exc.strerror or exc}; a relative path is "
                                "read from the policy's folder)", _KEY) from None
        return cls.parse(raw, str(name))

    @classmethod
    def parse(cls, raw: bytes | str, name: str = "<ics>") -> "IcsHolidays":
        import icalendar

        try:
            cal = icalendar.Calendar.from_ical(raw)
        except (ValueError, IndexError, KeyError) as exc:
            raise CalendarError(f"holidays_file '{name}' is not an iCalendar file: {exc}", _KEY) from None
        if getattr(cal, "name", None) != "VCALENDAR":
            raise CalendarError(f"holidays_file '{name}' holds no VCALENDAR", _KEY)
        events = []
        for n, ev in enumerate(cal.walk("VEVENT"), 1):
            summary = str(ev.get("SUMMARY") or f"event {n}")
            if str(ev.get("STATUS") or "").upper() == "CANCELLED":
                continue
            where = f"holidays_file '{name}', event '{summary}'"
            start = _date(ev.get("DTSTART"), where, "DTSTART")
            if start is None:
                raise CalendarError(f"{where} has no DTSTART", _KEY)
            end = _date(ev.get("DTEND"), where, "DTEND")
            if end is None and ev.get("DURATION") is not None:
                duration = ev.decoded("DURATION")
                if duration.seconds or duration.microseconds or duration.days < 1:
                    raise CalendarError(f"{where}: DURATION {duration} is not a whole number of days", _KEY)
                end = start + dt.timedelta(days=duration.days)
            days = (end - start).days if end is not None else 1  # RFC 5545: an all-day event without end is one day
            if days < 1:
                raise CalendarError(f"{where}: DTEND {end} is not after DTSTART {start}", _KEY)
            rule = ev.get("RRULE")
            rule_text = None
            if rule is not None:
                rules = rule if isinstance(rule, list) else [rule]
                # all-day occurrences are floating dates: UNTIL counts by its date (a UTC "Z" time would
                # clash with the floating DTSTART in dateutil)
                rule_text = "\n".join(_UNTIL.sub(r"UNTIL=\1T235959", "RRULE:" + r.to_ical().decode("ascii"))
                                      for r in rules)
            exdates = _dates(ev.get("EXDATE"), where, "EXDATE")
            rdates = _dates(ev.get("RDATE"), where, "RDATE")
            events.append((start, days, rule_text, exdates, rdates, summary))
        for event in events:  # a bad RRULE is found now, not when a deadline reaches that year
            if event[2]:
                _expand(event, event[0].year, name)
        return cls(name, events)

    def dates(self, year: int) -> frozenset:
        got = self._years.get(year)
        if got is None:
            out = set()
            for event in self.events:
                for first in _expand(event, year, self.path):
                    for k in range(event[1]):
                        day = first + dt.timedelta(days=k)
                        if day.year == year:
                            out.add(day)
            got = frozenset(out)
            self._years[year] = got
        return got

    def names(self, year: int) -> dict:
        """date -> the SUMMARY of the event that makes it a day off (for explanations and the LSP)."""
        out = {}
        for event in self.events:
            for first in _expand(event, year, self.path):
                for k in range(event[1]):
                    day = first + dt.timedelta(days=k)
                    if day.year == year:
                        out.setdefault(day, event[5])
        return out


def _date(prop, where, key):
    if prop is None:
        return None
    value = getattr(prop, "dt", prop)
    if isinstance(value, dt.datetime):
        raise CalendarError(f"{where}: {key} {value.isoformat()} has a time of day; a day off is an all-day event "
                            f"({key};VALUE=DATE:{value:%Y%m%d})", _KEY)
    if not isinstance(value, dt.date):
        raise CalendarError(f"{where}: {key} is not a date", _KEY)
    return value


def _dates(prop, where, key) -> tuple:
    if prop is None:
        return ()
    out = []
    for item in prop if isinstance(prop, list) else [prop]:
        for d in getattr(item, "dts", [item]):
            value = _date(d, where, key)
            if value is not None:
                out.append(value)
    return tuple(out)


def _expand(event, year: int, name: str):
    """The first days of the occurrences of one event that may touch `year`."""
    start, days, rule_text, exdates, rdates, summary = event
    lo, hi = dt.date(year, 1, 1) - dt.timedelta(days=days - 1), dt.date(year, 12, 31)
    if rule_text is None:
        found = [start] + list(rdates)
    else:
        from dateutil.rrule import rrulestr

        try:
            rules = rrulestr(rule_text, dtstart=dt.datetime(start.year, start.month, start.day), forceset=True)
        except (ValueError, TypeError) as exc:
            raise CalendarError(f"holidays_file '{name}', event '{summary}': RRULE is not valid ({exc})", _KEY) from None
        for d in rdates:
            rules.rdate(dt.datetime(d.year, d.month, d.day))
        found = [t.date() for t in rules.between(dt.datetime(lo.year, lo.month, lo.day),
                                                 dt.datetime(hi.year, hi.month, hi.day), inc=True)]
    excluded = set(exdates)
    return [d for d in found if lo <= d <= hi and d not in excluded]
