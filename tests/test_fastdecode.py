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


LIMIT_CASES = [  # (what, the ticket's extra fields, the code the reference path gives)
    ("a string of 100,001 characters", {"sender_email": "é" * 100_001}, "input-string-too-long"),
    ("an event's note of 100,001 characters",
     {"events": [{"type": "agent_replied", "at": "2026-03-10T12:00:00Z", "note": "n" * 100_001}]},
     "input-string-too-long"),
]


@pytest.mark.parametrize("what,extra,code", LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_the_one_step_decoder_refuses_what_is_beyond_an_input_limit(what, extra, code):
    """the limits are part of the decoder's types (no walk of the decoded ticket): beyond one, the reference
    path answers, with the limit's code"""
    from conftest import BASE_TICKET
    from slapolicy.language.diagnostics import InputError

    data = json.dumps(dict(BASE_TICKET, **extra), ensure_ascii=False).encode("utf-8")
    with pytest.raises(Invalid):
        _fast_decoder()(data)
    with pytest.raises(InputError) as exc:
        parse_ticket(data)
    assert exc.value.code == code
    at_limit = json.dumps(dict(BASE_TICKET, sender_email="é" * 100_000), ensure_ascii=False).encode("utf-8")
    assert _fast_decoder()(at_limit)["sender_email"] == "é" * 100_000


def test_the_one_step_decoder_leaves_an_integer_beyond_the_limit_to_the_reference():
    from conftest import BASE_TICKET

    decode = _fast_decoder()
    assert decode(json.dumps(dict(BASE_TICKET, problems_count=10 ** 99)).encode())["problems_count"] == 10 ** 99
    huge = json.dumps(dict(BASE_TICKET, problems_count=10 ** 100)).encode()
    with pytest.raises(Invalid):
        decode(huge)
    from slapolicy.decide.jsonio import loads
    from slapolicy.language.diagnostics import InputError

    for read in (parse_ticket, lambda data: validate_ticket(loads(data))):  # the reference reader's verdict
        with pytest.raises(InputError) as refused:
            read(huge)
        assert refused.value.code == "input-number-too-large"


def test_the_timestamp_shapes_get_the_schemas_verdict_at_every_character():
    """the decoder proves the two common date-time shapes without the pattern's search (fastdecode.RFC3339):
    every character of each shape replaced by each of a set of others (digits, non-ASCII digits, the
    separators, letters) gets the reference's verdict and, when valid, the same instant"""
    from conftest import BASE_TICKET

    decode = _fast_decoder()
    chars = "09Zz+-:Tt .,a\n\u0663\uff11\u00e9"
    seen = {"ok": 0, "refused": 0}
    for base in ("2026-03-10T11:00:00+02:00", "2026-03-10t11:00:00z", "2026-03-10T11:00:00Z", "2026-03-10T11:00:00-00:30"):
        texts = {base} | {base[:i] + c + base[i + 1:] for i in range(len(base)) for c in chars}
        texts |= {base[:i] + base[i + 1:] for i in range(len(base))} | {base + "\n", base[:-1]}
        for text in sorted(texts):
            obj = dict(BASE_TICKET, created_at=text)
            reference = _verdict(validate_ticket, obj)
            seen[reference[0]] += 1
            try:
                fast = "ok", decode(json.dumps(obj).encode("utf-8"))
            except Invalid:
                fast = "refused", None
            assert fast[0] == reference[0], text
            if fast[0] == "ok":
                assert fast[1]["created_at"] == reference[1]["created_at"], text
    assert seen["ok"] > 50 and seen["refused"] > 500
