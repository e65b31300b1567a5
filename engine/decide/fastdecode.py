"""Ticket decoding and validation in one step: msgspec structs generated from the ticket JSON Schema.

`decoder(schema)` builds, from the (possibly extended) JSON Schema, msgspec Struct types (closed
objects forbid unknown fields; enums are Literal types; minLength, minimum and maximum are msgspec
constraints, a pattern is searched by the converter; optional fields default to UNSET) and a generated converter to the normalised
ticket (plain dicts, timestamps as aware UTC datetimes, dates as `date`, missing fields absent). A part
of the schema that msgspec cannot express (an object open to other keys, a conditional `allOf`) is
decoded as plain JSON values and checked by the closure validator of slapolicy.decide.tickets. The decoded
Struct becomes dicts in one C call (msgspec.to_builtins), then only the values that change (timestamps, dates)
are converted in place.

The JSON Schema stays the reference: this path only ever answers "valid, and here is the ticket" or
"not sure" (`Invalid`); the caller then parses the JSON again and validates it with jsonschema, whose
messages name every problem. A property test (tests/test_fastdecode.py) holds the two to the same
verdicts and the same tickets. Decoding JSON bytes straight into typed structs takes a few
microseconds where parsing, then walking the dicts in Python took 17-20 us a ticket.
"""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Literal, Union

import msgspec

from slapolicy.decide.jsonio import MAX_INT_DIGITS, MAX_STRING_CHARS, check_limits
from slapolicy.language.diagnostics import InputError, TicketError
from slapolicy.language.types import Type


class Invalid(Exception):
    """this path cannot vouch for the input: decide it with the reference validator"""


def _date(text):
    return dt.date.fromisoformat(text)


_INT_BOUND = 10 ** MAX_INT_DIGITS  # an integer of more digits is beyond the input limit (slapolicy.decide.jsonio)


def _int(v):
    """an integer field without both bounds in the schema: within the input limit, else not vouched for"""
    if v.__class__ is int and not -_INT_BOUND < v < _INT_BOUND:
        raise Invalid
    return v


def _limited(depth):
    """the input limits (depth from `depth`, string and key length) of a part decoded as raw JSON"""
    def check(value):
        try:
            check_limits(value, depth=depth)
        except (InputError, TicketError):
            raise Invalid from None
        return value
    return check


class _Gen:
    def __init__(self, parse_timestamp, fallback_checker):
        self.counter = itertools.count()
        self.ns = {"UNSET": msgspec.UNSET, "_ts": parse_timestamp, "_date": _date, "_int": _int,
                   "_plain": msgspec.to_builtins, "Invalid": Invalid}
        self.lines = []
        self.parse_timestamp = parse_timestamp
        self.fallback_checker = fallback_checker

    def name(self, prefix):
        return f"_{prefix}{next(self.counter)}"

    def type_of(self, typ: Type, schema: dict, depth: int = 0):
        """(msgspec type, conversion expression template with {v}); raises Invalid if unsupported. The input
        limits are part of the types (strings at most MAX_STRING_CHARS; integers of at most MAX_INT_DIGITS
        digits; non-finite floats msgspec refuses), so a decoded ticket needs no walk; `depth`: of the value."""
        if "enum" in schema:
            values = tuple(schema["enum"])
            if not values or not all(type(v) is str for v in values):
                raise Invalid
            return Literal[values], "{v}"
        kind = schema.get("type")
        if kind == "object":
            if schema.get("additionalProperties") is not False or "allOf" in schema or "if" in schema:
                return self.raw(typ, schema, depth)
            return self.struct(typ, schema, depth)
        if kind == "array":
            item_type, conv = self.type_of(typ.item, schema.get("items") or {}, depth + 1)
            if conv == "{v}":
                return list[item_type], "{v}"
            fn = self.name("list")
            self.lines.append(f"def {fn}(items):\n    return [{conv.format(v='x')} for x in items]\n")
            return list[item_type], fn + "({v})"
        if kind == "boolean":
            return bool, "{v}"
        if kind == "integer":
            meta = {}
            if "minimum" in schema:
                meta["ge"] = schema["minimum"]
            if "maximum" in schema:
                meta["le"] = schema["maximum"]
            bounded = "minimum" in schema and "maximum" in schema and max(map(abs, meta.values())) < _INT_BOUND
            return _annotated(int, meta), "{v}" if bounded else "_int({v})"
        if kind == "number":
            return Union[int, float], "_int({v})"
        if kind == "string":
            meta = {"max_length": min(schema.get("maxLength", MAX_STRING_CHARS), MAX_STRING_CHARS)}
            if schema.get("minLength"):
                meta["min_length"] = schema["minLength"]
            fmt = schema.get("format")
            conv = {"date-time": "_ts({v})", "date": "_date({v})"}.get(fmt, "{v}")
            if fmt not in (None, "date-time", "date"):
                raise Invalid
            if typ is not None and typ.kind in ("timestamp", "date") and conv == "{v}":
                raise Invalid
            if "pattern" in schema:
                conv = self.pattern(schema["pattern"], conv, remember=fmt != "date-time")
            return _annotated(str, meta), conv
        raise Invalid

    def pattern(self, pattern, conv, remember):
        """a string's pattern checked by Python's `re` as msgspec's `pattern` constraint and jsonschema do
        (search), called directly (msgspec looks the method up on each call), then `conv`; `remember`: the
        values accepted (and converted) are kept, up to 4,096 a field (editions, formats, dates repeat)"""
        import re

        name = self.name("pattern")
        self.ns[name + "_search"] = re.compile(pattern).search
        value = conv.format(v="v")
        if remember:
            self.ns[name + "_seen"] = {}
            self.lines.append(f"def {name}(v):\n"
                              f"    seen = {name}_seen.get(v, UNSET)\n"
                              f"    if seen is not UNSET:\n        return seen\n"
                              f"    if {name}_search(v) is None:\n        raise Invalid\n"
                              f"    seen = {value}\n"
                              f"    if len({name}_seen) < 4096:\n        {name}_seen[v] = seen\n"
                              f"    return seen\n")
        elif pattern == RFC3339 and conv == "_ts({v})":  # the common shapes proved without the search
            self.ns["_SHAPES"] = _SHAPES
            self.lines.append(f"def {name}(v):\n"
                              f"    if (v[4:23:3] not in _SHAPES.get(len(v), ()) or not v.isascii()) "
                              f"and {name}_search(v) is None:\n        raise Invalid\n"
                              f"    return {value}\n")
        else:
            self.lines.append(f"def {name}(v):\n"
                              f"    if {name}_search(v) is None:\n        raise Invalid\n"
                              f"    return {value}\n")
        return name + "({v})"

    def raw(self, typ, schema, depth):
        """a part decoded as plain JSON values and checked by the closure validator (slapolicy.decide.tickets)
        and the input limits (the depth counted from the ticket)"""
        check = self.fallback_checker(typ, schema)
        if check is None:
            raise Invalid
        name, limited = self.name("raw"), self.name("limited")
        self.ns[name], self.ns[limited] = check, _limited(depth)
        return Any, f"{name}({limited}({{v}}))"

    def struct(self, typ, schema, depth):
        """a Struct type, and the conversion of its plain form (msgspec.to_builtins: a dict with the JSON keys,
        unset fields absent) in place: only the fields whose values change (timestamps, dates, what the
        closure validator checks), "{v}" when none does"""
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        fields, rename, convs = [], {}, []
        for i, (key, sub) in enumerate(props.items()):
            ftype, conv = self.type_of(typ.field(key) if typ is not None else None, sub, depth + 1)
            attr = f"f{i}"
            rename[attr] = key
            if key in required:
                fields.append((attr, ftype))
            else:
                fields.append((attr, Union[ftype, msgspec.UnsetType], msgspec.UNSET))
            if conv != "{v}":
                convs.append((key, conv, key in required))
        for key in required - set(props):  # required but not described: cannot be typed
            raise Invalid
        struct = msgspec.defstruct(self.name("S"), fields, rename=rename, forbid_unknown_fields=True, kw_only=True)
        if not convs:
            return struct, "{v}"
        fn = self.name("conv")
        body = []
        for key, conv, req in convs:
            if req:
                body.append(f"d[{key!r}] = {conv.format(v=f'd[{key!r}]')}")
            else:
                body.append(f"v = d.get({key!r}, UNSET)")
                body.append(f"if v is not UNSET: d[{key!r}] = {conv.format(v='v')}")
        body.append("return d")
        self.lines.append(f"def {fn}(d):\n" + "".join(f"    {b}\n" for b in body))
        return struct, fn + "({v})"


# The ticket schema's pattern of a date-time (RFC 3339), and the two shapes most timestamps have, by length:
# "2026-03-10T11:00:00+02:00" and "2026-03-10T11:00:00Z", as their characters at 4, 7, 10, 13, 16, 19 (, 22).
# An ASCII text with those characters in place matches the pattern when its other characters are digits,
# and those the conversion (datetime.fromisoformat, after Z / z become +00:00) proves: it parses each of
# them as a digit or raises ValueError (Invalid). Any other text is searched by the pattern itself.
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"


_SHAPES = {25: frozenset(f"--{t}::{sign}:" for t in "Tt" for sign in "+-"),
           20: frozenset(f"--{t}::{z}" for t in "Tt" for z in "Zz")}


def _annotated(base, meta):
    if not meta:
        return base
    from typing import Annotated

    return Annotated[base, msgspec.Meta(**meta)]


def decoder(schema: dict, vocabulary: Type, parse_timestamp, fallback_checker, refusal=Invalid, defaults=None):
    """decode(data: bytes) -> the normalised ticket, or raises Invalid; None if the schema is beyond it.
    `fallback_checker(typ, schema)` is the closure validator for the parts msgspec cannot express (it
    raises `refusal`). `defaults`: top-level keys (str / int / bool / None values) added, last, to a ticket
    without them."""
    gen = _Gen(parse_timestamp, fallback_checker)
    try:
        top, conv = gen.type_of(vocabulary, schema)
    except Invalid:
        return None
    if not (isinstance(top, type) and issubclass(top, msgspec.Struct)):
        return None
    namespace = dict(gen.ns)
    namespace["_decode"] = msgspec.json.Decoder(top).decode
    namespace["_errors"] = (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError, UnicodeDecodeError,
                            refusal, Invalid)
    fill = ""
    for key, value in (defaults or {}).items():
        if type(value) not in (str, int, bool, type(None)):
            return None
        fill += f"    if {key!r} not in d:\n        d[{key!r}] = {value!r}\n"
    source = "\n".join(gen.lines) + ("\ndef decode_ticket(data):\n    try:\n"
                                     f"        d = {conv.format(v='_plain(_decode(data))')}\n"
                                     "    except _errors:\n        raise Invalid from None\n"
                                     + fill + "    return d\n")
    exec(compile(source, "<slapolicy-ticket-decoder>", "exec"), namespace)  # generated from the schema only
    decode_ticket = namespace["decode_ticket"]  # (one function a ticket: no closure calling a converter)
    decode_ticket.source = source
    return decode_ticket
