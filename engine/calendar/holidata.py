"""How far the `holidays` package's data for a country can be trusted: `holiday_data_limit(code)`.

Rule-based holidays (a fixed date, Easter) are right for any year, but two countries our policies use
depend on decisions taken year by year, and the package only knows the years already decided:

  RU  the production calendar: days off carried over from a holiday on a weekend and the transfers
      decreed each year (`RussiaStaticHolidays.special_public_holidays` and `..._observed`, one entry
      per year). The package (0.109) has them through 2027; from 2028 on it lists only the holidays
      themselves, so Sat 2028-11-04 (Unity Day) gives no day off on Mon 2028-11-06, although article 112
      of the Labour Code moves it there. The last year is read from the package, so an upgrade moves it.
  UA  martial law (law No. 2136-IX of 15.03.2022): public holidays are working days. The package lists
      no UA holidays at all from 2023 on, which is right only while martial law lasts; the first such
      year is read from the package (an empty year), so a release that ends it stops the warning.

Any other country: None (nothing recorded). `slapolicy lint` warns (`holiday-data-limit`) for a calendar
whose `holidays` has a limit, unless the calendar itself supplies the later days (a `holidays_file`,
or an override in a year past the limit).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache


class HolidayDataLimit:
    """What the holidays package knows of a country: `last_year`, the last year its data confirms, and `message`,
    what goes wrong after it. Immutable, equal by its fields (a plain class, not a dataclass, which would
    generate and compile its methods at every import)."""

    __slots__ = ("country", "last_year", "message")

    def __init__(self, country: str, last_year: int, message: str) -> None:
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "last_year", last_year)
        object.__setattr__(self, "message", message)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.country, self.last_year, self.message) == (other.country, other.last_year, other.message)
        return NotImplemented

    def __hash__(self):
        return hash((self.country, self.last_year, self.message))

    def __repr__(self):
        return f"HolidayDataLimit(country={self.country!r}, last_year={self.last_year!r}, message={self.message!r})"

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")


def holiday_data_limit(code) -> HolidayDataLimit | None:
    if not code:
        return None
    return _limit(str(code).strip().upper())


@lru_cache(maxsize=None)
def _limit(code: str) -> HolidayDataLimit | None:
    import holidays

    if code in ("RU", "RUS"):
        try:
            from holidays.countries.russia import RussiaStaticHolidays
        except ImportError:  # pragma: no cover - a layout change of the package
            return None
        years = [y for attr in ("special_public_holidays", "special_public_holidays_observed")
                 for y in (getattr(RussiaStaticHolidays, attr, None) or {}) if isinstance(y, int)]
        if not years:
            return None
        last = max(years)
        nxt = last + 1
        example = _uncarried(holidays.country_holidays("RU", years=nxt, language="en_US"), nxt)
        return HolidayDataLimit("RU", last, (
            f"the holidays package (version {holidays.__version__}) has Russia's production calendar through "
            f"{last}: from {nxt} on it knows no carried-over or transferred days off{example}; add them as "
            f"overrides or a holidays_file once the government publishes the {nxt} calendar"))
    if code in ("UA", "UKR"):
        for year in range(2022, dt.date.today().year + 2):
            if not holidays.country_holidays("UA", years=year):
                return HolidayDataLimit("UA", year - 1, (
                    f"the holidays package (version {holidays.__version__}) lists no Ukrainian public holidays from "
                    f"{year} on (martial law, law No. 2136-IX: holidays are working days); this holds only while "
                    "martial law lasts: when it ends, add the holidays as overrides or a holidays_file"))
        return None
    return None


def _uncarried(hols, year: int) -> str:
    """', e.g. Sat 2028-11-04 (Unity Day) gives no day off on Mon 2028-11-06'; '' when no holiday of the year
    falls on a weekend (the New Year holidays aside, which are never carried over by article 112)."""
    for day in sorted(hols):
        if day.weekday() >= 5 and not (day.month == 1 and day.day <= 8):
            nxt = day + dt.timedelta(days=1)
            while nxt.weekday() >= 5 or nxt in hols:
                nxt += dt.timedelta(days=1)
            return (f", e.g. {day:%a} {day.isoformat()} ({hols[day]}) gives no day off on {nxt:%a} {nxt.isoformat()},"
                    " which is counted as a working day")
    return ""
