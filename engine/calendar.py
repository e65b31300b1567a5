"""Business time: calendars with an IANA time zone, weekly hours, public holidays and transfer days.

Business time is instants in UTC plus a calendar; wall-clock hours are never added to a local time.
A calendar is turned, lazily one year at a time, into sorted open intervals in UTC epoch seconds
with the cumulative open seconds before each one, so a deadline is two bisects whatever its horizon:

    F(t)      open seconds before instant t (cumulative)
    F^-1(c)   the first instant at which c open seconds have passed

    due = F^-1(F(start) + amount)

Consequences, all deliberate: a ticket created outside hours starts counting at the next opening
(F is flat while closed); a deadline that lands exactly at closing time stays there (F^-1 takes
the end of the interval that completes the amount, not the next opening).

Units (`Target`): business_minutes / business_hours count open time; elapsed_* is plain UTC
arithmetic; business_days N means "the same position, N working days later": s = next_open(start),
D = the working day of s, o = open seconds of D before s; the due is the instant o open seconds
into the Nth working day after D (or that day's closing, if it is shorter). A working day is a
local date with any open time.

Pauses: intervals in which the clock stops; they subtract from open time (overlaps are merged).

Per local date, precedence: override > public holiday (holiday_hours, default closed) > weekend day
made a working day by decree (`holidays` ... .weekend_workdays; workday_hours, default Monday's
hours) > the weekly hours. Local times are turned into instants per date through zoneinfo (a
nonexistent local time in a spring-forward gap takes fold=0, i.e. the offset before the change).
"""
from __future__ import annotations

import bisect
import datetime as dt
import re
import threading
import zoneinfo
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}
_TARGET_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(?:(business|working)\s+)?(minute|hour|day)s?\s*$")
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_UTC = dt.timezone.utc


class CalendarError(ValueError):
    def __init__(self, message: str, key_path=()):
        super().__init__(message)
        self.key_path = tuple(key_path)


@dataclass(frozen=True)
class Target:
    unit: str  # business_minutes | business_hours | business_days | elapsed_minutes | elapsed_hours | elapsed_days
    amount: float

    def __post_init__(self):
        if self.unit not in ("business_minutes", "business_hours", "business_days",
                             "elapsed_minutes", "elapsed_hours", "elapsed_days"):
            raise CalendarError(f"unknown target unit '{self.unit}'")
        if self.amount < 0:
            raise CalendarError("a target cannot be negative")
        object.__setattr__(self, "_seconds", self.amount * _UNIT_SECONDS[self.unit.split("_", 1)[1]])

    @classmethod
    def from_mapping(cls, mapping: dict) -> "Target":
        if len(mapping) != 1:
            raise CalendarError(f"a target has exactly one unit, got {sorted(mapping)}")
        (unit, amount), = mapping.items()
        return cls(unit, amount)

    @property
    def seconds(self) -> float:
        """Length in seconds (business or elapsed); not defined for business_days."""
        return self._seconds

    def scaled(self, share: float) -> "Target":
        return Target(self.unit, self.amount * share)

    def __str__(self):
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        kind, unit = self.unit.split("_", 1)
        if amount == 1:
            unit = unit[:-1]
        return f"{amount} business {unit}" if kind == "business" else f"{amount} {unit}"


def parse_target(text: str) -> Target:
    m = _TARGET_RE.match(str(text))
    if not m:
        raise CalendarError(f"'{text}' is not a target: write e.g. '3 business hours', '24 business days', '4 hours'")
    amount = float(m.group(1))
    unit = m.group(3) + "s"
    return Target(("business_" if m.group(2) else "elapsed_") + unit, int(amount) if amount.is_integer() else amount)


def _parse_hours(text, path) -> tuple:
    """'09:00-13:00, 14:00-18:00' | 'closed' -> ((start_min, end_min), ...)."""
    if text is None:
        raise CalendarError("hours are missing", path)
    text = str(text).strip()
    if text.lower() == "closed":
        return ()
    out = []
    for part in text.split(","):
        m = _HOURS_RE.match(part.strip())
        if not m:
            raise CalendarError(f"'{part.strip()}' is not HH:MM-HH:MM", path)
        h1, m1, h2, m2 = map(int, m.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise CalendarError(f"'{part.strip()}' is not a valid time range", path)
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise CalendarError(f"'{part.strip()}' ends before it starts", path)
        out.append((start, end))
    out.sort()
    for (s1, e1), (s2, e2) in zip(out, out[1:]):
        if s2 < e1:
            raise CalendarError(f"'{text}' has overlapping intervals", path)
    return tuple(out)


def _day_keys(key, path) -> list:
    days = []
    for part in str(key).split(","):
        part = part.strip().lower()
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                raise CalendarError(f"'{key}' is not a day or day range (mon..sun)", path)
            i, j = DAYS.index(a), DAYS.index(b)
            if j < i:
                raise CalendarError(f"'{key}': a day range goes forward (mon-fri)", path)
            days.extend(range(i, j + 1))
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise CalendarError(f"'{part}' is not a day (mon..sun)", path)
    return days


def _fmt_hours(hours) -> str:
    if not hours:
        return "closed"
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in hours)


class Calendar:
    """An immutable calendar (its per-year cache aside). Build it with `Calendar.from_spec`."""

    def __init__(self, timezone, week, always, country, holiday_hours, workday_hours, overrides):
        self.timezone = timezone
        self.week = week  # weekday -> ((start_min, end_min), ...)
        self.always = always
        self.country = country
        self.holiday_hours = holiday_hours
        self.workday_hours = workday_hours
        self.overrides = overrides  # date -> hours | "working"
        self._lock = threading.Lock()
        # the index, swapped whole so readers never see half of a rebuild:
        # (first year, last year, starts, ends, cum before interval i, cum at the end of interval i,
        #  first and last epoch safely inside the built years)
        self._index = None
        self._holidays = {}

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict, default_timezone: str | None = None) -> "Calendar":
        if not isinstance(spec, dict):
            raise CalendarError("a calendar is a mapping")
        known = {"timezone", "week", "holidays", "holiday_hours", "workday_hours", "overrides"}
        for key in spec:
            if key not in known:
                raise CalendarError(f"unknown calendar key '{key}'", (key,))
        tz_name = spec.get("timezone") or default_timezone
        try:
            tz = zoneinfo.ZoneInfo(str(tz_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarError(f"'{tz_name}' is not an IANA time zone", ("timezone",)) from None
        week_spec = spec.get("week")
        always = week_spec == "24x7"
        week = {d: () for d in range(7)}
        if always:
            week = {d: ((0, 1440),) for d in range(7)}
        elif isinstance(week_spec, dict):
            seen = {}
            for key, hours in week_spec.items():
                path = ("week", key)
                parsed = _parse_hours(hours, path)
                for d in _day_keys(key, path):
                    if d in seen:
                        raise CalendarError(f"{DAYS[d]} is given twice (in '{seen[d]}' and '{key}')", path)
                    seen[d] = key
                    week[d] = parsed
        else:
            raise CalendarError("'week' is hours per day ({mon-fri: \"09:00-18:00\"}) or \"24x7\"", ("week",))
        country = spec.get("holidays")
        if country in (None, False) or str(country).lower() == "none":
            country = None
        else:
            import holidays

            try:
                holidays.country_holidays(str(country), years=2025)
            except (NotImplementedError, KeyError, AttributeError):
                raise CalendarError(f"'{country}' is not a country code of the holidays package", ("holidays",)) from None
            country = str(country)
        holiday_hours = _parse_hours(spec.get("holiday_hours", "closed"), ("holiday_hours",))
        workday_hours = (_parse_hours(spec["workday_hours"], ("workday_hours",)) if "workday_hours" in spec
                         else week[0])
        overrides = {}
        for key, value in (spec.get("overrides") or {}).items():
            try:
                day = dt.date.fromisoformat(str(key))
            except ValueError:
                raise CalendarError(f"'{key}' is not a date (YYYY-MM-DD)", ("overrides", key)) from None
            overrides[day] = "working" if str(value).strip().lower() == "working" else _parse_hours(value, ("overrides", key))
        return cls(tz, week, always and not overrides and country is None, country, holiday_hours, workday_hours, overrides)

    # -- days -----------------------------------------------------------------------------------
    def _country_year(self, year):
        got = self._holidays.get(year)
        if got is None:
            import holidays

            h = holidays.country_holidays(self.country, years=year)
            got = (set(h.keys()), set(getattr(h, "weekend_workdays", ()) or ()))
            self._holidays[year] = got
        return got

    def day_hours(self, day: dt.date) -> tuple:
        """Open local intervals (minutes) of one local date."""
        override = self.overrides.get(day)
        if override is not None:
            if override == "working":
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
        if minute >= 1440:
            day, minute = day + dt.timedelta(days=1), minute - 1440
        local = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.timezone)
        return local.timestamp()

    # -- the per-year index ---------------------------------------------------------------------
    def _build_years(self, first: int, last: int):
        starts, ends = [], []
        day = dt.date(first, 1, 1)
        stop = dt.date(last + 1, 1, 1)
        one = dt.timedelta(days=1)
        while day < stop:
            for s, e in self.day_hours(day):
                a, b = self._instant(day, s), self._instant(day, e)
                if b <= a:
                    continue
                if ends and a <= ends[-1]:  # touching intervals (midnight, DST) merge
                    ends[-1] = max(ends[-1], b)
                else:
                    starts.append(a)
                    ends.append(b)
            day += one
        cum, cum_end, total = [], [], 0.0
        for a, b in zip(starts, ends):
            cum.append(total)
            total += b - a
            cum_end.append(total)
        lo_epoch = dt.datetime(first, 1, 1, tzinfo=_UTC).timestamp() + 2 * 86400
        hi_epoch = dt.datetime(last + 1, 1, 1, tzinfo=_UTC).timestamp() - 2 * 86400
        return (first, last, starts, ends, cum, cum_end, lo_epoch, hi_epoch)

    def _ensure(self, epoch: float, ahead: int = 0):
        """The index, built to cover the year of `epoch` (and `ahead` more years)."""
        idx = self._index
        if idx is not None and idx[6] <= epoch and epoch + (ahead + 1) * 31_622_400 <= idx[7]:
            return idx  # the fast path: covered with a year to spare
        year = dt.datetime.fromtimestamp(epoch, _UTC).year
        lo, hi = year - 1, year + 1 + ahead
        idx = self._index
        if idx is not None and idx[0] <= lo and hi <= idx[1]:
            return idx
        with self._lock:
            idx = self._index
            if idx is not None:
                if idx[0] <= lo and hi <= idx[1]:
                    return idx
                lo, hi = min(lo, idx[0]), max(hi, idx[1])
            if hi - lo > 60:
                raise CalendarError("a calendar range of more than 60 years was asked for")
            idx = self._index = self._build_years(lo, hi)
            return idx

    @staticmethod
    def _F(idx, t: float) -> float:
        starts = idx[2]
        i = bisect.bisect_right(starts, t) - 1
        if i < 0:
            return 0.0
        return idx[4][i] + (min(t, idx[3][i]) - starts[i])

    @staticmethod
    def _F_inv(idx, c: float) -> float:
        cum_end = idx[5]
        j = bisect.bisect_left(cum_end, c)
        if j >= len(cum_end):
            raise OverflowError
        if c <= idx[4][j]:
            return idx[2][j]
        return idx[2][j] + (c - idx[4][j])

    # -- the public API -------------------------------------------------------------------------
    def is_open(self, instant: dt.datetime) -> bool:
        if self.always:
            return True
        t = instant.timestamp()
        idx = self._ensure(t)
        i = bisect.bisect_right(idx[2], t) - 1
        return i >= 0 and t < idx[3][i]

    def next_open(self, instant: dt.datetime) -> dt.datetime:
        if self.always:
            return instant.astimezone(_UTC)
        t = instant.timestamp()
        for ahead in range(0, 12):
            idx = self._ensure(t, ahead)
            i = bisect.bisect_right(idx[2], t) - 1
            if i >= 0 and t < idx[3][i]:
                return instant.astimezone(_UTC)
            if i + 1 < len(idx[2]):
                return dt.datetime.fromtimestamp(idx[2][i + 1], _UTC)
        raise CalendarError("the calendar is never open")

    def _add_seconds(self, start: float, amount: float, pauses) -> float:
        """Instant after `amount` open, un-paused seconds from `start` (epoch seconds)."""
        t, remaining = start, amount
        if self.always:
            for ps, pe in pauses:
                if pe <= t:
                    continue
                if ps > t:
                    if ps - t >= remaining:
                        return t + remaining
                    remaining -= ps - t
                t = max(t, pe)
            return t + remaining
        if not pauses and remaining > 0:
            idx = self._ensure(t)
            try:
                return self._F_inv(idx, self._F(idx, t) + remaining)
            except OverflowError:
                pass  # beyond the built years: the general loop extends them
        last = max([t] + [pe for _, pe in pauses])
        for ahead in range(0, 12):
            self._ensure(t)
            idx = self._ensure(last, ahead)  # one index for the whole computation
            F, F_inv = self._F, self._F_inv
            try:
                cur, rem = t, remaining
                for ps, pe in pauses:
                    if pe <= cur:
                        continue
                    if ps > cur:
                        gap = F(idx, ps) - F(idx, cur)
                        if gap >= rem:
                            return F_inv(idx, F(idx, cur) + rem) if rem > 0 else cur
                        rem -= gap
                    cur = max(cur, pe)
                return F_inv(idx, F(idx, cur) + rem) if rem > 0 else cur
            except OverflowError:
                continue
        raise CalendarError("the calendar has no open time within the next ten years")

    @staticmethod
    def _merge(pauses) -> list:
        spans = sorted((a.timestamp(), b.timestamp()) for a, b in pauses if b > a)
        out = []
        for a, b in spans:
            if out and a <= out[-1][1]:
                out[-1][1] = max(out[-1][1], b)
            else:
                out.append([a, b])
        return out

    def add(self, start: dt.datetime, target: Target, pauses=()) -> dt.datetime:
        """The due instant (aware, UTC) of `target` counted from `start`."""
        t0 = start.timestamp()
        unit = target.unit
        if not pauses and unit[0] == "b" and unit != "business_days":  # the hot path
            return dt.datetime.fromtimestamp(self._add_seconds(t0, target._seconds, ()), _UTC)
        merged = self._merge(pauses) if pauses else ()
        if unit.startswith("elapsed"):
            if not merged:
                return dt.datetime.fromtimestamp(t0 + target.seconds, _UTC)
            return dt.datetime.fromtimestamp(Calendar._add_elapsed(t0, target.seconds, merged), _UTC)
        if unit == "business_days":
            return self._add_days(start, target.amount, merged)
        return dt.datetime.fromtimestamp(self._add_seconds(t0, target.seconds, merged), _UTC)

    @staticmethod
    def _add_elapsed(t, remaining, pauses):
        for ps, pe in pauses:
            if pe <= t:
                continue
            if ps > t:
                if ps - t >= remaining:
                    return t + remaining
                remaining -= ps - t
            t = max(t, pe)
        return t + remaining

    def _add_days(self, start, days, merged):
        s = self.next_open(start)
        if merged:  # start after any pause that holds the start
            s = dt.datetime.fromtimestamp(self._add_seconds(s.timestamp(), 0.0, merged), _UTC)
            s = self.next_open(s)
        local_day = s.astimezone(self.timezone).date()
        hours = self.day_hours(local_day)
        day_open = self._instant(local_day, hours[0][0]) if hours else s.timestamp()
        idx = self._ensure(s.timestamp())
        offset = self._F(idx, s.timestamp()) - self._F(idx, day_open)
        whole = int(days)
        day = local_day
        count = 0
        for _ in range(whole * 7 + 366 * 2):
            day += dt.timedelta(days=1)
            if self.day_hours(day):
                count += 1
                if count >= whole:
                    break
        else:
            raise CalendarError("not enough working days ahead")
        hours = self.day_hours(day)
        first = self._instant(day, hours[0][0])
        self._ensure(s.timestamp())
        idx = self._ensure(first, 1)
        length = sum(e - s_ for s_, e in hours) * 60.0
        due = self._F_inv(idx, self._F(idx, first) + min(offset, length)) if offset > 0 else first
        frac = days - whole
        if frac:
            due = self._add_seconds(due, frac * length, ())
        if merged:  # paused time inside the span is added back as open time
            self._ensure(s.timestamp())
            paused = self._paused_open(s.timestamp(), due, merged, self._ensure(due))
            if paused:
                due = self._add_seconds(due, paused, ())
        return dt.datetime.fromtimestamp(due, _UTC)

    def _paused_open(self, a, b, merged, idx=None) -> float:
        total = 0.0
        for ps, pe in merged:
            lo, hi = max(ps, a), min(pe, b)
            if hi > lo:
                total += (hi - lo) if self.always else self._F(idx, hi) - self._F(idx, lo)
        return total

    def business_seconds_between(self, a: dt.datetime, b: dt.datetime, pauses=()) -> float:
        ta, tb = a.timestamp(), b.timestamp()
        if tb <= ta:
            return 0.0
        merged = self._merge(pauses) if pauses else ()
        if self.always:
            return (tb - ta) - self._paused_open(ta, tb, merged)
        self._ensure(ta)
        idx = self._ensure(tb)
        return (self._F(idx, tb) - self._F(idx, ta)) - self._paused_open(ta, tb, merged, idx)

    def describe(self) -> str:
        if self.always:
            return f"24x7 ({self.timezone.key})"
        groups = []
        d = 0
        while d < 7:
            e = d
            while e + 1 < 7 and self.week[e + 1] == self.week[d]:
                e += 1
            if self.week[d]:
                name = DAYS[d].capitalize() if d == e else f"{DAYS[d].capitalize()}-{DAYS[e].capitalize()}"
                groups.append(f"{name} {_fmt_hours(self.week[d])}")
            d = e + 1
        text = ", ".join(groups) or "never open"
        text += f" ({self.timezone.key})"
        if self.country:
            text += f"; public holidays: {self.country}" + (
                f" ({_fmt_hours(self.holiday_hours)})" if self.holiday_hours else " (closed)")
        if self.overrides:
            text += f"; {len(self.overrides)} date override(s)"
        return text
