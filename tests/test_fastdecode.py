"""Tickets decoded and validated in one step (msgspec structs generated from the JSON Schema) get the same
verdict and the same normalised ticket as the reference (json parse, then jsonschema)."""
import json

import pytest
from hypothesis import given, settings
from test_tickets import ticket as tickets
from slapolicy.decide.fastdecode import Invalid
from slapolicy.decide.tickets import _fast_decoder, parse_ticket, validate_ticket
from slapolicy.language.diagnostics import TicketError

pytest.importorskip("msgspec")


def _verdict(fn, arg):
    try:
        return "ok", fn(arg)
    except TicketError as exc:
        return "refused", sorted(p[0] for p in exc.problems) if hasattr(exc, "problems") else None


@settings(max_examples=600, deadline=None)
@given(tickets)
def test_one_step_decoding_agrees_with_the_schema(obj):
    data = json.dumps(obj).encode("utf-8")
    fast, reference = _verdict(parse_ticket, data), _verdict(validate_ticket, obj)
    assert fast[0] == reference[0]
    if fast[0] == "ok":
        assert fast[1] == reference[1]
    try:  # the one-step decoder alone never accepts what the schema refuses
        _fast_decoder()(data)
    except Invalid:
        return
    assert reference[0] == "ok"


def test_the_one_step_decoder_takes_valid_tickets():
    from slapolicy.api import load_policy
    from slapolicy.tools.corpus import generate

    decode = _fast_decoder()
    assert decode is not None
    for t in generate(load_policy("bitrix-inc"), 300, 2):
        assert decode(json.dumps(t).encode("utf-8")) is not None  # no fallback for valid tickets
    with pytest.raises(Invalid):
        decode(b'{"id": "T-1"}')
    with pytest.raises(json.JSONDecodeError) as exc:  # syntax errors: the standard library's message
        parse_ticket(b'{"id": "T-1",')
    assert exc.value.colno == 14
