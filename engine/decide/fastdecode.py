"""Ticket decoding and validation in one step: msgspec structs generated from the ticket JSON Schema.

`decoder(schema)` builds, from the (possibly extended) JSON Schema, msgspec Struct types (closed
objects forbid unknown fields; enums are Literal types; minLength, pattern, minimum and maximum are
msgspec constraints; optional fields default to UNSET) and a generated converter to the normalised
ticket (plain dicts, timestamps as aware UTC datetimes, dates as `date`, missing fields absent). A part
of the schema that msgspec cannot express (an object open to other keys, a conditional `allOf`) is
decoded as raw JSON and checked by the closure validator of slapolicy.decide.tickets.

The JSON Schema stays the reference: this path only ever answers "valid, and here is the ticket" or
"not sure" (`Invalid`); the caller then parses the JSON again and validates it with jsonschema, whose
messages name every problem. A property test (tests/test_fastdecode.py) holds the two to the same
verdicts and the same tickets. Decoding JSON bytes straight into typed structs takes a few
microseconds where parsing, then walking the dicts in Python took 17-20 us a ticket.
"""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Literal, Union

import msgspec

from slapolicy.language.types import Type


class Invalid(Exception):
    """this path cannot vouch for the input: decide it with the reference validator"""


def _date(text):
    return dt.date.fromisoformat(text)


class _Gen:
    def __init__(self, parse_timestamp, fallback_checker):
        self.counter = itertools.count()
        self.ns = {"UNSET": msgspec.UNSET, "_ts": parse_timestamp, "_date": _date, "Raw": msgspec.Raw,
                   "_json": msgspec.json.decode}
        self.lines = []
        self.parse_timestamp = parse_timestamp
        self.fallback_checker = fallback_checker

    def name(self, prefix):
        return f"_{prefix}{next(self.counter)}"

    def type_of(self, typ: Type, schema: dict):
        """(msgspec type, conversion expression template with {v}); raises Invalid if unsupported"""
        if "enum" in schema:
            values = tuple(schema["enum"])
            if not values or not all(type(v) is str for v in values):
                raise Invalid
            return Literal[values], "{v}"
        kind = schema.get("type")
        if kind == "object":
            if schema.get("additionalProperties") is not False or "allOf" in schema or "if" in schema:
                return self.raw(typ, schema)
            return self.struct(typ, schema)
        if kind == "array":
            item_type, conv = self.type_of(typ.item, schema.get("items") or {})
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
            return _annotated(int, meta), "{v}"
        if kind == "number":
            return Union[int, float], "{v}"
        if kind == "string":
            meta = {}
            if schema.get("minLength"):
                meta["min_length"] = schema["minLength"]
            if "pattern" in schema:
                meta["pattern"] = schema["pattern"]
            fmt = schema.get("format")
            conv = {"date-time": "_ts({v})", "date": "_date({v})"}.get(fmt, "{v}")
            if fmt not in (None, "date-time", "date"):
                raise Invalid
            if typ is not None and typ.kind in ("timestamp", "date") and conv == "{v}":
                raise Invalid
            return _annotated(str, meta), conv
        raise Invalid

    def raw(self, typ, schema):
        """a part decoded as raw JSON and checked by the closure validator (slapolicy.decide.tickets)"""
        check = self.fallback_checker(typ, schema)
        if check is None:
            raise Invalid
        name = self.name("raw")
        self.ns[name] = check
        return msgspec.Raw, f"{name}(_json({{v}}))"

    def struct(self, typ, schema):
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        fields, rename, convs = [], {}, []
        for i, (key, sub) in enumerate(props.items()):
            ftype, conv = self.type_of(typ.field(key) if typ is not None else None, sub)
            attr = f"f{i}"
            rename[attr] = key
            if key in required:
                fields.append((attr, ftype))
            else:
                fields.append((attr, Union[ftype, msgspec.UnsetType], msgspec.UNSET))
            convs.append((attr, key, conv, key in required))
        for key in required - set(props):  # required but not described: cannot be typed
            raise Invalid
        struct = msgspec.defstruct(self.name("S"), fields, rename=rename, forbid_unknown_fields=True, kw_only=True)
        fn = self.name("conv")
        body = ["d = {}"]
        for attr, key, conv, req in convs:
            value = conv.format(v=f"o.{attr}")
            if req:
                body.append(f"d[{key!r}] = {value}")
            else:
                body.append(f"v = o.{attr}")
                body.append(f"if v is not UNSET: d[{key!r}] = {conv.format(v='v')}")
        body.append("return d")
        self.lines.append(f"def {fn}(o):\n" + "".join(f"    {b}\n" for b in body))
        return struct, fn + "({v})"


def _annotated(base, meta):
    if not meta:
        return base
    from typing import Annotated

    return Annotated[base, msgspec.Meta(**meta)]


def decoder(schema: dict, vocabulary: Type, parse_timestamp, fallback_checker, refusal=Invalid):
    """decode(data: bytes) -> the normalised ticket, or raises Invalid; None if the schema is beyond it.
    `fallback_checker(typ, schema)` is the closure validator for the parts msgspec cannot express (it
    raises `refusal`)."""
    gen = _Gen(parse_timestamp, fallback_checker)
    try:
        top, conv = gen.type_of(vocabulary, schema)
    except Invalid:
        return None
    if conv == "{v}" or top is msgspec.Raw:
        return None
    namespace = dict(gen.ns)
    source = "\n".join(gen.lines) + f"\ndef convert(o):\n    return {conv.format(v='o')}\n"
    exec(compile(source, "<slapolicy-ticket-decoder>", "exec"), namespace)  # generated from the schema only
    convert = namespace["convert"]
    decode = msgspec.json.Decoder(top).decode
    errors = (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError, UnicodeDecodeError, refusal)

    def decode_ticket(data):
        try:
            return convert(decode(data))
        except errors:
            raise Invalid from None
    decode_ticket.source = source
    return decode_ticket
