"""Deadlines in business time: slapolicy (slapolicy.calendar) vs pandas and businesstimedelta.

    python bench/business_time.py [--starts 3000] [--seed 11]

Two calendars of the bundled policies, four horizons (1, 24, 40 and 216 business hours), a few
thousand random start instants (minute resolution, 2021-2026, in UTC):

  advantshop  support_hours   Europe/Moscow; Mon-Fri 08:00-20:00, Sat-Sun 09:00-18:00; RU public
                              holidays 09:00-18:00; weekend days made working days by decree 08:00-20:00
  bitrix-ua   working_hours   Europe/Kyiv (with DST); Mon-Fri 09:00-20:00; UA public holidays closed
                              (the `holidays` package lists none from 2022 on: suspended under martial
                              law), weekend days made working days by decree open (2021-2022)

Peers, where they can express the calendar:

  pandas CustomBusinessHour   one opening span for every open day, a weekmask, a list of closed
                              dates; wall-clock arithmetic on tz-aware timestamps
  businesstimedelta           WorkDayRule per set of weekdays (one span each), HolidayRule (whole
                              days closed), pytz time zones

Where a peer cannot express a calendar it runs on the closest calendar it can, labelled
"approximation", and its disagreements show what the approximation costs. A result that differs
from slapolicy's is classified: "equivalent" when no business time lies between the two instants
(a deadline that lands on a closing time: slapolicy keeps the closing time, pandas moves it to
the next opening), "different" otherwise. Timing: us per deadline, one core, best of 3.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # do not shadow stdlib calendar
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import warnings  # noqa: E402

from bench._common import fmt_us, machine, optional, table, timed  # noqa: E402

HORIZONS = (1, 24, 40, 216)
YEARS = range(2021, 2027)
YEAR_START = dt.date(YEARS[0], 1, 1)
CALENDARS = (("advantshop", "support_hours"), ("bitrix-ua", "working_hours"))


def random_starts(n, seed):
    rng = random.Random(seed)
    first = dt.datetime(YEARS[0], 1, 1, tzinfo=dt.timezone.utc)
    minutes = int((dt.datetime(YEARS[-1] + 1, 1, 1, tzinfo=dt.timezone.utc) - first).total_seconds() // 60)
    return [first + dt.timedelta(minutes=rng.randrange(minutes)) for _ in range(n)]


def closed_dates(country):
    import holidays

    return sorted(holidays.country_holidays(country, years=list(range(YEARS[0], YEARS[-1] + 6))).keys())


# -- the peers, per calendar: (adder or None, "exact" / "approximation: ..." / reason it cannot) -----

def pandas_peer(pd, policy_id):
    from pandas.tseries.offsets import CustomBusinessHour

    if policy_id == "advantshop":
        tz, start, end, mask = "Europe/Moscow", "08:00", "20:00", "Mon Tue Wed Thu Fri"
        note = ("approximation: one span for all open days, so Sat-Sun 09:00-18:00 are closed, holidays closed "
                "instead of 09:00-18:00, no decree working days")
        closed = closed_dates("RU")
    else:
        tz, start, end, mask = "Europe/Kyiv", "09:00", "20:00", "Mon Tue Wed Thu Fri"
        note = ("exact but for the weekend days made working days by decree (4 Saturdays in 2021-2022), "
                "which a weekmask cannot express")
        closed = closed_dates("UA")
    offsets = {h: CustomBusinessHour(n=h, start=start, end=end, weekmask=mask, holidays=closed) for h in HORIZONS}

    def add(instant, hours):
        return (pd.Timestamp(instant).tz_convert(tz) + offsets[hours]).to_pydatetime()
    return add, note


def btd_peer(btd, pytz, policy_id):
    if policy_id == "advantshop":
        tz = pytz.timezone("Europe/Moscow")
        rules = [btd.WorkDayRule(start_time=dt.time(8), end_time=dt.time(20), working_days=[0, 1, 2, 3, 4], tz=tz),
                 btd.WorkDayRule(start_time=dt.time(9), end_time=dt.time(18), working_days=[5, 6], tz=tz),
                 btd.HolidayRule(set(closed_dates("RU")), tz=tz)]
        note = ("approximation: holidays closed instead of 09:00-18:00 (a HolidayRule closes whole days), "
                "no decree working days")
    else:
        tz = pytz.timezone("Europe/Kyiv")
        # HolidayRule raises TypeError when no holiday lies within 5 years ahead (UA lists none after
        # 2022) and scans day by day: the weekends, closed anyway, are added to its set of dates
        weekends = {YEAR_START + dt.timedelta(days=i) for i in range(0, 366 * (len(YEARS) + 6))
                    if (YEAR_START + dt.timedelta(days=i)).weekday() >= 5}
        rules = [btd.WorkDayRule(start_time=dt.time(9), end_time=dt.time(20), working_days=[0, 1, 2, 3, 4], tz=tz),
                 btd.HolidayRule(set(closed_dates("UA")) | weekends, tz=tz)]
        note = ("exact but for the decree working Saturdays (WorkDayRule knows weekdays only); HolidayRule "
                "raises TypeError when no holiday lies within 5 years ahead and scans day by day, so the "
                "already closed weekends are added to its dates")
    combined = btd.Rules(rules)
    deltas = {h: btd.BusinessTimeDelta(combined, hours=h) for h in HORIZONS}

    def add(instant, hours):
        return instant + deltas[hours]
    return add, note


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=3000, help="random start instants (default 3000)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    from slapolicy.api import load_policy
    from slapolicy.calendar import parse_target

    starts = random_starts(args.starts, args.seed)
    print("# calendar: a deadline N business hours after a start instant")
    print(f"{machine()}; {len(starts)} random starts in {YEARS[0]}-{YEARS[-1]}; one core, best of 3\n")

    pd, why_pd = optional("pandas", "pandas")
    btd, why_btd = optional("businesstimedelta", "businesstimedelta")
    pytz, _ = optional("pytz", "pytz")
    if btd is not None and pytz is None:
        btd, why_btd = None, "businesstimedelta needs pytz"
    notes, rows, worst, ratios = [], [], 0.0, []
    for policy_id, name in CALENDARS:
        calendar = load_policy(policy_id).compiled.calendars[name]
        peers = []
        if pd is not None:
            peers.append(("pandas",) + pandas_peer(pd, policy_id))
        if btd is not None:
            peers.append(("businesstimedelta",) + btd_peer(btd, pytz, policy_id))
        for peer, _, note in peers:
            notes.append(f"{peer} on {policy_id}: {note}")
        for hours in HORIZONS:
            target = parse_target(f"{hours} business hours")
            for start in starts:  # warm the per-year interval cache, as a long-running process has it
                calendar.add(start, target)
            seconds, ours = timed(lambda: [calendar.add(s, target) for s in starts])
            per = seconds / len(starts)
            worst = max(worst, per)
            row = [f"{policy_id} ({name})", f"{hours} h", fmt_us(per)]
            for peer, add, note in peers:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    peer_seconds, theirs = timed(lambda: [add(s, hours) for s in starts], repeat=3, budget=5)
                peer_per = peer_seconds / len(starts)
                equivalent = different = 0
                for a, b in zip(ours, theirs):
                    if a != b:
                        lo, hi = (a, b) if a < b else (b, a)
                        if calendar.business_seconds_between(lo, hi) == 0:
                            equivalent += 1
                        else:
                            different += 1
                if peer == "pandas":
                    ratios.append(peer_per / per)
                row += [fmt_us(peer_per), f"{peer_per / per:.0f}x",
                        f"{different}" + (f" (+{equivalent} equiv.)" if equivalent else "")]
            rows.append(row)
    headers = ["calendar", "horizon", "slapolicy us"]
    for peer in [p for p, m in (("pandas", pd), ("businesstimedelta", btd)) if m is not None]:
        headers += [f"{peer} us", "ratio", f"{peer} differs"]
    print(table(headers, rows, ["l", "r"] + ["r"] * (len(headers) - 2)))
    print()
    for line in notes:
        print(f"- {line}")
    for why in (why_pd, why_btd):
        if why:
            print(f"- skipped: {why}")
    print("\n(differs: deadlines at another instant with business time in between, out of "
          f"{len(starts)} per row; equiv.: the same business time, a closing time vs the next opening)")
    print("\ntargets:")
    print(f"  {'met    ' if worst <= 2e-6 else 'NOT met'}  a deadline in <= 2 us at any horizon (worst row {fmt_us(worst)} us)")
    if ratios:
        print(f"  {'met    ' if min(ratios) >= 25 else 'NOT met'}  >= 25x pandas (lowest row {min(ratios):.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
