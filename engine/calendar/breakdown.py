"""A deadline's breakdown: which time counted, day by day, and which days were skipped and why.

`breakdown(calendar, target, start, end, pauses)` answers "why is a request of Friday evening due on
Monday at 14:00": one entry per calendar-local date from the start's date to the end's date, with the
calendar's hours that day, the counted (open, un-paused) time, and for a closed or special day its kind
(weekend, public holiday with the `holidays` package's name, decree working day, override); the pauses
and the open time each one took. The per-day counted time sums to `Calendar.business_seconds_between`
(pauses excluded), so for business minutes / hours it is exactly the target.

The lower-level helpers (`calendar_days`, `open_spans`, `merge`, `subtract`, `clip`, `holiday_names`) are
the ones the workbench's timeline picture draws from (slapolicy.service.workbench.timeline): the decision
and the picture share one computation. Instants are epoch seconds internally. Imports nothing else of
slapolicy (the calendar layer).
"""
from __future__ import annotations

import datetime as dt
import functools

__all__ = ["breakdown", "calendar_days", "open_spans", "merge", "subtract", "clip", "holiday_names",
           "decree_workdays", "hours_text", "duration_text", "local_midnight", "MAX_BREAKDOWN_DAYS"]

MAX_BREAKDOWN_DAYS = 400  # longer spans list their first and last days only
_DAY = dt.timedelta(days=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# The instants below are pure functions of their arguments that every explained decision with a deadline asks
# for per day (and the same days and times recur from ticket to ticket): cached.
@functools.lru_cache(maxsize=8192)
def local_midnight(day: dt.date, tz) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


@functools.lru_cache(maxsize=8192)
def local_minute_instant(day: dt.date, minute: int, tz) -> float:
    """As slapolicy.calendar.Calendar._instant: local wall time, fold=0, 24:00 is the next midnight."""
    if minute >= 1440:
        day, minute = day + _DAY, minute - 1440
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz).timestamp()


def hours_text(hours) -> str:
    if not hours:
        return "closed"
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in hours)


def _hours_text(hours) -> str:
    """hours_text, cached for hashable hours (Calendar.day_hours gives tuples)"""
    try:
        return _cached_hours_text(hours)
    except TypeError:  # (unhashable: e.g. an override's list)
        return hours_text(hours)


_cached_hours_text = functools.lru_cache(maxsize=1024)(hours_text)


def duration_text(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    text = _DURATIONS.get(minutes)
    if text is None:
        text = _minutes_text(minutes)
        if len(_DURATIONS) < 8192:
            _DURATIONS[minutes] = text
    return text


_DURATIONS: dict = {}  # whole minutes -> their text (the breakdowns' days count the same durations over and over)


def _minutes_text(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins:02d} min"
    if hours:
        return f"{hours} h"
    return f"{mins} min"


def merge(spans):
    """Sorted, disjoint union of (a, b) spans (empty ones dropped)."""
    out = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(spans, holes):
    """spans minus holes (both sorted, disjoint lists of (a, b))."""
    out = []
    for a, b in spans:
        cur = a
        for ha, hb in holes:
            if hb <= cur or ha >= b:
                continue
            if ha > cur:
                out.append((cur, ha))
            cur = max(cur, hb)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return out


def clip(spans, lo, hi):
    return [(max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi]


def holiday_names(country: str, years) -> dict:
    """date -> name of the country's public holidays (English when the package has it)."""
    return dict(_holiday_names(country, tuple(years)))


# Building a `holidays` calendar costs about a millisecond and every explained decision with a deadline asks
# for one: the two below are cached by (country, years); callers get copies.
@functools.lru_cache(maxsize=256)
def _holiday_names(country: str, years: tuple) -> dict:
    import holidays

    try:
        cls = holidays.country_holidays(country, years=list(years))
        langs = getattr(cls, "supported_languages", ()) or ()
        if "en_US" in langs:
            cls = holidays.country_holidays(country, years=list(years), language="en_US")
    except Exception:  # noqa: BLE001 - the calendar validated the code; names are a nicety
        return {}
    return dict(cls.items())


def decree_workdays(country: str, years) -> set:
    return set(_decree_workdays(country, tuple(years)))


@functools.lru_cache(maxsize=256)
def _decree_workdays(country: str, years: tuple) -> frozenset:
    import holidays

    out = set()
    for year in years:
        try:
            out |= set(getattr(holidays.country_holidays(country, years=year), "weekend_workdays", ()) or ())
        except Exception:  # noqa: BLE001
            pass
    return frozenset(out)


def _stored_names(source, country: str, years: tuple) -> tuple:
    """(names, decree working days) from a HolidayStore, as _holiday_names and _decree_workdays give them"""
    try:
        names = source.names(country, years)
    except Exception:  # noqa: BLE001 - the calendar validated the code; names are a nicety
        names = {}
    try:
        decree = source.workdays(country, years)
    except Exception:  # noqa: BLE001
        decree = frozenset()
    return names, decree


def calendar_days(calendar, first: dt.date, last: dt.date) -> list:
    """Per calendar-local date in [first, last]: {date, hours, kind, name}; kind is override, holiday,
    decree_workday, weekend or None (an ordinary day of `week`), with the same precedence as
    Calendar.day_hours (override > public holiday > decree working day > week)."""
    years = tuple(range(first.year, last.year + 1))
    names, decree = _names_and_decree(calendar, years)
    out, day = [], first
    while day <= last:
        out.append(_day_entry(calendar, day, names, decree))
        day += _DAY
    return out


def _names_and_decree(calendar, years: tuple) -> tuple:
    """(holiday names, decree working days) of a calendar's country in `years` (read only: no copies)"""
    if not calendar.country:
        return {}, frozenset()
    source = getattr(calendar, "holiday_source", None)
    if source is not None:  # the calendar's stored years (slapolicy.calendar.holistore)
        return _stored_names(source, calendar.country, years)
    return _holiday_names(calendar.country, years), _decree_workdays(calendar.country, years)


def _day_entry(calendar, day: dt.date, names: dict, decree) -> dict:
    kind = None
    if day in calendar.overrides:
        kind = "override"
    elif day in names:
        kind = "holiday"
    elif day in decree:
        kind = "decree_workday"
    elif day.weekday() >= 5:
        kind = "weekend"
    return {"date": day, "hours": calendar.day_hours(day), "kind": kind, "name": names.get(day)}


# A breakdown's days: what a day's row holds but its counted time depends on the calendar, the date and the years
# whose holidays are named (a holiday observed across New Year) only, and so does the whole row of a day wholly
# inside [start, end] (but its cumulative time).
@functools.lru_cache(maxsize=16384)
def _day_info(calendar, day: dt.date, years: tuple, elapsed: bool) -> tuple:
    """(the day's own open spans (the whole day for elapsed time), its local midnight and the next (epoch seconds),
    its row's date, weekday and hours, its kind and name keys, its `skipped` entry when nothing is counted in it
    (None: it is not skipped then), its counted seconds, (counted seconds, their text, the intervals) of the day
    counted whole, the row of the day counted whole but its cumulative time and intervals). The
    open spans that a breakdown without pauses clips to the day are the day's own (another day's touch it at
    midnight only)."""
    d = _day_entry(calendar, day, *_names_and_decree(calendar, years))
    tz = calendar.timezone
    r0, r1 = local_midnight(day, tz), local_midnight(day + _DAY, tz)
    own = ((r0, r1),) if elapsed else tuple(clip(open_spans(calendar, [d]), r0, r1))
    date, weekday, hours = day.isoformat(), _WEEKDAYS[day.weekday()], "24x7" if elapsed else _hours_text(d["hours"])
    tail = {}
    if d["kind"] and not elapsed:
        tail["kind"] = d["kind"]
        if d["name"]:
            tail["name"] = d["name"]
    skip = None
    if not elapsed and (d["kind"] in ("weekend", "holiday", "override") or not d["hours"]):
        skip = {"date": date, "weekday": weekday, "kind": d["kind"] or "closed",
                **({"name": d["name"]} if d["name"] else {}), "hours": hours}
    got = sum(b - a for a, b in own)
    whole = (round(got), duration_text(got), tuple((_iso(a, tz), _iso(b, tz)) for a, b in own))
    row = {"date": date, "weekday": weekday, "hours": hours, "counted_seconds": whole[0], "counted": whole[1],
           "cumulative_seconds": None, "intervals": None, **tail}  # (the cumulative and the intervals: set in a copy)
    # the day's UTC offset as isoformat writes it, when the day has one (24 hours, the same offset at both ends):
    # an instant of the day is then written from the date and the seconds since midnight (_day_iso)
    start_iso, end_iso = _iso(r0, tz), dt.datetime.fromtimestamp(r1 - 1, tz).isoformat()
    suffix = start_iso[19:] if r1 - r0 == 86400 and start_iso[19:] == end_iso[19:] and r0 == int(r0) else None
    return own, r0, r1, date, weekday, hours, tail, skip, got, whole, row, suffix


def _day_iso(info, t: float, tz) -> str:
    """_iso(t, tz) of an instant of a day (`info`: its _day_info) from the day's date and offset when it has one
    and t is a whole second of it (not cached: a ticket's own instants, written once), else _iso"""
    suffix, r0 = info[11], info[1]
    if suffix is not None and r0 <= t < info[2]:
        s = int(t - r0)
        if s == t - r0:
            return f"{info[3]}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}"
    return _iso(t, tz)


def open_spans(calendar, days) -> list:
    """The open instants (epoch seconds, merged) of `calendar_days` entries."""
    tz, spans = calendar.timezone, []
    for d in days:
        for s, e in d["hours"]:
            a, b = local_minute_instant(d["date"], s, tz), local_minute_instant(d["date"], e, tz)
            if b > a:
                spans.append((a, b))
    return merge(spans)


_MIDNIGHT = dt.time(0)
_date = dt.date.fromisoformat


@functools.lru_cache(maxsize=8192)
def _iso(t: float, tz) -> str:
    return dt.datetime.fromtimestamp(t, tz).isoformat()


def _paused(calendar, t0, t1, first, last, years, elapsed, held) -> tuple:
    """(rows, skipped, opened, counted) of a breakdown with pauses: every day clipped from the counted spans"""
    days = calendar_days(calendar, first, last)
    opened = [(t0, t1)] if elapsed else clip(open_spans(calendar, days), t0, t1)
    counted = subtract(opened, held)
    rows, skipped, _ = _rows(calendar, t0, t1, first, last, years, elapsed, spans=counted)
    return rows, skipped, opened, counted


def _rows(calendar, t0, t1, first, last, years, elapsed, iso0=None, iso1=None, spans=None) -> tuple:
    """(rows, skipped, counted) of a breakdown, day by day. Without pauses (`spans` None) the spans counted in a
    day are its own open spans clipped to [t0, t1] (the open spans of all the days, merged and clipped to the
    day, are the day's own: days touch at midnight only), a day wholly inside [t0, t1] counted whole (its row
    from _day_info); `counted` is the days' spans joined where they touch, as merging all the days' spans gives
    them. With pauses, `spans` are the breakdown's counted spans, each day's clipped to the day (no day counted
    whole; `counted`: empty). iso0, iso1: _iso of t0 and t1 when the caller has them. (Every explained decision
    with a deadline runs this loop, a few days a breakdown: a day's row is made inline.)"""
    tz = calendar.timezone
    rows, skipped, counted = [], [], []
    ends = iso0 is not None and iso1 is not None
    infos = _infos(calendar, years, elapsed)
    cumulative = 0.0
    day, end = first.toordinal(), last.toordinal()
    while day <= end:
        info = infos.get(day)
        if info is None:
            info = _info_at(infos, calendar, day, years, elapsed)
        own = info[0]
        if spans is not None:  # (with pauses)
            whole, mine = False, clip(spans, info[1], info[2])
        else:
            whole = info[1] >= t0 and info[2] <= t1
        if whole:  # counted whole: the day's row but its cumulative time and intervals
            got = info[8]
            cumulative += got
            row = info[10].copy()
            row["cumulative_seconds"] = round(cumulative)
            row["intervals"] = list(map(list, info[9][2]))
            mine = own
        else:
            if spans is None:  # (clip: max and min, the first of equal values)
                if len(own) == 1:  # (most days: one span; no comprehension's frame)
                    (a, b), = own
                    mine = ((a if a >= t0 else t0, b if b <= t1 else t1),) if b > t0 and a < t1 else ()
                else:
                    mine = [(a if a >= t0 else t0, b if b <= t1 else t1) for a, b in own if b > t0 and a < t1]
            if len(mine) == 1:  # (most partial days: one span)
                (a, b), = mine
                got = b - a
                if ends:
                    intervals = [[iso0 if a == t0 else _iso(a, tz), iso1 if b == t1 else _iso(b, tz)]]
                else:
                    intervals = [[_iso(a, tz), _iso(b, tz)]]
            else:
                got = sum(b - a for a, b in mine)
                intervals = [[_iso(a, tz), _iso(b, tz)] for a, b in mine]
            cumulative += got
            row = {"date": info[3], "weekday": info[4], "hours": info[5], "counted_seconds": round(got),
                   "counted": duration_text(got), "cumulative_seconds": round(cumulative), "intervals": intervals}
            if info[6]:
                row.update(info[6])
        rows.append(row)
        if not got and info[7] is not None:
            skipped.append(dict(info[7]))
        if spans is None:
            for a, b in mine:
                if counted and a <= counted[-1][1]:
                    counted[-1] = (counted[-1][0], max(counted[-1][1], b))
                else:
                    counted.append((a, b))
        day += 1
    return rows, skipped, counted


@functools.lru_cache(maxsize=256)
def _infos(calendar, years: tuple, elapsed: bool) -> dict:
    """the proleptic ordinal of a day -> its _day_info, of a calendar, the years named and the time counted (filled
    by `_info_at`; ints hash at once, where _day_info's key of date and tuple hashes anew each call)"""
    return {}


def _info_at(infos: dict, calendar, ordinal: int, years: tuple, elapsed: bool) -> tuple:
    if len(infos) >= 4096:  # (a cap: dates far apart, e.g. a corpus over years)
        infos.clear()
    info = infos[ordinal] = _day_info(calendar, dt.date.fromordinal(ordinal), years, elapsed)
    return info


def breakdown(calendar, target, start: dt.datetime, end: dt.datetime, pauses=(), texts=None) -> dict:
    """The counted time of a deadline from `start` to `end` (aware datetimes), day by day in the
    calendar's time zone. `target` is a slapolicy.calendar.Target (elapsed units count every hour, the
    calendar's hours aside). Days beyond MAX_BREAKDOWN_DAYS are summed in `omitted`. `texts`: (start, end) in
    the calendar's time zone as isoformat writes them, when the caller has them (a decision's deadline)."""
    tz = calendar.timezone
    t0 = start.timestamp()
    t1 = end.timestamp()
    if t1 < t0:
        t1, texts = t0, None
    elapsed = target is not None and not target.is_business
    iso0 = iso1 = None
    if texts is not None and not pauses:  # (the local dates: the texts')
        iso0, iso1 = texts
        first, last = _date(iso0[:10]), _date(iso1[:10])
        if t1 > t0 and last > first and iso1[11:19] == "00:00:00" and iso1[19] != ".":
            last -= _DAY  # an end at midnight closes the previous day
    else:
        texts = None
        first = dt.datetime.fromtimestamp(t0, tz).date()
        until = dt.datetime.fromtimestamp(t1, tz)
        last = until.date()
        if t1 > t0 and last > first and until.time() == _MIDNIGHT:
            last -= _DAY  # an end at midnight closes the previous day
    years = (first.year,) if first.year == last.year else tuple(range(first.year, last.year + 1))
    if not pauses:  # (the common case: one span per day, counted spans joined)
        if texts is None:
            iso0 = _day_iso(_day_info(calendar, first, years, elapsed), t0, tz)
            iso1 = _day_iso(_day_info(calendar, last, years, elapsed), t1, tz) if last == until.date() else _iso(t1, tz)
        rows, skipped, counted = _rows(calendar, t0, t1, first, last, years, elapsed, iso0, iso1)
        held = opened = []
    else:
        held = merge((p[0].timestamp(), p[1].timestamp()) for p in pauses)
        if held:
            rows, skipped, opened, counted = _paused(calendar, t0, t1, first, last, years, elapsed, held)
        else:
            rows, skipped, counted = _rows(calendar, t0, t1, first, last, years, elapsed)
    omitted = None
    if len(rows) > MAX_BREAKDOWN_DAYS:
        head = MAX_BREAKDOWN_DAYS // 2
        hidden = rows[head:len(rows) - head]
        omitted = {"days": len(hidden), "from": hidden[0]["date"], "to": hidden[-1]["date"],
                   "counted_seconds": sum(r["counted_seconds"] for r in hidden)}
        rows = rows[:head] + rows[len(rows) - head:]
    if iso0 is None:
        iso0, iso1 = _iso(t0, tz), _iso(t1, tz)
    total = counted[0][1] - counted[0][0] if len(counted) == 1 else sum(b - a for a, b in counted)
    out = {
        "from": iso0, "until": iso1, "timezone": tz.key,
        "unit": target.unit if target is not None else None, "elapsed": elapsed,
        "counted_seconds": round(total), "counted": duration_text(total),
        "first_counted": (iso0 if counted[0][0] == t0 else _iso(counted[0][0], tz)) if counted else None,
        "days": rows, "skipped": skipped,
        "pauses": [{"from": _iso(a, tz), "to": _iso(b, tz),
                    "open_seconds": round(sum(y - x for x, y in clip(opened, a, b)))} for a, b in held] if held else [],
    }
    if omitted:
        out["omitted"] = omitted
    return out
