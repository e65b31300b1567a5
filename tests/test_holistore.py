"""The stored holidays (slapolicy.calendar.holistore, filled through the compile cache): a warm evaluate of a policy
with a country calendar does not import the `holidays` package and decides as the package does; the stored years
are the package's; a corrupted or stale (another package version) file is ignored and rebuilt; a year not
stored is computed from the package and stored."""
import datetime as dt
import json
import os
from pathlib import Path

import holidays
import pytest
from startprobe import run_cli

from slapolicy.calendar import Calendar, CalendarError
from slapolicy.calendar.breakdown import calendar_days
from slapolicy.calendar.holistore import HolidayStore, package_stamp

ROOT = Path(__file__).resolve().parents[1]


# tickets whose deadlines run over public holidays and into the next year (the breakdown names them), one of a year
# older than those the entry's store fills; bitrix-ua's only deadline with a target counts 24x7, but its Ukrainian
# calendar is built all the same
_TICKETS = {
    "advantshop": {**json.loads((ROOT / "samples" / "advantshop.json").read_text()),
                   "created_at": "2026-12-30T19:00:00+03:00"},
    "procrm-b24": {**json.loads((ROOT / "samples" / "procrm-b24.json").read_text()),
                   "created_at": "2021-12-31T16:30:00+02:00"},
    "bitrix-ua": json.loads((ROOT / "samples" / "bitrix-ua.json").read_text()),
}
_COUNTRY = {"advantshop": "RU", "procrm-b24": "UA", "bitrix-ua": "UA"}


def _evaluate(policy, ticket_file, env, *flags):
    run = run_cli(["evaluate", *flags, "--policy", policy, str(ticket_file)], env, ("holidays",))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), run.stderr


@pytest.fixture
def env(tmp_path):
    env = {**os.environ, "SLAPOLICY_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("SLAPOLICY_NO_CACHE", None)
    return env


def _ticket(tmp_path, policy):
    path = tmp_path / f"{policy}.json"
    path.write_text(json.dumps(_TICKETS[policy]))
    return path


def _uncached(policy, path, *flags):
    env = {**os.environ, "SLAPOLICY_NO_CACHE": "1"}
    return _evaluate(policy, path, env, *flags)


@pytest.mark.parametrize("policy", sorted(_TICKETS))
def test_a_warm_evaluate_imports_no_holidays_and_decides_as_the_package(tmp_path, env, policy):
    ticket = _ticket(tmp_path, policy)
    reference, imported = _uncached(policy, ticket)
    assert "holidays" in imported.split()  # without the cache the package answers
    named = [d["name"] for deadline in reference["deadlines"].values() if isinstance(deadline, dict)
             and deadline.get("breakdown") for d in deadline["breakdown"]["days"] if d.get("kind") == "holiday"]
    assert all(named) and bool(named) == (policy != "bitrix-ua")  # (the ticket's breakdown names holidays)
    cold, _ = _evaluate(policy, ticket, env)
    assert sorted(p.name for p in (tmp_path / "cache").glob("holidays-*.json")) == [Path(HolidayStore("x")._path(_COUNTRY[policy])).name]
    for flags in ((), ("--no-explain",)):
        warm, imported = _evaluate(policy, ticket, env, *flags)
        assert imported.split() == []
        assert warm == (cold if not flags else _uncached(policy, ticket, *flags)[0])
    assert cold == reference


def _package_year(country, year):
    h = holidays.country_holidays(country, years=year)
    named = h
    if "en_US" in (getattr(h, "supported_languages", ()) or ()):
        named = holidays.country_holidays(country, years=year, language="en_US")
    return set(h), set(getattr(h, "weekend_workdays", ()) or ()), dict(named.items())


@pytest.mark.parametrize("country", ["RU", "UA", "DE", "US"])
def test_the_stored_years_are_the_packages(tmp_path, country):
    years = range(dt.date.today().year - 8, dt.date.today().year + 3)
    HolidayStore(str(tmp_path)).fill(country, years)
    again = HolidayStore(str(tmp_path))  # a new process: read from the file
    assert again.known(country)
    for year in years:
        off, working, names = again.year(country, year)
        assert (set(off), set(working), names) == _package_year(country, year), year
    assert again.names(country, (years[0], years[1])) == {**_package_year(country, years[0])[2],
                                                           **_package_year(country, years[1])[2]}


@pytest.mark.parametrize("spec", [
    {"timezone": "Europe/Moscow", "week": {"mon-fri": "08:00-20:00", "sat-sun": "09:00-18:00"}, "holidays": "RU",
     "holiday_hours": "09:00-18:00", "workday_hours": "08:00-20:00"},
    {"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-20:00"}, "holidays": "UA",
     "overrides": {"2026-12-31": "closed"}},
])
def test_a_stored_calendar_is_the_packages_day_by_day(tmp_path, spec):
    store = HolidayStore(str(tmp_path))
    stored, package = Calendar.from_spec(spec, holiday_source=store), Calendar.from_spec(spec)
    first, last = dt.date(2020, 1, 1), dt.date(2027, 12, 31)
    assert calendar_days(stored, first, last) == calendar_days(package, first, last)
    start = dt.datetime(2024, 12, 28, 17, tzinfo=dt.timezone.utc)
    from slapolicy.calendar import parse_target
    for text in ("3 business hours", "5 business days", "1.5 business days", "40 business hours"):
        assert stored.add(start, parse_target(text)) == package.add(start, parse_target(text)), text


def test_a_year_not_stored_is_computed_from_the_package_and_stored(tmp_path):
    store = HolidayStore(str(tmp_path))
    year = dt.date.today().year
    store.fill("RU", (year,))
    spec = {"timezone": "Europe/Moscow", "week": {"mon-fri": "09:00-18:00"}, "holidays": "RU"}
    cal = Calendar.from_spec(spec, holiday_source=HolidayStore(str(tmp_path)))
    later = dt.date(year + 5, 1, 1)  # the New Year holidays of a year not stored
    assert [d["hours"] for d in calendar_days(cal, later, later + dt.timedelta(days=10))] == [
        d["hours"] for d in calendar_days(Calendar.from_spec(spec), later, later + dt.timedelta(days=10))]
    stored = json.loads(Path(HolidayStore(str(tmp_path))._path("RU")).read_text())
    assert sorted(stored["years"]) == [str(year), str(year + 5)]
    assert set(stored["years"][str(year + 5)]["off"]) == {d.isoformat() for d in _package_year("RU", year + 5)[0]}


def test_an_unknown_country_is_still_an_error_with_a_store(tmp_path):
    with pytest.raises(CalendarError, match="not a country code"):
        Calendar.from_spec({"timezone": "UTC", "week": "24x7", "holidays": "XX"},
                           holiday_source=HolidayStore(str(tmp_path)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "stale", "other-country", "bad-date"])
def test_a_corrupted_or_stale_file_is_ignored_and_rebuilt(tmp_path, env, damage):
    ticket = _ticket(tmp_path, "advantshop")
    cold, _ = _evaluate("advantshop", ticket, env)
    path = Path(HolidayStore(str(tmp_path / "cache"))._path("RU"))
    good = json.loads(path.read_text())
    fake = {**good, "years": {y: {"off": [], "working": [], "names": {}} for y in good["years"]}}  # no holidays
    text = {"garbage": "\x00not json", "truncated": path.read_text()[:200],
            "stale": json.dumps({**fake, "package": "0.1 /elsewhere/holidays"}),
            "other-country": json.dumps({**fake, "country": "UA"}),
            "bad-date": json.dumps({**good, "years": {"2026": {"off": ["2026-13-01"], "working": [], "names": {}}}}),
            }[damage]
    path.write_text(text)
    warm, imported = _evaluate("advantshop", ticket, env)
    assert warm == cold  # as the package decides (the stale file's empty years are not used)
    assert imported.split()[:1] == ["holidays"]  # the package computed the years again ...
    rebuilt = json.loads(path.read_text())  # ... and they are stored again, for this package
    assert rebuilt["package"] == package_stamp() and rebuilt["country"] == "RU"
    assert rebuilt["years"]["2026"] == good["years"]["2026"]
    again, imported = _evaluate("advantshop", ticket, env)
    assert again == cold and imported.split() == []


def test_no_cache_stores_nothing(tmp_path):
    env = {**os.environ, "SLAPOLICY_CACHE_DIR": str(tmp_path / "cache"), "SLAPOLICY_NO_CACHE": "1"}
    _evaluate("advantshop", _ticket(tmp_path, "advantshop"), env)
    assert not list(tmp_path.glob("cache/holidays-*"))


def test_two_installs_of_the_package_keep_their_own_files(tmp_path, monkeypatch):
    """two venvs with different `holidays` installs and one cache directory: each reads and keeps its own file,
    so neither rewrites the other's at every start"""
    from slapolicy.calendar import holistore

    year = dt.date.today().year
    files = {}
    for stamp in ("0.1 /venv-a/holidays", "0.2 /venv-b/holidays"):
        monkeypatch.setitem(holistore._stamp_cache, "stamp", stamp)
        HolidayStore(str(tmp_path)).fill("RU", (year,))
        files[stamp] = Path(HolidayStore(str(tmp_path))._path("RU"))
    assert len(set(files.values())) == 2 and all(f.is_file() for f in files.values())
    before = {f: f.stat().st_mtime_ns for f in files.values()}
    for stamp, path in files.items():
        monkeypatch.setitem(holistore._stamp_cache, "stamp", stamp)
        store = HolidayStore(str(tmp_path))
        assert store.known("RU") and json.loads(path.read_text())["package"] == stamp
        store.fill("RU", (year,))  # stored already: nothing written
    assert {f: f.stat().st_mtime_ns for f in files.values()} == before
