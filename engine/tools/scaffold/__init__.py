"""`slapolicy init DIR --id ID`: a policy repository of one's own, ready to check, lint and test.

The templates are package data (files/): one small policy (sources, an assumption, a calendar,
tiers, targets) that uses a topic and a field of the repository's vocabulary.yaml, its test cases,
the example regulation it encodes, a README, a pre-commit configuration using slapolicy's hooks,
and a GitHub Actions workflow (check, lint, test; on a pull request the diff's Markdown impact as a
comment). The editor schemas go to schemas/, where the files' `$schema` lines point.

The test cases' instants are written in the policy's time zone on a Wednesday and Thursday that
the calendar keeps as plain working days (09:00-18:00): the first from 2026-03-11 on that is no
public holiday of --holidays (and no shortened day), so the expectations hold for any zone and country.
"""
from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

from slapolicy.language.diagnostics import InputError

# template -> file written (relative to DIR); {{id}} in a name is the policy id
FILES = {
    "policy.yaml": "{{id}}.yaml",
    "tests.yaml": "{{id}}.tests.yaml",
    "vocabulary.yaml": "vocabulary.yaml",
    "REGULATION.md": "REGULATION.md",
    "README.md": "README.md",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
    "policies.yml": ".github/workflows/policies.yml",
}
SCHEMAS = ("policy", "vocabulary", "ticket")
_ID = re.compile(r"^[a-z][a-z0-9_\-]*$")
_FIELD = re.compile(r"\{\{([a-z_0-9]+)\}\}")


def _working_days(timezone: str, holidays: str):
    """(wednesday, thursday): the first such pair from 2026-03-11 that the calendar keeps at 09:00-18:00."""
    from slapolicy.calendar import Calendar, CalendarError

    try:
        cal = Calendar.from_spec({"week": {"mon-fri": "09:00-18:00"}, "holidays": holidays}, default_timezone=timezone)
    except CalendarError as exc:
        raise InputError("invalid-parameter", f"--holidays: {exc}", "holidays") from None
    import zoneinfo

    tz = zoneinfo.ZoneInfo(timezone)

    def plain(day):
        at = lambda h, m: dt.datetime.combine(day, dt.time(h, m), tzinfo=tz)  # noqa: E731
        return (cal.is_open(at(9, 0)) and cal.is_open(at(17, 59)) and not cal.is_open(at(8, 59))
                and not cal.is_open(at(18, 0)))

    day = dt.date(2026, 3, 11)
    for _ in range(520):
        if plain(day) and plain(day + dt.timedelta(days=1)):
            return day, day + dt.timedelta(days=1)
        day += dt.timedelta(days=7)
    raise InputError("invalid-parameter", f"--holidays {holidays}: no plain working Wednesday in ten years", "holidays")


def fields(policy_id: str, timezone: str, holidays: str) -> dict:
    import zoneinfo

    from slapolicy import __version__

    if not _ID.match(policy_id):
        raise InputError("invalid-parameter", f"--id: {policy_id!r} is not a policy id (lower case letters, digits, "
                         "'_' and '-', starting with a letter)", "id")
    try:
        tz = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError("invalid-parameter", f"--timezone: {timezone!r} is not an IANA time zone", "timezone") from None
    wed, thu = _working_days(timezone, holidays)

    def local(day, hour):
        return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=tz).isoformat()

    return {"id": policy_id, "title": policy_id.replace("-", " ").replace("_", " ").title(), "timezone": timezone,
            "holidays": holidays, "version": __version__, "wednesday": wed.isoformat(),
            "wed_10": local(wed, 10), "wed_12": local(wed, 12), "wed_17": local(wed, 17), "thu_16": local(thu, 16)}


def render(text: str, values: dict) -> str:
    return _FIELD.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def init(directory, policy_id: str, timezone: str = "UTC", holidays: str = "none") -> list[Path]:
    """Write the repository into `directory` (created; its files must not exist yet); the files written."""
    from slapolicy.language.schema import schema_json

    values = fields(policy_id, timezone, holidays)
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise InputError("invalid-parameter", f"'{directory}' exists and is not a directory", "dir")
    targets = {root / render(name, values): template for template, name in FILES.items()}
    schema_files = {root / "schemas" / f"{name}.schema.json": name for name in SCHEMAS}
    existing = [str(p) for p in list(targets) + list(schema_files) if p.exists()]
    if existing:
        raise InputError("invalid-parameter", f"'{directory}' already has {', '.join(existing)}: nothing written", "dir")
    templates = resources.files("slapolicy.tools.scaffold").joinpath("files")
    written = []
    for path, template in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(templates.joinpath(template).read_text("utf-8"), values), "utf-8")
        written.append(path)
    import json

    for path, name in schema_files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema_json(name), ensure_ascii=False, indent=2) + "\n", "utf-8")
        written.append(path)
    return written
