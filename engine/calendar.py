"""Business time: calendars with an IANA time zone, weekly hours, public holidays and transfer days.

Business time is instants in UTC plus a calendar; wall-clock hours are never added to a local time.

The model
---------
A calendar is turned, lazily one local year at a time, into sorted, disjoint open intervals in UTC
epoch seconds, with the cumulative open seconds before each one. Two functions then answer
everything with a bisect, so a deadline costs the same whatever its horizon (1 h or 216 h):

    F(t)      open seconds before instant t (a non-decreasing, continuous step-free ramp)
    F^-1(c)   the first instant at which c open seconds have passed

    add(start, n business seconds) = F^-1(F(start) + n)
    business_seconds_between(a, b) = F(b) - F(a)

Consequences, all deliberate: a ticket created outside hours starts counting at the next opening
(F is flat while closed); a deadline that lands exactly at closing time stays there (F^-1 takes
the end of the interval that completes the amount, not the next opening: 17:00-18:00 with one
hour from 17:00 is due at 18:00). An amount of zero is due at the start itself.

Years are built on demand (under a lock, published as one immutable tuple so readers never see a
half-built index), extended forwards or backwards across year boundaries as deadlines need, and
kept for the life of the calendar. A calendar that is open 24x7 with no holidays and no overrides
skips the index for hour/minute targets (plain UTC arithmetic).

Units (`Target`)
----------------
  business_minutes / business_hours   open, un-paused time as above;
  elapsed_minutes / _hours / _days    plain UTC arithmetic (a day is 86 400 s), the calendar is
                                      ignored (24x7); pauses still stop the clock;
  business_days N                     "the same position, N working days later":
        s   = next_open(start)
        D   = the local date of s
        o   = open seconds from D's first opening to s
        D_N = the Nth working day after D (a working day is a local date with any open time)
        due = the first instant whose open offset within D_N is min(o, open length of D_N);
              with o == 0 that is D_N's first opening, and an offset that coincides with a
              closing time (a lunch break) gives that closing time, as for business hours.
    A fractional part f of N (1.5 business days) then adds f x (open length of D_N) business
    seconds. business_days 0 is due at the start itself.

Pauses
------
`pauses` is a list of (start, end) aware datetimes in which the clock stops; overlapping or
touching pauses are merged first, so nothing counts twice; a pause outside hours changes nothing.
For business minutes/hours and elapsed units only un-paused time counts. For business days the due
computed without pauses is moved on by the open time paused inside [s, due), counted again as
un-paused open time.

The spec (a dict, as written in policy YAML)
--------------------------------------------
    timezone:      IANA name; default_timezone when absent
    week:          {"mon-fri": "09:00-20:00", "sat,sun": "10:00-14:00"} or "24x7"; a key is a day
                   (mon..sun), a range (mon-fri) or a comma list; a value is "HH:MM-HH:MM", several
                   intervals ("09:00-13:00, 14:00-18:00", or a YAML list) or "closed"; "24:00" may
                   end an interval. A day no key mentions is closed; one day in two keys is an error.
    holidays:      a country code of the `holidays` package ("RU", "UA"), or none/null/absent
    holiday_hours: hours kept on public holidays (default closed)
    workday_hours: hours of a weekend day that the country's decree makes a working day
                   (holidays' `weekend_workdays`, e.g. Saturday 2025-11-01 in Russia); default: the
                   Monday hours of `week`
    overrides:     {"2026-12-31": "09:00-15:00" | "closed" | "working"}; "working" is that
                   weekday's normal hours, or workday_hours for a day `week` keeps closed

Per local date the precedence is: override > public holiday (holiday_hours) > decree working day
(workday_hours) > week. The `holidays` package lists substituted days off ("Day off (substituted
from ...)") as holidays, and for Ukraine it already has no public holidays from 2022-02-24 on
(martial law).

Local time to instants
----------------------
The hours of each local date are turned into instants through zoneinfo, with fold=0 and then
normalised through UTC: a local time that does not exist (inside a spring-forward gap) is read with
the offset in force before the change (03:30 in a 03:00-04:00 gap becomes 04:30 of the new
offset); an ambiguous local time (the repeated hour of an autumn change) is its first occurrence.
Intervals whose end does not come after their start once converted are dropped; intervals that
touch or overlap once converted (24:00 of one day and 00:00 of the next) are merged.

Errors are `CalendarError(message, key_path)`, key_path naming the spec key at fault
(("week", "mon-fri"), ("holidays",), ("overrides", "2026-12-31")...).
"""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import re
import threading
import zoneinfo
from dataclasses import dataclass

__all__ = ["Calendar", "CalendarError", "Target", "parse_target", "DAYS", "UNITS"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNITS = ("business_minutes", "business_hours", "business_days",
         "elapsed_minutes", "elapsed_hours", "elapsed_days")
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}
_TARGET_RE = re.compile(
    r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:(business|working)\s+)?(minute|min|hour|day)s?\s*$", re.IGNORECASE)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_UTC = dt.timezone.utc
_fromtimestamp = dt.datetime.fromtimestamp
_bisect_left, _bisect_right = bisect.bisect_left, bisect.bisect_right
_ONE_DAY = dt.timedelta(days=1)
_MAX_SPAN = 50 * 366 * 86400.0  # no target counts further than this
_MAX_GAP_YEARS = 50  # a request this far from the built years starts a fresh index instead
_KIND_SECONDS, _KIND_ELAPSED, _KIND_DAYS = 0, 1, 2

# the index tuple: positions
_LO, _HI, _STARTS, _ENDS, _CUM, _CUM_END, _TOTAL, _MIDS, _WDC, _FIRST, _LAST = range(11)


class CalendarError(ValueError):
    """A bad calendar spec or target, or a question the calendar cannot answer.

    `key_path` names the spec key at fault, e.g. ("week", "mon-fri"); () when not about a key."""

    def __init__(self, message: str, key_path=()):
        super().__init__(message)
        self.message = message
        self.key_path = tuple(str(k) for k in key_path)


# ---------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """An amount of business or elapsed time: Target("business_hours", 3)."""

    unit: str
    amount: float

    def __post_init__(self):
        if self.unit not in UNITS:
            raise CalendarError(f"unknown target unit '{self.unit}': one of {', '.join(UNITS)}")
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            raise CalendarError(f"a target amount is a finite number, not {amount!r}")
        if amount < 0:
            raise CalendarError(f"a target cannot be negative ({amount})")
        kind, unit = self.unit.split("_", 1)
        object.__setattr__(self, "_seconds", float(amount) * _UNIT_SECONDS[unit])
        object.__setattr__(self, "_kind", _KIND_ELAPSED if kind == "elapsed"
                           else _KIND_DAYS if unit == "days" else _KIND_SECONDS)

    @classmethod
    def from_mapping(cls, mapping) -> "Target":
        """{"business_hours": 2} -> Target("business_hours", 2); "working_" is read as "business_"."""
        if not isinstance(mapping, dict) or len(mapping) != 1:
            got = sorted(map(str, mapping)) if isinstance(mapping, dict) else repr(mapping)
            raise CalendarError(f"a target is a mapping with exactly one unit, e.g. {{business_hours: 2}}, got {got}")
        (unit, amount), = mapping.items()
        unit = str(unit).strip().lower()
        if unit.startswith("working_"):
            unit = "business_" + unit[len("working_"):]
        return cls(unit, amount)

    @property
    def seconds(self) -> float:
        """The length in seconds (open seconds for business minutes/hours; for business_days the
        nominal 86 400 s a day, which no calendar computation uses)."""
        return self._seconds

    @property
    def is_business(self) -> bool:
        return self._kind != _KIND_ELAPSED

    def scaled(self, share: float) -> "Target":
        return Target(self.unit, self.amount * share)

    def __str__(self):
        amount = self.amount
        if float(amount).is_integer():
            amount = int(amount)
        kind, unit = self.unit.split("_", 1)
        if amount == 1:
            unit = unit[:-1]
        return f"{amount} business {unit}" if kind == "business" else f"{amount} {unit}"


def parse_target(text) -> Target:
    """'3 business hours', '1 business hour', '24 working hours', '1.5 business hours', '90 business
    minutes', '24 business days', '4 hours' / '14 days' / '30 minutes' (elapsed)."""
    m = _TARGET_RE.match(str(text))
    if not m:
        raise CalendarError(f"'{text}' is not a target: write e.g. '3 business hours', '24 business days', "
                            "'90 business minutes' or '4 hours'")
    amount = float(m.group(1))
    unit = m.group(3).lower()
    unit = "minutes" if unit == "min" else unit + "s"
    return Target(("business_" if m.group(2) else "elapsed_") + unit, int(amount) if amount.is_integer() else amount)


# ---------------------------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------------------------
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
        if end <= start:
            raise CalendarError(f"'{part}' ends before it starts (an interval ends the same day; use 24:00 "
                                "for midnight)", path)
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
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in hours)


_WORKING = "working"
_ALL_DAY = ((0, 1440),)


def _country_code(value):
    if value is None or value is False:
        return None
    code = str(value).strip()
    if code.lower() in ("none", "", "null"):
        return None
    import holidays

    try:
        holidays.country_holidays(code, years=2025)
    except (NotImplementedError, KeyError, AttributeError, ValueError):
        raise CalendarError(f"'{code}' is not a country code of the holidays package (e.g. RU, UA)",
                            ("holidays",)) from None
    return code


# ---------------------------------------------------------------------------------------------
# the calendar
# ---------------------------------------------------------------------------------------------
class Calendar:
    """An immutable calendar (its per-year cache aside). Build it with `Calendar.from_spec`."""

    __slots__ = ("timezone", "week", "country", "holiday_hours", "workday_hours", "overrides", "always",
                 "_lock", "_index", "_years", "_holidays", "_frozen")

    def __init__(self, timezone: zoneinfo.ZoneInfo, week: dict, country=None, holiday_hours=(),
                 workday_hours=None, overrides=None):
        set_ = object.__setattr__
        set_(self, "timezone", timezone)
        set_(self, "week", tuple(tuple(week.get(d, ())) for d in range(7)))  # weekday -> ((start, end), ...)
        set_(self, "country", country)
        set_(self, "holiday_hours", tuple(holiday_hours))
        set_(self, "workday_hours", tuple(self.week[0] if workday_hours is None else workday_hours))
        set_(self, "overrides", dict(overrides or {}))  # date -> hours | "working"
        set_(self, "always", all(h == _ALL_DAY for h in self.week) and country is None and not self.overrides)
        set_(self, "_lock", threading.Lock())
        set_(self, "_index", None)  # the index tuple (see _LO.._LAST), swapped whole
        set_(self, "_years", {})  # local year -> (starts, ends, midnights, working flags)
        set_(self, "_holidays", {})  # year -> (holiday dates, decree working dates)
        set_(self, "_frozen", True)

    def __setattr__(self, name, value):
        raise AttributeError(f"a Calendar is immutable (cannot set '{name}')")

    def __delattr__(self, name):
        raise AttributeError(f"a Calendar is immutable (cannot delete '{name}')")

    def __repr__(self):
        return f"<Calendar {self.describe()}>"

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec, default_timezone: str | None = None) -> "Calendar":
        if not isinstance(spec, dict):
            raise CalendarError("a calendar is a mapping (timezone, week, holidays, ...)")
        known = ("timezone", "week", "holidays", "holiday_hours", "workday_hours", "overrides")
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
            week, seen = {}, {}
            for key, hours in week_spec.items():
                path = ("week", key)
                days = _day_keys(key, path)
                parsed = _parse_hours(hours, path)
                for d in days:
                    if d in seen:
                        raise CalendarError(f"{DAYS[d]} is given twice (in '{seen[d]}' and '{key}')", path)
                    seen[d] = key
                    week[d] = parsed
        elif week_spec is None:
            raise CalendarError("'week' is missing: hours per day ({mon-fri: \"09:00-18:00\"}) or \"24x7\"",
                                ("week",))
        else:
            raise CalendarError("'week' is hours per day ({mon-fri: \"09:00-18:00\"}) or \"24x7\"", ("week",))

        country = _country_code(spec.get("holidays"))
        holiday_hours = _parse_hours(spec["holiday_hours"], ("holiday_hours",)) if spec.get(
            "holiday_hours") is not None else ()
        workday_hours = (_parse_hours(spec["workday_hours"], ("workday_hours",))
                         if spec.get("workday_hours") is not None else None)
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
        return cls(tz, week, country, holiday_hours, workday_hours, overrides)

    # -- days -----------------------------------------------------------------------------------
    def _country_year(self, year: int):
        got = self._holidays.get(year)
        if got is None:
            import holidays

            h = holidays.country_holidays(self.country, years=year)
            # plain sets: a HolidayBase would quietly add years on lookup
            got = (frozenset(h.keys()), frozenset(getattr(h, "weekend_workdays", ()) or ()))
            self._holidays[year] = got  # a dict item set: atomic, a race only repeats the work
        return got

    def day_hours(self, day: dt.date) -> tuple:
        """The open local intervals of one local date: ((start_minute, end_minute), ...)."""
        override = self.overrides.get(day)
        if override is not None:
            if override == _WORKING:
                return self.week[day.weekday()] or self.workday_hours
            return override
        if self.country is not None:
            hols, workdays = self._country_year(day.year)
            if day in hols:
                return self.holiday_hours
            if day in workdays:
                return self.workday_hours
        return self.week[day.weekday()]

    def _instant(self, day: dt.date, minute: int) -> float:
        """Epoch seconds of a local date and minute (fold=0, see the module docstring)."""
        if minute >= 1440:
            day, minute = day + _ONE_DAY, minute - 1440
        return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                           tzinfo=self.timezone).timestamp()

    # -- the per-year index ---------------------------------------------------------------------
    def _raw_year(self, year: int):
        """(starts, ends, local midnights, working flags) of the local dates of one year."""
        raw = self._years.get(year)
        if raw is not None:
            return raw
        spans, mids, working = [], [], []
        day, stop = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        while day < stop:
            mids.append(self._instant(day, 0))
            any_open = False
            for s, e in self.day_hours(day):
                a, b = self._instant(day, s), self._instant(day, e)
                if b > a:
                    spans.append((a, b))
                    any_open = True
            working.append(1 if any_open else 0)
            day += _ONE_DAY
        spans.sort()
        raw = ([a for a, _ in spans], [b for _, b in spans], mids, working)
        self._years[year] = raw
        return raw

    def _build(self, first: int, last: int):
        starts, ends, mids, wdc = [], [], [], [0]
        for year in range(first, last + 1):
            ys, ye, ym, yw = self._raw_year(year)
            for a, b in zip(ys, ye):
                if ends and a <= ends[-1]:  # touching or overlapping (midnight, DST): one interval
                    if b > ends[-1]:
                        ends[-1] = b
                else:
                    starts.append(a)
                    ends.append(b)
            mids.extend(ym)
            for w in yw:
                wdc.append(wdc[-1] + w)
        mids.append(self._instant(dt.date(last + 1, 1, 1), 0))
        cum_end = list(itertools.accumulate(b - a for a, b in zip(starts, ends)))
        cum = [0.0] + cum_end[:-1] if cum_end else []
        total = cum_end[-1] if cum_end else 0.0
        return (mids[0], mids[-1], starts, ends, cum, cum_end, total, mids, wdc, first, last)

    def _year_of(self, t: float) -> int:
        try:
            return dt.datetime.fromtimestamp(t, self.timezone).year
        except (OverflowError, ValueError, OSError):
            raise CalendarError(f"instant {t} is out of range") from None

    def _ensure_years(self, first: int, last: int):
        """The index, built to cover local years first..last (and whatever it covered before)."""
        if first < 2 or last > 9997:
            raise CalendarError(f"years {first}..{last} are out of the calendar's range")
        with self._lock:
            idx = self._index
            if idx is not None:
                if idx[_FIRST] <= first and last <= idx[_LAST]:
                    return idx
                if first - idx[_LAST] <= _MAX_GAP_YEARS and idx[_FIRST] - last <= _MAX_GAP_YEARS:
                    first, last = min(first, idx[_FIRST]), max(last, idx[_LAST])
            idx = self._build(first, last)
            object.__setattr__(self, "_index", idx)
            return idx

    def _cover(self, t_lo: float, t_hi: float):
        """An index whose range holds t_lo and t_hi (built with a year to spare ahead)."""
        idx = self._index
        if idx is not None and idx[_LO] <= t_lo and t_hi < idx[_HI]:
            return idx
        return self._ensure_years(self._year_of(t_lo), self._year_of(t_hi) + 1)

    def _extend(self, idx, t_lo: float):
        """An index reaching further ahead than `idx`, still holding t_lo; CalendarError when the
        calendar has stayed closed for ten years."""
        last = idx[_LAST]
        grow = max(2, (last - idx[_FIRST] + 1) // 2)
        new = self._ensure_years(self._year_of(t_lo), last + grow)
        quiet_from = self._instant(dt.date(new[_LAST] - 9, 1, 1), 0)
        if new[_LAST] - self._year_of(t_lo) >= 10 and (not new[_ENDS] or new[_ENDS][-1] <= quiet_from):
            raise CalendarError("the calendar has no open time within ten years")
        return new

    @staticmethod
    def _F(idx, t: float) -> float:
        starts = idx[_STARTS]
        i = bisect.bisect_right(starts, t) - 1
        if i < 0:
            return 0.0
        end = idx[_ENDS][i]
        return idx[_CUM][i] + ((end if t > end else t) - starts[i])

    @staticmethod
    def _F_inv(idx, c: float) -> float:
        """The first instant with F == c; the caller guarantees 0 < c <= idx total."""
        j = bisect.bisect_left(idx[_CUM_END], c)
        return idx[_STARTS][j] + (c - idx[_CUM][j])

    def _add_open(self, t: float, amount: float) -> float:
        """The instant after `amount` (> 0) open seconds from t (epoch seconds)."""
        if amount > _MAX_SPAN:
            raise CalendarError(f"a target of {amount / 86400:.0f} days is beyond any calendar")
        idx = self._cover(t, t)
        c = self._F(idx, t) + amount
        while c > idx[_TOTAL]:
            idx = self._extend(idx, t)
            c = self._F(idx, t) + amount
        return self._F_inv(idx, c)

    def _open_between(self, a: float, b: float) -> float:
        if b <= a:
            return 0.0
        if self.always:
            return b - a
        idx = self._cover(a, b)
        return self._F(idx, b) - self._F(idx, a)

    def _add_paused(self, t: float, amount: float, merged) -> float:
        """The instant after `amount` open, un-paused seconds from t (merged pauses, sorted)."""
        if amount <= 0:
            return t
        cur, rem = t, amount
        for ps, pe in merged:
            if pe <= cur:
                continue
            if ps > cur:
                gap = self._open_between(cur, ps)
                if gap >= rem:
                    break
                rem -= gap
            cur = pe
        if rem <= 0:
            return cur
        return cur + rem if self.always else self._add_open(cur, rem)

    @staticmethod
    def _merge(pauses) -> list:
        spans = []
        for pause in pauses:
            a, b = pause
            a, b = _epoch(a), _epoch(b)
            if b > a:
                spans.append((a, b))
        spans.sort()
        out = []
        for a, b in spans:
            if out and a <= out[-1][1]:
                if b > out[-1][1]:
                    out[-1][1] = b
            else:
                out.append([a, b])
        return out

    def _paused_open(self, a: float, b: float, merged) -> float:
        total = 0.0
        for ps, pe in merged:
            lo, hi = max(ps, a), min(pe, b)
            if hi > lo:
                total += self._open_between(lo, hi)
        return total

    # -- the public API -------------------------------------------------------------------------
    def is_open(self, instant: dt.datetime) -> bool:
        t = _epoch(instant)
        if self.always:
            return True
        idx = self._cover(t, t)
        i = bisect.bisect_right(idx[_STARTS], t) - 1
        return i >= 0 and t < idx[_ENDS][i]

    def _next_open(self, t: float) -> float:
        if self.always:
            return t
        idx = self._cover(t, t)
        while True:
            starts = idx[_STARTS]
            i = bisect.bisect_right(starts, t) - 1
            if i >= 0 and t < idx[_ENDS][i]:
                return t
            if i + 1 < len(starts):
                return starts[i + 1]
            idx = self._extend(idx, t)

    def next_open(self, instant: dt.datetime) -> dt.datetime:
        """The instant itself if the calendar is open then, else the next opening (aware, UTC)."""
        t = _epoch(instant)
        n = self._next_open(t)
        return instant.astimezone(_UTC) if n == t else dt.datetime.fromtimestamp(n, _UTC)

    def add(self, start: dt.datetime, target: Target, pauses=()) -> dt.datetime:
        """The due instant (aware, UTC) of `target` counted from `start`, the clock stopped in `pauses`."""
        if start.tzinfo is None:
            _epoch(start)  # raises
        t0 = start.timestamp()
        kind = target._kind
        if kind == _KIND_SECONDS and not pauses:  # the hot path: two bisects
            secs = target._seconds
            if self.always or secs <= 0:
                return _fromtimestamp(t0 + secs, _UTC)
            idx = self._index
            if idx is not None and idx[0] <= t0 < idx[1]:  # _LO, _HI
                starts, ends, cum, cum_end, total = idx[2:7]
                i = _bisect_right(starts, t0) - 1
                if i < 0:
                    c = secs
                else:
                    end = ends[i]
                    c = cum[i] + ((end if t0 > end else t0) - starts[i]) + secs
                if c <= total:
                    j = _bisect_left(cum_end, c)
                    return _fromtimestamp(starts[j] + (c - cum[j]), _UTC)
            return _fromtimestamp(self._add_open(t0, secs), _UTC)
        merged = self._merge(pauses) if pauses else ()
        if kind == _KIND_ELAPSED:
            if not merged:
                return dt.datetime.fromtimestamp(t0 + target._seconds, _UTC)
            return dt.datetime.fromtimestamp(_add_elapsed(t0, target._seconds, merged), _UTC)
        if kind == _KIND_DAYS:
            return dt.datetime.fromtimestamp(self._add_days(t0, target.amount, merged), _UTC)
        return dt.datetime.fromtimestamp(self._add_paused(t0, target._seconds, merged), _UTC)

    def _add_days(self, t0: float, amount: float, merged) -> float:
        if amount <= 0:
            return t0
        whole = int(amount)
        frac = amount - whole
        s = self._next_open(t0)
        idx = self._cover(s, s)
        while True:
            mids, wdc = idx[_MIDS], idx[_WDC]
            d = bisect.bisect_right(mids, s) - 1  # D, the local date of s
            need = wdc[d + 1] + whole
            if whole == 0 or wdc[-1] >= need:
                break
            idx = self._extend(idx, s)
        F = self._F
        if whole == 0:
            k, due = d, s
        else:
            k = bisect.bisect_left(wdc, need) - 1  # D_N
            o = F(idx, s) - F(idx, mids[d])
            day_start = F(idx, mids[k])
            length = F(idx, mids[k + 1]) - day_start
            offset = o if o < length else length
            if offset > 0:
                due = self._F_inv(idx, day_start + offset)
            else:  # D_N's first opening
                j = bisect.bisect_right(idx[_ENDS], mids[k])
                due = max(idx[_STARTS][j], mids[k])
        if frac:
            due = self._add_open(due, frac * (F(idx, mids[k + 1]) - F(idx, mids[k])))
        if merged:
            paused = self._paused_open(s, due, merged)
            if paused > 0:
                due = self._add_paused(due, paused, merged)
        return due

    def business_seconds_between(self, a: dt.datetime, b: dt.datetime, pauses=()) -> float:
        """Open, un-paused seconds in [a, b) (0 when b <= a)."""
        ta, tb = _epoch(a), _epoch(b)
        if tb <= ta:
            return 0.0
        total = self._open_between(ta, tb)
        if pauses:
            total -= self._paused_open(ta, tb, self._merge(pauses))
        return total

    def describe(self) -> str:
        """e.g. 'Mon-Fri 08:00-20:00, Sat-Sun 09:00-18:00 (Europe/Moscow); holidays: RU (09:00-18:00)'."""
        if all(h == _ALL_DAY for h in self.week):
            text = "24x7"
        else:
            groups, d = [], 0
            while d < 7:
                e = d
                while e + 1 < 7 and self.week[e + 1] == self.week[d]:
                    e += 1
                if self.week[d]:
                    name = DAYS[d].capitalize() + ("" if d == e else f"-{DAYS[e].capitalize()}")
                    groups.append(f"{name} {_fmt_hours(self.week[d])}")
                d = e + 1
            text = ", ".join(groups) or "closed"
        text += f" ({self.timezone.key})"
        if self.country:
            text += f"; holidays: {self.country} ({_fmt_hours(self.holiday_hours)})"
            if self.workday_hours != self.week[0]:
                text += f"; transferred working days {_fmt_hours(self.workday_hours)}"
        if self.overrides:
            items = sorted(self.overrides.items())
            shown = [f"{day.isoformat()} {v if v == _WORKING else _fmt_hours(v)}" for day, v in items[:3]]
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            text += "; overrides: " + ", ".join(shown) + more
        return text


def _epoch(instant) -> float:
    if instant.tzinfo is None:
        raise CalendarError(f"{instant.isoformat()} has no time zone: business time needs aware datetimes")
    return instant.timestamp()


def _add_elapsed(t: float, remaining: float, merged) -> float:
    for ps, pe in merged:
        if pe <= t:
            continue
        if ps > t:
            if ps - t >= remaining:
                return t + remaining
            remaining -= ps - t
        t = pe
    return t + remaining
