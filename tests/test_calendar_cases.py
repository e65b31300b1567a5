"""Every business-time edge case of ../shared/acceptance/calendar-cases.yaml, through engine.calendar."""
import datetime as dt

import pytest
import yaml

from engine.calendar import Calendar, Target

from conftest import SHARED

CASES_FILE = SHARED / "acceptance" / "calendar-cases.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text("utf-8")) if CASES_FILE.exists() else []


def instant(text):
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


@pytest.mark.skipif(not CASES, reason=f"{CASES_FILE} not found")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_calendar_case(case):
    calendar = Calendar.from_spec(case["calendar"])
    pauses = [(instant(a), instant(b)) for a, b in case.get("pauses") or []]
    due = calendar.add(instant(case["start"]), Target.from_mapping(case["target"]), pauses)
    assert due == instant(case["due"])


OWN = yaml.safe_load((__import__("pathlib").Path(__file__).parent / "cases" / "calendar.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", OWN, ids=[c["name"] for c in OWN])
def test_own_calendar_case(case):
    from engine.calendar import CalendarError

    if "error" in case:
        with pytest.raises(CalendarError) as info:
            Calendar.from_spec(case["calendar"], default_timezone="Europe/Kyiv")
        assert ".".join(info.value.key_path) == case["error"]
        return
    calendar = Calendar.from_spec(case["calendar"])
    pauses = [(instant(a), instant(b)) for a, b in case.get("pauses") or []]
    assert calendar.add(instant(case["start"]), Target.from_mapping(case["target"]), pauses) == instant(case["due"])
