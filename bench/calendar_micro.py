"""Micro-benchmark of slapolicy.calendar: microseconds per deadline (Calendar.add) for 1, 24, 40 and
216 business hours on two calendars, from starts spread over 2025-2026 (the per-year index warm).

    python bench/calendar_micro.py [--n 20000]

A script that prints numbers, never a timed test.
"""
import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slapolicy.calendar import Calendar, Target  # noqa: E402

CALENDARS = {
    "Kyiv Mon-Fri 09-20, Sat-Sun 09-18, UA": {
        "timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00", "sat-sun": "09:00-18:00"}, "holidays": "UA"},
    "Moscow Mon-Fri 08-20, Sat-Sun 09-18, RU 09-18": {
        "timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"},
        "holidays": "RU", "holiday_hours": "09:00-18:00"},
}
HOURS = (1, 24, 40, 216)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="deadlines per figure")
    ap.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    args = ap.parse_args()
    rng = random.Random(7)
    base = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    starts = [base + dt.timedelta(seconds=rng.randrange(0, 730 * 86400)) for _ in range(args.n)]
    print(f"us per deadline (Calendar.add, best of {args.repeat} x {args.n}, starts over 2025-2026)")
    print(f"{'calendar':48s}" + "".join(f"{f'{h} h':>9s}" for h in HOURS))
    for name, spec in CALENDARS.items():
        cal = Calendar.from_spec(spec)
        row = []
        for hours in HOURS:
            target = Target("business_hours", hours)
            for s in starts[:200]:  # warm the per-year index
                cal.add(s, target)
            add = cal.add
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                for s in starts:
                    add(s, target)
                best = min(best, time.perf_counter() - t)
            row.append(best / len(starts) * 1e6)
        print(f"{name:48s}" + "".join(f"{us:9.2f}" for us in row))
    loop = min(_empty_loop(starts) for _ in range(args.repeat)) / len(starts) * 1e6
    print(f"(the bare loop costs {loop:.2f} us per item)")


def _empty_loop(starts):
    t = time.perf_counter()
    for s in starts:
        pass
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
