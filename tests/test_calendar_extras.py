"""Calendars beyond the business-time engine: holidays from an ICS file, how far the holidays package's
data goes (and lint's warning about it), the new keys through check and the policy schema."""
import datetime as dt
from pathlib import Path

import holidays
import pytest
from slapolicy.calendar import Calendar, CalendarError, Target, holiday_data_limit
from slapolicy.calendar.ics import IcsHolidays
from slapolicy.tools.lint import lint_text

HERE = Path(__file__).resolve().parent
ICS = HERE / "cases" / "holidays.ics"
SHOP = HERE / "fixtures" / "tools" / "shop.yaml"


def ics(*events, head="BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n"):
    body = "".join(f"BEGIN:VEVENT\nUID:{i}@t\nDTSTAMP:20260101T000000Z\n{e.strip()}\nEND:VEVENT\n"
                   for i, e in enumerate(events))
    return (head + body + "END:VCALENDAR\n").replace("\n", "\r\n")


def test_ics_file_days():
    h = IcsHolidays.load(ICS.name, ICS.parent)
    assert h.dates(2025) == {dt.date(2025, 1, 1), dt.date(2025, 1, 2)}  # DTEND is exclusive
    assert dt.date(2028, 11, 6) in h.dates(2028) and dt.date(2028, 11, 7) not in h.dates(2028)
    assert dt.date(2028, 11, 8) not in h.dates(2028)  # STATUS:CANCELLED
    assert [dt.date(y, 3, 8) in h.dates(y) for y in (2026, 2027, 2029, 2030)] == [False, True, True, False]  # COUNT=3
    assert h.dates(2131) == {dt.date(2131, 1, 1), dt.date(2131, 1, 2)}  # a yearly rule without end
    assert h.names(2028)[dt.date(2028, 11, 6)].startswith("Unity Day")


def test_ics_exdate_until_duration_and_a_span_over_new_year():
    h = IcsHolidays.parse(ics(
        "SUMMARY:Founders\nDTSTART;VALUE=DATE:20240510\nRRULE:FREQ=YEARLY;UNTIL=20270510T000000Z\n"
        "EXDATE;VALUE=DATE:20250510",
        "SUMMARY:Winter break\nDTSTART;VALUE=DATE:20261230\nDURATION:P4D"))
    assert [dt.date(y, 5, 10) in h.dates(y) for y in (2024, 2025, 2026, 2027, 2028)] == [True, False, True, True, False]
    assert {dt.date(2026, 12, 30), dt.date(2026, 12, 31)} <= h.dates(2026)
    assert {dt.date(2027, 1, 1), dt.date(2027, 1, 2)} <= h.dates(2027) and dt.date(2027, 1, 3) not in h.dates(2027)


@pytest.mark.parametrize("event, words", [
    ("SUMMARY:Lunch\nDTSTART:20260101T120000Z\nDTEND:20260101T130000Z", "has a time of day"),
    ("SUMMARY:Backwards\nDTSTART;VALUE=DATE:20260105\nDTEND;VALUE=DATE:20260101", "is not after"),
    ("SUMMARY:Nothing", "has no DTSTART"),
    ("SUMMARY:Half\nDTSTART;VALUE=DATE:20260105\nDURATION:PT12H", "whole number of days"),
    ("SUMMARY:Odd rule\nDTSTART;VALUE=DATE:20260105\nRRULE:FREQ=FORTNIGHTLY", "RRULE"),
])
def test_ics_refuses_what_is_not_a_day_off(event, words):
    with pytest.raises(CalendarError) as info:
        IcsHolidays.parse(ics(event), "bad.ics")
    assert words in str(info.value) and info.value.key_path == ("holidays_file",)


def test_ics_not_a_calendar_and_missing_file(tmp_path):
    for raw in ("hello", "BEGIN:VEVENT\r\nEND:VEVENT\r\n"):
        with pytest.raises(CalendarError):
            IcsHolidays.parse(raw, "x.ics")
    with pytest.raises(CalendarError) as info:
        Calendar.from_spec({"week": {"mon-fri": "09:00-18:00"}, "holidays_file": "none.ics"}, "UTC", tmp_path)
    assert "policy's folder" in str(info.value)


def test_holidays_file_in_a_calendar_and_describe():
    cal = Calendar.from_spec({"timezone": "Europe/Moscow", "week": {"mon-fri": "09:00-18:00"},
                              "holidays_file": ICS.name}, base_dir=ICS.parent)
    assert not cal.always
    assert cal.day_hours(dt.date(2028, 11, 6)) == ()
    assert cal.day_hours(dt.date(2028, 11, 7)) == ((540, 1080),)
    start = dt.datetime(2028, 11, 3, 17, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert cal.add(start, Target("business_hours", 2)) == dt.datetime(2028, 11, 7, 7, tzinfo=dt.timezone.utc)


def test_overnight_hours_are_described_as_written():
    cal = Calendar.from_spec({"week": {"mon-fri": "22:00-06:00", "sat": "10:00-14:00"}}, "UTC")
    assert cal.describe() == "Mon-Fri 22:00-06:00, Sat 10:00-14:00 (UTC)"
    assert cal.day_hours(dt.date(2026, 3, 10)) == ((1320, 1800),)


def test_the_russian_data_limit_is_the_last_year_with_decreed_days():
    limit = holiday_data_limit("RU")
    assert limit is not None and limit.country == "RU"
    last = holiday_data_limit("RU").last_year
    decreed = holidays.country_holidays("RU", years=last)
    assert getattr(decreed, "weekend_workdays", None) or any("substitut" in n.lower() or "выходной" in n.lower()
                                                                 for n in decreed.values())
    after = holidays.country_holidays("RU", years=last + 1)
    assert not getattr(after, "weekend_workdays", None)
    assert str(last) in limit.message and str(last + 1) in limit.message
    if last == 2027:  # the example of issue 15, while the package is at 2027
        assert "Mon 2028-11-06" in limit.message
        assert dt.date(2028, 11, 6) not in after  # the day the data treats as a working day


def test_the_ukrainian_limit_is_the_first_year_without_holidays():
    limit = holiday_data_limit("UA")
    assert limit is not None
    assert holidays.country_holidays("UA", years=limit.last_year)
    assert not holidays.country_holidays("UA", years=limit.last_year + 1)
    assert f"from {limit.last_year + 1} on" in limit.message and "martial law" in limit.message
    assert holiday_data_limit("DE") is None and holiday_data_limit(None) is None


def _shop(calendar_lines: str) -> str:
    text = SHOP.read_text("utf-8")
    old = '    week: {mon-fri: "09:00-18:00", sat: "10:00-14:00"}\n    holidays: RU\n'
    assert old in text
    return text.replace(old, calendar_lines)


def test_lint_warns_with_the_year_and_stops_when_the_calendar_supplies_the_days():
    ru = lint_text(SHOP.read_text("utf-8"), str(SHOP))
    found = [f for f in ru.findings if f.code == "holiday-data-limit"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert str(holiday_data_limit("RU").last_year + 1) in found[0].message
    assert found[0].span.line == 10  # the `holidays: RU` line
    ua = lint_text(_shop('    week: {mon-fri: "09:00-18:00", sat: "10:00-14:00"}\n    holidays: UA\n'), str(SHOP))
    assert any(f.code == "holiday-data-limit" and "martial law" in f.message for f in ua.findings)
    later = holiday_data_limit("RU").last_year + 1
    covered = lint_text(_shop('    week: {mon-fri: "09:00-18:00", sat: "10:00-14:00"}\n    holidays: RU\n'
                              f'    overrides: {{"{later}-11-06": closed}}\n'), str(SHOP))
    assert not [f for f in covered.findings if f.code == "holiday-data-limit"]
    none = lint_text(_shop('    week: {mon-fri: "09:00-18:00", sat: "10:00-14:00"}\n    holidays: DE\n'), str(SHOP))
    assert not [f for f in none.findings if f.code == "holiday-data-limit"]


def test_check_reads_holidays_file_beside_the_policy_and_the_schema_knows_the_keys(tmp_path):
    from slapolicy.api import _compile_text, check_file

    (tmp_path / "days.ics").write_bytes(ICS.read_bytes())
    text = _shop('    week: {mon-fri: "22:00-06:00", sat: "10:00-14:00"}\n    holidays: RU\n'
                 '    holidays_file: days.ics\n    holiday_hours: "10:00-12:00"\n'
                 '    holiday_hours_on_closed_days: closed\n')
    policy = tmp_path / "shop.yaml"
    policy.write_text(text, "utf-8")
    assert not check_file(policy).errors, check_file(policy).diagnostics
    compiled = _compile_text(text, str(policy))
    cal = next(d.calendar for d in compiled.tiers["partner"].deadlines if d.calendar_name == "support_hours")
    assert cal.holiday_file is not None and not cal.holidays_open_closed_days
    assert cal.day_hours(dt.date(2028, 11, 6)) == ((600, 720),)  # from the file, with holiday_hours
    assert cal.day_hours(dt.date(2027, 1, 3)) == ()  # a Sunday holiday stays closed (the week closes sundays)
    assert cal.day_hours(dt.date(2027, 1, 2)) == ((600, 720),)  # a Saturday holiday: saturdays are open
    (tmp_path / "days.ics").unlink()
    errors = check_file(policy).errors
    assert [d.code for d in errors] == ["bad-calendar"] and "holidays_file" in errors[0].message
    assert errors[0].span.line == text.splitlines().index("    holidays_file: days.ics") + 1
    policy.write_text(text.replace("on_closed_days: closed", "on_closed_days: never"), "utf-8")
    errors = check_file(policy).errors
    assert errors and all("holiday_hours_on_closed_days" in d.message or d.code.startswith("schema") for d in errors)
