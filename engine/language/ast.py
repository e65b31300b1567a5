"""The typed expression tree: immutable nodes named after grammar rules.

Every node keeps `pos = (line, col, end_line, end_col)` in the expression's own text (1-based);
the checker maps it into the policy file with the scalar's position.

The nodes behave as frozen dataclasses (fields in order, equality and hash by class and fields, the
same repr, assignment refused: slapolicy.language.source.Frozen) but are plain classes with __slots__:
creating a dataclass generates and compiles its methods at every import, which cost a start ~10 ms for
these eleven classes when no bytecode is cached (PYTHONDONTWRITEBYTECODE=1), and slotted nodes are
smaller and faster to build (a 5,000-rule policy builds ~100,000 of them).
"""
from __future__ import annotations

from operator import attrgetter as _attrgetter

from slapolicy.language.source import Frozen as _Frozen
from slapolicy.language.source import _set

Pos = tuple  # (line, col, end_line, end_col)


class Duration(_Frozen):
    __slots__ = ("months", "seconds", "text")
    _fields = ("months", "seconds", "text")

    def __init__(self, months: int = 0, seconds: float = 0.0, text: str = "") -> None:
        _set(self, "months", months)
        _set(self, "seconds", seconds)
        _set(self, "text", text)

    def _key(self) -> tuple:
        return (self.months, self.seconds, self.text)

    def __str__(self):
        return self.text


class Node(_Frozen):
    """A node's fields are given in `_fields` order, by position or name: Compare(pos, op, left, right)."""

    __slots__ = ("pos",)
    _fields = ("pos",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        get = _attrgetter(*cls._fields)  # one C call for the fields' values (a tuple: every node has 2 or more)
        cls._key = lambda self: get(self)

    def __init__(self, *values, **named) -> None:
        fields = self._fields
        if named:  # fields by name too, as a dataclass takes them
            values += tuple(named.pop(f) for f in fields[len(values):] if f in named)
            if named:
                raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(named))}")
        if len(values) != len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} fields {fields}, not {len(values)}")
        for name, value in zip(fields, values):
            _set(self, name, value)

    def _key(self) -> tuple:
        return (self.pos,)


class Literal(Node):
    """type: string, number, bool, date, timestamp, duration"""

    __slots__ = ("value", "type")
    _fields = ("pos", "value", "type")


class Path(Node):
    __slots__ = ("parts",)
    _fields = ("pos", "parts")

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


class ListExpr(Node):
    __slots__ = ("items",)
    _fields = ("pos", "items")


class Not(Node):
    __slots__ = ("operand",)
    _fields = ("pos", "operand")


class BoolOp(Node):
    """op: and, or"""

    __slots__ = ("op", "operands")
    _fields = ("pos", "op", "operands")


class Compare(Node):
    __slots__ = ("op", "left", "right")
    _fields = ("pos", "op", "left", "right")


class Membership(Node):
    __slots__ = ("negated", "item", "container")
    _fields = ("pos", "negated", "item", "container")


class Arith(Node):
    """op: + or -"""

    __slots__ = ("op", "left", "right")
    _fields = ("pos", "op", "left", "right")


class Call(Node):
    __slots__ = ("name", "args")
    _fields = ("pos", "name", "args")


class Quantifier(Node):
    """kind: any, all"""

    __slots__ = ("kind", "var", "source", "cond")
    _fields = ("pos", "kind", "var", "source", "cond")


def walk(node: Node):
    """Every node of the tree, parents first (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ListExpr):
            stack.extend(reversed(n.items))
        elif isinstance(n, Not):
            stack.append(n.operand)
        elif isinstance(n, BoolOp):
            stack.extend(reversed(n.operands))
        elif isinstance(n, (Compare, Arith)):
            stack.extend((n.right, n.left))
        elif isinstance(n, Membership):
            stack.extend((n.container, n.item))
        elif isinstance(n, Call):
            stack.extend(reversed(n.args))
        elif isinstance(n, Quantifier):
            stack.extend((n.cond, n.source))
