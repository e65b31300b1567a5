"""The business-time clock of one deadline, as plain data and as an SVG picture (the workbench's timeline).

`timeline(...)` answers "why is a ticket created on Friday evening due on Monday at 14:00?": one row
per local day from the day of creation to the day of the due instant, with the calendar's open and
closed hours, weekends, public holidays (named), decree working days and overrides, DST changes,
pauses, the time that counts, and the marks (created, clock starts, due / not before, as of, met).

Everything is computed from the policy's own `slapolicy.calendar.Calendar`:
  * the open intervals of each calendar-local date are `Calendar.day_hours(date)`, turned into
    instants as the calendar turns them (local wall time through zoneinfo, fold=0);
  * the days (hours, kinds, holiday names) and the open instants come from slapolicy.calendar.breakdown
    (shared with the decision's deadline breakdown); the names of public holidays come from the `holidays` package, called
    the way engine/calendar/ calls it (`country_holidays(code, years=...)`), in English when the
    country has it;
  * the per-day counted time is `Calendar.business_seconds_between` (pauses excluded), so the sum of
    the rows is exactly the target for business minutes / hours.

Instants are epoch seconds internally; each row is one date of the *display* time zone (the
policy's by default, or the viewer's), and an instant is placed by its wall-clock time in that zone,
so 09:00 is always under the 09:00 grid line (a DST day has a gap or an overlap, and is marked).
"""
from __future__ import annotations

import datetime as dt
import html
import math
import zoneinfo

from slapolicy.calendar.breakdown import (calendar_days, clip, duration_text, hours_text, local_midnight,
                                          local_minute_instant, merge, open_spans, subtract)

__all__ = ["timeline", "render_svg", "TimelineError", "MAX_SPAN_DAYS", "MAX_ROWS"]

MAX_SPAN_DAYS = 400  # no picture beyond this (a year of business days and more)
MAX_ROWS = 62  # rows drawn; longer spans keep the first and last days and say what was left out
_UTC = dt.timezone.utc
_DAY = dt.timedelta(days=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class TimelineError(ValueError):
    """The picture cannot be drawn (no due instant, a span too long, a bad time zone)."""


# -- small helpers -------------------------------------------------------------------------------
def _epoch(instant: dt.datetime) -> float:
    return instant.timestamp()


def _iso(t: float, tz) -> str:
    return dt.datetime.fromtimestamp(t, tz).isoformat()


_local_midnight = local_midnight
_local_minute_instant = local_minute_instant


def _offset_text(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_hours_text = hours_text
_merge = merge
_subtract = subtract
_clip = clip
_duration = duration_text


def _day_label(day: dt.date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _dst_changes(tz, lo: float, hi: float) -> list:
    """[(instant, offset before, offset after)] of the zone's UTC offset changes in [lo, hi]."""
    out = []
    step = 6 * 3600.0
    t = lo
    prev = dt.datetime.fromtimestamp(t, tz).utcoffset()
    while t < hi:
        nxt = min(t + step, hi)
        off = dt.datetime.fromtimestamp(nxt, tz).utcoffset()
        if off != prev:
            a, b = int(t), int(math.ceil(nxt))
            while b - a > 1:
                m = (a + b) // 2
                if dt.datetime.fromtimestamp(m, tz).utcoffset() == prev:
                    a = m
                else:
                    b = m
            out.append((float(b), prev, off))
            prev = off
        t = nxt
    return out


# -- the model -----------------------------------------------------------------------------------
def timeline(*, calendar, target, start: dt.datetime, end: dt.datetime, end_kind: str = "due", pauses=(),
             marks=(), display_tz=None, calendar_name=None, target_name="first_response", text=None,
             policy_id=None) -> dict:
    """The timeline of one deadline as JSON-able data.

    calendar: slapolicy.calendar.Calendar of the target; target: slapolicy.calendar.Target (None: no unit);
    start: when the clock starts (aware); end: the due (or not-before) instant (aware);
    pauses: [(aware start, aware end)]; marks: [(kind, aware instant, label)] drawn besides created/due;
    display_tz: a ZoneInfo (default: the calendar's zone)."""
    if start is None or end is None:
        raise TimelineError("this target has no due or not-before instant: nothing to draw")
    cal_tz = calendar.timezone
    tz = display_tz or cal_tz
    t0, t1 = _epoch(start), _epoch(end)
    if t1 < t0:
        t1 = t0
    if t1 - t0 > MAX_SPAN_DAYS * 86400:
        raise TimelineError(f"the span from start to {end_kind.replace('_', ' ')} is longer than {MAX_SPAN_DAYS} days; "
                            "no picture is drawn")
    elapsed = target is not None and not target.is_business
    pause_spans = _merge((_epoch(a), _epoch(b)) for a, b in pauses)

    # the window: whole display days from the start's day to the end's day
    first_day = dt.datetime.fromtimestamp(t0, tz).date()
    last_day = dt.datetime.fromtimestamp(t1, tz).date()
    w0, w1 = _local_midnight(first_day, tz), _local_midnight(last_day + _DAY, tz)

    # calendar-local dates covering the window (one day to spare on each side: other zones)
    c_first = dt.datetime.fromtimestamp(w0, cal_tz).date() - _DAY
    c_last = dt.datetime.fromtimestamp(w1, cal_tz).date() + _DAY
    special, bands = [], []
    cal_days = calendar_days(calendar, c_first, c_last)
    for entry in cal_days:
        day, hours, kind, name = entry["date"], entry["hours"], entry["kind"], entry["name"]
        d0, d1 = _local_midnight(day, cal_tz), _local_midnight(day + _DAY, cal_tz)
        if kind:
            bands.append({"kind": kind, "date": day.isoformat(), "name": name, "from": d0, "to": d1,
                          "hours": _hours_text(hours), "weekend": day.weekday() >= 5})
            if kind != "weekend" and w0 - 86400 <= d0 < w1:
                special.append({"date": day.isoformat(), "kind": kind, "name": name, "hours": _hours_text(hours)})
    open_spans_ = open_spans(calendar, cal_days)

    # what counts: open (or all, for elapsed units) time in [start, end), pauses excluded
    base = [(t0, t1)] if elapsed else _clip(open_spans_, t0, t1)
    counted = _subtract(base, pause_spans)
    first_count = counted[0][0] if counted else None

    dst = []
    for zone in dict.fromkeys([cal_tz, tz]):
        for at, before, after in _dst_changes(zone, w0, w1):
            dst.append({"at": _iso(at, tz), "epoch": at, "timezone": zone.key, "from": _offset_text(before),
                        "to": _offset_text(after)})

    all_marks = [("created", t0, "created")]
    if first_count is not None and first_count > t0:
        all_marks.append(("clock_starts", first_count, "clock starts"))
    all_marks.append((end_kind, t1, "due" if end_kind == "due" else "not before"))
    for kind, instant, label in marks:
        if instant is not None:
            all_marks.append((kind, _epoch(instant), label))

    # rows: one per display date
    rows, cumulative = [], 0.0
    day = first_day
    while day <= last_day:
        r0, r1 = _local_midnight(day, tz), _local_midnight(day + _DAY, tz)
        cuts = sorted({r0, r1} | {c["epoch"] for c in dst if r0 < c["epoch"] < r1})

        def place(spans, r0=r0, r1=r1, cuts=cuts):
            out = []
            for a, b in _clip(spans, r0, r1):
                for c0, c1 in zip(cuts, cuts[1:]):  # split at DST changes: wall-clock placement stays monotonic
                    lo, hi = max(a, c0), min(b, c1)
                    if hi > lo:
                        out.append([_minute(lo, tz, r0, r1), _minute(hi, tz, r0, r1, end=True)])
            return out

        got = sum(b - a for a, b in _clip(counted, r0, r1))
        cumulative += got
        row_bands = []
        for band in bands:
            placed = place([(band["from"], band["to"])])
            if placed:
                row_bands.append({"kind": band["kind"], "date": band["date"], "name": band["name"],
                                  "hours": band["hours"], "weekend": band["weekend"],
                                  "span": [placed[0][0], placed[-1][1]]})
        rows.append({
            "date": day.isoformat(), "label": _day_label(day),
            "start": _iso(r0, tz), "end": _iso(r1, tz), "hours_long": round((r1 - r0) / 3600, 2),
            "open": place(open_spans_), "counted": place(counted), "paused": place(pause_spans),
            "bands": row_bands,
            "counted_seconds": round(got), "cumulative_seconds": round(cumulative),
            "marks": [{"kind": k, "minute": _minute(t, tz, r0, r1, end=t >= r1), "label": label, "at": _iso(t, tz)}
                      for k, t, label in all_marks if r0 <= t < r1 or (t == r1 == w1)],
            "dst": [{"minute": _minute(c["epoch"], tz, r0, r1), "timezone": c["timezone"], "from": c["from"], "to": c["to"]}
                    for c in dst if r0 <= c["epoch"] < r1],
        })
        day += _DAY
    omitted = None
    if len(rows) > MAX_ROWS:
        head, tail = MAX_ROWS // 2, MAX_ROWS - MAX_ROWS // 2 - 1
        hidden = rows[head:len(rows) - tail]
        omitted = {"days": len(hidden), "from": hidden[0]["date"], "to": hidden[-1]["date"],
                   "counted_seconds": sum(r["counted_seconds"] for r in hidden)}
        rows = rows[:head] + rows[len(rows) - tail:]

    total = sum(b - a for a, b in counted)
    return {
        "policy": policy_id,
        "target": target_name,
        "text": text or (str(target) if target is not None else None),
        "unit": target.unit if target is not None else None,
        "elapsed": elapsed,
        "calendar": calendar_name,
        "hours": calendar.describe(),
        "timezone": cal_tz.key,
        "display_timezone": tz.key,
        "start": _iso(t0, cal_tz),
        "end": _iso(t1, cal_tz),
        "end_kind": end_kind,
        "counted_seconds": round(total),
        "first_counted": _iso(first_count, cal_tz) if first_count is not None else None,
        "open_intervals": [[_iso(a, cal_tz), _iso(b, cal_tz)] for a, b in _clip(open_spans_, w0, w1)],
        "counted_intervals": [[_iso(a, cal_tz), _iso(b, cal_tz)] for a, b in counted],
        "pauses": [[_iso(a, cal_tz), _iso(b, cal_tz)] for a, b in pause_spans],
        "special_days": special,
        "dst": [{k: v for k, v in c.items() if k != "epoch"} for c in dst],
        "marks": [{"kind": k, "at": _iso(t, cal_tz), "at_utc": _iso(t, _UTC), "label": label} for k, t, label in all_marks],
        "days": rows,
        "omitted": omitted,
    }


def _minute(t: float, tz, r0: float, r1: float, end: bool = False) -> float:
    """Wall-clock minute of the day of instant t in zone tz (1440 for the row's end)."""
    if end and t >= r1:
        return 1440.0
    local = dt.datetime.fromtimestamp(t, tz)
    m = local.hour * 60 + local.minute + local.second / 60
    if end and m == 0 and t > r0:
        return 1440.0
    return round(m, 2)


# -- the picture ---------------------------------------------------------------------------------
_W, _LABEL_W, _RIGHT_W, _HEAD, _ROW, _GAP = 1000, 118, 132, 30, 38, 5
_BAR = 24  # the upper part of a row: hours and counted time; the lower strip names the day
_CHART_W = _W - _LABEL_W - _RIGHT_W
_MARK_COLOURS = {"created": "#1565c0", "due": "#c62828", "not_before": "#ef6c00", "clock_starts": "#2e7d32",
                 "as_of": "#546e7a", "met": "#6a1b9a", "started": "#1565c0"}
_BAND_TITLES = {"holiday": "public holiday", "weekend": "weekend", "override": "special day (override)",
                "decree_workday": "working day by decree"}


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _x(minute: float) -> float:
    return round(_LABEL_W + _CHART_W * minute / 1440.0, 1)


def render_svg(model: dict) -> str:
    """The timeline as an inline SVG element (every text escaped; classes for CSS and tests)."""
    rows = model["days"]
    height = _HEAD + len(rows) * (_ROW + _GAP) + (_ROW if model.get("omitted") else 0) + 10
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
           f'width="100%" role="img" aria-labelledby="tl-title" data-timezone="{_e(model["display_timezone"])}">',
           f'<title id="tl-title">{_e(model["target"])}: {_e(model["text"])} from {_e(model["start"])} to '
           f'{_e(model["end"])} ({_e(model["display_timezone"])})</title>',
           '<defs><pattern id="tl-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<rect width="6" height="6" fill="#ffe0a3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#e69500" stroke-width="3"/>'
           '</pattern></defs>']
    # hour grid and labels
    for h in range(0, 25):
        x = _x(h * 60)
        if h % 3 == 0:
            out.append(f'<text class="tl-hour" x="{x}" y="{_HEAD - 12}" text-anchor="middle">{h:02d}:00</text>')
        out.append(f'<line class="tl-grid{" tl-grid-major" if h % 6 == 0 else ""}" x1="{x}" y1="{_HEAD - 6}" x2="{x}" '
                   f'y2="{height - 8}"/>')
    out.append(f'<text class="tl-hour tl-right-head" x="{_W - 4}" y="{_HEAD - 12}" text-anchor="end">counted (total)</text>')
    y = _HEAD
    for i, row in enumerate(rows):
        if model.get("omitted") and i == len(rows) - (MAX_ROWS - MAX_ROWS // 2 - 1):
            om = model["omitted"]
            out.append(f'<text class="tl-omitted" x="{_LABEL_W + _CHART_W / 2}" y="{y + _ROW / 2 + 4}" text-anchor="middle">'
                       f'… {om["days"]} days not drawn ({_e(om["from"])} to {_e(om["to"])}, '
                       f'{_e(_duration(om["counted_seconds"]))} counted) …</text>')
            y += _ROW
        out.append(_row_svg(row, y))
        y += _ROW + _GAP
    out.append("</svg>")
    return "".join(out)


def _row_svg(row: dict, y: float) -> str:
    kinds = {b["kind"] for b in row["bands"]}
    cls = " ".join(["tl-day"] + [f"tl-day-{k.replace('_', '-')}" for k in sorted(kinds)])
    parts = [f'<g class="{cls}" data-date="{_e(row["date"])}">']
    own = {b["kind"] for b in row["bands"] if b["date"] == row["date"]}
    label_cls = "tl-label" + (" tl-label-holiday" if "holiday" in own else "")
    parts.append(f'<text class="{label_cls}" x="6" y="{y + 15}">{_e(row["label"])}</text>')
    sub = []
    for b in row["bands"]:  # what the calendar says of this very date (another zone's rows straddle two)
        if b["date"] == row["date"]:
            sub.append("holiday" if b["kind"] == "holiday" else _BAND_TITLES[b["kind"]])
        if b["date"] == row["date"] and b.get("weekend") and b["kind"] != "weekend":
            sub.append("weekend")
    if row["hours_long"] != 24:
        sub.append(f'{row["hours_long"]:g} h')
    if sub:
        parts.append(f'<text class="tl-sublabel" x="6" y="{y + 30}">{_e(", ".join(dict.fromkeys(sub)))}</text>')
    # closed background, then day bands, open hours, counted time, pauses
    parts.append(f'<rect class="tl-closed" x="{_x(0)}" y="{y}" width="{_CHART_W}" height="{_ROW}">'
                 f'<title>closed</title></rect>')
    for b in row["bands"]:
        a, c = b["span"]
        title = _BAND_TITLES[b["kind"]] + (f": {b['name']}" if b.get("name") else "") + f" ({b['date']}; hours {b['hours']})"
        parts.append(f'<rect class="tl-band tl-{b["kind"].replace("_", "-")}" data-date="{_e(b["date"])}" '
                     f'x="{_x(a)}" y="{y}" width="{max(0.5, _x(c) - _x(a)):.1f}" height="{_ROW}"><title>{_e(title)}</title></rect>')
    for a, c in row["open"]:
        parts.append(f'<rect class="tl-open" x="{_x(a)}" y="{y + 3}" width="{max(0.5, _x(c) - _x(a)):.1f}" '
                     f'height="{_BAR - 4}"><title>open {_e(_hm(a))}-{_e(_hm(c))}</title></rect>')
    for a, c in row["counted"]:
        parts.append(f'<rect class="tl-counted" x="{_x(a)}" y="{y + 8}" width="{max(0.5, _x(c) - _x(a)):.1f}" '
                     f'height="{_BAR - 14}"><title>counts {_e(_hm(a))}-{_e(_hm(c))}</title></rect>')
    for a, c in row["paused"]:
        parts.append(f'<rect class="tl-paused" fill="url(#tl-hatch)" x="{_x(a)}" y="{y + 2}" '
                     f'width="{max(0.5, _x(c) - _x(a)):.1f}" height="{_BAR}"><title>paused {_e(_hm(a))}-{_e(_hm(c))}'
                     f'</title></rect>')
    for b in row["bands"]:
        if b["kind"] in ("holiday", "override", "decree_workday") and b["span"][1] - b["span"][0] >= 180:
            name = b.get("name") or _BAND_TITLES[b["kind"]]
            parts.append(f'<text class="tl-band-name tl-{b["kind"].replace("_", "-")}-name" x="{_x(b["span"][0]) + 4}" '
                         f'y="{y + _ROW - 4}">{_e(name)}<title>{_e(name)} ({_e(b["date"])})</title></text>')
    for d in row["dst"]:
        x = _x(d["minute"])
        right = d["minute"] > 1080
        parts.append(f'<line class="tl-dst" x1="{x}" y1="{y - 2}" x2="{x}" y2="{y + _ROW + 2}"/>'
                     f'<text class="tl-dst-label" x="{x - 3 if right else x + 3}" y="{y + 10}" '
                     f'text-anchor="{"end" if right else "start"}">DST {_e(d["from"])} → {_e(d["to"])}'
                     f'<title>{_e(d["timezone"])}: clocks change from {_e(d["from"])} to {_e(d["to"])}</title></text>')
    for m in row["marks"]:
        x = _x(m["minute"])
        colour = _MARK_COLOURS.get(m["kind"], "#333")
        anchor = "end" if m["minute"] > 1260 else "start"
        dx = -3 if anchor == "end" else 3
        parts.append(f'<g class="tl-mark tl-mark-{_e(m["kind"].replace("_", "-"))}" data-at="{_e(m["at"])}">'
                     f'<line x1="{x}" y1="{y - 3}" x2="{x}" y2="{y + _ROW + 3}" stroke="{colour}" stroke-width="2.5"/>'
                     f'<text x="{x + dx}" y="{y + 13}" text-anchor="{anchor}" fill="{colour}" class="tl-mark-label">'
                     f'{_e(m["label"])} {_e(_hm(m["minute"]))}</text><title>{_e(m["label"])}: {_e(m["at"])}</title></g>')
    got = row["counted_seconds"]
    parts.append(f'<text class="tl-count" x="{_W - 4}" y="{y + 17}" text-anchor="end">'
                 f'{"+" + _duration(got) if got else "—"} ({_e(_duration(row["cumulative_seconds"]))})</text>')
    parts.append("</g>")
    return "".join(parts)


def _hm(minute: float) -> str:
    m = int(round(minute))
    return f"{m // 60:02d}:{m % 60:02d}"


def zone(name: str | None):
    """A ZoneInfo from an IANA name; TimelineError for a name the system does not know."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise TimelineError(f"'{name}' is not an IANA time zone (e.g. Europe/Moscow)") from None
