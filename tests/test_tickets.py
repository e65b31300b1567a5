"""Ticket validation: the fast path never accepts what the JSON Schema refuses, and normalises alike."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from slapolicy.decide.tickets import _fast_validator, _Invalid, _validate_slow, validate_ticket
from slapolicy.language.schema import validator

SEGMENTS = ["partner", "commercial", "non_commercial", "demo", "vip", ""]
CHANNELS = ["portal", "chat", "email", "skype", "fax"]
TIMESTAMPS = ["2026-03-10T11:00:00+02:00", "2026-03-10T11:00:00Z", "2026-03-10T11:00:00", "2026-02-30T11:00:00Z",
              "2026-03-10 11:00:00+02:00", "yesterday", "2026-03-10T11:00+02:00"]
DATES = ["2025-09-01", "2025-13-01", "2025-9-1", "2025-09-01T00:00:00Z"]
values = st.one_of(st.none(), st.booleans(), st.integers(-2, 6), st.floats(0, 5), st.sampled_from(["", "x", "BMP", "bmp"]))

ticket = st.fixed_dictionaries(
    {"id": st.one_of(st.just("T-1"), st.just(""), st.integers()),
     "created_at": st.sampled_from(TIMESTAMPS),
     "channel": st.sampled_from(CHANNELS),
     "customer": st.fixed_dictionaries({"segment": st.sampled_from(SEGMENTS)},
                                       optional={"license_active": values, "license_purchased_at": st.sampled_from(DATES),
                                                 "edition": st.sampled_from(["enterprise", "Enterprise", ""]),
                                                 "coupon": st.fixed_dictionaries({}, optional={"issued_at": st.sampled_from(DATES), "used": values}),
                                                 "segmnt": values})},
    optional={"severity": values, "problems_count": values, "reproducible": values, "topic": st.sampled_from(["billing", "biling", "meeting"]),
              "attachments": st.lists(st.fixed_dictionaries({"format": st.sampled_from(["png", "BMP", "zip"])}, optional={"name": st.just("a")}), max_size=2),
              "form": st.fixed_dictionaries({}, optional={"phone": st.sampled_from(["+380", 5]), "fax": st.just("1")}),
              "topc": st.just("billing"),
              "events": st.lists(st.fixed_dictionaries(
                  {"type": st.sampled_from(["agent_replied", "status_changed", "escalated", "severity_changed", "nope"]),
                   "at": st.sampled_from(TIMESTAMPS)},
                  optional={"status": st.sampled_from(["open", "Open"]), "to": st.sampled_from(["development", "ceo"]),
                            "severity": values, "extra": st.just(1)}), max_size=3)})


@settings(max_examples=400, deadline=None)
@given(ticket)
def test_fast_path_agrees_with_the_schema(obj):
    try:
        fast = _fast_validator()(obj)
    except _Invalid:
        fast = None
    if fast is not None:
        assert validator("ticket").is_valid(obj), obj
        assert fast == _validate_slow(obj)


def test_normalises_timestamps_to_utc_and_dates():
    t = validate_ticket({"id": "T", "created_at": "2026-03-10T11:00:00+02:00", "channel": "portal",
                         "customer": {"segment": "partner", "license_purchased_at": "2025-09-01"}})
    assert t["created_at"] == dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)
    assert t["customer"]["license_purchased_at"] == dt.date(2025, 9, 1)
