"""The Calendar: per-month UTC open intervals, F / F^-1 by bisect (the model: the package docstring)."""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
import threading
import zoneinfo

from slapolicy.calendar.spec import _ALL_DAY, _WORKING, DAYS, _fmt_hours, parse_spec
from slapolicy.calendar.targets import _KIND_DAYS, _KIND_ELAPSED, _KIND_SECONDS, UNITS, CalendarError, Target

__all__ = ["Calendar", "DAYS", "UNITS"]

_UTC = dt.timezone.utc
_fromtimestamp = dt.datetime.fromtimestamp
_bisect_left, _bisect_right = bisect.bisect_left, bisect.bisect_right
_ONE_DAY = dt.timedelta(days=1)
_MAX_SPAN = 50 * 366 * 86400.0  # no target counts further than this
_MAX_GAP_YEARS = 50  # a request this far from the built months starts a fresh index instead

# the index tuple: positions
# _MIDS: the day bounds (local midnights, or later after an overnight interval), see _raw_month; _FIRST, _LAST: the
# months covered (ordinals: year * 12 + month - 1)
_LO, _HI, _STARTS, _ENDS, _CUM, _CUM_END, _TOTAL, _MIDS, _WDC, _FIRST, _LAST = range(11)


class Calendar:
    """An immutable calendar (its per-year cache aside). Build it with `Calendar.from_spec`."""

    __slots__ = ("timezone", "week", "country", "holiday_hours", "workday_hours", "overrides", "holiday_file",
                 "holidays_open_closed_days", "holiday_source", "always", "_lock", "_index", "_months", "_holidays", "_frozen")

    def __init__(self, timezone: zoneinfo.ZoneInfo, week: dict, country=None, holiday_hours=(),
                 workday_hours=None, overrides=None, holiday_file=None, holidays_open_closed_days=True,
                 holiday_source=None):
        set_ = object.__setattr__
        set_(self, "timezone", timezone)
        set_(self, "week", tuple(tuple(week.get(d, ())) for d in range(7)))  # weekday -> ((start, end), ...)
        set_(self, "country", country)
        set_(self, "holiday_hours", tuple(holiday_hours))
        set_(self, "workday_hours", tuple(self.week[0] if workday_hours is None else workday_hours))
        set_(self, "overrides", dict(overrides or {}))  # date -> hours | "working"
        set_(self, "holiday_file", holiday_file)  # slapolicy.calendar.ics.IcsHolidays or None
        # holiday_hours on a holiday that falls on a day `week` keeps closed: open them (True, the default) or
        # keep the day closed
        set_(self, "holidays_open_closed_days", bool(holidays_open_closed_days))
        # where the country's holiday years come from: a slapolicy.calendar.holistore.HolidayStore (kept on disk, no
        # import of the `holidays` package when stored), or None: the package itself
        set_(self, "holiday_source", holiday_source)
        set_(self, "always", all(h == _ALL_DAY for h in self.week) and country is None and holiday_file is None
             and not self.overrides)
        set_(self, "_lock", threading.Lock())
        set_(self, "_index", None)  # the index tuple (see _LO.._LAST), swapped whole
        set_(self, "_months", {})  # local month (year * 12 + month - 1) -> its spans, day bounds, working flags
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
    def from_spec(cls, spec, default_timezone: str | None = None, base_dir=None, holiday_source=None) -> "Calendar":
        """A calendar from its spec (a dict as written in policy YAML; see slapolicy.calendar.spec);
        a relative `holidays_file` is read from `base_dir` (the policy's folder); `holiday_source`, a
        HolidayStore (slapolicy.calendar.holistore), gives the country's holidays instead of the package."""
        return cls(*parse_spec(spec, default_timezone, base_dir, holiday_source), holiday_source=holiday_source)

    # -- days -----------------------------------------------------------------------------------
    def _country_year(self, year: int):
        """(days off, decree working days) of one year: the country's and the holidays_file's."""
        got = self._holidays.get(year)
        if got is None:
            hols, workdays = frozenset(), frozenset()
            if self.country is not None:
                if self.holiday_source is not None:
                    hols, workdays, _ = self.holiday_source.year(self.country, year)
                else:
                    import holidays

                    h = holidays.country_holidays(self.country, years=year)
                    # plain sets: a HolidayBase would quietly add years on lookup
                    hols, workdays = frozenset(h.keys()), frozenset(getattr(h, "weekend_workdays", ()) or ())
            if self.holiday_file is not None:
                hols = hols | self.holiday_file.dates(year)
            got = (hols, workdays)
            self._holidays[year] = got  # a dict item set: atomic, a race only repeats the work
        return got

    def day_hours(self, day: dt.date) -> tuple:
        """The open local intervals of one local date: ((start_minute, end_minute), ...)."""
        override = self.overrides.get(day)
        if override is not None:
            if override == _WORKING:
                return self.week[day.weekday()] or self.workday_hours
            return override
        if self.country is not None or self.holiday_file is not None:
            hols, workdays = self._country_year(day.year)
            if day in hols:
                if not self.holidays_open_closed_days and not self.week[day.weekday()]:
                    return ()
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
    def _day_spans(self, day: dt.date) -> list:
        out = []
        for s, e in self.day_hours(day):
            a, b = self._instant(day, s), self._instant(day, e)
            if b > a:
                out.append((a, b))
        return out

    def _raw_month(self, month: int):
        """(starts, ends, day bounds, working flags, head, next bound) of the local dates of one month (an
        ordinal: year * 12 + month - 1).

        A date's open time is its own intervals, an overnight one included up to its end the next
        morning; its bound (where its share of the timeline starts, for business days) is its local
        midnight, or later when the day before is still open past midnight. `head` is the part of the
        previous month's last night that runs into this month (used when this month starts an index)."""
        raw = self._months.get(month)
        if raw is not None:
            return raw
        spans, bounds, working = [], [], []
        day, stop = _first_day(month), _first_day(month + 1)
        first_mid = self._instant(day, 0)
        before = self._day_spans(day - _ONE_DAY)
        head = [(max(a, first_mid), b) for a, b in before if b > first_mid]
        last_end = max((b for _, b in before), default=first_mid)
        while day < stop:
            mid = self._instant(day, 0)
            bounds.append(mid if last_end < mid else last_end)
            own = self._day_spans(day)
            spans.extend(own)
            working.append(1 if own else 0)
            last_end = max((b for _, b in own), default=mid)
            day += _ONE_DAY
        next_mid = self._instant(stop, 0)
        spans.sort()
        raw = ([a for a, _ in spans], [b for _, b in spans], bounds, working, head,
               next_mid if last_end < next_mid else last_end)
        self._months[month] = raw
        return raw

    def _build(self, first: int, last: int):
        starts, ends, mids, wdc = [], [], [], [0]
        for month in range(first, last + 1):
            ys, ye, ym, yw, head, next_bound = self._raw_month(month)
            if month == first:
                for a, b in sorted(head):
                    starts.append(a)
                    ends.append(b)
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
        mids.append(next_bound)
        cum_end = list(itertools.accumulate(b - a for a, b in zip(starts, ends)))
        cum = [0.0] + cum_end[:-1] if cum_end else []
        total = cum_end[-1] if cum_end else 0.0
        lo, hi = self._instant(_first_day(first), 0), self._instant(_first_day(last + 1), 0)
        return (lo, hi, starts, ends, cum, cum_end, total, mids, wdc, first, last)

    def _month_of(self, t: float) -> int:
        try:
            local = dt.datetime.fromtimestamp(t, self.timezone)
        except (OverflowError, ValueError, OSError):
            raise CalendarError(f"instant {t} is out of range") from None
        return local.year * 12 + local.month - 1

    def _ensure(self, first: int, last: int):
        """The index, built to cover the local months first..last (ordinals, see _raw_month) and whatever it
        covered before."""
        if first < 2 * 12 or last > 9997 * 12 + 11:
            raise CalendarError(f"years {first // 12}..{last // 12} are out of the calendar's range")
        with self._lock:
            idx = self._index
            if idx is not None:
                if idx[_FIRST] <= first and last <= idx[_LAST]:
                    return idx
                if first - idx[_LAST] <= _MAX_GAP_YEARS * 12 and idx[_FIRST] - last <= _MAX_GAP_YEARS * 12:
                    first, last = min(first, idx[_FIRST]), max(last, idx[_LAST])
            idx = self._build(first, last)
            object.__setattr__(self, "_index", idx)
            return idx

    def _cover(self, t_lo: float, t_hi: float):
        """An index whose range holds t_lo and t_hi. The first one covers their months and one more (what one
        deadline needs: ~60 days to compute instead of two years); one that has to grow covers whole local
        years, with a year to spare ahead (a process deciding many tickets builds its years once)."""
        idx = self._index
        if idx is not None and idx[_LO] <= t_lo and t_hi < idx[_HI]:
            return idx
        lo, hi = self._month_of(t_lo), self._month_of(t_hi)
        if idx is None:
            return self._ensure(lo, hi + 1)
        return self._ensure(lo - lo % 12, (hi // 12 + 1) * 12 + 11)

    def _extend(self, idx, t_lo: float):
        """An index reaching further ahead than `idx` (in whole years), still holding t_lo; CalendarError when
        the calendar has stayed closed for ten years."""
        first, last = idx[_FIRST] // 12, idx[_LAST] // 12
        grow = max(2, (last - first + 1) // 2)
        year = self._month_of(t_lo) // 12
        new = self._ensure(year * 12, (last + grow) * 12 + 11)
        new_last = new[_LAST] // 12
        quiet_from = self._instant(dt.date(new_last - 9, 1, 1), 0)
        if new_last - year >= 10 and (not new[_ENDS] or new[_ENDS][-1] <= quiet_from):
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
        idx = self._cover(s - 86400, s)  # the date before too: s may be in its overnight interval
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


def _first_day(month: int) -> dt.date:
    """the first local date of a month ordinal (year * 12 + month - 1)"""
    year, index = divmod(month, 12)
    return dt.date(year, index + 1, 1)


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


_ISO_DATES: dict = {}  # proleptic ordinal -> the date as isoformat writes it ("2026-03-10")
_ISO_OFFSETS: dict = {}  # UTC offset (timedelta) -> as isoformat writes it ("+02:00")
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))


def local_iso(instant: dt.datetime, tz) -> str:
    """instant.astimezone(tz).isoformat(), the same text, from the local fields with the date's and the offset's
    texts kept (isoformat formats each number through PyUnicode_FromFormat: ~6 k instructions, ~1.4 us, a call;
    every explained decision writes a few instants). An instant with microseconds, or a date or offset not seen
    yet, is written by isoformat itself (which also fills the two tables)."""
    local = instant.astimezone(tz)
    if not local.microsecond:
        day = _ISO_DATES.get(local.toordinal())
        if day is not None:
            offset = _ISO_OFFSETS.get(local.utcoffset())
            if offset is not None:
                two = _TWO_DIGITS
                return f"{day}T{two[local.hour]}:{two[local.minute]}:{two[local.second]}{offset}"
        text = local.isoformat()
        if len(_ISO_DATES) >= 8192:  # (dates far apart: a corpus over years)
            _ISO_DATES.clear()
        _ISO_DATES[local.toordinal()] = text[:10]
        if len(_ISO_OFFSETS) < 1024:
            _ISO_OFFSETS[local.utcoffset()] = text[19:]  # (no fraction: the offset follows the seconds)
        return text
    return local.isoformat()
