"""The types the checker sees, and the ticket vocabulary as a type tree (CONTRACT section 2, read from
schemas/ticket.schema.json)."""
from __future__ import annotations

from functools import lru_cache

from slapolicy.language.schema import schema_json
from slapolicy.language.source import Frozen, _set


class Type(Frozen):
    """kind: bool int number string date timestamp duration list object any; values: enum values (kind
    string); item: a list's item Type; fields: an object's ((name, Type), ...); name: an enum's name for
    messages (a frozen record)"""

    __slots__ = ("kind", "values", "item", "fields", "name")
    _fields = ("kind", "values", "item", "fields", "name")

    def __init__(self, kind: str, values: frozenset | None = None, item: Type | None = None,
                 fields: tuple | None = None, name: str = "") -> None:
        _set(self, "kind", kind)
        _set(self, "values", values)
        _set(self, "item", item)
        _set(self, "fields", fields)
        _set(self, "name", name)

    def _key(self) -> tuple:
        return (self.kind, self.values, self.item, self.fields, self.name)

    def field(self, name: str):
        for key, typ in self.fields or ():
            if key == name:
                return typ
        return None

    def field_names(self):
        return [k for k, _ in self.fields or ()]

    def __str__(self):
        if self.values is not None:
            return "enum"
        if self.kind == "list":
            return f"list of {self.item}"
        return self.kind


BOOL, INT, NUMBER, STRING = Type("bool"), Type("int"), Type("number"), Type("string")
DATE, TIMESTAMP, DURATION, ANY = Type("date"), Type("timestamp"), Type("duration"), Type("any")


def enum(values, name="") -> Type:
    return Type("string", frozenset(values), name=name)


def _from_schema(node: dict) -> Type:
    if "enum" in node:
        return enum(node["enum"])
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties") or {}
        return Type("object", fields=tuple((k, _from_schema(v)) for k, v in props.items()))
    if kind == "array":
        return Type("list", item=_from_schema(node.get("items") or {}))
    if kind == "boolean":
        return BOOL
    if kind == "integer":
        return INT
    if kind == "number":
        return NUMBER
    if kind == "string":
        fmt = node.get("format")
        return DATE if fmt == "date" else TIMESTAMP if fmt == "date-time" else STRING
    return ANY


@lru_cache(maxsize=None)
def vocabulary() -> Type:
    return _from_schema(schema_json("ticket"))
