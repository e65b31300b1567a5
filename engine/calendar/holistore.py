"""Public holidays kept on disk (`HolidayStore`), so that a start decides without importing the `holidays` package.

Importing `holidays` and computing one year of a country (Russia's production calendar) costs a one-ticket
start about 500 M instructions, more than the rest of the decision. The package stays the source of truth:
what a calendar needs of it, per country and year, is what `package_year` computes (exactly what the
calendar and the deadline breakdown asked the package for before: `country_holidays(code, years=year)`'s
dates and `weekend_workdays`, and the holidays' names, in English when the package has them), and a store
keeps those years in one small JSON file per country:

    <directory>/holidays-<CODE>-<crc32 of the package stamp, 8 hex digits>.json
    {"format": 1, "package": "<holidays version> <its folder>", "country": "RU",
     "years": {"2026": {"off": ["2026-01-01", ...], "working": [...], "names": {"2026-01-01": "New Year's Day"}}}}

A year the file lacks is computed from the package when a calendar first asks for it (the package imported
then, as before) and written back, so the next start has it; years beyond `_PERSIST_YEARS` of today are
kept in memory only. The `package` stamp (the version, read from the package's dist-info without importing
it, and where it is installed) must match: an upgrade of `holidays` ignores every stored year and they are
computed again; the stamp's checksum in the file name lets venvs with different `holidays` installs share one
cache directory without rewriting each other's file at every start. A file that does not read (corrupted, another format, another country) is ignored the same
way and rewritten by the next computed year; nothing in it is executed. A file only ever holds a country
the package accepted, so a calendar built with a store takes a country that has a file as valid without
asking the package (`known`).

The directory is the caller's (slapolicy.language.cache gives it, from slapolicy.cachedir: this layer imports
nothing of slapolicy); calendars without a store ask the package directly.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
import zlib

__all__ = ["HolidayStore", "package_year", "package_stamp"]

FORMAT = 1  # bump when what package_year keeps changes (the files of an older format are then ignored)
_PERSIST_YEARS = 30  # years further than this from today are not written to the file
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_EMPTY = frozenset()


def package_year(country: str, year: int) -> tuple:
    """(days off, decree working days, names) of one year of a country, from the `holidays` package: the dates of
    `country_holidays(country, years=year)` (as the calendar has always asked for them: a HolidayBase is not
    kept, since it quietly adds years on lookup), its `weekend_workdays` (a Saturday made a working day by
    decree), and date -> name, in English when the package has it."""
    import holidays

    h = holidays.country_holidays(country, years=year)
    off, working = frozenset(h.keys()), frozenset(getattr(h, "weekend_workdays", ()) or ())
    named = h
    if "en_US" in (getattr(h, "supported_languages", ()) or ()):
        named = holidays.country_holidays(country, years=year, language="en_US")
    return off, working, dict(named.items())


_stamp_cache: dict = {}


def package_stamp() -> str | None:
    """'<version> <folder>' of the installed `holidays` package, found without importing it (importing it is what
    a store saves; importlib.metadata costs a start 60+ ms): the version is read from the name of the
    dist-info directory beside the package, else from importlib.metadata; None when it is not installed."""
    if "stamp" in _stamp_cache:
        return _stamp_cache["stamp"]
    import importlib.util

    stamp = None
    try:
        spec = importlib.util.find_spec("holidays")
    except (ImportError, ValueError):
        spec = None
    locations = list(getattr(spec, "submodule_search_locations", None) or ()) if spec is not None else []
    if locations:
        folder = os.path.abspath(locations[0])
        version = None
        try:
            infos = sorted(name for name in os.listdir(os.path.dirname(folder))
                           if name.startswith("holidays-") and name.endswith(".dist-info"))
        except OSError:
            infos = []
        if len(infos) == 1:
            version = infos[0][len("holidays-"):-len(".dist-info")]
        else:  # an editable or unusual install: ask the metadata (slower, still no import of the package)
            try:
                from importlib.metadata import version as _version

                version = _version("holidays")
            except Exception:  # noqa: BLE001 - no metadata: no stamp, no store
                version = None
        if version:
            stamp = f"{version} {folder}"
    _stamp_cache["stamp"] = stamp
    return stamp


class HolidayStore:
    """The holiday years of the countries calendars use, kept in `directory` (see the module docstring). Shared
    by the calendars of a process (thread-safe); `directory` None keeps them in memory only."""

    __slots__ = ("directory", "_lock", "_years", "_loaded", "_names")

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._years: dict = {}  # country -> {year: (off, working, names)}
        self._loaded: set = set()  # countries whose file has been read (or found missing / unreadable)
        self._names: dict = {}  # (country, years) -> merged names of several years

    # -- the file ---------------------------------------------------------------------------------
    def _path(self, country: str) -> str | None:
        """the country's file for the installed package (None: no directory, no package, or an odd code)"""
        if self.directory is None or not country or len(country) > 24 or not set(country) <= _SAFE:
            return None
        stamp = package_stamp()
        if stamp is None:
            return None
        return os.path.join(self.directory, f"holidays-{country}-{zlib.crc32(stamp.encode()):08x}.json")

    def _load(self, country: str) -> dict:
        """the country's years in memory, read from its file the first time (nothing when it does not read)"""
        years = self._years.get(country)
        if years is not None and country in self._loaded:
            return years
        years = self._years.setdefault(country, {})
        self._loaded.add(country)
        path, stamp = self._path(country), package_stamp()
        if path is None or stamp is None:
            return years
        try:
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
            if entry.get("format") != FORMAT or entry.get("package") != stamp or entry.get("country") != country:
                return years  # another package version (or format): ignored, rewritten by the next year computed
            read = {}
            fromiso = dt.date.fromisoformat
            for key, value in entry["years"].items():
                names = {fromiso(d): str(n) for d, n in value["names"].items()}
                read[int(key)] = (frozenset(map(fromiso, value["off"])), frozenset(map(fromiso, value["working"])),
                                  names)
        except FileNotFoundError:
            return years
        except Exception:  # noqa: BLE001 - corrupted or foreign: ignored, rewritten by the next year computed
            return years
        for year, got in read.items():
            years.setdefault(year, got)
        return years

    def _write(self, country: str, years: dict) -> None:
        path, stamp = self._path(country), package_stamp()
        if path is None or stamp is None:
            return
        today = dt.date.today().year
        kept = {str(y): {"off": sorted(d.isoformat() for d in off), "working": sorted(d.isoformat() for d in working),
                         "names": {d.isoformat(): n for d, n in sorted(names.items())}}
                for y, (off, working, names) in sorted(years.items()) if abs(y - today) <= _PERSIST_YEARS}
        try:
            import tempfile  # (here, not at the top: a start that only reads does not pay for it)

            payload = json.dumps({"format": FORMAT, "package": stamp, "country": country, "years": kept},
                                 ensure_ascii=False, separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".holidays-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(payload)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except (OSError, TypeError, ValueError):
            return

    # -- what calendars ask ---------------------------------------------------------------------------
    def known(self, country: str) -> bool:
        """True when a year of `country` is stored for the installed package: the package accepted the code."""
        with self._lock:
            return bool(self._load(country))

    def year(self, country: str, year: int) -> tuple:
        """(days off, decree working days, names) of one year: stored, or computed from the package and stored."""
        got = self._years.get(country, {}).get(year) if country in self._loaded else None
        if got is not None:
            return got
        return self.fill(country, (year,))[year]

    def fill(self, country: str, years) -> dict:
        """the given years of `country`, those not stored yet computed from the package (one write for them all)"""
        with self._lock:
            stored = self._load(country)
            missing = [y for y in years if y not in stored]
            for y in missing:
                stored[y] = package_year(country, y)  # raises as the package does for a code it does not know
            if missing:
                self._write(country, stored)
            return {y: stored[y] for y in years}

    def names(self, country: str, years) -> dict:
        """date -> holiday name over `years` (read only: shared, not copied)"""
        years = tuple(years)
        if len(years) == 1:
            return self.year(country, years[0])[2]
        got = self._names.get((country, years))
        if got is None:
            got = {}
            for y in years:
                got.update(self.year(country, y)[2])
            self._names[(country, years)] = got
        return got

    def workdays(self, country: str, years) -> frozenset:
        """the decree working days over `years`"""
        out = _EMPTY
        for y in years:
            out = out | self.year(country, y)[1]
        return out
