"""The ticket vocabulary: its JSON Schema, the types the checker sees, validation and normalisation.

`vocabulary()` (slapolicy.language.types) is the type tree of CONTRACT section 2,
`validate_ticket(obj)` returns the ticket with timestamps as aware UTC datetimes and dates as
`date`, or raises TicketError naming every offending field path. A missing optional field stays
missing: it means unknown.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from slapolicy.decide import jsonio
from slapolicy.language.diagnostics import TicketError
from slapolicy.language.schema import describe_error, did_you_mean, schema_json, validator
from slapolicy.language.types import BOOL, DATE, INT, NUMBER, STRING, TIMESTAMP, Type, vocabulary  # noqa: F401

YEARS = (1970, 2200)  # instants outside this range are refused: no support ticket lives there


def _parse_timestamp(text: str) -> dt.datetime:
    if "Z" in text or "z" in text:  # (`in` is no call: most offsets are numeric)
        text = text.replace("Z", "+00:00").replace("z", "+00:00")
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("no UTC offset")
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"outside the years {YEARS[0]}-{YEARS[1]}")
    return value.astimezone(dt.timezone.utc)


def _normalise(value, typ: Type, path: str, problems: list):
    if value is None:
        return None
    if typ.kind == "timestamp" and isinstance(value, str):
        try:
            return _parse_timestamp(value)
        except ValueError as exc:
            reason = f" ({exc})" if "outside" in str(exc) else ""
            problems.append((path, f"{value!r} is not a valid RFC 3339 timestamp with a UTC offset{reason}"))
            return None
    if typ.kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            problems.append((path, f"{value!r} is not a valid date (YYYY-MM-DD)"))
            return None
    if typ.kind == "object" and isinstance(value, dict):
        out = {}
        for key, val in value.items():
            sub = typ.field(key)
            out[key] = _normalise(val, sub, f"{path}.{key}" if path else key, problems) if sub else val
        return out
    if typ.kind == "list" and isinstance(value, list):
        return [_normalise(v, typ.item, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


_TS_RE = None


def _fast_checker(typ: Type, schema: dict):
    """A closure that returns the normalised value, or raises _Invalid; built from the schema once.

    It accepts exactly what the JSON Schema accepts (the schema stays the source of truth: on any
    doubt the slow path runs jsonschema and reports every problem with its field path)."""
    import re

    if "enum" in schema:
        values = frozenset(schema["enum"])

        def enum_check(v):
            if v.__class__ is not str or v not in values:
                raise _Invalid
            return v
        return enum_check
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        checkers = {k: _fast_checker(typ.field(k), sub) for k, sub in props.items()}
        required = tuple(schema.get("required") or ())
        closed = schema.get("additionalProperties") is False
        conditions = []  # (key, value, keys required then): the events' "if type is X then Y is required"
        for part in schema.get("allOf") or ():
            cond, then = part.get("if") or {}, part.get("then") or {}
            props_if = cond.get("properties") or {}
            if set(part) != {"if", "then"} or set(cond) != {"properties"} or set(then) != {"required"} \
                    or len(props_if) != 1 or set(next(iter(props_if.values()))) != {"const"}:
                return None  # another kind of conditional schema: the slow path
            (key, const), = ((k, v["const"]) for k, v in props_if.items())
            conditions.append((key, const, tuple(then["required"])))
        if "if" in schema:
            return None

        def obj_check(v):
            if v.__class__ is not dict:
                raise _Invalid
            for key in required:
                if key not in v:
                    raise _Invalid
            for key, const, needed in conditions:
                if v.get(key) == const and any(n not in v for n in needed):
                    raise _Invalid
            out = {}
            for key, val in v.items():
                check = checkers.get(key)
                if check is None:  # unknown key, or a part only the slow path checks (events)
                    if closed or key in checkers:
                        raise _Invalid
                    out[key] = val
                    continue
                out[key] = check(val)
            return out
        return obj_check
    if kind == "array":
        item = _fast_checker(typ.item, schema.get("items") or {})
        if item is None:
            return None

        def list_check(v):
            if v.__class__ is not list:
                raise _Invalid
            return [item(x) for x in v]
        return list_check
    if kind == "boolean":
        def bool_check(v):
            if v.__class__ is not bool:
                raise _Invalid
            return v
        return bool_check
    if kind == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")

        def int_check(v):
            if v.__class__ is not int or (lo is not None and v < lo) or (hi is not None and v > hi):
                raise _Invalid
            return v
        return int_check
    if kind == "string":
        source = schema.get("pattern")
        pattern = None  # compiled on the first value checked: a ticket has few of the fields that have one
        min_length = schema.get("minLength", 0)
        fmt = schema.get("format")

        def str_check(v):
            nonlocal pattern
            if v.__class__ is not str or len(v) < min_length:
                raise _Invalid
            if source is not None:
                if pattern is None:
                    pattern = re.compile(source)
                if not pattern.search(v):
                    raise _Invalid
            if fmt == "date-time":
                try:
                    return _parse_timestamp(v)
                except ValueError:
                    raise _Invalid from None
            if fmt == "date":
                try:
                    return dt.date.fromisoformat(v)
                except ValueError:
                    raise _Invalid from None
            return v
        return str_check
    return None


class _Invalid(Exception):
    pass


@lru_cache(maxsize=None)
def _fast_validator():
    return _fast_checker(vocabulary(), schema_json("ticket"))


DEFAULTS = {"escalation": "none"}  # CONTRACT section 2: `escalation` is `none` by default


def required_fields() -> tuple:
    """(the field paths a validated ticket always has: required, under required parents; those of them that hold
    a datetime: format date-time), from the ticket schema (the generated code reads them by subscript:
    slapolicy.decide.fastpath, explainscan)"""
    out, instants = set(), set()
    stack = [((), schema_json("ticket"))]
    while stack:
        base, schema = stack.pop()
        for key in schema.get("required") or ():
            path = base + (key,)
            out.add(path)
            sub = (schema.get("properties") or {}).get(key) or {}
            if sub.get("type") == "object":
                stack.append((path, sub))
            if sub.get("format") == "date-time":
                instants.add(path)
    return out, instants


def validate_ticket(obj, vocabulary=None) -> dict:
    """Check a decoded JSON ticket against the vocabulary; return it normalised. `vocabulary` is a policy's
    (CompiledPolicy.vocabulary); None or the contract's own takes the path below, an extended one its own."""
    if vocabulary is not None and vocabulary.key:
        return _validate_extended(obj, vocabulary)
    ticket = None
    if obj.__class__ is dict:
        fast = _fast_validator()
        if fast is not None:
            try:
                ticket = fast(obj)
            except _Invalid:
                pass  # the slow path below names every problem
    if ticket is None:
        return _defaults(_validate_slow(obj))
    return _finish(ticket)


def _finish(ticket: dict) -> dict:
    """what the schema cannot say (events oldest first), and the defaults, of a ticket the fast paths took"""
    if ticket.get("events"):
        problems = _event_order(ticket)
        if problems:
            raise TicketError(problems)
    return _defaults(ticket)


def _defaults(ticket: dict) -> dict:
    for key, value in DEFAULTS.items():
        if key not in ticket:
            ticket[key] = value
    return ticket


@lru_cache(maxsize=None)
def _fast_decoder():
    """JSON bytes -> normalised ticket in one step (slapolicy.decide.fastdecode, msgspec), its defaults
    added, or None"""
    try:
        from slapolicy.decide.fastdecode import decoder
    except ImportError:  # msgspec missing: parse, then validate
        return None
    return decoder(schema_json("ticket"), vocabulary(), _parse_timestamp, _fast_checker, _Invalid, DEFAULTS)


_ONE_STEP = None  # _one_step(), once known (no call a line)


def _one_step():
    """(the one-step decoder, the exception it raises when it cannot vouch for a ticket), or (None, None)"""
    global _ONE_STEP
    decode = _fast_decoder()
    if decode is None:
        _ONE_STEP = (None, None)
        return _ONE_STEP
    from slapolicy.decide.fastdecode import Invalid

    _ONE_STEP = (decode, Invalid)
    return _ONE_STEP


def decode_valid(data, vocabulary=None):
    """One ticket's JSON -> the normalised ticket, decoded and validated in one step, when the one-step
    decoder vouches for it (a valid ticket of the base vocabulary within the input limits); else None, and
    the reference path (parse_ticket's second way) gives the verdict and names every problem."""
    decode, invalid = (_ONE_STEP or _one_step()) if vocabulary is None or not vocabulary.key else (None, None)
    if decode is None or len(data) > jsonio.MAX_DOCUMENT_CHARS:  # (no import here: one costs ~0.6 us a call)
        return None
    try:
        ticket = decode(data)  # within the input limits: they are part of the decoder's types
    except invalid:
        return None
    if ticket.get("events"):  # (the defaults: added by the decoder)
        try:
            _finish(ticket)
        except TicketError:
            return None
    return ticket


def parse_ticket(data, vocabulary=None):
    """One ticket's JSON (bytes or text) -> the normalised ticket: decoded and validated in one step when it
    is valid; otherwise parsed again (json.JSONDecodeError, with line and column, for a syntax error;
    InputError beyond an input limit) and validated by the JSON Schema (TicketError naming every problem).
    The same verdicts either way. An extended `vocabulary` (a policy's) always takes the second way."""
    ticket = decode_valid(data, vocabulary)
    if ticket is not None:
        return ticket
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8", "replace")
    return validate_ticket(jsonio.loads(data), vocabulary)


def _validate_slow(obj) -> dict:
    if not isinstance(obj, dict):
        raise TicketError([("", f"a ticket must be a JSON object, not {type(obj).__name__}")])
    problems, seen = [], set()
    for err in sorted(validator("ticket").iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        path, message = _ticket_message(err)
        if path not in seen:  # one message per field: the first is the clearest
            seen.add(path)
            problems.append((path, message))
    if problems:
        raise TicketError(problems)
    ticket = _normalise(obj, vocabulary(), "", problems)
    problems.extend(_event_order(ticket))
    if problems:
        raise TicketError(problems)
    return ticket


def _event_order(ticket) -> list:
    problems = []
    events = ticket.get("events") or []
    for i in range(1, len(events)):
        if events[i]["at"] and events[i - 1]["at"] and events[i]["at"] < events[i - 1]["at"]:
            problems.append((f"events[{i}].at", "is before the previous event: events must be oldest first"))
    if events and events[0]["at"] and ticket.get("created_at") and events[0]["at"] < ticket["created_at"]:
        problems.append(("events[0].at", "is before created_at"))
    return problems


def _ticket_message(err) -> tuple[str, str]:
    path = list(err.absolute_path)
    v, schema = err.validator, err.schema
    if v == "required":
        missing = err.message.split("'")[1]
        return _dotted(path + [missing]), "missing: this field is required"
    if v == "additionalProperties":
        allowed = list((schema.get("properties") or {}).keys())
        extra = [k for k in err.instance if k not in allowed]
        hint = did_you_mean(extra[0], allowed)
        return _dotted(path + extra[:1]), "unknown field, not in the ticket vocabulary" + (
            f" (did you mean '{hint}'?)" if hint else "")
    if v in ("format", "pattern") and schema.get("format") == "date-time":
        return _dotted(path), f"{err.instance!r} is not an RFC 3339 timestamp with a UTC offset (e.g. 2026-03-10T11:00:00+02:00)"
    if v in ("format", "pattern") and schema.get("format") == "date":
        return _dotted(path), f"{err.instance!r} is not a date (YYYY-MM-DD)"
    _, message = describe_error(err)
    where = ".".join(str(p) for p in path)
    return _dotted(path), message[len(where) + 2:] if where and message.startswith(where + ": ") else message


def _dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- extended vocabularies (a repository's vocabulary.yaml, a policy's `vocabulary:`) -------------------
# The same checks as above, built from the merged schema (slapolicy.language.vocabulary) and cached by
# its key; the contract vocabulary never comes here.

_extended: dict = {}


def _extended_validators(vocabulary):
    hit = _extended.get(vocabulary.key)
    if hit is None:
        import jsonschema

        cls = jsonschema.validators.validator_for(vocabulary.schema)
        hit = (_fast_checker(vocabulary.type, vocabulary.schema), cls(vocabulary.schema, format_checker=cls.FORMAT_CHECKER))
        if len(_extended) > 256:
            _extended.clear()
        _extended[vocabulary.key] = hit
    return hit


def _validate_extended(obj, vocabulary) -> dict:
    fast, slow = _extended_validators(vocabulary)
    ticket = None
    if obj.__class__ is dict and fast is not None:
        try:
            ticket = fast(obj)
        except _Invalid:
            pass
    if ticket is None:
        if not isinstance(obj, dict):
            raise TicketError([("", f"a ticket must be a JSON object, not {type(obj).__name__}")])
        problems, seen = [], set()
        for err in sorted(slow.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            path, message = _ticket_message(err)
            if path not in seen:
                seen.add(path)
                problems.append((path, message))
        if problems:
            raise TicketError(problems)
        ticket = _normalise(obj, vocabulary.type, "", problems)
    problems = _event_order(ticket) if ticket.get("events") else []
    if problems:
        raise TicketError(problems)
    for key, value in DEFAULTS.items():
        if key not in ticket:
            ticket[key] = value
    return ticket
