"""Business time (its own world: imports nothing else of slapolicy): calendars with an IANA time zone, weekly hours, public holidays and transfer days.

Business time is instants in UTC plus a calendar; wall-clock hours are never added to a local time.

The model
---------
A calendar is turned, lazily one local month at a time, into sorted, disjoint open intervals in UTC
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

Months are built on demand (under a lock, published as one immutable tuple so readers never see a
half-built index): the first index covers the months a computation asks for and one more, an index
that has to grow covers whole years (a year to spare ahead), extended forwards or backwards as
deadlines need, and kept for the life of the calendar. A calendar that is open 24x7 with no holidays and no overrides
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
                   end an interval. An interval that ends before it starts ("22:00-06:00") is
                   overnight: it ends the next morning and belongs to the day it starts (that day's
                   holiday, override and business-day position). A day no key mentions is closed; a
                   day in two keys gets the hours of both ({"mon-fri": "22:00-24:00", "tue-sat":
                   "00:00-06:00"}, a night shift), unless one says "closed". No two intervals of the
                   week may overlap, a night running into the next morning included.
    holidays:      a country code of the `holidays` package ("RU", "UA"), or none/null/absent
    holidays_file: an iCalendar file (.ics, relative to the policy's folder) whose all-day events
                   are days off (RRULE expanded; slapolicy.calendar.ics), besides or instead of
                   `holidays`
    holiday_hours: hours kept on public holidays (default closed)
    holiday_hours_on_closed_days: "open" (the default) gives a holiday that falls on a day `week`
                   keeps closed (a Saturday) the holiday_hours too; "closed" keeps that day closed
    workday_hours: hours of a weekend day that the country's decree makes a working day
                   (holidays' `weekend_workdays`, e.g. Saturday 2025-11-01 in Russia); default: the
                   Monday hours of `week`
    overrides:     {"2026-12-31": "09:00-15:00" | "closed" | "working"}; "working" is that
                   weekday's normal hours, or workday_hours for a day `week` keeps closed

Per local date the precedence is: override > public holiday (holiday_hours) > decree working day
(workday_hours) > week. Each local date's open time is its own intervals (an overnight one up to its end
the next morning); for business days a date's share of the timeline starts at its midnight, or where the
day before's night ends. The `holidays` package lists substituted days off ("Day off (substituted
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
from slapolicy.calendar.core import DAYS, UNITS, Calendar
from slapolicy.calendar.targets import CalendarError, Target, parse_target

__all__ = ["Calendar", "CalendarError", "Target", "parse_target", "DAYS", "UNITS", "holiday_data_limit"]


def __getattr__(name: str):
    if name == "holiday_data_limit":  # imported when asked for (the policy checks): a start does not compile it
        from slapolicy.calendar.holidata import holiday_data_limit

        return holiday_data_limit
    raise AttributeError(f"module 'slapolicy.calendar' has no attribute {name!r}")
