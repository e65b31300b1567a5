"""The language's built-in functions and arithmetic, shared by the closures (slapolicy.language.compile) and the
generated code (slapolicy.language.codegen). Each takes known values; callers handle UNKNOWN."""
from __future__ import annotations

import datetime as dt

from slapolicy.language.ast import Duration


def add_months(value, months: int):
    year, month0 = divmod(value.month - 1 + months, 12)
    year += value.year
    if value.day <= 28:  # every month has the day
        return value.replace(year=year, month=month0 + 1)
    import calendar  # (only for a day after the 28th: a start does not import it)

    day = min(value.day, calendar.monthrange(year, month0 + 1)[1])
    return value.replace(year=year, month=month0 + 1, day=day)


def functions(tz) -> dict:
    """name -> implementation, for the functions whose arguments are plain values."""
    def as_date(v):
        return v.astimezone(tz).date() if isinstance(v, dt.datetime) else v

    return {
        "days_between": lambda a, b: (as_date(b) - as_date(a)).days,
        "hours_between": lambda a, b: (b - a).total_seconds() / 3600.0,
        "date": as_date,
        "lower": str.lower,
        "blank": lambda s: not s.strip(),
        "len": len,
    }


def arith(tz, sign: int):
    """a + b (sign 1) or a - b (sign -1): numbers, or a date / timestamp and a duration."""
    def apply(a, b):
        if isinstance(b, Duration):
            if isinstance(a, dt.datetime):
                if b.months:  # calendar months in the policy's time zone
                    return add_months(a.astimezone(tz), sign * b.months).astimezone(dt.timezone.utc)
                return a + dt.timedelta(seconds=sign * b.seconds)
            if b.months:
                return add_months(a, sign * b.months)
            return a + dt.timedelta(days=sign * int(b.seconds // 86400))
        return a + b if sign > 0 else a - b
    return apply
